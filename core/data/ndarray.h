// File: core/data/ndarray.h
//
// Working with the view of an NdArray (data.h): checking that it lies inside its data, asking
// whether it is already contiguous in an order, and gathering its elements into a contiguous
// buffer when a writer needs them that way (R vectors are column-major, Torch7 storages cannot
// express negative strides). Gathering slices instead of copying whenever the view already is
// what is asked for.
//
// Example:
//
//   RETURN_IF_ERROR(data::CheckView(array, "item 4"));
//   Buffer column_major = data::Gather(array, data::Order::kColumnMajor);   // a slice if it can
#ifndef SERIALD_CORE_DATA_NDARRAY_H_
#define SERIALD_CORE_DATA_NDARRAY_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/data/data.h"
#include "core/io/buffer.h"

namespace seriald::data {

enum class Order : uint8_t {
  kColumnMajor,  // first index varies fastest (R, Fortran)
  kRowMajor,     // last index varies fastest (C, numpy's default, Torch7's contiguous tensors)
};

// The strides of a contiguous array of `shape` in `order`.
std::vector<int64_t> ContiguousStrides(const std::vector<int64_t>& shape, Order order);

// INVALID_ARGUMENT, starting with `what`, unless: strides has one entry per dimension, no size
// is negative, the element count fits in 2^62, data holds exactly length elements, and every
// element of the view (when there is any) lies in [0, length).
absl::Status CheckView(const NdArray& array, std::string_view what);

// The number of elements the view shows (the product of the shape; 1 for no dimensions).
// Requires a checked view.
uint64_t ElementCount(const NdArray& array);

// True when the view shows elements offset, offset + 1, ... in `order` (sizes of 1 may have any
// stride). Requires a checked view.
bool IsContiguous(const NdArray& array, Order order);

// Whether a model Array made of `array`'s bytes is big-endian (Array::big_endian): its elements
// were kept in a big-endian input's order, and have an order (single bytes have none).
bool KeptBigEndian(const NdArray& array);

// The view's elements, contiguous in `order`: a slice of `data` when the view already is, else a
// new buffer. Requires a checked view.
Buffer Gather(const NdArray& array, Order order);

}  // namespace seriald::data

#endif  // SERIALD_CORE_DATA_NDARRAY_H_
