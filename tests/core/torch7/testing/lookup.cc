#include "tests/core/torch7/testing/lookup.h"

namespace seriald::testing {

const Table* TableOf(const Value& value, NodeId id) {
  if (const auto* table = value.GetIf<Table>(id)) return table;
  if (const auto* object = value.GetIf<TorchObject>(id)) return value.GetIf<Table>(object->payload);
  return nullptr;
}

NodeId Field(const Value& value, NodeId id, std::string_view key) {
  const Table* table = TableOf(value, id);
  if (table == nullptr) return kNoNode;
  for (const TableEntry& entry : table->entries) {
    const auto* string = value.GetIf<StringValue>(entry.key);
    if (string != nullptr && string->bytes == key) return entry.value;
  }
  return kNoNode;
}

NodeId Item(const Value& value, NodeId id, double key) {
  const Table* table = TableOf(value, id);
  if (table == nullptr) return kNoNode;
  for (const TableEntry& entry : table->entries) {
    const auto* number = value.GetIf<Number>(entry.key);
    if (number != nullptr && number->value == key) return entry.value;
  }
  return kNoNode;
}

const Tensor& TensorOf(const Value& value, NodeId tensor_object) {
  return value.Get<Tensor>(value.Get<TorchObject>(tensor_object).payload);
}

NodeId StorageOf(const Value& value, NodeId tensor_object) {
  return TensorOf(value, tensor_object).storage;
}

const Array& ArrayOf(const Value& value, NodeId storage_object) {
  return value.Get<Array>(value.Get<TorchObject>(storage_object).payload);
}

}  // namespace seriald::testing
