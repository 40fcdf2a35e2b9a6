#include "core/model/value.h"

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"

namespace seriald {

bool operator==(const Number& a, const Number& b) {
  return std::memcmp(&a.value, &b.value, sizeof(double)) == 0;
}

std::string_view NodeKindName(NodeKind kind) {
  static constexpr std::array<std::string_view, std::variant_size_v<NodeData>> kNames = {
      "nil",
      "boolean",
      "number",
      "string",
      "array",
      "string_vector",
      "opaque",
      "table",
      "torch_object",
      "tensor",
      "lua_function",
      "list",
      "pairlist",
      "symbol",
      "environment",
      "special",
      "namespace",
      "package_environment",
      "persistent_reference",
      "closure",
      "promise",
      "builtin",
      "bytecode",
      "external_pointer",
      "weak_reference",
      "s4_object",
      "altrep",
  };
  return kNames[static_cast<size_t>(kind)];
}

namespace {

absl::Status NodeError(NodeId id, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("node ", id, ": ", AsAbsl(problem)));
}

}  // namespace

absl::Status Value::Validate() const {
  const NodeId count = static_cast<NodeId>(nodes_.size());
  if (nodes_.size() >= kNoNode) return absl::InvalidArgumentError("too many nodes");
  for (size_t i = 0; i < roots_.size(); ++i) {
    if (roots_[i] >= count) {
      return absl::InvalidArgumentError(absl::StrCat("root ", i, " refers to node ", roots_[i],
                                                     ", but there are only ", count, " nodes"));
    }
  }
  auto is_kind = [&](NodeId id, NodeKind kind) { return id < count && nodes_[id].kind() == kind; };
  for (NodeId id = 0; id < count; ++id) {
    const Node& node = nodes_[id];
    absl::Status status;
    ForEachReference(node, [&](NodeId ref) {
      if (status.ok() && ref >= count) {
        status = NodeError(
            id, absl::StrCat("refers to node ", ref, ", but there are only ", count, " nodes"));
      }
    });
    if (!status.ok()) return status;
    if (node.attributes != kNoNode && !is_kind(node.attributes, NodeKind::kPairlist)) {
      return NodeError(id, "attributes must be a pairlist node");
    }
    switch (node.kind()) {
      case NodeKind::kArray: {
        const auto& array = std::get<Array>(node.data);
        if (array.length > array.data.size() ||
            array.data.size() != array.length * ElementSize(array.type)) {
          return NodeError(
              id, absl::StrCat("array of ", array.length, " ", AsAbsl(ElementTypeName(array.type)),
                               " holds ", array.data.size(), " bytes"));
        }
        break;
      }
      case NodeKind::kTable:
        for (const TableEntry& e : std::get<Table>(node.data).entries) {
          if (e.key == kNoNode || e.value == kNoNode) {
            return NodeError(id, "table entry without key or value");
          }
        }
        break;
      case NodeKind::kTorchObject:
        if (std::get<TorchObject>(node.data).payload == kNoNode) {
          return NodeError(id, "torch object without payload");
        }
        break;
      case NodeKind::kTensor: {
        const auto& tensor = std::get<Tensor>(node.data);
        if (tensor.sizes.size() != tensor.strides.size()) {
          return NodeError(id, absl::StrCat("tensor has ", tensor.sizes.size(), " sizes but ",
                                            tensor.strides.size(), " strides"));
        }
        if (tensor.storage != kNoNode && !is_kind(tensor.storage, NodeKind::kTorchObject)) {
          return NodeError(id, "tensor storage must be a torch object node (a storage)");
        }
        break;
      }
      case NodeKind::kLuaFunction: {
        const auto& function = std::get<LuaFunction>(node.data);
        if (function.tag < 6 || function.tag > 8) {
          return NodeError(id,
                           absl::StrCat("lua function tag ", function.tag, " is not 6, 7 or 8"));
        }
        if (function.upvalues == kNoNode) return NodeError(id, "lua function without upvalues");
        break;
      }
      case NodeKind::kList:
        for (NodeId item : std::get<List>(node.data).items) {
          if (item == kNoNode) return NodeError(id, "list item without a node");
        }
        break;
      case NodeKind::kPairlist:
        if (node.attributes != kNoNode || node.r_flags != RFlags{}) {
          return NodeError(id, "a pairlist keeps its attributes and flags in its cells");
        }
        for (const PairlistCell& cell : std::get<Pairlist>(node.data).cells) {
          if (cell.value == kNoNode) return NodeError(id, "pairlist cell without a value");
          if (cell.attributes != kNoNode && !is_kind(cell.attributes, NodeKind::kPairlist)) {
            return NodeError(id, "pairlist cell attributes must be a pairlist node");
          }
        }
        break;
      case NodeKind::kClosure:
        // The environment may be absent: a stream can hold a closure without one (R's reader
        // then gives it the base environment).
        if (std::get<Closure>(node.data).body == kNoNode) {
          return NodeError(id, "closure without body");
        }
        break;
      case NodeKind::kPromise:
        if (std::get<Promise>(node.data).value == kNoNode ||
            std::get<Promise>(node.data).code == kNoNode) {
          return NodeError(id, "promise without value or code");
        }
        break;
      case NodeKind::kBytecode:
        if (!is_kind(std::get<Bytecode>(node.data).code, NodeKind::kArray)) {
          return NodeError(id, "bytecode code must be an int32 array node");
        }
        break;
      case NodeKind::kAltrep:
        if (std::get<Altrep>(node.data).state == kNoNode) {
          return NodeError(id, "altrep without state");
        }
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

void MakeArraysLittleEndian(Value& value, uint64_t max_bytes) {
  for (Node& node : value.mutable_nodes()) {
    Array* array = std::get_if<Array>(&node.data);
    if (array != nullptr && array->big_endian && array->data.size() <= max_bytes) {
      MakeLittleEndian(*array);
    }
  }
}

}  // namespace seriald
