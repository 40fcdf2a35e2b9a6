// File: tests/core/torch7/testing/lookup.h
//
// Small accessors for asserting on Values read from Torch7 streams: a table's (or a generic
// torch object's) field by string or number key, a storage's elements as a vector.
//
// Example:
//
//   NodeId weight = Field(value, model, "weight");              // kNoNode when absent
//   std::vector<double> data = Elements<double>(value, StorageOf(value, weight));
#ifndef SERIALD_TESTS_CORE_TORCH7_TESTING_LOOKUP_H_
#define SERIALD_TESTS_CORE_TORCH7_TESTING_LOOKUP_H_

#include <cstring>
#include <string_view>
#include <vector>

#include "core/model/value.h"

namespace seriald::testing {

// The Table of `id`: the node itself, or the payload of a torch object whose payload is a table.
const Table* TableOf(const Value& value, NodeId id);

// The value stored under string key `key` in the table of `id`, or kNoNode.
NodeId Field(const Value& value, NodeId id, std::string_view key);
// The value stored under number key `key`, or kNoNode.
NodeId Item(const Value& value, NodeId id, double key);

// The Tensor of a tensor object.
const Tensor& TensorOf(const Value& value, NodeId tensor_object);
// The storage object of a tensor object (kNoNode for an empty tensor).
NodeId StorageOf(const Value& value, NodeId tensor_object);
// The Array of a storage object.
const Array& ArrayOf(const Value& value, NodeId storage_object);

// The elements of a storage object's Array as T.
template <typename T>
std::vector<T> Elements(const Value& value, NodeId storage_object) {
  const Array& array = ArrayOf(value, storage_object);
  std::vector<T> out(array.length);
  if (!out.empty()) std::memcpy(out.data(), array.data.data(), array.length * sizeof(T));
  return out;
}

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_CORE_TORCH7_TESTING_LOOKUP_H_
