#include "core/io/byte_order.h"

#include <cstring>

namespace seriald {
namespace {

// A plain loop over memcpy'd words: the compiler turns it into vector byte shuffles.
template <typename T, T (*Swap)(T)>
void SwapLoop(const uint8_t* from, uint8_t* to, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, from + sizeof(T) * i, sizeof(T));
    v = Swap(v);
    std::memcpy(to + sizeof(T) * i, &v, sizeof(T));
  }
}

uint16_t Swap16(uint16_t v) { return __builtin_bswap16(v); }
uint32_t Swap32(uint32_t v) { return __builtin_bswap32(v); }
uint64_t Swap64(uint64_t v) { return __builtin_bswap64(v); }

}  // namespace

void SwapCopy(const uint8_t* from, uint8_t* to, uint64_t count, size_t size) {
  switch (size) {
    case 2:
      SwapLoop<uint16_t, Swap16>(from, to, count);
      break;
    case 4:
      SwapLoop<uint32_t, Swap32>(from, to, count);
      break;
    case 8:
      SwapLoop<uint64_t, Swap64>(from, to, count);
      break;
    default:
      if (count != 0) std::memcpy(to, from, count * size);
  }
}

}  // namespace seriald
