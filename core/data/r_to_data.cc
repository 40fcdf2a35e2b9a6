// R value -> plain data (r_mapping.h). One pass over a work queue: each node gets its item id the
// first time something refers to it, and is converted when it leaves the queue, so sharing is kept
// and depth costs no recursion.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/data/internal/conversion_queue.h"
#include "core/data/ndarray.h"
#include "core/data/r_mapping.h"
#include "core/io/input_error.h"
#include "core/model/utf8.h"
#include "core/rds/altrep.h"
#include "core/rds/primitives.h"
#include "core/rds/sexptype.h"
#include "core/status_macros.h"

namespace seriald {
namespace {

using data::Item;
using data::NdArray;

// R's S4 object bit among a node's "gp" levels.
constexpr uint16_t kS4ObjectLevel = 1 << 4;
// How many wrap_* objects may wrap each other before the chain counts as malformed.
constexpr int kMaxWrapperDepth = 64;
// The step of the scan for NA: a whole number of elements of every size.
constexpr size_t kNaScanStepBytes = size_t{8} << 20;

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

NativeEncoding NativeEncodingOf(const Value& value) {
  return value.source().r.has_value() ? NativeEncodingFromName(value.source().r->native_encoding)
                                      : NativeEncoding::kOther;
}

class RToDataConverter {
 public:
  RToDataConverter(const Value& value, const RToDataOptions& options)
      : value_(value), options_(options), native_(NativeEncodingOf(value)) {}

  absl::StatusOr<data::Data> Run() {
    for (NodeId root : value_.roots()) data_.roots().push_back(ItemFor(root));
    RETURN_IF_ERROR(queue_.Drain([&](NodeId node, ItemId item) -> absl::Status {
      ASSIGN_OR_RETURN(Item converted, Convert(node));
      data_.mutable_item(item) = std::move(converted);
      return absl::OkStatus();
    }));
    return std::move(data_);
  }

 private:
  // The item of `node`: allocated (and queued for conversion) the first time it is asked for.
  ItemId ItemFor(NodeId node) {
    if (node == kNoNode) {
      if (null_item_ == kNoItem) null_item_ = data_.Add(data::Null{});
      return null_item_;
    }
    return queue_.IdFor(node, [&] { return data_.Add(data::Null{}); });
  }

  absl::Status NodeError(NodeId id, std::string_view problem) const {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", id, " (", AsAbsl(NodeKindName(value_.node(id).kind())), "): ", AsAbsl(problem)));
  }

  // ---- attributes

  struct Attributes {
    std::vector<std::pair<std::string, NodeId>> all;  // in order
    std::vector<std::string> classes;

    NodeId Find(std::string_view name) const {
      for (const auto& [n, v] : all) {
        if (n == name) return v;
      }
      return kNoNode;
    }
  };

  Attributes AttributesOf(NodeId pairlist_id) const {
    Attributes attributes;
    const auto* pairlist = value_.GetIf<Pairlist>(pairlist_id);
    if (pairlist == nullptr) return attributes;
    for (const PairlistCell& cell : pairlist->cells) {
      const auto* tag = value_.GetIf<Symbol>(cell.tag);
      std::string name = tag != nullptr ? tag->name.bytes : std::string();
      if (name == "class") {
        if (const auto* classes = value_.GetIf<StringVector>(cell.value)) {
          for (size_t i = 0; i < classes->size(); ++i) {
            attributes.classes.emplace_back(classes->Get(i).bytes);
          }
        }
      }
      attributes.all.emplace_back(std::move(name), cell.value);
    }
    return attributes;
  }

  // Puts class, names and dimnames into their fields and every other attribute not in `consumed`
  // (those the item's kind already expresses) into `item.attributes`.
  void KeepAttributes(const Attributes& attributes, Item& item,
                      const std::vector<std::string_view>& consumed) {
    for (const auto& [name, node] : attributes.all) {
      if (std::find(consumed.begin(), consumed.end(), name) != consumed.end()) continue;
      if (name == "class") {
        item.classes = attributes.classes;
      } else if (name == "names" && IsVectorOf(node, NodeKind::kStringVector, rds::kStrSxp)) {
        item.names = ItemFor(node);
      } else if (name == "dimnames" && IsVectorOf(node, NodeKind::kList, rds::kVecSxp)) {
        item.dim_names = ItemFor(node);
      } else {
        item.attributes.emplace_back(name, ItemFor(node));
      }
    }
  }

  // Whether `node` is a vector of `kind`, or an ALTREP object standing for one (R keeps the names
  // of an lm fit's residuals as a wrapper or deferred strings).
  bool IsVectorOf(NodeId node, NodeKind kind, int32_t sexp_type) const {
    if (!value_.Contains(node)) return false;
    if (value_.node(node).kind() == kind) return true;
    const auto* altrep = value_.GetIf<Altrep>(node);
    return altrep != nullptr && altrep->base_type == sexp_type;
  }

  // ---- conversion of one node

  absl::StatusOr<Item> Convert(NodeId id) {
    const Node& node = value_.node(id);
    if ((node.r_flags.levels & kS4ObjectLevel) != 0 || node.kind() == NodeKind::kS4Object) {
      Attributes attributes = AttributesOf(node.attributes);
      return Opaque("S4", attributes.classes.empty()
                              ? std::string("an S4 object")
                              : absl::StrCat("an S4 object of class ", attributes.classes[0]));
    }
    switch (node.kind()) {
      case NodeKind::kNil:
        return Item(data::Null{});
      case NodeKind::kString: {
        const auto& string = std::get<StringValue>(node.data);
        return Item(data::String{ToUtf8(string.bytes, string.encoding)});
      }
      case NodeKind::kArray:
        return ConvertVector(id, node.attributes, std::get<Array>(node.data));
      case NodeKind::kStringVector:
        return ConvertStrings(node.attributes,
                              ConvertStringVector(std::get<StringVector>(node.data)));
      case NodeKind::kList: {
        const auto& list = std::get<List>(node.data);
        if (list.expression)
          return Opaque("expression",
                        absl::StrCat("an expression of ", list.items.size(), " calls"));
        return ConvertList(node.attributes, list.items);
      }
      case NodeKind::kAltrep:
        return ConvertAltrep(id);
      case NodeKind::kPairlist:
        return ConvertPairlist(id);
      case NodeKind::kSymbol:
        return Opaque("symbol", std::get<Symbol>(node.data).name.bytes);
      case NodeKind::kEnvironment:
        return Opaque("environment", "an environment");
      case NodeKind::kSpecial:
        switch (std::get<Special>(node.data).which) {
          case SpecialKind::kGlobalEnv:
            return Opaque("environment", "R_GlobalEnv");
          case SpecialKind::kBaseEnv:
            return Opaque("environment", "base");
          case SpecialKind::kEmptyEnv:
            return Opaque("environment", "R_EmptyEnv");
          case SpecialKind::kBaseNamespace:
            return Opaque("environment", "namespace:base");
          case SpecialKind::kMissingArg:
            return Opaque("symbol", "the empty argument");
          case SpecialKind::kUnboundValue:
            return Opaque("symbol", "an unbound value");
        }
        break;
      case NodeKind::kNamespace: {
        const auto& info = std::get<Namespace>(node.data).info;
        return Opaque("environment",
                      absl::StrCat("namespace:", info.empty() ? "" : AsAbsl(info.Get(0).bytes)));
      }
      case NodeKind::kPackageEnvironment: {
        const auto& info = std::get<PackageEnvironment>(node.data).info;
        return Opaque("environment", info.empty() ? std::string() : std::string(info.Get(0).bytes));
      }
      case NodeKind::kPersistentReference: {
        const auto& names = std::get<PersistentReference>(node.data).names;
        std::string joined;
        for (size_t i = 0; i < names.size(); ++i) {
          absl::StrAppend(&joined, i == 0 ? "" : ", ", AsAbsl(names.Get(i).bytes));
        }
        // The names also travel as strings, so that writing the item back gives the same
        // reference, and a client can resolve it as R's unserialize(refhook =) would.
        Item item = Opaque("persistent reference", joined);
        item.names = data_.Add(data::Strings{ConvertStringVector(names), {}});
        return item;
      }
      case NodeKind::kClosure:
        return Opaque("closure", "a function");
      case NodeKind::kPromise:
        return Opaque("promise", "a promise");
      case NodeKind::kBuiltin: {
        const auto& builtin = std::get<Builtin>(node.data);
        return Opaque(builtin.special ? "special" : "builtin", builtin.name);
      }
      case NodeKind::kBytecode:
        return Opaque("bytecode", "compiled code");
      case NodeKind::kExternalPointer:
        return Opaque("externalptr", "an external pointer");
      case NodeKind::kWeakReference:
        return Opaque("weakref", "a weak reference");
      default:
        break;
    }
    return Opaque(std::string(NodeKindName(node.kind())), "not an R object");
  }

  static Item Opaque(std::string type, std::string description) {
    return Item(data::Opaque{std::move(type), std::move(description)});
  }

  // A numeric, logical, complex or raw vector (with its attributes): Binary, Factor, or NdArray.
  absl::StatusOr<Item> ConvertVector(NodeId id, NodeId attributes_id, const Array& array) {
    Attributes attributes = AttributesOf(attributes_id);
    if (array.type == ElementType::kRaw && attributes.all.empty()) {
      return Item(data::Binary{array.data});
    }
    const bool is_number = array.type == ElementType::kInt32 || array.type == ElementType::kFloat64;
    const NodeId levels = attributes.Find("levels");
    if (array.type == ElementType::kInt32 && Contains(attributes.classes, "factor") &&
        IsVectorOf(levels, NodeKind::kStringVector, rds::kStrSxp)) {
      NdArray codes = NdArray::Vector(array.type, array.length, array.data);
      codes.big_endian = array.big_endian;
      codes.na_present = HasNa(codes);
      Item item(data::Factor{data_.Add(std::move(codes)), ItemFor(levels),
                             Contains(attributes.classes, "ordered")});
      KeepAttributes(attributes, item, {"levels"});
      return item;
    }
    NdArray ndarray = NdArray::Vector(array.type, array.length, array.data);
    ndarray.big_endian = array.big_endian;
    ndarray.na_present = HasNa(ndarray);
    std::vector<std::string_view> consumed;
    if (is_number && Contains(attributes.classes, "Date")) {
      ndarray.temporal = data::Temporal::kDate;
    } else if (is_number && Contains(attributes.classes, "POSIXct")) {
      ndarray.temporal = data::Temporal::kDateTime;
      if (const std::optional<StringVector> tzone = StringsOf(attributes.Find("tzone"));
          tzone.has_value() && tzone->size() >= 1 && !tzone->Get(0).is_na) {
        ndarray.timezone = ToUtf8(tzone->Get(0).bytes, tzone->Get(0).encoding);
        consumed.push_back("tzone");
      }
    }
    // A dim of one dimension (array(1:3), a 1-d table) adds nothing to the shape and stays an
    // attribute, so that writing the data back gives the same object.
    std::vector<int64_t> shape;
    if (ApplyDim(attributes.Find("dim"), ndarray.length, shape) && shape.size() >= 2) {
      ndarray.shape = std::move(shape);
      ndarray.strides = data::ContiguousStrides(ndarray.shape, data::Order::kColumnMajor);
      consumed.push_back("dim");
    }
    Item item(std::move(ndarray));
    KeepAttributes(attributes, item, consumed);
    return item;
  }

  // Reads R's dim attribute into `shape` when it is an integer (or double) vector whose product is
  // `length`; false (the attribute is then kept as an ordinary one) otherwise.
  bool ApplyDim(NodeId dim_id, uint64_t length, std::vector<int64_t>& shape) const {
    const auto* dim = value_.GetIf<Array>(dim_id);
    if (dim == nullptr || dim->length == 0) return false;
    std::vector<int64_t> sizes;
    uint64_t product = 1;
    for (uint64_t i = 0; i < dim->length; ++i) {
      int64_t size;
      if (dim->type == ElementType::kInt32) {
        size = LoadElement<int32_t>(*dim, i);
      } else if (dim->type == ElementType::kFloat64) {
        const double v = LoadElement<double>(*dim, i);
        if (!(v >= 0 && v < 9.007199254740992e15) ||
            v != static_cast<double>(static_cast<int64_t>(v))) {
          return false;
        }
        size = static_cast<int64_t>(v);
      } else {
        return false;
      }
      if (size < 0) return false;
      if (size != 0 && product > (uint64_t{1} << 62) / static_cast<uint64_t>(size)) return false;
      product *= static_cast<uint64_t>(size);
      sizes.push_back(size);
    }
    if (product != length) return false;
    shape = std::move(sizes);
    return true;
  }

  // Whether some element is R's NA, in either byte order. A step at a time, giving a mapped
  // input's pages back behind (an XDR vector left as written is read through the mapping).
  static bool HasNa(const NdArray& array) {
    const bool integers =
        array.dtype == ElementType::kInt32 || array.dtype == ElementType::kLogical;
    if (!integers && array.dtype != ElementType::kFloat64) return false;
    bool found = false;
    (void)ConsumeInSteps(array.data, kNaScanStepBytes, [&](const Buffer& step) {
      const uint8_t* p = step.data();
      if (integers) {
        for (uint64_t i = 0; i < step.size() / 4 && !found; ++i) {
          uint32_t v;
          std::memcpy(&v, p + 4 * i, 4);
          if (array.big_endian) v = __builtin_bswap32(v);
          found = static_cast<int32_t>(v) == kNaInteger;
        }
      } else {
        for (uint64_t i = 0; i < step.size() / 8 && !found; ++i) {
          uint64_t bits;
          std::memcpy(&bits, p + 8 * i, 8);
          if (array.big_endian) bits = __builtin_bswap64(bits);
          double v;
          std::memcpy(&v, &bits, 8);
          found = rds::IsRNa(v);
        }
      }
      // Stops the steps at the first NA.
      return found ? absl::CancelledError() : absl::OkStatus();
    });
    return found;
  }

  // ---- strings

  std::string ToUtf8(std::string_view bytes, StringEncoding encoding) const {
    std::optional<std::string> text = RStringAsUtf8(bytes, encoding, native_);
    return text.has_value() ? *std::move(text) : std::string(bytes);
  }

  // The strings as plain data shows them: UTF-8 where R would translate them, without the
  // stream's CHARSXP flags.
  StringVector ConvertStringVector(const StringVector& strings) const {
    bool translated = false;
    for (size_t i = 0; i < strings.size() && !translated; ++i) {
      const StringVector::Element e = strings.Get(i);
      translated = !e.is_na && RStringNeedsUtf8(e.bytes, e.encoding, native_);
    }
    if (!translated) {
      // R's usual case (UTF-8 and ASCII text): the vector copied whole, a few bulk copies where
      // appending element by element took an eighth of a 2-million-string data frame's load.
      StringVector copy = strings;
      copy.ClearCharFlags();
      return copy;
    }
    StringVector out;
    out.Reserve(strings.size(), strings.byte_size());
    for (size_t i = 0; i < strings.size(); ++i) {
      StringVector::Element e = strings.Get(i);
      if (e.is_na) {
        out.AppendNa();
      } else if (std::optional<std::string> text = RStringAsUtf8(e.bytes, e.encoding, native_)) {
        out.Append(*text, StringEncoding::kUtf8);
      } else {
        out.Append(e.bytes, e.encoding);
      }
    }
    return out;
  }

  absl::StatusOr<Item> ConvertStrings(NodeId attributes_id, StringVector strings) {
    Attributes attributes = AttributesOf(attributes_id);
    data::Strings result{std::move(strings), {}};
    std::vector<std::string_view> consumed;
    if (ApplyDim(attributes.Find("dim"), result.values.size(), result.shape) &&
        result.shape.size() >= 2) {
      consumed.push_back("dim");
    } else {
      result.shape.clear();
    }
    Item item(std::move(result));
    KeepAttributes(attributes, item, consumed);
    return item;
  }

  // ---- lists and data frames

  absl::StatusOr<Item> ConvertList(NodeId attributes_id, const std::vector<NodeId>& items) {
    Attributes attributes = AttributesOf(attributes_id);
    if (Contains(attributes.classes, "data.frame")) return ConvertDataFrame(attributes, items);
    data::Sequence sequence;
    sequence.items.reserve(items.size());
    for (NodeId child : items) sequence.items.push_back(ItemFor(child));
    Item item(std::move(sequence));
    KeepAttributes(attributes, item, {});
    return item;
  }

  absl::StatusOr<Item> ConvertDataFrame(const Attributes& attributes,
                                        const std::vector<NodeId>& items) {
    data::DataFrame frame;
    const std::optional<StringVector> names = StringsOf(attributes.Find("names"));
    for (size_t i = 0; i < items.size(); ++i) {
      frame.columns.push_back(ItemFor(items[i]));
      std::string name;
      if (names.has_value() && i < names->size() && !names->Get(i).is_na) {
        name = ToUtf8(names->Get(i).bytes, names->Get(i).encoding);
      }
      frame.column_names.push_back(std::move(name));
    }
    const NodeId row_names = attributes.Find("row.names");
    bool compact = false;
    if (const auto* numbers = value_.GetIf<Array>(row_names);
        numbers != nullptr && numbers->type == ElementType::kInt32 && numbers->length == 2) {
      int32_t first, second;
      std::memcpy(&first, numbers->data.data(), 4);
      std::memcpy(&second, numbers->data.data() + 4, 4);
      if (first == kNaInteger) {
        compact = true;
        frame.row_count =
            static_cast<uint64_t>(second < 0 ? -static_cast<int64_t>(second) : second);
      }
    }
    if (!compact && row_names != kNoNode) {
      ASSIGN_OR_RETURN(frame.row_count, rds::VectorLength(value_, row_names));
      frame.row_names = ItemFor(row_names);
    } else if (!compact && !items.empty()) {
      auto length = rds::VectorLength(value_, items[0]);
      frame.row_count = length.ok() ? *length : 0;
    }
    Item item(std::move(frame));
    item.classes = attributes.classes;
    KeepAttributes(attributes, item, {"names", "row.names", "class"});
    return item;
  }

  // A pairlist as data: a plain (LISTSXP) one is a list named by its tags, like as.list(); a call
  // (LANGSXP) is a language object, a formula when classed so.
  absl::StatusOr<Item> ConvertPairlist(NodeId id) {
    const auto& pairlist = value_.Get<Pairlist>(id);
    if (!pairlist.cells.empty() && pairlist.cells[0].type != CellType::kList) {
      Attributes attributes = AttributesOf(pairlist.cells[0].attributes);
      if (Contains(attributes.classes, "formula")) return Opaque("formula", "a formula");
      return Opaque(pairlist.cells[0].type == CellType::kDots ? "..." : "language", "a call");
    }
    data::Sequence sequence;
    StringVector names;
    bool named = false;
    for (const PairlistCell& cell : pairlist.cells) {
      sequence.items.push_back(ItemFor(cell.value));
      const auto* tag = value_.GetIf<Symbol>(cell.tag);
      names.Append(tag != nullptr ? std::string_view(tag->name.bytes) : std::string_view(),
                   StringEncoding::kNative);
      named = named || tag != nullptr;
    }
    Item item(std::move(sequence));
    if (named) item.names = data_.Add(data::Strings{ConvertStringVector(names), {}});
    return item;
  }

  // ---- ALTREP

  absl::StatusOr<Item> ConvertAltrep(NodeId id) {
    const Node& outer = value_.node(id);
    const auto& altrep = std::get<Altrep>(outer.data);
    NodeId source = id;
    for (int depth = 0;; ++depth) {
      if (value_.node(source).kind() != NodeKind::kAltrep) break;
      auto e = rds::ExpandAltrep(value_, source);
      if (!e.ok()) {
        return Opaque("altrep", absl::StrCat("an ALTREP object of class ", altrep.class_name,
                                             " (package ", altrep.package, ")"));
      }
      if (e->kind == rds::AltrepExpansion::kWrapped && depth < kMaxWrapperDepth) {
        source = e->source;
        continue;
      }
      if (e->kind == rds::AltrepExpansion::kSequence) return ExpandSequence(id, source, *e);
      if (e->kind == rds::AltrepExpansion::kDeferredString) return ExpandDeferred(id, *e);
      return NodeError(id, "ALTREP wrappers nested too deep");
    }
    // A wrapper: the wrapped vector's elements with the wrapper's attributes.
    const Node& inner = value_.node(source);
    if (const auto* array = std::get_if<Array>(&inner.data)) {
      return ConvertVector(source, outer.attributes, *array);
    }
    if (const auto* strings = std::get_if<StringVector>(&inner.data)) {
      return ConvertStrings(outer.attributes, ConvertStringVector(*strings));
    }
    if (const auto* list = std::get_if<List>(&inner.data)) {
      return ConvertList(outer.attributes, list->items);
    }
    return NodeError(id, "an ALTREP wrapper around something that is not a vector");
  }

  absl::StatusOr<Item> ExpandSequence(NodeId id, NodeId source, const rds::AltrepExpansion& e) {
    const ElementType type =
        e.base_type == rds::kIntSxp ? ElementType::kInt32 : ElementType::kFloat64;
    const uint64_t size = ElementSize(type);
    if (e.length > options_.max_expanded_bytes / size) {
      return LimitExceeded(
          options_.expansion_limit,
          absl::StrCat("node ", id, ": a compact sequence of ", e.length,
                       " elements would expand to ", e.length * size, " bytes, over the limit of ",
                       options_.max_expanded_bytes, " (--", options_.expansion_limit, ")"));
    }
    if (options_.reserve_memory) RETURN_IF_ERROR(options_.reserve_memory(e.length * size));
    auto [buffer, bytes] = Buffer::Allocate(e.length * size);
    RETURN_IF_ERROR(rds::FillElements(value_, source, type, 0, e.length, bytes));
    return ConvertVector(id, value_.node(id).attributes, Array{type, e.length, buffer});
  }

  absl::StatusOr<Item> ExpandDeferred(NodeId id, const rds::AltrepExpansion& e) {
    ASSIGN_OR_RETURN(StringVector strings, DeferredStrings(id, e));
    return ConvertStrings(value_.node(id).attributes, std::move(strings));
  }

  // as.character() of a deferred_string's numbers, as R 4.2 formats them.
  absl::StatusOr<StringVector> DeferredStrings(NodeId id, const rds::AltrepExpansion& e) {
    ASSIGN_OR_RETURN(uint64_t length, rds::VectorLength(value_, e.source));
    if (length > options_.max_expanded_bytes / 16) {
      return LimitExceeded(
          options_.expansion_limit,
          absl::StrCat("node ", id, ": deferred strings of ", length,
                       " numbers, over the limit "
                       "of ",
                       options_.max_expanded_bytes, " bytes (--", options_.expansion_limit, ")"));
    }
    if (options_.reserve_memory) RETURN_IF_ERROR(options_.reserve_memory(length * 16));
    const Node& numbers = value_.node(e.source);
    const bool integer = numbers.kind() == NodeKind::kArray
                             ? std::get<Array>(numbers.data).type == ElementType::kInt32
                             : std::get<Altrep>(numbers.data).base_type == rds::kIntSxp;
    const ElementType type = integer ? ElementType::kInt32 : ElementType::kFloat64;
    std::vector<uint8_t> elements(length * ElementSize(type));
    RETURN_IF_ERROR(rds::FillElements(value_, e.source, type, 0, length, elements.data()));
    StringVector strings;
    for (uint64_t i = 0; i < length; ++i) {
      if (integer) {
        int32_t v;
        std::memcpy(&v, elements.data() + 4 * i, 4);
        if (v == kNaInteger) {
          strings.AppendNa();
          continue;
        }
        char text[16];
        char* end = std::to_chars(text, text + sizeof text, v).ptr;
        strings.Append(std::string_view(text, end - text), StringEncoding::kNative);
      } else {
        double v;
        std::memcpy(&v, elements.data() + 8 * i, 8);
        if (rds::IsRNa(v)) {
          strings.AppendNa();
        } else {
          strings.Append(rds::FormatRealAsR(v, e.scipen, e.decimal_mark), StringEncoding::kNative);
        }
      }
    }
    return strings;
  }

  // The strings of a character vector node: a StringVector, or an ALTREP wrapper or deferred
  // string standing for one; nullopt for anything else.
  std::optional<StringVector> StringsOf(NodeId node) {
    for (int depth = 0; depth < kMaxWrapperDepth && value_.Contains(node); ++depth) {
      if (const auto* strings = value_.GetIf<StringVector>(node)) return *strings;
      if (value_.node(node).kind() != NodeKind::kAltrep) return std::nullopt;
      auto e = rds::ExpandAltrep(value_, node);
      if (!e.ok()) return std::nullopt;
      if (e->kind == rds::AltrepExpansion::kWrapped) {
        node = e->source;
        continue;
      }
      if (e->kind != rds::AltrepExpansion::kDeferredString) return std::nullopt;
      auto strings = DeferredStrings(node, *e);
      if (!strings.ok()) return std::nullopt;
      return *std::move(strings);
    }
    return std::nullopt;
  }

  const Value& value_;
  const RToDataOptions& options_;
  const NativeEncoding native_;
  data::Data data_;
  data::ConversionQueue<NodeId, ItemId> queue_;
  ItemId null_item_ = kNoItem;
};

}  // namespace

absl::StatusOr<data::Data> RToData(const Value& value, const RToDataOptions& options) {
  return RToDataConverter(value, options).Run();
}

}  // namespace seriald
