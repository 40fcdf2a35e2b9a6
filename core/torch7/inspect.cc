#include "core/torch7/inspect.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/absl_compat.h"
#include "core/torch7/classes.h"
#include "core/torch7/primitives.h"

namespace seriald::torch7 {
namespace {

using inspect_internal::Expansion;
using inspect_internal::FormatNumber;
using inspect_internal::Quote;

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

// A table key on one line: strings and numbers as Torch7 prints them, anything else by kind.
std::string KeyLabel(const Expansion& out, NodeId key) {
  const Value& value = out.value();
  if (!value.Contains(key)) return absl::StrCat("[<missing node ", key, ">]");
  const Node& node = value.node(key);
  if (const auto* string = std::get_if<StringValue>(&node.data)) {
    std::string quoted = Quote(string->bytes, out.options());
    return absl::StrCat("[", AsAbsl(std::string_view(quoted).substr(1, quoted.size() - 2)), "]");
  }
  if (const auto* number = std::get_if<Number>(&node.data)) {
    return absl::StrCat("[", FormatNumber(number->value), "]");
  }
  if (const auto* boolean = std::get_if<Boolean>(&node.data)) {
    return boolean->value ? "[true]" : "[false]";
  }
  if (node.kind() == NodeKind::kNil) return "[nil]";
  return absl::StrCat("[<", inspect_internal::MarkerName(value, key), " node ", key, ">]");
}

void AddEntries(Expansion& out, const Table& table) {
  for (const TableEntry& entry : table.entries) {
    out.Add(out.Shown() ? KeyLabel(out, entry.key) : std::string(), entry.value);
  }
}

std::string TensorLine(std::string_view class_name, const Tensor& tensor) {
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

// Storages, tensors, generators and tds.AtomicCounter on one line; other classes by name, with
// their payload's entries or items as children.
void ExpandTorchObject(Expansion& out, const TorchObject& object) {
  std::string version;
  if (!object.version.has_value()) {
    version = " (unversioned)";
  } else if (*object.version != "1") {
    version = absl::StrCat(" (V ", *object.version, ")");
  }
  const ClassInfo info = ClassifyClass(object.class_name);
  const Node* payload =
      out.value().Contains(object.payload) ? &out.value().node(object.payload) : nullptr;
  switch (info.payload) {
    case Payload::kStorage:
      if (const auto* array = payload ? std::get_if<Array>(&payload->data) : nullptr) {
        out.head = absl::StrCat(AsAbsl(ShortTorchName(object.class_name)),
                                " - size: ", array->length, version);
        return;
      }
      break;
    case Payload::kTensor:
      if (const auto* tensor = payload ? std::get_if<Tensor>(&payload->data) : nullptr) {
        out.head = TensorLine(object.class_name, *tensor) + version;
        return;
      }
      break;
    case Payload::kGenerator:
      if (const auto* state = payload ? std::get_if<Opaque>(&payload->data) : nullptr) {
        out.head = absl::StrCat(object.class_name, " (", state->bytes.size(), " bytes of state)");
        return;
      }
      break;
    case Payload::kTdsAtomicCounter:
      if (const auto* array = payload ? std::get_if<Array>(&payload->data) : nullptr) {
        if (array->type == ElementType::kInt64 && array->data.size() == 8) {
          out.head =
              absl::StrCat(object.class_name,
                           " - value: ", ElementText(ElementType::kInt64, array->data.data()));
          return;
        }
      }
      break;
    default:
      break;
  }
  out.head = object.class_name + version;
  // A field table (generic classes, tds.Hash) shows as the object's own entries; a list
  // (tds.Vec, nn.GPU) as its items; anything else as one child.
  if (const auto* table = payload ? std::get_if<Table>(&payload->data) : nullptr) {
    AddEntries(out, *table);
  } else if (const auto* list = payload ? std::get_if<List>(&payload->data) : nullptr) {
    for (size_t i = 0; i < list->items.size(); ++i) {
      out.Add(out.Shown() ? absl::StrCat("[", i + 1, "]") : std::string(), list->items[i]);
    }
  } else {
    out.Add("[payload]", object.payload);
  }
}

}  // namespace

void ExpandForInspect(Expansion& out) {
  const Node& node = out.node();
  switch (node.kind()) {
    case NodeKind::kTable: {
      const auto& table = std::get<Table>(node.data);
      out.head = table.entries.empty() ? "{}" : "";  // "{" and the entries follow
      AddEntries(out, table);
      break;
    }
    case NodeKind::kTorchObject:
      ExpandTorchObject(out, std::get<TorchObject>(node.data));
      break;
    case NodeKind::kTensor:
      out.head = TensorLine("tensor", std::get<Tensor>(node.data));
      break;
    case NodeKind::kLuaFunction: {
      const auto& function = std::get<LuaFunction>(node.data);
      out.head = absl::StrCat("function (tag ", function.tag, ", ", function.bytecode.size(),
                              " bytes of ", BytecodeKind(function.bytecode.view()), ")");
      const auto* upvalues = out.value().GetIf<Table>(function.upvalues);
      if (upvalues == nullptr || !upvalues->entries.empty()) {
        out.Add("[upvalues]", function.upvalues);
      }
      break;
    }
    default:
      break;
  }
}

std::string MarkerName(const Node& node) {
  if (const auto* object = std::get_if<TorchObject>(&node.data)) return object->class_name;
  if (node.kind() == NodeKind::kLuaFunction) return "function";
  return std::string(NodeKindName(node.kind()));
}

std::string ElementText(ElementType type, const uint8_t* element) {
  auto load = [element](auto sample) {
    decltype(sample) v;
    std::memcpy(&v, element, sizeof v);
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
      return FormatNumber(HalfToFloat(load(uint16_t{})));
    case ElementType::kFloat32:
      return FormatNumber(load(float{}));
    default:
      return "?";
  }
}

}  // namespace seriald::torch7
