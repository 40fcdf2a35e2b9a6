#include "core/model/element_type.h"

#include <algorithm>
#include <array>

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

}  // namespace seriald
