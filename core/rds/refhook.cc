#include "core/rds/refhook.h"

#include <cstdint>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/model/utf8.h"

namespace seriald {
namespace {

// Names shown in an error message: the first few, each cut short, escaped onto one line.
constexpr size_t kNamesShown = 4;
constexpr size_t kNameBytesShown = 80;

std::string DescribeNames(const StringVector& names) {
  std::string text;
  for (size_t i = 0; i < names.size() && i < kNamesShown; ++i) {
    StringVector::Element e = names.Get(i);
    absl::StrAppend(&text, i == 0 ? "" : ", ");
    if (e.is_na) {
      absl::StrAppend(&text, "NA");
      continue;
    }
    std::string_view shown = e.bytes.substr(0, kNameBytesShown);
    absl::StrAppend(&text, "\"", absl::CHexEscape(AsAbsl(shown)),
                    shown.size() < e.bytes.size() ? "...\"" : "\"");
  }
  if (names.size() > kNamesShown) absl::StrAppend(&text, ", ... (", names.size(), " names)");
  return text;
}

// "node 7 (persistent reference "myenv"): <problem>", keeping the code of `status`.
absl::Status ReferenceError(NodeId id, const StringVector& names, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("node ", id, " (persistent reference ",
                                                  DescribeNames(names), "): ", status.message()));
}

absl::Status KindError(const Value& value, NodeId id, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(
      "node ", id, " (", AsAbsl(NodeKindName(value.node(id).kind())), "): ", AsAbsl(problem)));
}

// A key that is equal for two lists of names exactly when the lists are (bytes, declared
// encodings, NA): each element as its NA bit, encoding, length and bytes.
std::string NamesKey(const StringVector& names) {
  std::string key;
  key.reserve(names.byte_size() + 10 * names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    StringVector::Element e = names.Get(i);
    key.push_back(e.is_na ? '\1' : '\0');
    key.push_back(static_cast<char>(e.encoding));
    const uint64_t length = e.bytes.size();
    key.append(reinterpret_cast<const char*>(&length), sizeof length);
    key.append(e.bytes);
  }
  return key;
}

// Calls `visit(NodeId&)` for every place `node` holds a node id (kNoNode ones included), so that
// references can be rewritten in place. Mirrors ForEachReference (core/model/internal/
// references_inl.h), which only reads them.
static_assert(std::variant_size_v<NodeData> == 27,
              "a new node kind: list its references here, as in ForEachReference");
template <typename Visit>
void ForEachReferenceSlot(Node& node, Visit&& visit) {
  std::visit(
      [&](auto& data) {
        using T = std::decay_t<decltype(data)>;
        if constexpr (std::is_same_v<T, Table>) {
          for (TableEntry& e : data.entries) {
            visit(e.key);
            visit(e.value);
          }
        } else if constexpr (std::is_same_v<T, TorchObject>) {
          visit(data.payload);
        } else if constexpr (std::is_same_v<T, Tensor>) {
          visit(data.storage);
        } else if constexpr (std::is_same_v<T, LuaFunction>) {
          visit(data.upvalues);
        } else if constexpr (std::is_same_v<T, List>) {
          for (NodeId& id : data.items) visit(id);
        } else if constexpr (std::is_same_v<T, Pairlist>) {
          for (PairlistCell& c : data.cells) {
            visit(c.attributes);
            visit(c.tag);
            visit(c.value);
          }
          visit(data.tail);
        } else if constexpr (std::is_same_v<T, Environment>) {
          visit(data.enclosure);
          visit(data.frame);
          visit(data.hash_table);
        } else if constexpr (std::is_same_v<T, Closure>) {
          visit(data.environment);
          visit(data.formals);
          visit(data.body);
        } else if constexpr (std::is_same_v<T, Promise>) {
          visit(data.environment);
          visit(data.value);
          visit(data.code);
        } else if constexpr (std::is_same_v<T, Bytecode>) {
          visit(data.code);
          for (NodeId& id : data.constants) visit(id);
        } else if constexpr (std::is_same_v<T, ExternalPointer>) {
          visit(data.protected_value);
          visit(data.tag);
        } else if constexpr (std::is_same_v<T, Altrep>) {
          visit(data.state);
        }
      },
      node.data);
  visit(node.attributes);
}

// Moves the nodes of `bound` (valid, one root) into `value`: the root into the node `slot`
// (data, attributes and flags), the others appended in their order, every reference among them
// renumbered (cycles through the root lead to `slot`).
void Graft(Value& value, Value bound, NodeId slot) {
  const NodeId root = bound.roots()[0];
  const NodeId base = static_cast<NodeId>(value.size());
  auto new_id = [&](NodeId id) { return id == root ? slot : base + (id < root ? id : id - 1); };
  std::vector<Node>& nodes = bound.mutable_nodes();
  value.Reserve(value.size() + nodes.size() - 1);
  for (NodeId id = 0; id < nodes.size(); ++id) {
    Node& node = nodes[id];
    ForEachReferenceSlot(node, [&](NodeId& ref) {
      if (ref != kNoNode) ref = new_id(ref);
    });
    if (id == root) {
      value.mutable_node(slot) = std::move(node);
    } else {
      value.Add(std::move(node));
    }
  }
}

// The references named one way: the first node takes the bound object, the others are
// redirected to it.
struct ReferenceGroup {
  NodeId first;
  std::vector<NodeId> others;
  std::optional<Value> bound;
};

}  // namespace

absl::Status ResolvePersistentReferences(Value& value, const PersistentReferenceResolver& resolve) {
  // Everything is asked and checked before anything changes.
  const NodeId original = static_cast<NodeId>(value.size());
  std::vector<ReferenceGroup> groups;
  absl::flat_hash_map<std::string, size_t> group_of;
  for (NodeId id = 0; id < original; ++id) {
    const auto* reference = value.GetIf<PersistentReference>(id);
    if (reference == nullptr) continue;
    auto [it, inserted] = group_of.try_emplace(NamesKey(reference->names), groups.size());
    if (inserted) {
      groups.push_back(ReferenceGroup{id, {}, std::nullopt});
    } else {
      groups[it->second].others.push_back(id);
    }
  }
  uint64_t total = value.size();
  for (ReferenceGroup& group : groups) {
    const StringVector& names = value.Get<PersistentReference>(group.first).names;
    absl::StatusOr<std::optional<Value>> bound = resolve(names);
    if (!bound.ok()) return ReferenceError(group.first, names, bound.status());
    if (!bound->has_value()) continue;
    const Value& object = **bound;
    if (object.roots().size() != 1) {
      return ReferenceError(group.first, names,
                            absl::InvalidArgumentError(
                                absl::StrCat("the value bound to it has ", object.roots().size(),
                                             " roots; a persistent reference stands for one "
                                             "object")));
    }
    if (absl::Status valid = object.Validate(); !valid.ok()) {
      return ReferenceError(
          group.first, names,
          absl::Status(valid.code(), absl::StrCat("the value bound to it: ", valid.message())));
    }
    total += object.size() - 1;
    if (total >= kNoNode) {
      return ReferenceError(group.first, names,
                            absl::InvalidArgumentError("the bound values hold too many nodes"));
    }
    group.bound = std::move(bound).value();
  }

  absl::flat_hash_map<NodeId, NodeId> redirect;
  for (ReferenceGroup& group : groups) {
    if (!group.bound.has_value()) continue;
    Graft(value, *std::move(group.bound), group.first);
    for (NodeId other : group.others) redirect[other] = group.first;
  }
  if (redirect.empty()) return absl::OkStatus();
  // Only the nodes held on entry can refer to a redirected node: grafted nodes refer among
  // themselves and to their slot.
  auto follow = [&](NodeId& ref) {
    if (auto it = redirect.find(ref); it != redirect.end()) ref = it->second;
  };
  for (NodeId id = 0; id < original; ++id) ForEachReferenceSlot(value.mutable_node(id), follow);
  for (NodeId& root : value.roots()) follow(root);
  for (const auto& [other, first] : redirect) value.mutable_node(other) = Node(Nil{});
  return absl::OkStatus();
}

absl::Status BindPersistentReferences(Value& value, const std::vector<ReferenceBinding>& bindings) {
  std::map<std::vector<std::string>, size_t> binding_of;
  for (size_t i = 0; i < bindings.size(); ++i) {
    if (bindings[i].names.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("reference binding ", i,
                       " has no names (a persistent reference has one "
                       "or more)"));
    }
    auto [it, inserted] = binding_of.try_emplace(bindings[i].names, i);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("reference bindings ", it->second, " and ", i, " have the same names ",
                       DescribeNames(PersistentNamesFromUtf8(bindings[i].names))));
    }
  }
  return ResolvePersistentReferences(
      value, [&](const StringVector& names) -> absl::StatusOr<std::optional<Value>> {
        std::optional<std::vector<std::string>> text = PersistentNamesAsUtf8(names);
        if (!text.has_value()) return std::nullopt;
        auto it = binding_of.find(*text);
        if (it == binding_of.end()) return std::nullopt;
        // A copy: names that differ only in their declared encodings are resolved separately.
        // Array data is shared, not copied.
        return bindings[it->second].value;
      });
}

bool AsksRefhook(NodeKind kind) {
  return kind == NodeKind::kEnvironment || kind == NodeKind::kExternalPointer ||
         kind == NodeKind::kWeakReference;
}

namespace {

void MakeReference(Value& value, NodeId id, StringVector names) {
  // R writes a PERSISTSXP without attributes or flags (serialize.c:1053-1060).
  value.mutable_node(id) = Node(PersistentReference{std::move(names)});
}

}  // namespace

absl::Status MakePersistentReferences(Value& value, const PersistentNameHook& hook) {
  std::vector<std::pair<NodeId, StringVector>> named;
  for (NodeId id = 0; id < value.size(); ++id) {
    if (!AsksRefhook(value.node(id).kind())) continue;
    absl::StatusOr<std::optional<StringVector>> names = hook(value, id);
    if (!names.ok()) {
      return absl::Status(
          names.status().code(),
          absl::StrCat("node ", id, " (", AsAbsl(NodeKindName(value.node(id).kind())),
                       "): the refhook failed: ", names.status().message()));
    }
    if (!names->has_value()) continue;
    if ((*names)->empty()) {
      return KindError(value, id, "the refhook named it with no names (R requires one or more)");
    }
    named.emplace_back(id, **std::move(names));
  }
  for (auto& [id, names] : named) MakeReference(value, id, std::move(names));
  return absl::OkStatus();
}

absl::Status MakePersistentReferences(Value& value, const std::map<NodeId, StringVector>& names) {
  for (const auto& [id, node_names] : names) {
    if (!value.Contains(id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("node ", id, " cannot be a persistent reference: the value has ",
                       value.size(), " nodes"));
    }
    if (!AsksRefhook(value.node(id).kind())) {
      return KindError(value, id,
                       "only environments, external pointers and weak references can be "
                       "written as persistent references (R's serialize asks its refhook about "
                       "nothing else)");
    }
    if (node_names.empty()) {
      return KindError(value, id, "a persistent reference needs one or more names");
    }
  }
  for (const auto& [id, node_names] : names) MakeReference(value, id, node_names);
  return absl::OkStatus();
}

StringVector PersistentNamesFromUtf8(const std::vector<std::string>& names) {
  StringVector vector;
  for (const std::string& name : names) {
    bool ascii = true;
    for (char c : name) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    vector.Append(name, ascii ? StringEncoding::kAscii : StringEncoding::kUtf8);
  }
  return vector;
}

std::optional<std::vector<std::string>> PersistentNamesAsUtf8(const StringVector& names) {
  std::vector<std::string> text;
  text.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    StringVector::Element e = names.Get(i);
    if (e.is_na) return std::nullopt;
    text.push_back(e.encoding == StringEncoding::kLatin1 ? Latin1ToUtf8(e.bytes)
                                                         : std::string(e.bytes));
  }
  return text;
}

}  // namespace seriald
