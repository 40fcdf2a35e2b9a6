// File: core/io/byte_order.h
//
// Byte order conversion for bulk element data: the one kernel every format uses. seriald keeps
// array data little-endian (core/model/element_type.h); readers of big-endian input (R's XDR
// streams, big-endian Torch7 files, numpy '>f8' arrays) swap once, into a new buffer, and writers
// of big-endian output swap on the way out. A conversion keeps the input's order instead
// (Array::big_endian): within a family, between Torch7 and R, and to an array file, the writer
// swaps only when its output's order differs, and code that needs values loads them one at a
// time (LoadElementBytes). DeserializeStream keeps large arrays as written too and swaps each
// chunk as it sends it (StepReader's swap_bytes).
//
// Large copies (4 MiB and more) are written with streaming stores where the processor has AVX2,
// and a large destination filled from a Buffer has its fresh pages faulted in on a second CPU
// ahead of the swapping (core/io/page_fault_ahead.h): decoding 400 MB of XDR doubles into new
// memory then costs about what a memcpy into memory already touched does.
//
// Example:
//
//   auto [buffer, bytes] = Buffer::Allocate(count * 4);
//   SwapCopy(big_endian_input, bytes, count, 4);   // now little-endian int32 / float32
#ifndef SERIALD_CORE_IO_BYTE_ORDER_H_
#define SERIALD_CORE_IO_BYTE_ORDER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/io/buffer.h"
#include "core/io/byte_writer.h"

namespace seriald {

// Byte-swaps `count` elements of `size` bytes (2, 4 or 8) from `from` to `to` (which may not
// overlap); at 4 MiB and more with streaming stores, which leave `to` out of the cache. Any other
// size is copied unchanged (single bytes have no order; 16-byte complex numbers are two 8-byte
// halves, so callers pass them as 2 * count elements of 8).
void SwapCopy(const uint8_t* from, uint8_t* to, uint64_t count, size_t size);

// The same in place: `count` elements of `size` bytes at `bytes` swapped where they are (bytes
// just read into memory of the caller's own, such as a chunk read from a file).
void SwapInPlace(uint8_t* bytes, uint64_t count, size_t size);

// The same from `from`'s bytes, in steps of a few MiB, giving each step's source pages back
// behind it (Buffer::DropPages): swapping a mapped input's array keeps only a step of the input
// resident besides the swapped copy. From kFaultAheadBytes on, another thread faults in `to`'s
// pages from its end while the swapping runs from its start (PageFaultAhead).
void SwapCopy(const Buffer& from, uint8_t* to, uint64_t count, size_t size);

// Appends `from`'s `count` elements of `size` bytes to `out`, byte-swapped: how every writer of
// big-endian output writes array data. The elements are swapped straight into `out`'s blocks,
// giving the source's pages back every 8 MiB (Buffer::DropPages). Stops once `out` has failed.
void AppendSwapped(const Buffer& from, uint64_t count, size_t size, ByteWriter& out);

// The element of type T (int16_t, int32_t, int64_t, float, double, ...) stored at `bytes`,
// big-endian when `big_endian`: for code that reads values one element at a time from data left
// in its input's order (Array::big_endian, data::NdArray::big_endian), such as a conversion that
// widens a big-endian FloatTensor to R's doubles, without a swapped copy of the whole array.
template <typename T>
T LoadElementBytes(const uint8_t* bytes, bool big_endian) {
  static_assert(sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);
  using Bits = std::conditional_t<
      sizeof(T) == 1, uint8_t,
      std::conditional_t<sizeof(T) == 2, uint16_t,
                         std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
  Bits bits;
  std::memcpy(&bits, bytes, sizeof bits);
  if (big_endian) {
    if constexpr (sizeof(T) == 2) bits = __builtin_bswap16(bits);
    if constexpr (sizeof(T) == 4) bits = __builtin_bswap32(bits);
    if constexpr (sizeof(T) == 8) bits = __builtin_bswap64(bits);
  }
  T value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

}  // namespace seriald

#endif  // SERIALD_CORE_IO_BYTE_ORDER_H_
