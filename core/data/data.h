// File: core/data/data.h
//
// Plain data: Torch7 and R objects as the values every language already has — n-dimensional
// arrays with a dtype, shape and strides; strings; lists; maps; data frames; factors; dates —
// rather than the formats' own graphs (core/model/value.h). The mapping between the two lives
// per format next to this file (r_mapping.h, torch7_mapping.h); the schema mirror is
// proto/seriald/v1/data.proto, whose comments define every field.
//
// Like Value, Data is a flat table: items refer to each other by ItemId, so depth costs no
// recursion and an item referred to twice is one shared object (two tensors over one storage, a
// Lua table that contains itself).
//
// Arrays are views: `data` is a Buffer shared with the Value they came from (a Torch7 storage, an
// R vector), and shape, strides and offset (all in elements) say where each element is. Element
// [i0, i1, ...] is element offset + i0*strides[0] + i1*strides[1] + ... of `data`. Nothing is
// copied to express a transposed tensor or a column-major R matrix.
//
// Example: an R data.frame with one double column and automatic row names.
//
//   data::Data d;
//   ItemId column = d.Add(data::NdArray::Vector(ElementType::kFloat64, 3, bytes));
//   ItemId frame = d.Add(data::DataFrame{{"x"}, {column}, /*row_count=*/3});
//   d.roots().push_back(frame);
//   ASSIGN_OR_RETURN(Value value, DataToR(d));   // r_mapping.h
#ifndef SERIALD_CORE_DATA_DATA_H_
#define SERIALD_CORE_DATA_DATA_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "core/io/buffer.h"
#include "core/model/element_type.h"
#include "core/model/strings.h"

namespace seriald {

// Index of an item in its Data.
using ItemId = uint32_t;
inline constexpr ItemId kNoItem = std::numeric_limits<ItemId>::max();

namespace data {

// R NULL, Lua nil.
struct Null {
  friend bool operator==(const Null&, const Null&) = default;
};
// A Lua boolean; a scalar from a dynamic language.
struct Boolean {
  bool value = false;
  friend bool operator==(const Boolean&, const Boolean&) = default;
};
// A Lua number; a scalar from a dynamic language.
struct Number {
  double value = 0;
  friend bool operator==(const Number& a, const Number& b);  // bitwise
};
// An integer scalar from a dynamic language (never produced by reading).
struct Integer {
  int64_t value = 0;
  friend bool operator==(const Integer&, const Integer&) = default;
};
// A Lua string or a lone R string: bytes (UTF-8 for R).
struct String {
  std::string bytes;
  friend bool operator==(const String&, const String&) = default;
};
// An R raw vector without attributes.
struct Binary {
  Buffer bytes;
  friend bool operator==(const Binary&, const Binary&) = default;
};

// What an array's numbers stand for.
enum class Temporal : uint8_t {
  kNone = 0,
  kDate = 1,      // R Date: days since 1970-01-01
  kDateTime = 2,  // R POSIXct: seconds since 1970-01-01 00:00 UTC
};

// An n-dimensional view over typed little-endian elements.
struct NdArray {
  ElementType dtype = ElementType::kFloat64;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // elements; one per dimension
  uint64_t offset = 0;           // elements from the start of `data` to element [0, ...]
  uint64_t length = 0;           // elements `data` holds
  Buffer data;
  Temporal temporal = Temporal::kNone;
  std::optional<std::string> timezone;  // kDateTime: R's tzone attribute, when present
  bool na_present = false;              // some elements are R missing values
  // The elements of `data` are big-endian: only in the data of a Value whose large arrays were
  // kept as written (MakeArraysLittleEndian), which DataToProto and the streaming server swap as
  // they send them, the npy, npz and safetensors writers as they write them, and the other
  // family's conversion (the cross-family adapters, DataToR, DataToTorch7) passes to its writer
  // or loads element by element (LoadElementBytes). Everything else makes and takes
  // little-endian arrays.
  bool big_endian = false;

  // A one-dimensional, contiguous array over all of `data`.
  static NdArray Vector(ElementType dtype, uint64_t length, Buffer data);

  friend bool operator==(const NdArray&, const NdArray&) = default;
};

// R character vectors (NA kept), in R's element order; `shape` for character matrices.
struct Strings {
  StringVector values;
  std::vector<int64_t> shape;
  friend bool operator==(const Strings&, const Strings&) = default;
};

// A sequence: an R list, a Lua table with keys exactly 1..n.
struct Sequence {
  std::vector<ItemId> items;
  friend bool operator==(const Sequence&, const Sequence&) = default;
};

// Key/value pairs with keys of any kind, in the source's order.
struct Map {
  std::vector<std::pair<ItemId, ItemId>> entries;
  friend bool operator==(const Map&, const Map&) = default;
};

// An R data.frame.
struct DataFrame {
  std::vector<std::string> column_names;
  std::vector<ItemId> columns;
  uint64_t row_count = 0;
  ItemId row_names = kNoItem;  // Strings, or an int32 NdArray; kNoItem: automatic 1..row_count
  friend bool operator==(const DataFrame&, const DataFrame&) = default;
};

// An R factor: 1-based int32 codes (NA = INT32_MIN) into levels.
struct Factor {
  ItemId codes = kNoItem;   // an int32 NdArray
  ItemId levels = kNoItem;  // Strings
  bool ordered = false;
  friend bool operator==(const Factor&, const Factor&) = default;
};

// A value with no plain-data form, named so that nothing disappears silently.
struct Opaque {
  std::string type;         // "closure", "environment", "formula", "function", ...
  std::string description;  // for people
  friend bool operator==(const Opaque&, const Opaque&) = default;
};

// The kinds, in the order of ItemData's alternatives.
enum class ItemKind : uint8_t {
  kNull,
  kBoolean,
  kNumber,
  kInteger,
  kString,
  kBinary,
  kArray,
  kStrings,
  kSequence,
  kMap,
  kDataFrame,
  kFactor,
  kOpaque,
};

using ItemData = std::variant<Null, Boolean, Number, Integer, String, Binary, NdArray, Strings,
                              Sequence, Map, DataFrame, Factor, Opaque>;

// "null", "boolean", "number", ..., "data_frame", "factor", "opaque": for messages.
std::string_view ItemKindName(ItemKind kind);

// An item: its data, plus what R attaches to many kinds.
struct Item {
  ItemData data;
  std::vector<std::string> classes;  // R class attribute, or the Torch7 class of an object
  ItemId names = kNoItem;            // a Strings item (R names)
  ItemId dim_names = kNoItem;        // a Sequence of Strings / Null items (R dimnames)
  std::vector<std::pair<std::string, ItemId>> attributes;  // other R attributes, in order

  Item() = default;
  Item(ItemData d) : data(std::move(d)) {}  // NOLINT: implicit on purpose, for Data::Add
  ItemKind kind() const { return static_cast<ItemKind>(data.index()); }
  friend bool operator==(const Item&, const Item&) = default;
};

class Data {
 public:
  ItemId Add(Item item) {
    items_.push_back(std::move(item));
    return static_cast<ItemId>(items_.size() - 1);
  }
  template <typename T, typename = std::enable_if_t<!std::is_same_v<std::decay_t<T>, Item>>>
  ItemId Add(T data) {
    items_.emplace_back(ItemData(std::move(data)));
    return static_cast<ItemId>(items_.size() - 1);
  }

  size_t size() const { return items_.size(); }
  bool Contains(ItemId id) const { return id < items_.size(); }
  const Item& item(ItemId id) const { return items_[id]; }
  Item& mutable_item(ItemId id) { return items_[id]; }
  const std::vector<Item>& items() const { return items_; }
  std::vector<Item>& mutable_items() { return items_; }

  template <typename T>
  const T* GetIf(ItemId id) const {
    return id < items_.size() ? std::get_if<T>(&items_[id].data) : nullptr;
  }
  template <typename T>
  T& Get(ItemId id) {
    return std::get<T>(items_[id].data);
  }

  const std::vector<ItemId>& roots() const { return roots_; }
  std::vector<ItemId>& roots() { return roots_; }

  // Checks what every mapping relies on, for Data from outside (a client): each reference names
  // an existing item of the kind its place needs (names are Strings, factor codes an int32
  // array, ...), and every array's view lies inside its data (no index reaches outside
  // [0, length), sizes and strides do not overflow, data holds length elements).
  // INVALID_ARGUMENT naming the item otherwise.
  absl::Status Validate() const;

  friend bool operator==(const Data&, const Data&) = default;

 private:
  std::vector<Item> items_;
  std::vector<ItemId> roots_;
};

}  // namespace data
}  // namespace seriald

#endif  // SERIALD_CORE_DATA_DATA_H_
