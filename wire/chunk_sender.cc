#include "wire/chunk_sender.h"

#include <algorithm>
#include <utility>

#include "core/io/step_reader.h"

namespace seriald::wire {

absl::Status ChunkSender::Send(const Buffer& piece) {
  bytes_ += piece.size();
  size_t offset = 0;
  // Top up what is gathered to a whole chunk first.
  if (gathered_bytes_ > 0) {
    const size_t take = std::min(piece.size(), chunk_bytes_ - gathered_bytes_);
    gathered_.push_back(piece.Slice(0, take));
    gathered_bytes_ += take;
    offset = take;
    if (gathered_bytes_ < chunk_bytes_) return absl::OkStatus();
    absl::Status flushed = Flush();
    if (!flushed.ok()) return flushed;
  }
  // Whole chunks straight from the piece; a tail shorter than a chunk waits for more.
  const Buffer rest = piece.Slice(offset, piece.size() - offset);
  const size_t whole = rest.size() - rest.size() % chunk_bytes_;
  absl::Status sent = ReadInSteps(rest.Slice(0, whole), chunk_bytes_, [&](const Buffer& chunk) {
    return write_(EncodeBytesChunk(envelope_, absl::MakeConstSpan(&chunk, 1)), chunk.size());
  });
  if (!sent.ok()) return sent;
  if (whole < rest.size()) {
    gathered_.push_back(rest.Slice(whole, rest.size() - whole));
    gathered_bytes_ += rest.size() - whole;
  }
  return absl::OkStatus();
}

absl::Status ChunkSender::Flush() {
  if (gathered_.empty()) return absl::OkStatus();
  grpc::ByteBuffer message = EncodeBytesChunk(envelope_, gathered_);
  const size_t data_bytes = gathered_bytes_;
  gathered_.clear();
  gathered_bytes_ = 0;
  return write_(std::move(message), data_bytes);
}

absl::Status SendArrayChunks(uint32_t node, const Buffer& data, size_t chunk_bytes,
                             const WriteMessageFn& write, size_t swap_bytes) {
  uint64_t offset = 0;
  return ReadInSteps(data, chunk_bytes, swap_bytes, [&](const Buffer& chunk) {
    absl::Status written = write(EncodeArrayChunk(node, offset, chunk), chunk.size());
    offset += chunk.size();
    return written;
  });
}

}  // namespace seriald::wire
