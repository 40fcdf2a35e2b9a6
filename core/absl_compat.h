// File: core/absl_compat.h
//
// Debian 12 builds Abseil with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0), so
// absl::StrCat, absl::Cord and absl::Status do not accept std::string_view. seriald's APIs use
// std::string_view; AsAbsl bridges the two without copying.
//
// Example:
//
//   std::string_view name = "t7";
//   std::string message = absl::StrCat("unknown format ", AsAbsl(name));
#ifndef SERIALD_CORE_ABSL_COMPAT_H_
#define SERIALD_CORE_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace seriald {

inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view AsStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace seriald

#endif  // SERIALD_CORE_ABSL_COMPAT_H_
