#include "core/model/strings.h"

#include <array>

namespace seriald {
namespace {

constexpr std::array<std::string_view, 5> kNames = {"native", "utf8", "latin1", "bytes", "ascii"};

}  // namespace

std::string_view StringEncodingName(StringEncoding encoding) {
  return kNames[static_cast<size_t>(encoding)];
}

std::optional<StringEncoding> StringEncodingFromName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<StringEncoding>(i);
  }
  return std::nullopt;
}

}  // namespace seriald
