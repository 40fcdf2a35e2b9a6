// File: core/model/element_type.h
//
// The element types of typed arrays (Torch7 storages, R atomic vectors). Array data is kept as
// little-endian bytes of these types; readers of big-endian streams swap once on input, except
// for a conversion within a family, which passes them as written (Array::big_endian).
//
// Example:
//
//   size_t bytes = ElementSize(ElementType::kFloat32) * length;   // 4 * length
//   std::string_view name = ElementTypeName(ElementType::kLogical);  // "logical"
#ifndef SERIALD_CORE_MODEL_ELEMENT_TYPE_H_
#define SERIALD_CORE_MODEL_ELEMENT_TYPE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace seriald {

enum class ElementType : uint8_t {
  kUint8 = 0,       // Torch Byte
  kInt8 = 1,        // Torch Char
  kInt16 = 2,       // Torch Short
  kInt32 = 3,       // Torch Int, R integer (NA = INT32_MIN)
  kInt64 = 4,       // Torch Long
  kFloat16 = 5,     // Torch Half (IEEE binary16 bits)
  kFloat32 = 6,     // Torch Float
  kFloat64 = 7,     // Torch Double, R double (NA = R's NA_real_ bit pattern)
  kComplex128 = 8,  // R complex: (real, imaginary) float64 pairs
  kLogical = 9,     // R logical: int32 0 / 1 / NA (INT32_MIN)
  kRaw = 10,        // R raw: bytes
};
inline constexpr int kElementTypeCount = 11;

// Bytes per element.
size_t ElementSize(ElementType type);

// The bytes whose order a change of byte order reverses, in an element: its size; 8 for complex
// numbers (two doubles, each swapped on its own); 0 for single bytes, which have no order.
size_t SwapUnit(ElementType type);

// Lower-case name: "uint8", "float32", "complex128", "logical", "raw", ...
std::string_view ElementTypeName(ElementType type);

// Inverse of ElementTypeName.
std::optional<ElementType> ElementTypeFromName(std::string_view name);

// IEEE binary16 bits to float (exact), as torch7's TH_halfbits2float.
float HalfToFloat(uint16_t bits);
// Float to binary16 bits with round-to-nearest-even, as torch7's TH_float2halfbits, except that
// a NaN keeps its sign (TH makes every NaN 0x7fff; here -NaN becomes 0xffff so that "-nan" read
// from ascii writes back as "-nan").
uint16_t FloatToHalf(float value);

// The NA value of R integers and logicals.
inline constexpr int32_t kNaInteger = INT32_MIN;
// The bit pattern of R's NA_real_ (a NaN whose low word is 1954).
inline constexpr uint64_t kNaRealBits = 0x7FF00000000007A2ULL;

}  // namespace seriald

#endif  // SERIALD_CORE_MODEL_ELEMENT_TYPE_H_
