// File: tests/core/arrays/array_testing.h
//
// Building and reading back the arrays the npy, npz and safetensors tests write.
//
// Example:
//
//   data::NdArray a = Array<float>(ElementType::kFloat32, {1, 2, 3, 4}, {2, 2});
//   std::vector<float> back = Values<float>(a);   // row-major: 1, 2, 3, 4
#ifndef SERIALD_TESTS_CORE_ARRAYS_ARRAY_TESTING_H_
#define SERIALD_TESTS_CORE_ARRAYS_ARRAY_TESTING_H_

#include <cstring>
#include <utility>
#include <vector>

#include "core/data/data.h"
#include "core/data/ndarray.h"

namespace seriald::arrays {

// A contiguous row-major array of `values` (complex numbers as real, imaginary pairs).
template <typename T>
data::NdArray Array(ElementType dtype, const std::vector<T>& values, std::vector<int64_t> shape) {
  const size_t bytes = values.size() * sizeof(T);
  data::NdArray array =
      data::NdArray::Vector(dtype, bytes / ElementSize(dtype), Buffer::Copy(values.data(), bytes));
  array.strides = data::ContiguousStrides(shape, data::Order::kRowMajor);
  array.shape = std::move(shape);
  return array;
}

// The elements of a view, in row-major order.
template <typename T>
std::vector<T> Values(const data::NdArray& array) {
  Buffer bytes = data::Gather(array, data::Order::kRowMajor);
  std::vector<T> values(bytes.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

}  // namespace seriald::arrays

#endif  // SERIALD_TESTS_CORE_ARRAYS_ARRAY_TESTING_H_
