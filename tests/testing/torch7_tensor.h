// File: tests/testing/torch7_tensor.h
//
// Large Torch7 inputs for end-to-end tests and benchmarks, written directly (header, then data)
// so that a multi-GiB file costs no more than writing it: a one-dimensional torch.FloatTensor of
// `count` elements over a FloatStorage of its own, exactly as torch.save writes it (binary,
// 8-byte longs, little- or big-endian). The element bits follow a hash of the element's index, so
// a dropped, misplaced or wrongly swapped byte changes the output.
//
// Example:
//
//   ASSERT_TRUE(WriteFloatTensorFile(dir + "/big.t7", uint64_t{3} << 28).ok());   // 1 GiB of data
//   std::string small = FloatTensorStream(1024, /*big_endian=*/true);
#ifndef SERIALD_TESTS_TESTING_TORCH7_TENSOR_H_
#define SERIALD_TESTS_TESTING_TORCH7_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace seriald::testing {

// Everything before the tensor's data: the tensor object, then the storage object's header.
std::string FloatTensorHeader(uint64_t count, bool big_endian = false);

// Elements [first, first + n) of the data, in the byte order asked, into `out` (4 * n bytes).
void FillFloatTensorData(uint64_t first, size_t n, bool big_endian, char* out);

// The whole stream in memory.
std::string FloatTensorStream(uint64_t count, bool big_endian = false);

// Writes the whole stream to `path` in blocks of a few MiB.
absl::Status WriteFloatTensorFile(const std::string& path, uint64_t count, bool big_endian = false);

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_TESTING_TORCH7_TENSOR_H_
