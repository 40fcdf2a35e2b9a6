#include "core/arrays/internal/elements.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/io/byte_order.h"
#include "core/model/element_type.h"
#include "core/status_macros.h"

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
                                     data::Order order, bool big_endian, std::string_view what,
                                     std::string_view target) {
  const uint64_t count = logical.size() / 4;
  if (count == 0) return Buffer();
  auto [buffer, bytes] = Buffer::Allocate(count);
  const uint8_t* from = logical.data();
  for (uint64_t i = 0; i < count; ++i) {
    const int32_t value = LoadElementBytes<int32_t>(from + 4 * i, big_endian);
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

absl::StatusOr<ArrayBody> BodyOf(const data::NdArray& array, data::Order order,
                                 std::string_view what, std::string_view bool_type) {
  ArrayBody body;
  body.bytes = data::Gather(array, order);  // elements moved whole: their byte order stays
  if (array.dtype == ElementType::kLogical) {
    ASSIGN_OR_RETURN(body.bytes, LogicalToBool(body.bytes, array.shape, order, array.big_endian,
                                               what, bool_type));
    return body;
  }
  // Complex numbers are two 8-byte halves, each in the stream's order.
  if (array.big_endian) body.swap_size = SwapUnit(array.dtype);
  return body;
}

void AppendBody(const ArrayBody& body, ByteWriter& out) {
  if (body.swap_size == 0) {
    out.AppendShared(body.bytes);
  } else {
    AppendSwapped(body.bytes, body.bytes.size() / body.swap_size, body.swap_size, out);
  }
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
