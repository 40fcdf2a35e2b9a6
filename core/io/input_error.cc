#include "core/io/input_error.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"

namespace seriald {

absl::Status InputError(std::string_view format, uint64_t offset, std::string_view problem) {
  absl::Status status = absl::InvalidArgumentError(
      absl::StrCat(AsAbsl(format), ": ", AsAbsl(problem), " at byte ", offset));
  status.SetPayload(AsAbsl(kInputOffsetPayload), absl::Cord(absl::StrCat(offset)));
  status.SetPayload(AsAbsl(kInputFormatPayload), absl::Cord(AsAbsl(format)));
  return status;
}

absl::Status Reworded(const absl::Status& status, std::string_view message) {
  absl::Status reworded(status.code(), AsAbsl(message));
  status.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { reworded.SetPayload(url, payload); });
  return reworded;
}

absl::Status Annotate(const absl::Status& status, std::string_view note) {
  return Reworded(status, absl::StrCat(status.message(), " ", AsAbsl(note)));
}

absl::Status LimitExceeded(std::string_view limit, std::string_view message) {
  absl::Status status = absl::ResourceExhaustedError(AsAbsl(message));
  status.SetPayload(AsAbsl(kLimitPayload), absl::Cord(AsAbsl(limit)));
  return status;
}

std::string LimitName(const absl::Status& status) {
  auto payload = status.GetPayload(AsAbsl(kLimitPayload));
  return payload ? std::string(*payload) : std::string();
}

std::optional<uint64_t> InputErrorOffset(const absl::Status& status) {
  auto payload = status.GetPayload(AsAbsl(kInputOffsetPayload));
  uint64_t offset = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &offset)) return std::nullopt;
  return offset;
}

std::string InputErrorFormat(const absl::Status& status) {
  auto payload = status.GetPayload(AsAbsl(kInputFormatPayload));
  return payload ? std::string(*payload) : std::string();
}

}  // namespace seriald
