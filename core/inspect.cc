#include "core/inspect.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/absl_compat.h"
#include "core/torch7/classes.h"
#include "core/torch7/primitives.h"

namespace seriald {
namespace {

// A child line: its label ("[weight]", "$names", "[[2]]") and the node shown after " = ".
struct Child {
  std::string label;
  NodeId node;
};

// What one node prints: its head (the text of its own line) and the children below it.
struct Expansion {
  std::string head;
  std::vector<Child> children;
  uint64_t hidden = 0;  // children beyond InspectOptions::max_entries
};

std::string FormatNumber(double value) {
  if (std::isnan(value)) return std::signbit(value) ? "-nan" : "nan";
  char text[32];
  return std::string(text, std::to_chars(text, text + sizeof text, value).ptr);
}

// The length of the well-formed UTF-8 sequence (2 to 4 bytes) at the start of `bytes`, or 0.
size_t Utf8SequenceLength(std::string_view bytes) {
  const auto lead = static_cast<uint8_t>(bytes[0]);
  size_t length = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
  if (length == 0 || bytes.size() < length) return 0;
  uint32_t code = lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<uint8_t>(bytes[k]);
    if ((next & 0xc0) != 0x80) return 0;
    code = code << 6 | (next & 0x3f);
  }
  const uint32_t minimum = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
  if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) return 0;
  return length;
}

// Kinds whose identity matters: printed once, referred to by node id afterwards.
bool HasIdentity(NodeKind kind) {
  switch (kind) {
    case NodeKind::kTable:
    case NodeKind::kTorchObject:
    case NodeKind::kLuaFunction:
    case NodeKind::kList:
    case NodeKind::kPairlist:
    case NodeKind::kEnvironment:
    case NodeKind::kClosure:
    case NodeKind::kPromise:
    case NodeKind::kBytecode:
    case NodeKind::kExternalPointer:
    case NodeKind::kS4Object:
    case NodeKind::kAltrep:
      return true;
    default:
      return false;
  }
}

// "torch.FloatTensor" -> "FloatTensor", as Torch7 prints tensor and storage types.
std::string_view ShortTorchName(std::string_view class_name) {
  return class_name.starts_with("torch.") ? class_name.substr(6) : class_name;
}

std::string Dimensions(const std::vector<int64_t>& values) {
  std::string text;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text.push_back('x');
    absl::StrAppend(&text, values[i]);
  }
  return text;
}

// Which Lua VM wrote a dump (lj_bcdump.h: "\x1bLJ" + version; lua: "\x1bLua" + version byte).
std::string BytecodeKind(std::string_view code) {
  if (code.size() >= 4 && code.substr(0, 3) == "\x1bLJ") {
    if (code[3] == 1) return "LuaJIT 2.0 bytecode";
    if (code[3] == 2) return "LuaJIT 2.1 bytecode";
    return absl::StrCat("LuaJIT bytecode version ", static_cast<int>(code[3]));
  }
  if (code.size() >= 5 && code.substr(0, 4) == "\x1bLua") {
    int version = static_cast<uint8_t>(code[4]);
    return absl::StrFormat("Lua %d.%d bytecode", version >> 4, version & 15);
  }
  return "bytecode of an unknown Lua VM";
}

const char* SpecialName(SpecialKind kind) {
  switch (kind) {
    case SpecialKind::kGlobalEnv:
      return "<environment: R_GlobalEnv>";
    case SpecialKind::kBaseEnv:
      return "<environment: base>";
    case SpecialKind::kEmptyEnv:
      return "<environment: R_EmptyEnv>";
    case SpecialKind::kBaseNamespace:
      return "<environment: namespace:base>";
    case SpecialKind::kMissingArg:
      return "<missing argument>";
    case SpecialKind::kUnboundValue:
      return "<unbound value>";
  }
  return "<special>";
}

class Inspector {
 public:
  Inspector(const Value& value, const InspectOptions& options)
      : value_(value),
        options_(options),
        references_(value.size(), 0),
        expanded_(value.size(), false) {
    for (NodeId root : value.roots()) Count(root);
    for (const Node& node : value.nodes()) ForEachReference(node, [&](NodeId id) { Count(id); });
  }

  std::string Run(const std::vector<NodeId>& roots) {
    if (roots.empty()) return "(no objects)\n";
    if (roots.size() == 1) {
      Emit(0, "", roots[0]);
      Drain();
    } else {
      for (size_t i = 0; i < roots.size(); ++i) {
        Emit(0, absl::StrCat("[root ", i + 1, "]"), roots[i]);
        Drain();
      }
    }
    return std::move(out_);
  }

 private:
  struct Frame {
    std::vector<Child> children;
    size_t next = 0;
    uint64_t hidden = 0;
    uint32_t depth = 0;
  };

  void Count(NodeId id) {
    if (id < references_.size() && references_[id] < 2) ++references_[id];
  }

  bool Exists(NodeId id) const { return id < value_.size(); }

  void Indent(uint32_t depth) { out_.append(size_t{depth} * options_.indent, ' '); }

  // Prints the line for `node` and queues its children.
  void Emit(uint32_t depth, std::string_view label, NodeId id) {
    Indent(depth);
    if (!label.empty()) absl::StrAppend(&out_, AsAbsl(label), " = ");
    if (!Exists(id)) {
      absl::StrAppend(&out_, "<missing node ", id, ">\n");
      return;
    }
    const bool identity = HasIdentity(value_.node(id).kind());
    if (identity && expanded_[id]) {
      absl::StrAppend(&out_, "<", Name(id), " node ", id, ", see above>\n");
      return;
    }
    Expansion expansion = Expand(id);
    out_.append(expansion.head);
    if (identity && references_[id] > 1) {
      absl::StrAppend(&out_, expansion.head.empty() ? "" : " ", "<node ", id, ">");
    }
    if (expansion.children.empty() && expansion.hidden == 0) {
      if (identity) expanded_[id] = true;
      out_.push_back('\n');
      return;
    }
    // "[key] = {" and "{" for tables (empty head), "nn.Linear {" for objects.
    const char* space = out_.empty() || out_.back() == ' ' || out_.back() == '\n' ? "" : " ";
    if (depth + 1 >= options_.max_depth) {
      absl::StrAppend(&out_, space, "{...}\n");
      return;
    }
    if (identity) expanded_[id] = true;
    absl::StrAppend(&out_, space, "{\n");
    stack_.push_back(Frame{std::move(expansion.children), 0, expansion.hidden, depth});
  }

  void Drain() {
    while (!stack_.empty()) {
      Frame& frame = stack_.back();
      if (frame.next < frame.children.size()) {
        Child child = std::move(frame.children[frame.next++]);
        Emit(frame.depth + 1, child.label, child.node);  // may push: `frame` is stale after
        continue;
      }
      if (frame.hidden > 0) {
        Indent(frame.depth + 1);
        absl::StrAppend(&out_, "... (", frame.hidden, " more)\n");
      }
      Indent(frame.depth);
      out_.append("}\n");
      stack_.pop_back();
    }
  }

  // A short name for markers: "table", "nn.Linear", "environment".
  std::string Name(NodeId id) const {
    const Node& node = value_.node(id);
    if (const auto* object = std::get_if<TorchObject>(&node.data)) return object->class_name;
    if (node.kind() == NodeKind::kLuaFunction) return "function";
    return std::string(NodeKindName(node.kind()));
  }

  void AddChild(Expansion& expansion, std::string label, NodeId id) {
    if (id == kNoNode) return;
    if (expansion.children.size() >= options_.max_entries) {
      ++expansion.hidden;
      return;
    }
    expansion.children.push_back(Child{std::move(label), id});
  }

  std::string Quote(std::string_view bytes) const {
    std::string text = "\"";
    size_t shown = std::min<size_t>(bytes.size(), options_.max_string_bytes);
    for (size_t i = 0; i < shown; ++i) {
      const auto c = static_cast<uint8_t>(bytes[i]);
      switch (c) {
        case '"':
          text += "\\\"";
          break;
        case '\\':
          text += "\\\\";
          break;
        case '\n':
          text += "\\n";
          break;
        case '\r':
          text += "\\r";
          break;
        case '\t':
          text += "\\t";
          break;
        default:
          if (c >= 0x80) {
            // Valid UTF-8 stays readable; other bytes are escaped, never sent raw to a terminal.
            size_t length = Utf8SequenceLength(bytes.substr(i));
            if (length > 0) {
              text.append(bytes.substr(i, length));
              i += length - 1;
              break;
            }
          }
          if (c < 0x20 || c >= 0x7f) {
            absl::StrAppend(&text, "\\", static_cast<int>(c));  // Lua's decimal escape
          } else {
            text.push_back(static_cast<char>(c));
          }
      }
    }
    text.push_back('"');
    if (shown < bytes.size()) absl::StrAppend(&text, "... (", bytes.size(), " bytes)");
    return text;
  }

  // A table key on one line: strings and numbers as Torch7 prints them, anything else by kind.
  std::string KeyLabel(NodeId key) const {
    if (!Exists(key)) return absl::StrCat("[<missing node ", key, ">]");
    const Node& node = value_.node(key);
    if (const auto* string = std::get_if<StringValue>(&node.data)) {
      std::string quoted = Quote(string->bytes);
      return absl::StrCat("[", AsAbsl(std::string_view(quoted).substr(1, quoted.size() - 2)), "]");
    }
    if (const auto* number = std::get_if<Number>(&node.data)) {
      return absl::StrCat("[", FormatNumber(number->value), "]");
    }
    if (const auto* boolean = std::get_if<Boolean>(&node.data)) {
      return boolean->value ? "[true]" : "[false]";
    }
    if (node.kind() == NodeKind::kNil) return "[nil]";
    return absl::StrCat("[<", Name(key), " node ", key, ">]");
  }

  // Labels of an R list's elements from its names attribute, if any.
  const StringVector* NamesOf(NodeId id) const {
    NodeId attributes = value_.node(id).attributes;
    const auto* pairlist = value_.GetIf<Pairlist>(attributes);
    if (pairlist == nullptr) return nullptr;
    for (const PairlistCell& cell : pairlist->cells) {
      const auto* tag = value_.GetIf<Symbol>(cell.tag);
      if (tag != nullptr && tag->name.bytes == "names") {
        return value_.GetIf<StringVector>(cell.value);
      }
    }
    return nullptr;
  }

  std::string CellLabel(const PairlistCell& cell, size_t index) const {
    if (const auto* tag = value_.GetIf<Symbol>(cell.tag)) return absl::StrCat("$", tag->name.bytes);
    return absl::StrCat("[[", index + 1, "]]");
  }

  void AddCells(Expansion& expansion, NodeId pairlist_id) {
    const auto* pairlist = value_.GetIf<Pairlist>(pairlist_id);
    if (pairlist == nullptr) return;
    for (size_t i = 0; i < pairlist->cells.size(); ++i) {
      AddChild(expansion, CellLabel(pairlist->cells[i], i), pairlist->cells[i].value);
    }
  }

  void AddAttributes(Expansion& expansion, NodeId id) {
    const auto* pairlist = value_.GetIf<Pairlist>(value_.node(id).attributes);
    if (pairlist == nullptr) return;
    for (const PairlistCell& cell : pairlist->cells) {
      const auto* tag = value_.GetIf<Symbol>(cell.tag);
      AddChild(expansion,
               absl::StrCat("attr(\"", tag != nullptr ? tag->name.bytes : std::string("?"), "\")"),
               cell.value);
    }
  }

  // str()-like one-line summary of an R (or bare) typed array.
  std::string ArrayLine(const Array& array) const {
    const char* name = "";
    switch (array.type) {
      case ElementType::kInt32:
        name = "int";
        break;
      case ElementType::kFloat64:
        name = "num";
        break;
      case ElementType::kLogical:
        name = "logi";
        break;
      case ElementType::kComplex128:
        name = "cplx";
        break;
      case ElementType::kRaw:
        name = "raw";
        break;
      default:
        name = ElementTypeName(array.type).data();
    }
    std::string text = name;
    if (array.length != 1) absl::StrAppend(&text, " [1:", array.length, "]");
    const size_t size = ElementSize(array.type);
    const uint64_t available = array.data.size() / size;  // never read past the buffer
    const uint64_t shown = std::min<uint64_t>({array.length, available, options_.max_elements});
    for (uint64_t i = 0; i < shown; ++i) {
      const uint8_t* p = array.data.data() + i * size;
      text.push_back(' ');
      text += ElementText(array.type, p);
    }
    if (shown < array.length) text += " ...";
    return text;
  }

  static std::string ElementText(ElementType type, const uint8_t* p) {
    auto load = [p](auto sample, size_t at = 0) {
      decltype(sample) v;
      std::memcpy(&v, p + at, sizeof v);
      return v;
    };
    switch (type) {
      case ElementType::kUint8:
        return absl::StrCat(load(uint8_t{}));
      case ElementType::kInt8:
        return absl::StrCat(load(int8_t{}));
      case ElementType::kInt16:
        return absl::StrCat(load(int16_t{}));
      case ElementType::kInt64:
        return absl::StrCat(load(int64_t{}));
      case ElementType::kFloat16:
        return FormatNumber(torch7::HalfToFloat(load(uint16_t{})));
      case ElementType::kFloat32:
        return FormatNumber(load(float{}));
      case ElementType::kInt32: {
        int32_t v = load(int32_t{});
        return v == kNaInteger ? "NA" : absl::StrCat(v);
      }
      case ElementType::kLogical: {
        int32_t v = load(int32_t{});
        return v == kNaInteger ? "NA" : v != 0 ? "TRUE" : "FALSE";
      }
      case ElementType::kFloat64:
        return RDouble(load(double{}));
      case ElementType::kComplex128: {
        double re = load(double{}), im = load(double{}, 8);
        return absl::StrCat(RDouble(re), im < 0 || std::signbit(im) ? "" : "+", RDouble(im), "i");
      }
      case ElementType::kRaw:
        return absl::StrFormat("%02x", load(uint8_t{}));
    }
    return "?";
  }

  static std::string RDouble(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    if (bits == kNaRealBits) return "NA";
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
    return FormatNumber(v);
  }

  std::string StringVectorLine(const StringVector& strings) const {
    std::string text = "chr";
    if (strings.size() != 1) absl::StrAppend(&text, " [1:", strings.size(), "]");
    const size_t shown = std::min<size_t>(strings.size(), options_.max_elements);
    for (size_t i = 0; i < shown; ++i) {
      StringVector::Element element = strings.Get(i);
      text += ' ';
      text += element.is_na ? std::string("NA") : Quote(element.bytes);
    }
    if (shown < strings.size()) text += " ...";
    return text;
  }

  std::string TensorLine(std::string_view class_name, const Tensor& tensor) const {
    std::string text = std::string(ShortTorchName(class_name));
    if (tensor.sizes.empty()) return text + " - empty";
    absl::StrAppend(&text, " - size: ", Dimensions(tensor.sizes));
    // Strides and offset only when they are not those of a fresh contiguous tensor.
    bool contiguous = tensor.strides.size() == tensor.sizes.size();
    uint64_t expected = 1;  // unsigned: hostile sizes wrap instead of overflowing
    for (size_t i = tensor.sizes.size(); contiguous && i-- > 0;) {
      if (tensor.sizes[i] != 1 && static_cast<uint64_t>(tensor.strides[i]) != expected) {
        contiguous = false;
      }
      expected *= static_cast<uint64_t>(tensor.sizes[i]);
    }
    if (!contiguous) absl::StrAppend(&text, ", stride: ", Dimensions(tensor.strides));
    if (tensor.storage_offset != 0) {  // Torch7's 1-based t:storageOffset()
      absl::StrAppend(&text, ", storageOffset: ",
                      static_cast<int64_t>(static_cast<uint64_t>(tensor.storage_offset) + 1));
    }
    if (tensor.storage == kNoNode) text += ", no storage";
    return text;
  }

  Expansion ExpandTorchObject(const TorchObject& object) {
    Expansion e;
    std::string version;
    if (!object.version.has_value()) {
      version = " (unversioned)";
    } else if (*object.version != "1") {
      version = absl::StrCat(" (V ", *object.version, ")");
    }
    const torch7::ClassInfo info = torch7::ClassifyClass(object.class_name);
    const Node* payload = Exists(object.payload) ? &value_.node(object.payload) : nullptr;
    switch (info.payload) {
      case torch7::Payload::kStorage:
        if (const auto* array = payload ? std::get_if<Array>(&payload->data) : nullptr) {
          e.head = absl::StrCat(AsAbsl(ShortTorchName(object.class_name)),
                                " - size: ", array->length, version);
          return e;
        }
        break;
      case torch7::Payload::kTensor:
        if (const auto* tensor = payload ? std::get_if<Tensor>(&payload->data) : nullptr) {
          e.head = TensorLine(object.class_name, *tensor) + version;
          return e;
        }
        break;
      case torch7::Payload::kGenerator:
        if (const auto* state = payload ? std::get_if<Opaque>(&payload->data) : nullptr) {
          e.head = absl::StrCat(object.class_name, " (", state->bytes.size(), " bytes of state)");
          return e;
        }
        break;
      case torch7::Payload::kTdsAtomicCounter:
        if (const auto* array = payload ? std::get_if<Array>(&payload->data) : nullptr) {
          if (array->type == ElementType::kInt64 && array->data.size() == 8) {
            e.head =
                absl::StrCat(object.class_name,
                             " - value: ", ElementText(ElementType::kInt64, array->data.data()));
            return e;
          }
        }
        break;
      default:
        break;
    }
    e.head = object.class_name + version;
    // A field table (generic classes, tds.Hash) shows as the object's own entries; a list
    // (tds.Vec, nn.GPU) as its items; anything else as one child.
    if (const auto* table = payload ? std::get_if<Table>(&payload->data) : nullptr) {
      for (const TableEntry& entry : table->entries) AddChild(e, KeyLabel(entry.key), entry.value);
    } else if (const auto* list = payload ? std::get_if<List>(&payload->data) : nullptr) {
      for (size_t i = 0; i < list->items.size(); ++i) {
        AddChild(e, absl::StrCat("[", i + 1, "]"), list->items[i]);
      }
    } else {
      AddChild(e, "[payload]", object.payload);
    }
    return e;
  }

  Expansion Expand(NodeId id) {
    const Node& node = value_.node(id);
    Expansion e;
    switch (node.kind()) {
      case NodeKind::kNil:
        e.head = node.attributes == kNoNode ? "nil" : "NULL";
        break;
      case NodeKind::kBoolean:
        e.head = std::get<Boolean>(node.data).value ? "true" : "false";
        break;
      case NodeKind::kNumber:
        e.head = FormatNumber(std::get<Number>(node.data).value);
        break;
      case NodeKind::kString: {
        const auto& string = std::get<StringValue>(node.data);
        e.head = string.is_na ? "NA" : Quote(string.bytes);
        break;
      }
      case NodeKind::kArray:
        e.head = ArrayLine(std::get<Array>(node.data));
        break;
      case NodeKind::kStringVector:
        e.head = StringVectorLine(std::get<StringVector>(node.data));
        break;
      case NodeKind::kOpaque:
        e.head = absl::StrCat("opaque (", std::get<Opaque>(node.data).bytes.size(), " bytes)");
        break;
      case NodeKind::kTable: {
        const auto& table = std::get<Table>(node.data);
        e.head = table.entries.empty() ? "{}" : "";  // "{" and the entries follow
        for (const TableEntry& entry : table.entries) {
          AddChild(e, KeyLabel(entry.key), entry.value);
        }
        break;
      }
      case NodeKind::kTorchObject:
        e = ExpandTorchObject(std::get<TorchObject>(node.data));
        break;
      case NodeKind::kTensor:
        e.head = TensorLine("tensor", std::get<Tensor>(node.data));
        break;
      case NodeKind::kLuaFunction: {
        const auto& function = std::get<LuaFunction>(node.data);
        e.head = absl::StrCat("function (tag ", function.tag, ", ", function.bytecode.size(),
                              " bytes of ", BytecodeKind(function.bytecode.view()), ")");
        const auto* upvalues = value_.GetIf<Table>(function.upvalues);
        if (upvalues == nullptr || !upvalues->entries.empty()) {
          AddChild(e, "[upvalues]", function.upvalues);
        }
        break;
      }
      case NodeKind::kList: {
        const auto& list = std::get<List>(node.data);
        e.head = absl::StrCat(list.expression ? "expression" : "List", " of ", list.items.size());
        const StringVector* names = NamesOf(id);
        for (size_t i = 0; i < list.items.size(); ++i) {
          std::string label = absl::StrCat("[[", i + 1, "]]");
          if (names != nullptr && i < names->size() && !names->Get(i).is_na &&
              !names->Get(i).bytes.empty()) {
            label = absl::StrCat("$", AsAbsl(names->Get(i).bytes));
          }
          AddChild(e, std::move(label), list.items[i]);
        }
        break;
      }
      case NodeKind::kPairlist: {
        const auto& pairlist = std::get<Pairlist>(node.data);
        const bool call = !pairlist.cells.empty() && pairlist.cells[0].type == CellType::kLanguage;
        e.head = absl::StrCat(call ? "language call" : "pairlist", " of ", pairlist.cells.size());
        AddCells(e, id);
        AddChild(e, "[tail]", pairlist.tail);
        break;
      }
      case NodeKind::kSymbol:
        e.head = absl::StrCat("symbol ", std::get<Symbol>(node.data).name.bytes);
        break;
      case NodeKind::kEnvironment: {
        const auto& environment = std::get<Environment>(node.data);
        e.head = environment.locked ? "<environment> (locked)" : "<environment>";
        AddCells(e, environment.frame);
        if (const auto* buckets = value_.GetIf<List>(environment.hash_table)) {
          for (NodeId bucket : buckets->items) AddCells(e, bucket);
        }
        AddChild(e, "[enclosure]", environment.enclosure);
        break;
      }
      case NodeKind::kSpecial:
        e.head = SpecialName(std::get<Special>(node.data).which);
        break;
      case NodeKind::kNamespace:
      case NodeKind::kPackageEnvironment: {
        const StringVector& info = node.kind() == NodeKind::kNamespace
                                       ? std::get<Namespace>(node.data).info
                                       : std::get<PackageEnvironment>(node.data).info;
        e.head =
            absl::StrCat("<environment: ", node.kind() == NodeKind::kNamespace ? "namespace:" : "");
        for (size_t i = 0; i < info.size(); ++i) {
          absl::StrAppend(&e.head, i > 0 ? " " : "", AsAbsl(info.Get(i).bytes));
        }
        e.head += ">";
        break;
      }
      case NodeKind::kPersistentReference:
        e.head =
            absl::StrCat("<persistent reference: ",
                         StringVectorLine(std::get<PersistentReference>(node.data).names), ">");
        break;
      case NodeKind::kClosure: {
        const auto& closure = std::get<Closure>(node.data);
        e.head = "function";
        AddChild(e, "[formals]", closure.formals);
        AddChild(e, "[body]", closure.body);
        AddChild(e, "[environment]", closure.environment);
        break;
      }
      case NodeKind::kPromise: {
        const auto& promise = std::get<Promise>(node.data);
        e.head = "<promise>";
        AddChild(e, "[value]", promise.value);
        AddChild(e, "[code]", promise.code);
        AddChild(e, "[environment]", promise.environment);
        break;
      }
      case NodeKind::kBuiltin: {
        const auto& builtin = std::get<Builtin>(node.data);
        e.head = absl::StrCat(".Primitive(\"", builtin.name, "\")");
        break;
      }
      case NodeKind::kBytecode: {
        const auto& bytecode = std::get<Bytecode>(node.data);
        e.head = absl::StrCat("<bytecode: ", bytecode.constants.size(), " constants>");
        AddChild(e, "[code]", bytecode.code);
        for (size_t i = 0; i < bytecode.constants.size(); ++i) {
          AddChild(e, absl::StrCat("[[", i + 1, "]]"), bytecode.constants[i]);
        }
        break;
      }
      case NodeKind::kExternalPointer: {
        const auto& pointer = std::get<ExternalPointer>(node.data);
        e.head = "<pointer>";
        AddChild(e, "[protected]", pointer.protected_value);
        AddChild(e, "[tag]", pointer.tag);
        break;
      }
      case NodeKind::kWeakReference:
        e.head = "<weak reference>";
        break;
      case NodeKind::kS4Object:
        e.head = "<S4 object>";
        break;
      case NodeKind::kAltrep: {
        const auto& altrep = std::get<Altrep>(node.data);
        e.head = absl::StrCat("altrep ", altrep.class_name, " (package ", altrep.package, ", type ",
                              altrep.base_type, ")");
        AddChild(e, "[state]", altrep.state);
        break;
      }
    }
    AddAttributes(e, id);
    return e;
  }

  const Value& value_;
  const InspectOptions& options_;
  std::vector<uint8_t> references_;  // 0, 1 or "2 or more" per node
  std::vector<bool> expanded_;
  std::vector<Frame> stack_;
  std::string out_;
};

}  // namespace

std::string Inspect(const Value& value, const InspectOptions& options) {
  return Inspector(value, options).Run(value.roots());
}

std::string InspectNode(const Value& value, NodeId id, const InspectOptions& options) {
  return Inspector(value, options).Run({id});
}

}  // namespace seriald
