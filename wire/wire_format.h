// File: wire/wire_format.h
//
// Protobuf's wire format as wire/'s encoders and decoders write and read it by hand, so that bulk
// bytes go between Buffers and gRPC's slices without a protobuf std::string in between: tags and
// varints, the few bytes of a message header, slices over Buffers, and a cursor over the slices a
// message arrived in. Internal to wire/ (chunk_wire.h, unary_wire.h).
//
// Example:
//
//   HeaderBytes header;
//   header.LengthPrefix(/*field=*/3, data.size());
//   grpc::Slice slices[] = {grpc::Slice(header.data(), header.size()), SliceOver(data)};
//
//   SliceCursor cursor(received_slices);
//   uint64_t tag;
//   while (cursor.remaining() > 0 && cursor.ReadVarint(&tag)) ...
#ifndef SERIALD_WIRE_WIRE_FORMAT_H_
#define SERIALD_WIRE_WIRE_FORMAT_H_

#include <grpcpp/support/slice.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "core/io/buffer.h"

namespace seriald::wire {

// A field's tag is (number << 3) | wire type.
inline constexpr uint64_t kVarint = 0;
inline constexpr uint64_t kFixed64 = 1;
inline constexpr uint64_t kLengthDelimited = 2;
inline constexpr uint64_t kFixed32 = 5;
constexpr uint64_t Tag(uint64_t field, uint64_t wire_type) { return (field << 3) | wire_type; }

// The bytes of a message header: at most a few tags and varints.
class HeaderBytes {
 public:
  void Varint(uint64_t value) {
    while (value >= 0x80) {
      bytes_[size_++] = static_cast<uint8_t>(value | 0x80);
      value >>= 7;
    }
    bytes_[size_++] = static_cast<uint8_t>(value);
  }
  // Protobuf leaves a proto3 scalar out when it is zero.
  void VarintField(uint64_t field, uint64_t value) {
    if (value == 0) return;
    Varint(Tag(field, kVarint));
    Varint(value);
  }
  void LengthPrefix(uint64_t field, uint64_t length) {
    Varint(Tag(field, kLengthDelimited));
    Varint(length);
  }
  void Append(const HeaderBytes& other) {
    std::memcpy(bytes_.data() + size_, other.data(), other.size());
    size_ += other.size();
  }
  size_t size() const { return size_; }
  const uint8_t* data() const { return bytes_.data(); }
  std::string_view view() const { return {reinterpret_cast<const char*>(data()), size()}; }

 private:
  std::array<uint8_t, 64> bytes_;
  size_t size_ = 0;
};

// A slice over `data`'s memory that keeps `data` alive until gRPC has sent it.
grpc::Slice SliceOver(const Buffer& data);

// Reads protobuf's wire format across a message's slices.
class SliceCursor {
 public:
  explicit SliceCursor(const std::vector<grpc::Slice>& slices);

  uint64_t remaining() const { return remaining_; }

  // False when the input ends first, or for a varint longer than protobuf writes.
  bool ReadVarint(uint64_t* value);

  // A field's tag, or a length-delimited field's length, as protobuf reads them: also false for
  // any it refuses or reads otherwise, which are left to protobuf. It reads a tag of at most five
  // bytes (and keeps the low 32 bits of a larger one in five), a length of at most five bytes and
  // under 2 GiB - 16.
  bool ReadTag(uint64_t* tag);
  bool ReadLength(uint64_t* length);

  // The next `n` bytes, appended to `pieces` as views into the slices.
  bool Take(uint64_t n, absl::InlinedVector<std::string_view, 4>* pieces);

  // The next `n` bytes, appended to `out` (a copy).
  bool CopyTo(uint64_t n, std::string* out);

 private:
  bool ReadByte(uint8_t* byte);
  // A varint of at most five bytes and at most `max`: ReadTag's and ReadLength's common form.
  bool ReadShortVarint(uint64_t max, uint64_t* value);
  void SkipSpent();

  const std::vector<grpc::Slice>& slices_;
  size_t index_ = 0;
  size_t position_ = 0;
  uint64_t remaining_ = 0;
};

}  // namespace seriald::wire

#endif  // SERIALD_WIRE_WIRE_FORMAT_H_
