#include "wire/wire_format.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace seriald::wire {

grpc::Slice SliceOver(const Buffer& data) {
  auto* owner = new Buffer(data);
  return grpc::Slice(
      const_cast<uint8_t*>(owner->data()), owner->size(),
      [](void* buffer) { delete static_cast<Buffer*>(buffer); }, owner);
}

SliceCursor::SliceCursor(const std::vector<grpc::Slice>& slices) : slices_(slices) {
  for (const grpc::Slice& slice : slices_) remaining_ += slice.size();
}

bool SliceCursor::ReadVarint(uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t byte;
    if (!ReadByte(&byte)) return false;
    // A tenth byte may only hold the top bit; protobuf's tolerance of more is left to it.
    if (shift == 63 && byte > 1) return false;
    result |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

bool SliceCursor::ReadTag(uint64_t* tag) {
  return ReadShortVarint(std::numeric_limits<uint32_t>::max(), tag);
}

bool SliceCursor::ReadLength(uint64_t* length) {
  // protobuf's limit: INT_MAX less the 16 bytes its parser may read past a buffer's end.
  return ReadShortVarint(std::numeric_limits<int32_t>::max() - 16, length);
}

bool SliceCursor::ReadShortVarint(uint64_t max, uint64_t* value) {
  const uint64_t before = remaining_;
  return ReadVarint(value) && before - remaining_ <= 5 && *value <= max;
}

bool SliceCursor::Take(uint64_t n, absl::InlinedVector<std::string_view, 4>* pieces) {
  if (n > remaining_) return false;
  remaining_ -= n;
  while (n > 0) {
    SkipSpent();
    const grpc::Slice& slice = slices_[index_];
    const uint64_t here = std::min<uint64_t>(n, slice.size() - position_);
    pieces->emplace_back(reinterpret_cast<const char*>(slice.begin()) + position_, here);
    position_ += here;
    n -= here;
  }
  return true;
}

bool SliceCursor::CopyTo(uint64_t n, std::string* out) {
  absl::InlinedVector<std::string_view, 4> pieces;
  if (!Take(n, &pieces)) return false;
  for (std::string_view piece : pieces) out->append(piece);
  return true;
}

bool SliceCursor::ReadByte(uint8_t* byte) {
  if (remaining_ == 0) return false;
  SkipSpent();
  *byte = slices_[index_].begin()[position_++];
  --remaining_;
  return true;
}

void SliceCursor::SkipSpent() {
  while (position_ == slices_[index_].size()) {
    ++index_;
    position_ = 0;
  }
}

}  // namespace seriald::wire
