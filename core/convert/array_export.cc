#include "core/convert/array_export.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/convert/item_paths.h"

namespace seriald {
namespace {

// What a skipped leaf is, for notes: "a boolean", "a character vector", "an opaque closure".
std::string Describe(const data::Item& item) {
  switch (item.kind()) {
    case data::ItemKind::kBoolean:
      return "a boolean";
    case data::ItemKind::kNumber:
    case data::ItemKind::kInteger:
      return "a number";
    case data::ItemKind::kString:
      return "a string";
    case data::ItemKind::kStrings:
      return "a character vector";
    case data::ItemKind::kFactor:
      return "a factor";
    case data::ItemKind::kOpaque:
      return absl::StrCat("a ", std::get<data::Opaque>(item.data).type);
    default:
      return absl::StrCat("a ", AsAbsl(data::ItemKindName(item.kind())));
  }
}

}  // namespace

absl::StatusOr<std::vector<arrays::NamedArray>> ExportArrays(const data::Data& plain,
                                                             const ArrayExportOptions& options,
                                                             ConversionNotes& notes) {
  const ItemPaths paths(plain);
  std::vector<arrays::NamedArray> named;
  std::vector<std::string> skipped;
  for (ItemId id : paths.Order()) {
    if (paths.RoleOf(id) == ItemPaths::Role::kPart) continue;
    const data::Item& item = plain.item(id);
    const std::string path = *paths.PathOf(id);
    std::string name = path.empty() ? "arr_0" : path;
    switch (item.kind()) {
      case data::ItemKind::kSequence:
      case data::ItemKind::kMap:
      case data::ItemKind::kDataFrame:
      case data::ItemKind::kNull:
        break;  // containers are walked into; nothing is lost with a nil or NULL
      case data::ItemKind::kArray: {
        const auto& array = std::get<data::NdArray>(item.data);
        if (array.temporal != data::Temporal::kNone) {
          notes.Add(absl::StrCat(name, ": ",
                                 array.temporal == data::Temporal::kDate
                                     ? "dates written as days since 1970-01-01"
                                     : "date-times written as seconds since 1970-01-01 UTC"));
        }
        if (array.na_present && array.dtype != ElementType::kLogical) {
          notes.Add(absl::StrCat(name, ": R's NA written as ",
                                 array.dtype == ElementType::kFloat64 ? "a NaN" : "-2147483648"));
        }
        named.push_back({std::move(name), array});
        break;
      }
      case data::ItemKind::kBinary: {
        const Buffer& bytes = std::get<data::Binary>(item.data).bytes;
        named.push_back(
            {std::move(name), data::NdArray::Vector(ElementType::kUint8, bytes.size(), bytes)});
        break;
      }
      default: {
        const std::string what = absl::StrCat(path.empty() ? "the root" : path, " (",
                                              Describe(item), ")");
        if (options.strict) {
          return absl::InvalidArgumentError(
              absl::StrCat(what, " is not an array, and --strict keeps array files to arrays"));
        }
        skipped.push_back(what);
        break;
      }
    }
  }
  for (const std::string& what : skipped) notes.Add(absl::StrCat("skipped ", what, ": not an array"));
  for (const auto& [id, path] : paths.Repeats()) {
    if (plain.item(id).kind() != data::ItemKind::kArray) continue;
    const std::string first = *paths.PathOf(id);
    notes.Add(absl::StrCat(path, " is the same array as ", first.empty() ? "arr_0" : first,
                           ", written once under that name"));
  }
  if (named.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the input holds no arrays to write",
        skipped.empty() ? std::string() : absl::StrCat(" (", skipped.size(), " other values)")));
  }
  return named;
}

data::Data ImportArrays(std::vector<arrays::NamedArray> named) {
  data::Data plain;
  data::Map map;
  map.entries.reserve(named.size());
  for (arrays::NamedArray& entry : named) {
    const ItemId key = plain.Add(data::String{std::move(entry.name)});
    const ItemId value = plain.Add(std::move(entry.array));
    map.entries.emplace_back(key, value);
  }
  plain.roots().push_back(plain.Add(std::move(map)));
  return plain;
}

}  // namespace seriald
