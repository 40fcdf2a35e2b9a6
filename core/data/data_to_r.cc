// Plain data -> R value (r_mapping.h). Items are converted from a work queue, each once (an item
// referred to twice becomes one node referred to twice, which R's writer writes out twice, as R
// itself would copy it); a first pass refuses cycles, which no R value can have.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/data/internal/conversion_queue.h"
#include "core/data/ndarray.h"
#include "core/data/r_mapping.h"
#include "core/io/byte_order.h"
#include "core/io/step_reader.h"
#include "core/model/utf8.h"
#include "core/rds/primitives.h"
#include "core/status_macros.h"

namespace seriald {
namespace {

using data::Item;
using data::ItemKind;
using data::NdArray;

// 2^53: every integer up to this is exact in a double.
constexpr int64_t kExactIntegerLimit = int64_t{1} << 53;
// The opaque type RToData gives a persistent reference.
constexpr std::string_view kPersistentReferenceType = "persistent reference";

bool IsAscii(std::string_view bytes) {
  for (char c : bytes) {
    if (static_cast<uint8_t>(c) >= 0x80) return false;
  }
  return true;
}

// The encoding R declares for a string it made from UTF-8 text: ASCII when it is (R marks every
// ASCII CHARSXP so), else UTF-8. Bytes that are not UTF-8 (a Lua string holding binary data) are
// declared as bytes, which R keeps as they are rather than misreading them as text.
StringEncoding EncodingOf(std::string_view bytes) {
  if (IsAscii(bytes)) return StringEncoding::kAscii;
  return IsValidUtf8(bytes) ? StringEncoding::kUtf8 : StringEncoding::kBytes;
}

// The children of an item that it contains (not names or attributes, which cannot lead back to a
// container in R either, but are followed all the same).
template <typename Visit>
void ForEachChild(const Item& item, Visit&& visit) {
  if (item.names != kNoItem) visit(item.names);
  if (item.dim_names != kNoItem) visit(item.dim_names);
  for (const auto& attribute : item.attributes) visit(attribute.second);
  if (const auto* sequence = std::get_if<data::Sequence>(&item.data)) {
    for (ItemId child : sequence->items) visit(child);
  } else if (const auto* map = std::get_if<data::Map>(&item.data)) {
    for (const auto& [key, value] : map->entries) {
      visit(key);
      visit(value);
    }
  } else if (const auto* frame = std::get_if<data::DataFrame>(&item.data)) {
    for (ItemId column : frame->columns) visit(column);
    if (frame->row_names != kNoItem) visit(frame->row_names);
  } else if (const auto* factor = std::get_if<data::Factor>(&item.data)) {
    visit(factor->codes);
    visit(factor->levels);
  }
}

// INVALID_ARGUMENT when an item contains itself. Iterative depth-first search with colours.
absl::Status RefuseCycles(const data::Data& plain) {
  enum Colour : uint8_t { kUnvisited, kOpen, kDone };
  std::vector<Colour> colour(plain.size(), kUnvisited);
  struct Frame {
    ItemId id;
    std::vector<ItemId> children;
    size_t next = 0;
  };
  for (ItemId start = 0; start < plain.size(); ++start) {
    if (colour[start] != kUnvisited) continue;
    std::vector<Frame> stack;
    auto open = [&](ItemId id) {
      colour[id] = kOpen;
      Frame frame{id, {}, 0};
      ForEachChild(plain.item(id), [&](ItemId child) { frame.children.push_back(child); });
      stack.push_back(std::move(frame));
    };
    open(start);
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.next == top.children.size()) {
        colour[top.id] = kDone;
        stack.pop_back();
        continue;
      }
      const ItemId child = top.children[top.next++];
      if (colour[child] == kOpen) {
        return absl::InvalidArgumentError(absl::StrCat("item ", child,
                                                       " contains itself (through item ", top.id,
                                                       "); R values cannot be cyclic"));
      }
      if (colour[child] == kUnvisited) open(child);
    }
  }
  return absl::OkStatus();
}

class DataToRConverter {
 public:
  DataToRConverter(const data::Data& plain, const DataToROptions& options)
      : plain_(plain), options_(options) {}

  absl::StatusOr<Value> Run() {
    RETURN_IF_ERROR(plain_.Validate());
    RETURN_IF_ERROR(RefuseCycles(plain_));
    if (plain_.roots().size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("an R stream holds exactly one object, but the data has ",
                       plain_.roots().size(), " roots"));
    }
    const ItemId root = plain_.roots()[0];
    if (options_.root_as_pairlist) {
      ASSIGN_OR_RETURN(NodeId pairlist, RootPairlist(root));
      value_.roots().push_back(pairlist);
    } else {
      value_.roots().push_back(NodeFor(root));
    }
    RETURN_IF_ERROR(queue_.Drain([&](ItemId item, NodeId node) -> absl::Status {
      ASSIGN_OR_RETURN(Node converted, Convert(item));
      value_.mutable_node(node) = std::move(converted);
      return absl::OkStatus();
    }));
    RETURN_IF_ERROR(value_.Validate());
    return std::move(value_);
  }

 private:
  NodeId NodeFor(ItemId item) {
    return queue_.IdFor(item, [&] { return value_.Add(Nil{}); });
  }

  absl::Status ItemError(ItemId id, std::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat("item ", id, " (", AsAbsl(data::ItemKindName(plain_.item(id).kind())),
                     "): ", AsAbsl(problem)));
  }

  // The names of a save() file's objects: a named list or a map with string keys.
  absl::StatusOr<NodeId> RootPairlist(ItemId root) {
    const Item& item = plain_.item(root);
    std::vector<std::pair<std::string, ItemId>> objects;
    if (const auto* map = std::get_if<data::Map>(&item.data)) {
      for (const auto& [key, value] : map->entries) {
        const auto* name = plain_.GetIf<data::String>(key);
        if (name == nullptr) return ItemError(root, "a save() file needs string keys");
        objects.emplace_back(name->bytes, value);
      }
    } else if (const auto* sequence = std::get_if<data::Sequence>(&item.data)) {
      const auto* names = plain_.GetIf<data::Strings>(item.names);
      if (names == nullptr || names->values.size() != sequence->items.size()) {
        return ItemError(root, "a save() file needs a named list of objects");
      }
      for (size_t i = 0; i < sequence->items.size(); ++i) {
        objects.emplace_back(std::string(names->values.Get(i).bytes), sequence->items[i]);
      }
    } else {
      return ItemError(root, "a save() file needs a named list (or map) of objects");
    }
    Pairlist pairlist;
    for (auto& [name, id] : objects) {
      PairlistCell cell;
      cell.tag = Symbol(name);
      cell.value = NodeFor(id);
      pairlist.cells.push_back(cell);
    }
    return value_.Add(std::move(pairlist));
  }

  NodeId Symbol(std::string_view name) {
    return value_.Add(seriald::Symbol{StringValue{std::string(name), EncodingOf(name), false}});
  }

  NodeId StringsNode(std::vector<std::string_view> strings) {
    StringVector vector;
    for (std::string_view s : strings) vector.Append(s, EncodingOf(s));
    return value_.Add(std::move(vector));
  }

  // Attributes in the order R's constructors give them: names, dim, dimnames, what the kind adds
  // (levels; row.names), class, tzone, then the rest.
  struct AttributeList {
    std::vector<std::pair<std::string, NodeId>> entries;
    void Add(std::string name, NodeId node) { entries.emplace_back(std::move(name), node); }
  };

  void Attach(Node& node, AttributeList& list, bool object) {
    if (list.entries.empty()) return;
    Pairlist pairlist;
    for (auto& [name, value] : list.entries) {
      PairlistCell cell;
      cell.tag = Symbol(name);
      cell.value = value;
      pairlist.cells.push_back(cell);
    }
    node.attributes = value_.Add(std::move(pairlist));
    node.r_flags.object = object;
  }

  // names and dimnames of `item`, first in R's order.
  void AddNames(const Item& item, AttributeList& list) {
    if (item.names != kNoItem) list.Add("names", NodeFor(item.names));
  }
  void AddClassesAndRest(const Item& item, const std::vector<std::string>& default_classes,
                         AttributeList& list, bool& object) {
    const std::vector<std::string>& classes = item.classes.empty() ? default_classes : item.classes;
    if (!classes.empty()) {
      std::vector<std::string_view> views(classes.begin(), classes.end());
      list.Add("class", StringsNode(views));
      object = true;
    }
  }
  void AddOthers(const Item& item, AttributeList& list) {
    for (const auto& [name, value] : item.attributes) list.Add(name, NodeFor(value));
  }

  // ---- conversion of one item

  absl::StatusOr<Node> Convert(ItemId id) {
    const Item& item = plain_.item(id);
    switch (item.kind()) {
      case ItemKind::kNull:
        return Node(Nil{});
      case ItemKind::kBoolean: {
        int32_t v = std::get<data::Boolean>(item.data).value ? 1 : 0;
        return Scalar(item, ElementType::kLogical, &v, 4);
      }
      case ItemKind::kNumber: {
        double v = std::get<data::Number>(item.data).value;
        return Scalar(item, ElementType::kFloat64, &v, 8);
      }
      case ItemKind::kInteger: {
        const int64_t v = std::get<data::Integer>(item.data).value;
        if (v > INT32_MIN && v <= INT32_MAX) {
          int32_t i = static_cast<int32_t>(v);
          return Scalar(item, ElementType::kInt32, &i, 4);
        }
        double d = static_cast<double>(v);
        return Scalar(item, ElementType::kFloat64, &d, 8);
      }
      case ItemKind::kString: {
        const std::string& bytes = std::get<data::String>(item.data).bytes;
        StringVector vector;
        vector.Append(bytes, EncodingOf(bytes));
        return WithAttributes(item, Node(std::move(vector)), {});
      }
      case ItemKind::kBinary: {
        const Buffer& bytes = std::get<data::Binary>(item.data).bytes;
        return WithAttributes(item, Node(Array{ElementType::kRaw, bytes.size(), bytes}), {});
      }
      case ItemKind::kArray:
        return ConvertArray(id, item);
      case ItemKind::kStrings:
        return ConvertStrings(id, item);
      case ItemKind::kSequence: {
        List list;
        for (ItemId child : std::get<data::Sequence>(item.data).items) {
          list.items.push_back(NodeFor(child));
        }
        return WithAttributes(item, Node(std::move(list)), {});
      }
      case ItemKind::kMap:
        return ConvertMap(item);
      case ItemKind::kDataFrame:
        return ConvertDataFrame(id, item);
      case ItemKind::kFactor:
        return ConvertFactor(id, item);
      case ItemKind::kOpaque: {
        const auto& opaque = std::get<data::Opaque>(item.data);
        if (opaque.type == kPersistentReferenceType && item.names != kNoItem) {
          return PersistentReferenceNode(id, item);
        }
        return ItemError(id, absl::StrCat("an opaque ", opaque.type, " (", opaque.description,
                                          ") has no plain-data form and cannot be written"));
      }
    }
    return ItemError(id, "unknown kind");
  }

  // An opaque "persistent reference" with its names (as RToData gives it) is that reference
  // again: R writes a PERSISTSXP of the names, without attributes.
  absl::StatusOr<Node> PersistentReferenceNode(ItemId id, const Item& item) {
    const auto& names = std::get<data::Strings>(plain_.item(item.names).data).values;
    if (names.empty()) return ItemError(id, "a persistent reference needs one or more names");
    if (!item.classes.empty() || item.dim_names != kNoItem || !item.attributes.empty()) {
      return ItemError(id, "a persistent reference carries no class, dimnames or attributes");
    }
    StringVector vector;
    vector.Reserve(names.size(), names.byte_size());
    for (size_t i = 0; i < names.size(); ++i) {
      StringVector::Element e = names.Get(i);
      if (e.is_na) {
        vector.AppendNa();
      } else {
        vector.Append(e.bytes, EncodingOf(e.bytes));
      }
    }
    return Node(PersistentReference{std::move(vector)});
  }

  absl::StatusOr<Node> Scalar(const Item& item, ElementType type, const void* bytes, size_t size) {
    return WithAttributes(item, Node(Array{type, 1, Buffer::Copy(bytes, size)}), {});
  }

  // Attaches names, class and the other attributes of `item` (plus `extra`, after names).
  absl::StatusOr<Node> WithAttributes(const Item& item, Node node, AttributeList extra,
                                      const std::vector<std::string>& default_classes = {},
                                      AttributeList after_class = {}) {
    AttributeList list;
    AddNames(item, list);
    for (auto& entry : extra.entries) list.entries.push_back(std::move(entry));
    if (item.dim_names != kNoItem) list.Add("dimnames", NodeFor(item.dim_names));
    bool object = false;
    AddClassesAndRest(item, default_classes, list, object);
    for (auto& entry : after_class.entries) list.entries.push_back(std::move(entry));
    AddOthers(item, list);
    Attach(node, list, object);
    return node;
  }

  // How RNumbers gives elements of a type R widens (float32, float16, int8, int16, uint8).
  enum class Narrow {
    kAsIs,     // as they are, for R's writer to widen as it writes them (rds::WidenedForR)
    kWidened,  // widened into a copy, for values read here (factor codes, dates)
  };

  // The elements of `array`, column-major, as an R vector type. Elements R holds as they are keep
  // their byte order (a big-endian DoubleTensor goes to R's writer as written), and so do narrow
  // ones left for the writer to widen (a FloatTensor becomes R's doubles a step at a time as it
  // is written, never as a whole copy); others are loaded one at a time in the array's order.
  absl::StatusOr<Array> RNumbers(ItemId id, const NdArray& array, Narrow narrow) {
    const uint64_t count = data::ElementCount(array);
    Buffer gathered = data::Gather(array, data::Order::kColumnMajor);
    const uint8_t* p = gathered.data();
    const bool big_endian = array.big_endian;
    if (const std::optional<ElementType> wide = rds::WidenedForR(array.dtype)) {
      if (narrow == Narrow::kAsIs) {
        return Array{array.dtype, count, gathered, data::KeptBigEndian(array)};
      }
      // Widened as R's writer widens them, a step at a time (little-endian steps: ReadInSteps
      // swaps a big-endian one).
      const size_t from_size = ElementSize(array.dtype);
      const size_t to_size = ElementSize(*wide);
      auto [buffer, bytes] = Buffer::Allocate(count * to_size);
      uint8_t* out = bytes;  // clang 14 cannot capture a structured binding in a lambda
      RETURN_IF_ERROR(ReadInSteps(gathered.Slice(0, count * from_size), size_t{8} << 20,
                                  big_endian ? SwapUnit(array.dtype) : 0, [&](const Buffer& step) {
                                    const uint64_t n = step.size() / from_size;
                                    rds::WidenForR(array.dtype, step.data(), n, out);
                                    out += n * to_size;
                                    return absl::OkStatus();
                                  }));
      return Array{*wide, count, buffer};
    }
    switch (array.dtype) {
      case ElementType::kInt32:
      case ElementType::kFloat64:
      case ElementType::kLogical:
      case ElementType::kComplex128:
      case ElementType::kRaw:
        return Array{array.dtype, count, gathered, data::KeptBigEndian(array)};
      case ElementType::kInt64: {
        // Two passes, the range check and the conversion, each with a step of a mapped input
        // resident at a time besides the converted copy.
        bool fits_integer = true;
        RETURN_IF_ERROR(VisitElementsInSteps(gathered, 8, count, [&](uint64_t i) {
          const int64_t v = LoadElementBytes<int64_t>(p + 8 * i, big_endian);
          if (v <= INT32_MIN || v > INT32_MAX) {
            fits_integer = false;
            if (v > kExactIntegerLimit || v < -kExactIntegerLimit) {
              return ItemError(id, absl::StrCat("int64 element ", i, " (", v,
                                                ") is beyond 2^53, which R's doubles cannot "
                                                "hold exactly"));
            }
          }
          return absl::OkStatus();
        }));
        auto [buffer, bytes] = Buffer::Allocate(count * (fits_integer ? 4 : 8));
        uint8_t* out = bytes;  // clang 14 cannot capture a structured binding in a lambda
        (void)VisitElementsInSteps(gathered, 8, count, [&](uint64_t i) {
          const int64_t v = LoadElementBytes<int64_t>(p + 8 * i, big_endian);
          if (fits_integer) {
            int32_t narrow = static_cast<int32_t>(v);
            std::memcpy(out + 4 * i, &narrow, 4);
          } else {
            double wide = static_cast<double>(v);
            std::memcpy(out + 8 * i, &wide, 8);
          }
          return absl::OkStatus();
        });
        return Array{fits_integer ? ElementType::kInt32 : ElementType::kFloat64, count, buffer};
      }
      default:  // the narrow types, widened above
        break;
    }
    return ItemError(id, "unknown dtype");
  }

  // R's dim attribute for `shape` when it has two or more dimensions.
  absl::StatusOr<AttributeList> Dim(ItemId id, const std::vector<int64_t>& shape) {
    AttributeList list;
    if (shape.size() < 2) return list;
    auto [buffer, out] = Buffer::Allocate(shape.size() * 4);
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] > INT32_MAX) {
        return ItemError(id, absl::StrCat("dimension ", d, " has ", shape[d],
                                          " elements, more than R's dim can hold"));
      }
      int32_t size = static_cast<int32_t>(shape[d]);
      std::memcpy(out + 4 * d, &size, 4);
    }
    list.Add("dim", value_.Add(Array{ElementType::kInt32, shape.size(), buffer}));
    return list;
  }

  absl::StatusOr<Node> ConvertArray(ItemId id, const Item& item) {
    const auto& array = std::get<NdArray>(item.data);
    // Dates and times are checked to be numbers here: widened first.
    ASSIGN_OR_RETURN(
        Array vector,
        RNumbers(id, array,
                 array.temporal == data::Temporal::kNone ? Narrow::kAsIs : Narrow::kWidened));
    ASSIGN_OR_RETURN(AttributeList dim, Dim(id, array.shape));
    std::vector<std::string> default_classes;
    AttributeList after_class;
    if (array.temporal != data::Temporal::kNone) {
      if (vector.type != ElementType::kFloat64 && vector.type != ElementType::kInt32) {
        return ItemError(id, "dates and times must be numbers");
      }
      if (array.temporal == data::Temporal::kDate) {
        default_classes = {"Date"};
      } else {
        default_classes = {"POSIXct", "POSIXt"};
        if (array.timezone.has_value()) after_class.Add("tzone", StringsNode({*array.timezone}));
      }
    }
    return WithAttributes(item, Node(std::move(vector)), std::move(dim), default_classes,
                          std::move(after_class));
  }

  absl::StatusOr<Node> ConvertStrings(ItemId id, const Item& item) {
    const auto& strings = std::get<data::Strings>(item.data);
    StringVector vector;
    vector.Reserve(strings.values.size(), strings.values.byte_size());
    for (size_t i = 0; i < strings.values.size(); ++i) {
      StringVector::Element e = strings.values.Get(i);
      if (e.is_na) {
        vector.AppendNa();
      } else {
        vector.Append(e.bytes, EncodingOf(e.bytes));
      }
    }
    AttributeList dim;
    if (strings.shape.size() >= 2) {
      ASSIGN_OR_RETURN(dim, Dim(id, strings.shape));
    }
    return WithAttributes(item, Node(std::move(vector)), std::move(dim));
  }

  // A map is a named list when every key is a string, else a list of list(key, value) pairs.
  absl::StatusOr<Node> ConvertMap(const Item& item) {
    const auto& map = std::get<data::Map>(item.data);
    bool string_keys = true;
    for (const auto& entry : map.entries) {
      string_keys = string_keys && plain_.GetIf<data::String>(entry.first) != nullptr;
    }
    List list;
    if (string_keys) {
      std::vector<std::string_view> names;
      for (const auto& [key, value] : map.entries) {
        names.push_back(plain_.GetIf<data::String>(key)->bytes);
        list.items.push_back(NodeFor(value));
      }
      AttributeList extra;
      if (item.names == kNoItem) extra.Add("names", StringsNode(names));
      return WithAttributes(item, Node(std::move(list)), std::move(extra));
    }
    for (const auto& [key, value] : map.entries) {
      List pair;
      pair.items = {NodeFor(key), NodeFor(value)};
      Node node(std::move(pair));
      AttributeList names;
      names.Add("names", StringsNode({"key", "value"}));
      Attach(node, names, false);
      list.items.push_back(value_.Add(std::move(node)));
    }
    return WithAttributes(item, Node(std::move(list)), {});
  }

  // The number of rows a data frame column has.
  absl::StatusOr<uint64_t> ColumnLength(ItemId column) {
    const Item& item = plain_.item(column);
    switch (item.kind()) {
      case ItemKind::kArray: {
        const auto& array = std::get<NdArray>(item.data);
        return array.shape.empty() ? 1 : static_cast<uint64_t>(array.shape[0]);
      }
      case ItemKind::kStrings: {
        const auto& strings = std::get<data::Strings>(item.data);
        return strings.shape.empty() ? strings.values.size()
                                     : static_cast<uint64_t>(strings.shape[0]);
      }
      case ItemKind::kSequence:
        return std::get<data::Sequence>(item.data).items.size();
      case ItemKind::kDataFrame:
        return std::get<data::DataFrame>(item.data).row_count;
      case ItemKind::kFactor: {
        const auto& codes =
            std::get<NdArray>(plain_.item(std::get<data::Factor>(item.data).codes).data);
        return data::ElementCount(codes);
      }
      case ItemKind::kBinary:
        return std::get<data::Binary>(item.data).bytes.size();
      case ItemKind::kBoolean:
      case ItemKind::kNumber:
      case ItemKind::kInteger:
      case ItemKind::kString:
        return 1;
      default:
        return ItemError(column, "cannot be a data frame column");
    }
  }

  absl::StatusOr<Node> ConvertDataFrame(ItemId id, const Item& item) {
    const auto& frame = std::get<data::DataFrame>(item.data);
    List list;
    std::vector<std::string_view> names;
    for (size_t i = 0; i < frame.columns.size(); ++i) {
      ASSIGN_OR_RETURN(uint64_t rows, ColumnLength(frame.columns[i]));
      if (rows != frame.row_count) {
        return ItemError(
            id, absl::StrCat("column ", i + 1, " (\"", frame.column_names[i], "\") has ", rows,
                             " rows, but the data frame has ", frame.row_count));
      }
      list.items.push_back(NodeFor(frame.columns[i]));
      names.push_back(frame.column_names[i]);
    }
    NodeId row_names;
    if (frame.row_names != kNoItem) {
      const Item& rows = plain_.item(frame.row_names);
      const auto* strings = std::get_if<data::Strings>(&rows.data);
      const auto* numbers = std::get_if<NdArray>(&rows.data);
      const uint64_t count = strings != nullptr   ? strings->values.size()
                             : numbers != nullptr ? data::ElementCount(*numbers)
                                                  : ~uint64_t{0};
      if (count != frame.row_count) {
        return ItemError(id, absl::StrCat("row names must be strings or integers, one per row (",
                                          frame.row_count, ")"));
      }
      row_names = NodeFor(frame.row_names);
    } else if (frame.row_count == 0) {
      row_names = value_.Add(Array{ElementType::kInt32, 0, Buffer()});
    } else {
      if (frame.row_count > INT32_MAX) return ItemError(id, "more rows than R allows");
      const int32_t compact[2] = {kNaInteger, -static_cast<int32_t>(frame.row_count)};
      row_names = value_.Add(Array{ElementType::kInt32, 2, Buffer::Copy(compact, 8)});
    }
    AttributeList extra;
    extra.Add("names", StringsNode(names));
    AttributeList after_class;
    after_class.Add("row.names", row_names);
    Item without_names = item;  // a data frame's names are its column names
    without_names.names = kNoItem;
    return WithAttributes(without_names, Node(std::move(list)), std::move(extra), {"data.frame"},
                          std::move(after_class));
  }

  absl::StatusOr<Node> ConvertFactor(ItemId id, const Item& item) {
    const auto& factor = std::get<data::Factor>(item.data);
    ASSIGN_OR_RETURN(Array codes,
                     RNumbers(factor.codes, std::get<NdArray>(plain_.item(factor.codes).data),
                              Narrow::kWidened));
    if (codes.type != ElementType::kInt32) {
      return ItemError(id, "factor codes must be integers (1-based, NA for missing)");
    }
    const auto& levels = std::get<data::Strings>(plain_.item(factor.levels).data);
    for (uint64_t i = 0; i < codes.length; ++i) {
      const int32_t code = LoadElementBytes<int32_t>(codes.data.data() + 4 * i, codes.big_endian);
      if (code != kNaInteger && (code < 1 || static_cast<uint64_t>(code) > levels.values.size())) {
        return ItemError(id, absl::StrCat("code ", code, " at ", i, " is not a level (1..",
                                          levels.values.size(), ")"));
      }
    }
    AttributeList extra;
    extra.Add("levels", NodeFor(factor.levels));
    std::vector<std::string> default_classes = factor.ordered
                                                   ? std::vector<std::string>{"ordered", "factor"}
                                                   : std::vector<std::string>{"factor"};
    return WithAttributes(item, Node(std::move(codes)), std::move(extra), default_classes);
  }

  const data::Data& plain_;
  const DataToROptions& options_;
  Value value_;
  data::ConversionQueue<ItemId, NodeId> queue_;
};

}  // namespace

absl::StatusOr<Value> DataToR(const data::Data& plain, const DataToROptions& options) {
  return DataToRConverter(plain, options).Run();
}

}  // namespace seriald
