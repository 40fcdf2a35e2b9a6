// File: core/io/input_error.h
//
// The one way readers report malformed input: an INVALID_ARGUMENT status whose message names the
// format, the problem and the byte offset, and which carries the offset as a structured payload
// so the service can return it as a typed error detail instead of a string to parse.
//
// Example:
//
//   return InputError("torch7", reader.offset(), "unknown type tag 1936287828");
//   // -> INVALID_ARGUMENT "torch7: unknown type tag 1936287828 at byte 0"
//
//   std::optional<uint64_t> where = InputErrorOffset(status);   // 0
#ifndef SERIALD_CORE_IO_INPUT_ERROR_H_
#define SERIALD_CORE_IO_INPUT_ERROR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace seriald {

// Payload URL under which the byte offset of an input error is stored (decimal text).
inline constexpr std::string_view kInputOffsetPayload = "type.seriald.dev/input-offset";
// Payload URL under which the format name of an input error is stored.
inline constexpr std::string_view kInputFormatPayload = "type.seriald.dev/input-format";
// Payload URL under which LimitExceeded stores the name of the limit.
inline constexpr std::string_view kLimitPayload = "type.seriald.dev/limit";

// INVALID_ARGUMENT "<format>: <problem> at byte <offset>" with the offset and format attached.
absl::Status InputError(std::string_view format, uint64_t offset, std::string_view problem);

// RESOURCE_EXHAUSTED for a configured limit, e.g. LimitExceeded("max-depth", "nesting deeper
// than 1000000 levels at byte 17"). The limit's name is attached for the service's error details.
absl::Status LimitExceeded(std::string_view limit, std::string_view message);
// The limit named by LimitExceeded, or empty.
std::string LimitName(const absl::Status& status);

// `status` with `note` appended to its message (after a space), its payloads (the offset, the
// format, the limit) kept.
absl::Status Annotate(const absl::Status& status, std::string_view note);
// `status`'s code and payloads with another message (which usually quotes the old one).
absl::Status Reworded(const absl::Status& status, std::string_view message);

// The byte offset attached by InputError, if any.
std::optional<uint64_t> InputErrorOffset(const absl::Status& status);
// The format name attached by InputError, or empty.
std::string InputErrorFormat(const absl::Status& status);

}  // namespace seriald

#endif  // SERIALD_CORE_IO_INPUT_ERROR_H_
