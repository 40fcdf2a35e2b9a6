#include "core/arrays/internal/elements.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/model/element_type.h"

namespace seriald::arrays::internal {

std::optional<uint64_t> CheckedElementCount(const std::vector<int64_t>& shape) {
  uint64_t count = 1;
  bool empty = false;
  for (int64_t size : shape) {
    if (size < 0) return std::nullopt;
    if (size == 0) {
      empty = true;
      continue;
    }
    if (count > kMaxElements / static_cast<uint64_t>(size)) return std::nullopt;
    count *= static_cast<uint64_t>(size);
  }
  return empty ? 0 : count;
}

std::string IndexText(uint64_t flat, const std::vector<int64_t>& shape, data::Order order) {
  std::vector<int64_t> index(shape.size(), 0);
  // Peel indices off from the fastest-varying dimension outwards.
  for (size_t k = 0; k < shape.size(); ++k) {
    const size_t d = order == data::Order::kColumnMajor ? k : shape.size() - 1 - k;
    const uint64_t size = static_cast<uint64_t>(shape[d]);
    index[d] = static_cast<int64_t>(flat % size);
    flat /= size;
  }
  return absl::StrCat("[", absl::StrJoin(index, ", "), "]");
}

absl::StatusOr<Buffer> LogicalToBool(const Buffer& logical, const std::vector<int64_t>& shape,
                                     data::Order order, std::string_view what,
                                     std::string_view target) {
  const uint64_t count = logical.size() / 4;
  if (count == 0) return Buffer();
  auto [buffer, bytes] = Buffer::Allocate(count);
  const uint8_t* from = logical.data();
  for (uint64_t i = 0; i < count; ++i) {
    int32_t value;
    std::memcpy(&value, from + 4 * i, 4);
    if (value == kNaInteger) {
      return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), ": element ",
                                                     IndexText(i, shape, order), " is NA; ",
                                                     AsAbsl(target), " has no NA"));
    }
    // R logicals are 0 or 1 when R writes them; any other non-NA value is true, as R reads it.
    bytes[i] = value != 0 ? 1 : 0;
  }
  return buffer;
}

Buffer BoolToLogical(const uint8_t* bytes, uint64_t count, std::optional<uint64_t>* bad) {
  *bad = std::nullopt;
  if (count == 0) return Buffer();
  auto [buffer, out] = Buffer::Allocate(count * 4);
  for (uint64_t i = 0; i < count; ++i) {
    const uint8_t byte = bytes[i];
    if (byte > 1 && !bad->has_value()) *bad = i;
    const int32_t value = byte != 0 ? 1 : 0;
    std::memcpy(out + 4 * i, &value, 4);
  }
  return buffer;
}

}  // namespace seriald::arrays::internal
