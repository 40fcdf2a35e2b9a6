// File: core/arrays/internal/elements.h
//
// What the array containers (npy, npz, safetensors) share about elements: counting the elements
// of an untrusted shape without overflow, and the conversion between R logicals (int32 0 / 1 /
// NA, seriald's kLogical) and the one-byte booleans of numpy and safetensors, which have no NA.
//
// Example:
//
//   std::optional<uint64_t> count = internal::CheckedElementCount(shape);   // nullopt: > 2^62
//   std::optional<uint64_t> bad;
//   Buffer logical = internal::BoolToLogical(bytes, *count, &bad);
#ifndef SERIALD_CORE_ARRAYS_INTERNAL_ELEMENTS_H_
#define SERIALD_CORE_ARRAYS_INTERNAL_ELEMENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/ndarray.h"
#include "core/io/buffer.h"

namespace seriald::arrays::internal {

// Arrays of more elements are refused: the same bound data::CheckView applies, and it keeps
// every byte count (at most 16 bytes an element) inside uint64.
inline constexpr uint64_t kMaxElements = uint64_t{1} << 62;

// The product of `shape` (1 for no dimensions), or nullopt when a size is negative or the
// product exceeds kMaxElements. A zero size anywhere makes the product 0 whatever the others are,
// as numpy counts it.
std::optional<uint64_t> CheckedElementCount(const std::vector<int64_t>& shape);

// The index of element `flat` of an array of `shape` laid out in `order`, as "[1, 0, 2]".
std::string IndexText(uint64_t flat, const std::vector<int64_t>& shape, data::Order order);

// One byte (0 or 1) for each int32 R logical of `logical`, contiguous in `order` over `shape`.
// INVALID_ARGUMENT "<what>: element [i, j] is NA; <target> has no NA" for an NA element (target
// names the format's boolean type: "numpy bool", "safetensors BOOL").
absl::StatusOr<Buffer> LogicalToBool(const Buffer& logical, const std::vector<int64_t>& shape,
                                     data::Order order, std::string_view what,
                                     std::string_view target);

// R logicals (int32 0 / 1) for `count` one-byte booleans. When a byte is neither 0 nor 1, sets
// `*bad` to the index of the first such byte (its element is then 1, as numpy's truthiness would
// have it; callers refuse the input anyway).
Buffer BoolToLogical(const uint8_t* bytes, uint64_t count, std::optional<uint64_t>* bad);

}  // namespace seriald::arrays::internal

#endif  // SERIALD_CORE_ARRAYS_INTERNAL_ELEMENTS_H_
