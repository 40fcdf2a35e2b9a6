#include "core/data/data.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/data/ndarray.h"
#include "core/status_macros.h"

namespace seriald::data {

bool operator==(const Number& a, const Number& b) {
  return std::memcmp(&a.value, &b.value, sizeof(double)) == 0;
}

NdArray NdArray::Vector(ElementType dtype, uint64_t length, Buffer data) {
  NdArray array;
  array.dtype = dtype;
  array.shape = {static_cast<int64_t>(length)};
  array.strides = {1};
  array.length = length;
  array.data = std::move(data);
  return array;
}

std::string_view ItemKindName(ItemKind kind) {
  switch (kind) {
    case ItemKind::kNull:
      return "null";
    case ItemKind::kBoolean:
      return "boolean";
    case ItemKind::kNumber:
      return "number";
    case ItemKind::kInteger:
      return "integer";
    case ItemKind::kString:
      return "string";
    case ItemKind::kBinary:
      return "binary";
    case ItemKind::kArray:
      return "array";
    case ItemKind::kStrings:
      return "strings";
    case ItemKind::kSequence:
      return "list";
    case ItemKind::kMap:
      return "map";
    case ItemKind::kDataFrame:
      return "data_frame";
    case ItemKind::kFactor:
      return "factor";
    case ItemKind::kOpaque:
      return "opaque";
  }
  return "unknown";
}

absl::Status Data::Validate() const {
  const size_t count = items_.size();
  auto where = [&](ItemId id) {
    return absl::StrCat("item ", id, " (", AsAbsl(ItemKindName(items_[id].kind())), ")");
  };
  // A reference from item `from` (its `field`) to `to`, which must exist and, when `kind` is set,
  // be of that kind.
  auto check = [&](ItemId from, std::string_view field, ItemId to,
                   std::optional<ItemKind> kind = std::nullopt) -> absl::Status {
    if (to >= count) {
      return absl::InvalidArgumentError(absl::StrCat(where(from), ": ", AsAbsl(field),
                                                     " refers to item ", to, ", but there are ",
                                                     count, " items"));
    }
    if (kind.has_value() && items_[to].kind() != *kind) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(from), ": ", AsAbsl(field), " must be a ", AsAbsl(ItemKindName(*kind)),
                       " item, but item ", to, " is a ", AsAbsl(ItemKindName(items_[to].kind()))));
    }
    return absl::OkStatus();
  };
  for (ItemId root : roots_) {
    if (root >= count) {
      return absl::InvalidArgumentError(
          absl::StrCat("root refers to item ", root, ", but there are ", count, " items"));
    }
  }
  for (ItemId id = 0; id < count; ++id) {
    const Item& item = items_[id];
    if (item.names != kNoItem) RETURN_IF_ERROR(check(id, "names", item.names, ItemKind::kStrings));
    if (item.dim_names != kNoItem) {
      RETURN_IF_ERROR(check(id, "dim_names", item.dim_names, ItemKind::kSequence));
    }
    for (const auto& [name, value] : item.attributes) {
      RETURN_IF_ERROR(check(id, absl::StrCat("attribute ", AsAbsl(name)), value));
    }
    switch (item.kind()) {
      case ItemKind::kArray: {
        const auto& array = std::get<NdArray>(item.data);
        if (static_cast<int>(array.dtype) >= kElementTypeCount) {
          return absl::InvalidArgumentError(absl::StrCat(where(id), ": unknown dtype"));
        }
        RETURN_IF_ERROR(CheckView(array, where(id)));
        break;
      }
      case ItemKind::kStrings: {
        const auto& strings = std::get<Strings>(item.data);
        uint64_t product = 1;
        for (int64_t size : strings.shape) {
          if (size < 0 || (size > 0 && product > (uint64_t{1} << 62) / size)) {
            return absl::InvalidArgumentError(absl::StrCat(where(id), ": bad shape"));
          }
          product *= static_cast<uint64_t>(size);
        }
        if (!strings.shape.empty() && product != strings.values.size()) {
          return absl::InvalidArgumentError(absl::StrCat(where(id), ": shape holds ", product,
                                                         " elements but there are ",
                                                         strings.values.size(), " strings"));
        }
        break;
      }
      case ItemKind::kSequence:
        for (ItemId child : std::get<Sequence>(item.data).items) {
          RETURN_IF_ERROR(check(id, "an element", child));
        }
        break;
      case ItemKind::kMap:
        for (const auto& [key, value] : std::get<Map>(item.data).entries) {
          RETURN_IF_ERROR(check(id, "a key", key));
          RETURN_IF_ERROR(check(id, "a value", value));
        }
        break;
      case ItemKind::kDataFrame: {
        const auto& frame = std::get<DataFrame>(item.data);
        if (frame.column_names.size() != frame.columns.size()) {
          return absl::InvalidArgumentError(absl::StrCat(where(id), ": ", frame.columns.size(),
                                                         " columns but ", frame.column_names.size(),
                                                         " names"));
        }
        for (ItemId column : frame.columns) RETURN_IF_ERROR(check(id, "a column", column));
        if (frame.row_names != kNoItem) RETURN_IF_ERROR(check(id, "row_names", frame.row_names));
        break;
      }
      case ItemKind::kFactor: {
        const auto& factor = std::get<Factor>(item.data);
        RETURN_IF_ERROR(check(id, "codes", factor.codes, ItemKind::kArray));
        RETURN_IF_ERROR(check(id, "levels", factor.levels, ItemKind::kStrings));
        break;
      }
      default:
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace seriald::data
