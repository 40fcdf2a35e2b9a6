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
#include "core/io/byte_writer.h"

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

// One byte (0 or 1) for each int32 R logical of `logical`, contiguous in `order` over `shape`
// and big-endian when `big_endian`. INVALID_ARGUMENT "<what>: element [i, j] is NA; <target> has
// no NA" for an NA element (target names the format's boolean type: "numpy bool", "safetensors
// BOOL").
absl::StatusOr<Buffer> LogicalToBool(const Buffer& logical, const std::vector<int64_t>& shape,
                                     data::Order order, bool big_endian, std::string_view what,
                                     std::string_view target);

// An array's elements as npy and safetensors store them: little-endian, contiguous in `order`.
// `bytes` are the array's own (a slice when its view is already contiguous in `order`, else
// gathered into one copy); a big-endian array's (NdArray::big_endian, an XDR vector or big-endian
// tensor read as written) are swapped only as AppendBody writes them, a step at a time, so that
// exporting a mapped input holds no swapped copy of it. Logicals become one-byte booleans
// (LogicalToBool, with its error for NA).
struct ArrayBody {
  Buffer bytes;
  size_t swap_size = 0;  // the size of the units AppendBody swaps; 0: written as they are
  uint64_t size() const { return bytes.size(); }
};
absl::StatusOr<ArrayBody> BodyOf(const data::NdArray& array, data::Order order,
                                 std::string_view what, std::string_view bool_type);

// Appends `body`'s bytes to `out`: by reference, or swapped into its blocks (AppendSwapped).
void AppendBody(const ArrayBody& body, ByteWriter& out);

// R logicals (int32 0 / 1) for `count` one-byte booleans. When a byte is neither 0 nor 1, sets
// `*bad` to the index of the first such byte (its element is then 1, as numpy's truthiness would
// have it; callers refuse the input anyway).
Buffer BoolToLogical(const uint8_t* bytes, uint64_t count, std::optional<uint64_t>* bad);

}  // namespace seriald::arrays::internal

#endif  // SERIALD_CORE_ARRAYS_INTERNAL_ELEMENTS_H_
