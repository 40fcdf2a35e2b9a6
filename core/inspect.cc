// Inspect's walker (inspect.h): the explicit stack, depth and width limits, shared-node markers,
// missing nodes and roots, and the lines of the kinds both formats share (nil, booleans, numbers,
// strings, typed arrays, opaque bytes). Torch7's kinds are expanded by core/torch7/inspect.cc,
// R's kinds and the attributes of any node by core/rds/inspect.cc, through the interface of
// core/internal/inspect_expansion.h.
#include "core/inspect.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/internal/inspect_expansion.h"
#include "core/model/element_type.h"
#include "core/rds/inspect.h"
#include "core/torch7/inspect.h"

namespace seriald {
namespace inspect_internal {
namespace {

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

}  // namespace

std::string FormatNumber(double value) {
  if (std::isnan(value)) return std::signbit(value) ? "-nan" : "nan";
  char text[32];
  return std::string(text, std::to_chars(text, text + sizeof text, value).ptr);
}

std::string Quote(std::string_view bytes, const InspectOptions& options) {
  std::string text = "\"";
  size_t shown = std::min<size_t>(bytes.size(), options.max_string_bytes);
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

std::string MarkerName(const Value& value, NodeId id) {
  const Node& node = value.node(id);
  switch (node.kind()) {
    case NodeKind::kTable:
    case NodeKind::kTorchObject:
    case NodeKind::kTensor:
    case NodeKind::kLuaFunction:
      return torch7::MarkerName(node);
    default:
      return std::string(NodeKindName(node.kind()));
  }
}

}  // namespace inspect_internal

namespace {

using inspect_internal::Child;
using inspect_internal::Expansion;
using inspect_internal::FormatNumber;
using inspect_internal::MarkerName;
using inspect_internal::Quote;
using inspect_internal::VectorLine;

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

// A typed array (a Torch7 storage's data, an R vector) on one line as str() prints vectors. R's
// element types have R's names and NA values ("num [1:3] 1.5 NA -Inf"); Torch7's others are
// named by type ("float32 [1:2] 0.5 1").
std::string ArrayLine(const Array& array, const InspectOptions& options) {
  const std::string_view r_name = rds::StrTypeName(array.type);
  const bool r_type = !r_name.empty();
  const size_t size = ElementSize(array.type);
  const uint64_t available = array.data.size() / size;  // never read past the buffer
  const uint64_t shown = std::min<uint64_t>({array.length, available, options.max_elements});
  return VectorLine(r_type ? r_name : ElementTypeName(array.type), array.length, shown,
                    [&](uint64_t i) {
                      // Little-endian, whatever the array's order (16 bytes: a complex number).
                      uint8_t element[16];
                      CopyLittleEndian(array, i, 1, element);
                      return r_type ? rds::ElementText(array.type, element)
                                    : torch7::ElementText(array.type, element);
                    });
}

// Lines of every node of a Value, without recursion: the explicit stack holds, per open node,
// the children still to print.
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

  void Indent(uint32_t depth) { out_.append(size_t{depth} * options_.indent, ' '); }

  // Prints the line for `node` and queues its children.
  void Emit(uint32_t depth, std::string_view label, NodeId id) {
    Indent(depth);
    if (!label.empty()) absl::StrAppend(&out_, AsAbsl(label), " = ");
    if (!value_.Contains(id)) {
      absl::StrAppend(&out_, "<missing node ", id, ">\n");
      return;
    }
    const bool identity = HasIdentity(value_.node(id).kind());
    if (identity && expanded_[id]) {
      absl::StrAppend(&out_, "<", MarkerName(value_, id), " node ", id, ", see above>\n");
      return;
    }
    Expansion expansion = Expand(id);
    out_.append(expansion.head);
    if (identity && references_[id] > 1) {
      absl::StrAppend(&out_, expansion.head.empty() ? "" : " ", "<node ", id, ">");
    }
    if (expansion.children().empty() && expansion.hidden() == 0) {
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
    stack_.push_back(Frame{expansion.TakeChildren(), 0, expansion.hidden(), depth});
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

  // The node's line and children: the common kinds here, Torch7's and R's by their expanders,
  // then the R attributes any node may carry.
  Expansion Expand(NodeId id) {
    Expansion e(value_, id, options_);
    const Node& node = value_.node(id);
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
        e.head = string.is_na ? "NA" : Quote(string.bytes, options_);
        break;
      }
      case NodeKind::kArray:
        e.head = ArrayLine(std::get<Array>(node.data), options_);
        break;
      case NodeKind::kOpaque:
        e.head = absl::StrCat("opaque (", std::get<Opaque>(node.data).bytes.size(), " bytes)");
        break;
      case NodeKind::kTable:
      case NodeKind::kTorchObject:
      case NodeKind::kTensor:
      case NodeKind::kLuaFunction:
        torch7::ExpandForInspect(e);
        break;
      case NodeKind::kStringVector:
      case NodeKind::kList:
      case NodeKind::kPairlist:
      case NodeKind::kSymbol:
      case NodeKind::kEnvironment:
      case NodeKind::kSpecial:
      case NodeKind::kNamespace:
      case NodeKind::kPackageEnvironment:
      case NodeKind::kPersistentReference:
      case NodeKind::kClosure:
      case NodeKind::kPromise:
      case NodeKind::kBuiltin:
      case NodeKind::kBytecode:
      case NodeKind::kExternalPointer:
      case NodeKind::kWeakReference:
      case NodeKind::kS4Object:
      case NodeKind::kAltrep:
        rds::ExpandForInspect(e);
        break;
    }
    rds::AddAttributesForInspect(e);
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
