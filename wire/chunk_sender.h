// File: wire/chunk_sender.h
//
// The one chunk sender of the streaming calls, on both ends: bytes produced in pieces of any size
// go out as chunk messages of about `chunk_bytes` each. A piece larger than a chunk is cut; pieces
// smaller than a chunk (a writer's blocks of 64 KiB to 1 MiB, its small shared pieces) are gathered
// into one message as several slices, not copied together, so a stream costs one message per chunk
// however its writer cuts its output. Every message's data are slices over the pieces' own
// Buffers (wire/chunk_wire.h); a piece that is a mapped file's is read from the file a chunk at
// a time as it is sent (ReadInSteps: faster than through the mapping, and never all resident).
//
// Example:
//
//   ChunkSender sender(ChunkEnvelope::kField2, 1 << 20, [&](grpc::ByteBuffer message, size_t) {
//     return stream->Write(message) ? absl::OkStatus() : absl::CancelledError("gone");
//   });
//   RETURN_IF_ERROR(WriteOutput(..., [&](Buffer piece) { return sender.Send(piece); }));
//   RETURN_IF_ERROR(sender.Flush());
//
//   RETURN_IF_ERROR(SendArrayChunks(node_id, array.data, 1 << 20, write));
#ifndef SERIALD_WIRE_CHUNK_SENDER_H_
#define SERIALD_WIRE_CHUNK_SENDER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "core/io/buffer.h"
#include "wire/chunk_wire.h"

namespace seriald::wire {

// Writes one message, carrying `data_bytes` of the stream's data, to the stream; an error ends the
// sending (the peer went away, the call was cancelled).
using WriteMessageFn = std::function<absl::Status(grpc::ByteBuffer message, size_t data_bytes)>;

class ChunkSender {
 public:
  // `chunk_bytes` is at least 1.
  ChunkSender(ChunkEnvelope envelope, size_t chunk_bytes, WriteMessageFn write)
      : envelope_(envelope), chunk_bytes_(chunk_bytes), write_(std::move(write)) {}

  // Sends `piece`'s bytes after those sent before, in whole chunks as they fill.
  absl::Status Send(const Buffer& piece);

  // Sends what is gathered (less than a chunk), if anything.
  absl::Status Flush();

  // Bytes sent or gathered so far.
  uint64_t bytes() const { return bytes_; }

 private:
  const ChunkEnvelope envelope_;
  const size_t chunk_bytes_;
  WriteMessageFn write_;
  // Pieces gathered for the next message, and their size (less than a chunk).
  std::vector<Buffer> gathered_;
  size_t gathered_bytes_ = 0;
  uint64_t bytes_ = 0;
};

// Sends array `node`'s data as ArrayChunk messages of at most `chunk_bytes` (at least 1), in
// order. With `swap_bytes` (2, 4 or 8; Array::big_endian data), `data` holds big-endian elements
// of that size and is sent little-endian, each chunk swapped as it goes (ReadInSteps), so that
// no swapped copy of the whole array is ever made; chunks are then whole elements.
absl::Status SendArrayChunks(uint32_t node, const Buffer& data, size_t chunk_bytes,
                             const WriteMessageFn& write, size_t swap_bytes = 0);

}  // namespace seriald::wire

#endif  // SERIALD_WIRE_CHUNK_SENDER_H_
