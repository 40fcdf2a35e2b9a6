// File: core/io/byte_writer.h
//
// ByteWriter: the output side of every format writer. Small writes (tags, lengths, numbers) are
// copied into blocks of 64 KiB and more; large buffers that already hold the right bytes (a
// little-endian tensor written to a little-endian stream) are appended by reference, never copied.
// The result is a BufferChain, or, for streaming, a callback that receives each finished piece in
// order so the output never has to exist in memory as a whole.
//
// Not thread-safe; one writer per output stream.
//
// Example:
//
//   ByteWriter out;
//   out.Append("\x04\x00\x00\x00", 4);
//   out.AppendShared(storage.data);        // referenced, not copied
//   BufferChain bytes;
//   RETURN_IF_ERROR(out.Finish(&bytes));
#ifndef SERIALD_CORE_IO_BYTE_WRITER_H_
#define SERIALD_CORE_IO_BYTE_WRITER_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>

#include "absl/status/status.h"
#include "core/io/buffer.h"

namespace seriald {

class ByteWriter {
 public:
  // Receives each finished piece of output, in order. An error stops the writer: later appends
  // are dropped and Finish() returns that error.
  using PieceCallback = std::function<absl::Status(Buffer piece)>;

  static constexpr size_t kDefaultBlockSize = 64 * 1024;
  // Without a piece callback the output is collected whole, so blocks double in size up to this:
  // fewer, larger allocations (and page faults) for large outputs.
  static constexpr size_t kMaxCollectedBlockSize = 8 * 1024 * 1024;
  // With a piece callback, blocks double up to this: each piece is a write system call or a
  // message for the callback, whose cost per call (a file's lock and times, a message's framing)
  // is paid 16 times as often in 64 KiB pieces. serialctl's swapped XDR -> native output of
  // 400 MB to a file on ext4 took 0.28-0.33 s in 64 KiB pieces and 0.22-0.25 s in 1 MiB ones.
  static constexpr size_t kMaxStreamedBlockSize = 1024 * 1024;
  // Buffers at least this large are referenced by AppendShared instead of copied.
  static constexpr size_t kShareThreshold = 4 * 1024;

  ByteWriter() = default;
  explicit ByteWriter(PieceCallback on_piece) : on_piece_(std::move(on_piece)) {}

  void Append(const void* data, size_t size) {
    // An empty append is a no-op; it may come with a null pointer (an empty Buffer's data), and
    // memcpy with a null pointer is undefined even for zero bytes.
    if (size == 0) return;
    if (size <= capacity_ - used_) {
      std::memcpy(block_bytes_ + used_, data, size);
      used_ += size;
      written_ += size;
    } else {
      AppendSlow(static_cast<const uint8_t*>(data), size);
    }
  }
  void Append(std::string_view bytes) { Append(bytes.data(), bytes.size()); }
  void AppendByte(uint8_t byte) { Append(&byte, 1); }

  // Appends `buffer`, by reference when it is large enough to be worth it.
  void AppendShared(const Buffer& buffer);

  // Space for at least `min_size` (<= kDefaultBlockSize) bytes at the end of the output; returns
  // the pointer and sets `*available` to how many bytes may be written there. Call Commit(n)
  // with the number actually written. Used to transform bulk data (byte swapping, number
  // formatting) straight into the output without an intermediate copy.
  uint8_t* WritableSpace(size_t min_size, size_t* available);
  void Commit(size_t size) {
    used_ += size;
    written_ += size;
  }

  // Total bytes appended so far.
  uint64_t size() const { return written_; }
  // False once the piece callback has failed; writers check this in long loops to stop early.
  bool ok() const { return status_.ok(); }

  // Flushes what is pending. Without a callback, moves the whole output into `*out`.
  absl::Status Finish(BufferChain* out = nullptr);

 private:
  void AppendSlow(const uint8_t* data, size_t size);
  void FlushBlock();
  void Deliver(Buffer piece);

  PieceCallback on_piece_;
  BufferChain chain_;
  absl::Status status_;
  Buffer block_;
  uint8_t* block_bytes_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  size_t flushed_ = 0;  // bytes of the current block already handed out
  size_t next_block_size_ = kDefaultBlockSize;
  uint64_t written_ = 0;
};

}  // namespace seriald

#endif  // SERIALD_CORE_IO_BYTE_WRITER_H_
