// R plain data -> Torch7's conventions (cross_family.h). Walks only what Torch7 will hold (list
// elements, data frame columns, factor parts; not the attributes it drops), so that an attribute
// Torch7 leaves out (an lm fit's formula) cannot fail the conversion. Iterative.
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/convert/cross_family.h"
#include "core/convert/item_paths.h"
#include "core/data/ndarray.h"
#include "core/io/byte_order.h"
#include "core/status_macros.h"
#include "core/torch7/classes.h"
#include "core/torch7/primitives.h"

namespace seriald {
namespace {

using data::Item;
using data::ItemKind;
using data::NdArray;

// The attribute RToData keeps for a 1-d array's dim (array(1:3)): the array is a tensor even of
// one element.
constexpr std::string_view kDimAttribute = "dim";
constexpr std::string_view kVersionAttribute = "torch7_version";

// Whether `element` of `array` (in the array's byte order) is R's NA.
bool IsNa(const NdArray& array, const uint8_t* element) {
  switch (array.dtype) {
    case ElementType::kInt32:
    case ElementType::kLogical:
      return LoadElementBytes<int32_t>(element, array.big_endian) == kNaInteger;
    case ElementType::kFloat64: {
      const uint64_t bits = LoadElementBytes<uint64_t>(element, array.big_endian);
      return (bits & 0x7FFFFFFFFFFFFFFFULL) == kNaRealBits;
    }
    default:
      return false;
  }
}

class ForTorch7 {
 public:
  ForTorch7(data::Data& plain, const CrossFamilyOptions& options, ConversionNotes& notes)
      : plain_(plain), options_(options), notes_(notes), paths_(plain) {}

  absl::Status Run() {
    std::vector<ItemId> stack(plain_.roots().rbegin(), plain_.roots().rend());
    std::vector<bool> seen(plain_.size(), false);
    while (!stack.empty()) {
      const ItemId id = stack.back();
      stack.pop_back();
      if (id >= seen.size() || seen[id]) continue;  // items added by the rewrite need none
      seen[id] = true;
      RETURN_IF_ERROR(Rewrite(id));
      const std::vector<ItemId> children = KeptChildren(plain_.item(id));
      stack.insert(stack.end(), children.rbegin(), children.rend());
    }
    return absl::OkStatus();
  }

 private:
  // What Torch7 writes of an item (after its rewrite): everything but attributes and names.
  std::vector<ItemId> KeptChildren(const Item& item) const {
    std::vector<ItemId> children;
    if (const auto* sequence = std::get_if<data::Sequence>(&item.data)) {
      children = sequence->items;
    } else if (const auto* map = std::get_if<data::Map>(&item.data)) {
      for (const auto& [key, value] : map->entries) {
        children.push_back(key);
        children.push_back(value);
      }
    } else if (const auto* frame = std::get_if<data::DataFrame>(&item.data)) {
      children = frame->columns;
    } else if (const auto* factor = std::get_if<data::Factor>(&item.data)) {
      children = {factor->codes, factor->levels};
    }
    return children;
  }

  std::string Where(ItemId id) const { return paths_.Describe(id); }

  // Takes attribute `name` out of `id`'s attributes; kNoItem when absent.
  ItemId TakeAttribute(ItemId id, std::string_view name) {
    auto& attributes = plain_.mutable_item(id).attributes;
    for (auto it = attributes.begin(); it != attributes.end(); ++it) {
      if (it->first == name) {
        const ItemId value = it->second;
        attributes.erase(it);
        return value;
      }
    }
    return kNoItem;
  }

  // The text of a one-string attribute value (R gives a character vector), nullopt for NA or
  // anything else.
  std::optional<std::string> TextOf(ItemId id) const {
    if (const auto* text = plain_.GetIf<data::String>(id)) return text->bytes;
    if (const auto* strings = plain_.GetIf<data::Strings>(id);
        strings != nullptr && strings->values.size() == 1 && !strings->values.Get(0).is_na) {
      return std::string(strings->values.Get(0).bytes);
    }
    return std::nullopt;
  }

  // Names, dimnames and other attributes Torch7 has no place for: dropped, with one note per
  // item naming them.
  void DropRAttributes(ItemId id, std::string_view what) {
    Item& item = plain_.mutable_item(id);
    std::vector<std::string> dropped;
    if (item.names != kNoItem) dropped.push_back("names");
    if (item.dim_names != kNoItem) dropped.push_back("dimnames");
    for (const auto& attribute : item.attributes) dropped.push_back(attribute.first);
    item.names = kNoItem;
    item.dim_names = kNoItem;
    item.attributes.clear();
    if (!dropped.empty()) {
      notes_.Add(absl::StrCat(Where(id), ": the ", AsAbsl(what), "'s ",
                              absl::StrJoin(dropped, ", "),
                              " not carried (Torch7 has no place "
                              "for them)"));
    }
  }

  // A class attribute: c(X, "torch7_object") is the Torch7 class X; any other class has no
  // meaning in Torch7 and is dropped, noted once per class.
  void Classes(ItemId id) {
    Item& item = plain_.mutable_item(id);
    if (item.classes.empty()) return;
    if (item.classes.size() == 2 && item.classes[1] == kTorch7ObjectClass) {
      item.classes.resize(1);
      return;
    }
    const std::string joined = absl::StrJoin(item.classes, ", ");
    item.classes.clear();
    if (noted_classes_.insert(joined).second) {
      notes_.Add(absl::StrCat(Where(id), ": R class ", joined,
                              " not carried; written as a plain table (and so is every other "
                              "object of this class)"));
    }
  }

  absl::Status Unconvertible(ItemId id, std::string_view what) {
    if (!options_.drop_unconvertible) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(id), " is ", AsAbsl(what),
                       ", which Torch7 cannot hold (--drop-unconvertible leaves it out)"));
    }
    notes_.Add(
        absl::StrCat("left out ", Where(id), " (", AsAbsl(what), "): Torch7 cannot hold it"));
    plain_.mutable_item(id) = Item(data::Null{});
    return absl::OkStatus();
  }

  absl::Status Rewrite(ItemId id) {
    switch (plain_.item(id).kind()) {
      case ItemKind::kArray:
        return Array(id);
      case ItemKind::kBinary: {
        // A raw vector: the bytes of a ByteTensor.
        const Buffer bytes = std::get<data::Binary>(plain_.item(id).data).bytes;
        plain_.mutable_item(id).data = NdArray::Vector(ElementType::kUint8, bytes.size(), bytes);
        DropRAttributes(id, "raw vector");
        return absl::OkStatus();
      }
      case ItemKind::kStrings:
        return Strings(id);
      case ItemKind::kSequence:
        return List(id);
      case ItemKind::kMap:
        Classes(id);
        return Version(id);
      case ItemKind::kDataFrame: {
        const auto& frame = std::get<data::DataFrame>(plain_.item(id).data);
        if (plain_.GetIf<data::Strings>(frame.row_names) != nullptr) {
          notes_.Add(absl::StrCat(Where(id),
                                  ": the data frame's row names not carried (a "
                                  "table of columns has no place for them)"));
        }
        plain_.mutable_item(id).classes.clear();
        DropRAttributes(id, "data frame");
        return absl::OkStatus();
      }
      case ItemKind::kFactor:
        plain_.mutable_item(id).classes.clear();
        DropRAttributes(id, "factor");
        return absl::OkStatus();
      case ItemKind::kOpaque: {
        const auto& opaque = std::get<data::Opaque>(plain_.item(id).data);
        return Unconvertible(id, absl::StrCat("an R ", opaque.type, " (", opaque.description, ")"));
      }
      default:
        return absl::OkStatus();
    }
  }

  // The torch7_version attribute of an object, as the Torch7 mapping reads it: a string, or null
  // (NA) for a legacy object without one. Other attributes are dropped.
  absl::Status Version(ItemId id) {
    ItemId version = TakeAttribute(id, kVersionAttribute);
    const bool object = !plain_.item(id).classes.empty();
    DropRAttributes(id, object ? "object" : "list");
    if (version == kNoItem || !object) return absl::OkStatus();
    std::optional<std::string> text = TextOf(version);
    const ItemId kept = text ? plain_.Add(data::String{*text}) : plain_.Add(data::Null{});
    plain_.mutable_item(id).attributes.emplace_back(std::string(kVersionAttribute), kept);
    return absl::OkStatus();
  }

  // A list: a table with keys 1..n, or with its names as keys (unnamed elements by position).
  absl::Status List(ItemId id) {
    Classes(id);
    const ItemId names_id = plain_.item(id).names;
    const auto* names = plain_.GetIf<data::Strings>(names_id);
    bool named = false;
    if (names != nullptr) {
      for (size_t i = 0; i < names->values.size(); ++i) {
        named = named || (!names->values.Get(i).is_na && !names->values.Get(i).bytes.empty());
      }
    }
    plain_.mutable_item(id).names = kNoItem;
    if (named) {
      const std::vector<ItemId> items = std::get<data::Sequence>(plain_.item(id).data).items;
      const StringVector name_values = names->values;
      data::Map map;
      absl::flat_hash_set<std::string> keys;
      for (size_t i = 0; i < items.size(); ++i) {
        std::string key;
        ItemId key_id;
        StringVector::Element e =
            i < name_values.size() ? name_values.Get(i) : StringVector::Element{};
        if (i < name_values.size() && !e.is_na && !e.bytes.empty()) {
          key = std::string(e.bytes);
          key_id = plain_.Add(data::String{key});
        } else {
          key = absl::StrCat(i + 1);
          key_id = plain_.Add(data::Number{static_cast<double>(i + 1)});
        }
        if (!keys.insert(key).second) {
          if (!options_.drop_unconvertible) {
            return absl::InvalidArgumentError(absl::StrCat(
                Where(id), " names element ", i + 1, " \"", key,
                "\" again; a Torch7 table holds one value per key (--drop-unconvertible keeps "
                "the first)"));
          }
          notes_.Add(absl::StrCat(Where(id), ": element ", i + 1, " left out: its name \"", key,
                                  "\" is taken by an earlier element"));
          continue;
        }
        map.entries.emplace_back(key_id, items[i]);
      }
      plain_.mutable_item(id).data = std::move(map);
    }
    return Version(id);
  }

  absl::Status Strings(ItemId id) {
    const Item& item = plain_.item(id);
    const auto& strings = std::get<data::Strings>(item.data);
    if (!paths_.IsPart(id) && strings.values.size() == 1 && strings.shape.empty() &&
        item.names == kNoItem && item.attributes.empty() && item.classes.empty()) {
      StringVector::Element e = strings.values.Get(0);
      plain_.mutable_item(id) =
          e.is_na ? Item(data::Null{}) : Item(data::String{std::string(e.bytes)});
      return absl::OkStatus();
    }
    plain_.mutable_item(id).classes.clear();
    DropRAttributes(id, "character vector");
    return absl::OkStatus();
  }

  absl::Status Array(ItemId id) {
    const ItemId type_id = TakeAttribute(id, kTorch7TypeAttribute);
    const bool one_d_array = TakeAttribute(id, kDimAttribute) != kNoItem;
    Item& item = plain_.mutable_item(id);
    NdArray& array = std::get<NdArray>(item.data);
    if (array.temporal != data::Temporal::kNone) {
      notes_.Add(absl::StrCat(Where(id), ": ",
                              array.temporal == data::Temporal::kDate
                                  ? "dates written as days since 1970-01-01"
                                  : "date-times written as seconds since 1970-01-01 00:00 UTC"));
      array.temporal = data::Temporal::kNone;
      array.timezone.reset();
      item.classes.clear();
    }
    if (array.dtype == ElementType::kComplex128) {
      return Unconvertible(id, "a complex vector");
    }
    if (array.dtype == ElementType::kLogical && array.na_present) {
      return Unconvertible(id, "a logical vector with NA (a ByteTensor holds 0 and 1 only)");
    }
    std::optional<std::string> torch_type = type_id != kNoItem ? TextOf(type_id) : std::nullopt;
    // A lone number, string or boolean: a Lua value rather than a one-element tensor.
    if (!torch_type && !one_d_array && !paths_.IsPart(id) && array.shape.size() == 1 &&
        array.shape[0] == 1 && item.names == kNoItem && item.attributes.empty() &&
        item.classes.empty() && item.dim_names == kNoItem) {
      return Scalar(id);
    }
    Classes(id);
    DropRAttributes(id, "vector");
    if (torch_type) return Retype(id, *torch_type);
    return absl::OkStatus();
  }

  absl::Status Scalar(ItemId id) {
    const NdArray array = std::get<NdArray>(plain_.item(id).data);
    const uint8_t* element = array.data.data() + array.offset * ElementSize(array.dtype);
    if (IsNa(array, element) && array.dtype != ElementType::kFloat64) {
      plain_.mutable_item(id) = Item(data::Null{});  // NA: nil, Lua's missing value
      return absl::OkStatus();
    }
    switch (array.dtype) {
      case ElementType::kLogical: {
        const int32_t v = LoadElementBytes<int32_t>(element, array.big_endian);
        plain_.mutable_item(id) = Item(data::Boolean{v != 0});
        return absl::OkStatus();
      }
      case ElementType::kInt32: {
        const int32_t v = LoadElementBytes<int32_t>(element, array.big_endian);
        plain_.mutable_item(id) = Item(data::Number{static_cast<double>(v)});
        return absl::OkStatus();
      }
      case ElementType::kFloat64: {
        const double v = LoadElementBytes<double>(element, array.big_endian);
        plain_.mutable_item(id) = Item(data::Number{v});
        return absl::OkStatus();
      }
      default:
        return absl::OkStatus();  // raw and the rest: a one-element tensor
    }
  }

  // The array in the element type of the Torch7 class `torch_type` (its torch7_type attribute):
  // the type it had before it came to R. Values that type cannot hold are refused.
  absl::Status Retype(ItemId id, const std::string& torch_type) {
    const torch7::ClassInfo info = torch7::ClassifyClass(torch_type);
    if (info.payload != torch7::Payload::kStorage && info.payload != torch7::Payload::kTensor) {
      notes_.Add(absl::StrCat(Where(id), ": torch7_type \"", torch_type,
                              "\" is not a Torch7 tensor or storage class; ignored"));
      return absl::OkStatus();
    }
    NdArray& array = std::get<NdArray>(plain_.mutable_item(id).data);
    const ElementType target = info.element_type;
    if (array.dtype != target) {
      const uint64_t count = data::ElementCount(array);
      // R's vectors are column-major already: the source is usually the input's own bytes (a
      // mapped file's), gone through a step at a time and given back behind, so that only the
      // retyped copy is held whole.
      Buffer source = data::Gather(array, data::Order::kColumnMajor);
      auto [buffer, bytes] = Buffer::Allocate(count * ElementSize(target));
      uint8_t* out = bytes;  // clang 14 cannot capture a structured binding in a lambda
      const size_t source_size = ElementSize(array.dtype);
      RETURN_IF_ERROR(VisitElementsInSteps(source, source_size, count, [&](uint64_t i) {
        const uint8_t* element = source.data() + i * source_size;
        if (IsNa(array, element)) {
          return absl::InvalidArgumentError(absl::StrCat(
              Where(id), ": element ", i + 1, " is NA, which a ", torch_type, " cannot hold"));
        }
        double v;
        switch (array.dtype) {
          case ElementType::kFloat64:
            v = LoadElementBytes<double>(element, array.big_endian);
            break;
          case ElementType::kInt32:
          case ElementType::kLogical:
            v = LoadElementBytes<int32_t>(element, array.big_endian);
            break;
          case ElementType::kUint8:
          case ElementType::kRaw:
            v = *element;
            break;
          default:
            return absl::InvalidArgumentError(
                absl::StrCat(Where(id), ": ", AsAbsl(ElementTypeName(array.dtype)),
                             " elements cannot become a ", torch_type));
        }
        return Store(id, torch_type, target, v, i, out + i * ElementSize(target));
      }));
      array.dtype = target;
      array.strides = data::ContiguousStrides(array.shape, data::Order::kColumnMajor);
      array.offset = 0;
      array.length = count;
      array.data = buffer;
      array.big_endian = false;
    }
    plain_.mutable_item(id).classes = {torch_type};
    return absl::OkStatus();
  }

  absl::Status Store(ItemId id, const std::string& torch_type, ElementType target, double v,
                     uint64_t i, uint8_t* out) {
    auto store_integer = [&](double low, double high, auto type_tag) -> absl::Status {
      using T = decltype(type_tag);
      if (!(v >= low && v <= high) || v != std::trunc(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat(Where(id), ": element ", i + 1, " (", v, ") does not fit a ", torch_type));
      }
      const T narrow = static_cast<T>(v);
      std::memcpy(out, &narrow, sizeof narrow);
      return absl::OkStatus();
    };
    switch (target) {
      case ElementType::kUint8:
        return store_integer(0, 255, uint8_t{});
      case ElementType::kInt8:
        return store_integer(-128, 127, int8_t{});
      case ElementType::kInt16:
        return store_integer(-32768, 32767, int16_t{});
      case ElementType::kInt32:
        return store_integer(-2147483648.0, 2147483647.0, int32_t{});
      case ElementType::kInt64:
        // Doubles below 2^63 in magnitude; R's doubles came from int64 values up to 2^53 exactly.
        return store_integer(-9223372036854775808.0, 9223372036854774784.0, int64_t{});
      case ElementType::kFloat16: {
        const uint16_t half = torch7::FloatToHalf(static_cast<float>(v));
        std::memcpy(out, &half, 2);
        return absl::OkStatus();
      }
      case ElementType::kFloat32: {
        const float f = static_cast<float>(v);
        std::memcpy(out, &f, 4);
        return absl::OkStatus();
      }
      case ElementType::kFloat64:
        std::memcpy(out, &v, 8);
        return absl::OkStatus();
      default:
        return absl::InvalidArgumentError(
            absl::StrCat(Where(id), ": no ", torch_type, " elements"));
    }
  }

  data::Data& plain_;
  const CrossFamilyOptions& options_;
  ConversionNotes& notes_;
  const ItemPaths paths_;
  absl::flat_hash_set<std::string> noted_classes_;
};

}  // namespace

absl::Status AdaptRDataForTorch7(data::Data& plain, const CrossFamilyOptions& options,
                                 ConversionNotes& notes) {
  return ForTorch7(plain, options, notes).Run();
}

}  // namespace seriald
