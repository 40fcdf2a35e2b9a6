// Implementation of ForEachReference (included by value.h only).
#ifndef SERIALD_CORE_MODEL_INTERNAL_REFERENCES_INL_H_
#define SERIALD_CORE_MODEL_INTERNAL_REFERENCES_INL_H_

#include <type_traits>
#include <variant>

namespace seriald {

template <typename Visit>
void ForEachReference(const Node& node, Visit&& visit) {
  auto ref = [&](NodeId id) {
    if (id != kNoNode) visit(id);
  };
  std::visit(
      [&](const auto& data) {
        using T = std::decay_t<decltype(data)>;
        if constexpr (std::is_same_v<T, Table>) {
          for (const TableEntry& e : data.entries) {
            ref(e.key);
            ref(e.value);
          }
        } else if constexpr (std::is_same_v<T, TorchObject>) {
          ref(data.payload);
        } else if constexpr (std::is_same_v<T, Tensor>) {
          ref(data.storage);
        } else if constexpr (std::is_same_v<T, LuaFunction>) {
          ref(data.upvalues);
        } else if constexpr (std::is_same_v<T, List>) {
          for (NodeId id : data.items) ref(id);
        } else if constexpr (std::is_same_v<T, Pairlist>) {
          for (const PairlistCell& c : data.cells) {
            ref(c.attributes);
            ref(c.tag);
            ref(c.value);
          }
          ref(data.tail);
        } else if constexpr (std::is_same_v<T, Environment>) {
          ref(data.enclosure);
          ref(data.frame);
          ref(data.hash_table);
        } else if constexpr (std::is_same_v<T, Closure>) {
          ref(data.environment);
          ref(data.formals);
          ref(data.body);
        } else if constexpr (std::is_same_v<T, Promise>) {
          ref(data.environment);
          ref(data.value);
          ref(data.code);
        } else if constexpr (std::is_same_v<T, Bytecode>) {
          ref(data.code);
          for (NodeId id : data.constants) ref(id);
        } else if constexpr (std::is_same_v<T, ExternalPointer>) {
          ref(data.protected_value);
          ref(data.tag);
        } else if constexpr (std::is_same_v<T, Altrep>) {
          ref(data.state);
        }
      },
      node.data);
  ref(node.attributes);
}

}  // namespace seriald

#endif  // SERIALD_CORE_MODEL_INTERNAL_REFERENCES_INL_H_
