// File: core/io/byte_reader.h
//
// ByteReader: a bounds-checked cursor over an input Buffer. Every read checks the requested
// length against what remains before touching memory, and ReadSlice hands out views of the input
// (no copy) so that large arrays keep pointing at the bytes they were read from.
//
// Example:
//
//   ByteReader in(input, "torch7");
//   ASSIGN_OR_RETURN(std::string_view head, in.ReadBytes(4, "type tag"));
//   ASSIGN_OR_RETURN(Buffer body, in.ReadSlice(n, "storage data"));
#ifndef SERIALD_CORE_IO_BYTE_READER_H_
#define SERIALD_CORE_IO_BYTE_READER_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/buffer.h"
#include "core/io/input_error.h"

namespace seriald {

class ByteReader {
 public:
  // `format` names the format in error messages ("torch7", "rds"). `base` is where `input`
  // starts in the whole stream when it is a window of it (core/io/chunked_input.h): offsets, and
  // the offsets errors name, are the stream's.
  ByteReader(Buffer input, std::string_view format, uint64_t base = 0)
      : input_(std::move(input)), format_(format), base_(base) {}

  uint64_t offset() const { return base_ + offset_; }
  uint64_t remaining() const { return input_.size() - offset_; }
  bool AtEnd() const { return offset_ == input_.size(); }
  const uint8_t* current() const { return input_.data() + offset_; }
  const Buffer& input() const { return input_; }
  std::string_view format() const { return format_; }

  // The next `size` bytes, or an error naming `what` when fewer remain.
  absl::StatusOr<std::string_view> ReadBytes(uint64_t size, std::string_view what) {
    if (size > remaining()) return Truncated(size, what);
    std::string_view bytes(reinterpret_cast<const char*>(current()), size);
    offset_ += size;
    return bytes;
  }

  // Like ReadBytes, but as a Buffer sharing the input's memory.
  absl::StatusOr<Buffer> ReadSlice(uint64_t size, std::string_view what) {
    if (size > remaining()) return Truncated(size, what);
    Buffer slice = input_.Slice(offset_, size);
    offset_ += size;
    return slice;
  }

  // Moves the cursor to `offset` (a stream offset, as offset() gives); it must lie in the input.
  void Seek(uint64_t offset) { offset_ = offset - base_; }
  void Skip(uint64_t size) { offset_ += size; }

  // Error helpers, at the current offset or at a given one.
  absl::Status Error(std::string_view problem) const { return ErrorAt(offset(), problem); }
  absl::Status ErrorAt(uint64_t offset, std::string_view problem) const {
    return InputError(format_, offset, problem);
  }
  absl::Status Truncated(uint64_t needed, std::string_view what) const {
    return Error(absl::StrCat("input ends inside ", AsAbsl(what), " (needs ", needed, " bytes, ",
                              remaining(), " remain)"));
  }

 private:
  Buffer input_;
  std::string_view format_;
  uint64_t base_ = 0;
  uint64_t offset_ = 0;  // within input_
};

}  // namespace seriald

#endif  // SERIALD_CORE_IO_BYTE_READER_H_
