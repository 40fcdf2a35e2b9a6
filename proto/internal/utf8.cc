#include "proto/internal/utf8.h"

#include <cstdint>
#include <cstring>

namespace seriald::internal {

size_t FirstInvalidUtf8(std::string_view bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t size = bytes.size();
  size_t i = 0;
  while (i < size) {
    // ASCII runs dominate real strings: check eight bytes at a time.
    if (i + 8 <= size) {
      uint64_t word;
      std::memcpy(&word, data + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const uint8_t lead = data[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // Length and the allowed range of the second byte (Unicode Table 3-7), which excludes
    // overlong forms, surrogates and code points above U+10FFFF.
    size_t length;
    uint8_t second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;
      if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;
      if (lead == 0xF4) second_max = 0x8F;
    } else {
      return i;
    }
    if (size - i < length) return i;
    if (data[i + 1] < second_min || data[i + 1] > second_max) return i;
    for (size_t k = 2; k < length; ++k) {
      if (data[i + k] < 0x80 || data[i + k] > 0xBF) return i;
    }
    i += length;
  }
  return size;
}

}  // namespace seriald::internal
