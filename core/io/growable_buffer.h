// File: core/io/growable_buffer.h
//
// GrowableBuffer: collects bytes that arrive in pieces (a stream's chunks, a pipe) into one
// contiguous Buffer without ever holding two copies. Memory comes from anonymous mappings that
// grow with mremap, which moves page tables rather than bytes, so collecting a 1.5 GiB stream
// costs 1.5 GiB, not 3 GiB at the moment of a reallocation.
//
// Not thread-safe.
//
// Example:
//
//   GrowableBuffer input;
//   while (ReadChunk(&chunk)) RETURN_IF_ERROR(input.Append(chunk.data(), chunk.size()));
//   Buffer whole = std::move(input).Finish();     // no copy
#ifndef SERIALD_CORE_IO_GROWABLE_BUFFER_H_
#define SERIALD_CORE_IO_GROWABLE_BUFFER_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/io/buffer.h"

namespace seriald {

class GrowableBuffer {
 public:
  GrowableBuffer() = default;
  ~GrowableBuffer();
  GrowableBuffer(const GrowableBuffer&) = delete;
  GrowableBuffer& operator=(const GrowableBuffer&) = delete;

  // Appends a copy of `size` bytes. RESOURCE_EXHAUSTED when memory cannot be had.
  absl::Status Append(const void* data, size_t size);
  // Makes room for at least `capacity` bytes in total (an expected size, to avoid regrowth).
  absl::Status Reserve(size_t capacity);

  // Space for at least `min_size` more bytes at the end (growing if needed), for a producer that
  // writes in place (read(2) into the buffer, no intermediate copy); sets `*available` to how
  // many bytes may be written there. Call Commit(n) with the number actually written.
  absl::StatusOr<uint8_t*> WritableSpace(size_t min_size, size_t* available);
  void Commit(size_t size) { size_ += size; }

  size_t size() const { return size_; }
  // The bytes it has room for without growing.
  size_t capacity() const { return capacity_; }

  // Hands the bytes over as a Buffer; the GrowableBuffer is empty afterwards.
  Buffer Finish() &&;

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace seriald

#endif  // SERIALD_CORE_IO_GROWABLE_BUFFER_H_
