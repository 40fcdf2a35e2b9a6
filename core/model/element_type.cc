#include "core/model/element_type.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace seriald {
namespace {

struct ElementInfo {
  std::string_view name;
  size_t size;
};

constexpr std::array<ElementInfo, kElementTypeCount> kInfo = {{
    {"uint8", 1},
    {"int8", 1},
    {"int16", 2},
    {"int32", 4},
    {"int64", 8},
    {"float16", 2},
    {"float32", 4},
    {"float64", 8},
    {"complex128", 16},
    {"logical", 4},
    {"raw", 1},
}};

}  // namespace

size_t ElementSize(ElementType type) { return kInfo[static_cast<size_t>(type)].size; }

size_t SwapUnit(ElementType type) {
  const size_t size = ElementSize(type);
  return size == 1 ? 0 : std::min<size_t>(size, 8);
}

std::string_view ElementTypeName(ElementType type) { return kInfo[static_cast<size_t>(type)].name; }

std::optional<ElementType> ElementTypeFromName(std::string_view name) {
  for (size_t i = 0; i < kInfo.size(); ++i) {
    if (kInfo[i].name == name) return static_cast<ElementType>(i);
  }
  return std::nullopt;
}

float HalfToFloat(uint16_t half) {
  uint32_t sign = uint32_t{half & 0x8000u} << 16;
  uint32_t exponent = (half >> 10) & 0x1f;
  uint32_t mantissa = half & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf, NaN (payload kept)
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;  // +-0
  } else {
    // Subnormal half: normalise.
    exponent = 113;
    while ((mantissa & 0x400) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
  }
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

uint16_t FloatToHalf(float value) {
  // torch7 lib/TH/THHalf.c TH_float2halfbits, with NaN keeping its sign.
  uint32_t x;
  std::memcpy(&x, &value, sizeof x);
  uint32_t u = x & 0x7fffffffu;
  uint32_t sign = (x >> 16) & 0x8000u;
  if (u > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7fffu);
  if (u > 0x477fefffu) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow to inf
  if (u < 0x33000001u) return static_cast<uint16_t>(sign);            // underflow to 0
  uint32_t exponent = (u >> 23) & 0xff;
  uint32_t mantissa = u & 0x7fffff;
  uint32_t shift;
  if (exponent > 0x70) {
    shift = 13;
    exponent -= 0x70;
  } else {
    shift = 0x7e - exponent;
    exponent = 0;
    mantissa |= 0x800000;
  }
  uint32_t lsb = 1u << shift;
  uint32_t half_lsb = lsb >> 1;
  uint32_t remainder = mantissa & (lsb - 1);
  mantissa >>= shift;
  if (remainder > half_lsb || (remainder == half_lsb && (mantissa & 1))) {
    ++mantissa;
    if ((mantissa & 0x3ff) == 0) {
      ++exponent;
      mantissa = 0;
    }
  }
  return static_cast<uint16_t>(sign | (exponent << 10) | mantissa);
}

}  // namespace seriald
