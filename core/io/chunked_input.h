// File: core/io/chunked_input.h
//
// An input that arrives a chunk at a time (a gRPC stream's messages, a mapped file taken a step
// at a time) read with a cursor, for readers that convert as the bytes arrive instead of waiting
// for the whole input (core/torch7/transcoder.h).
//
// Only what the cursor has not passed is kept: a chunk is let go (and, when it is a file
// mapping's, its pages given back) once the cursor leaves it. Reading is in two forms:
//   Peek   makes a few bytes contiguous at the cursor (a number, a class name), copying them
//          together only when they straddle chunks;
//   Take   hands out the next bytes as a slice of the chunk that holds them, never a copy: bulk
//          data (tensor storage) goes from the chunk it arrived in straight to the output.
//
// The total size, when the source knows it (a file, a stream whose client sent input_size),
// lets readers refuse a count the rest of the input cannot hold at once, as whole-input readers
// do; without it such a count fails where the input ends.
//
// Example:
//
//   ChunkedInput in(ChunksOf(input, 1 << 20), "torch7", input.size());
//   ASSIGN_OR_RETURN(Buffer tag, in.Peek(4, 4));      // at least 4 bytes at the cursor
//   in.Skip(4);
//   ASSIGN_OR_RETURN(Buffer data, in.Take(1 << 20));  // up to 1 MiB, a slice of one chunk
#ifndef SERIALD_CORE_IO_CHUNKED_INPUT_H_
#define SERIALD_CORE_IO_CHUNKED_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/io/buffer.h"

namespace seriald {

class ChunkedInput {
 public:
  // The next chunk of input, or nullopt at its end. Errors (a cancelled call, a limit) stop the
  // read with them. Empty chunks are skipped.
  using NextChunk = std::function<absl::StatusOr<std::optional<Buffer>>()>;

  // `format` names the format in errors. `total_size`: the input's size, when known.
  ChunkedInput(NextChunk next, std::string_view format,
               std::optional<uint64_t> total_size = std::nullopt);

  // Stream offset of the cursor.
  uint64_t offset() const { return offset_; }
  // What is left after the cursor, when the total size is known.
  std::optional<uint64_t> remaining() const;

  // At least `min` bytes (or, when the input ends sooner, all the rest) contiguous at the cursor,
  // without moving it. When the chunk at the cursor holds fewer, up to `want` (>= min) bytes are
  // gathered into one buffer: callers that read many small values pass more than they need now,
  // so that gathering is rare.
  absl::StatusOr<Buffer> Peek(size_t min, size_t want);
  // Moves the cursor by `size` bytes, which a Peek has shown.
  void Skip(size_t size);
  // The next min(`max`, what the chunk at the cursor holds) bytes as a slice of that chunk, and
  // moves past them. Empty only at the end of the input.
  absl::StatusOr<Buffer> Take(size_t max);
  // True when no byte follows the cursor (reads the next chunk to find out).
  absl::StatusOr<bool> AtEnd();

  // The total size given at construction.
  std::optional<uint64_t> total_size() const { return total_size_; }

  // Calls `observer` with each chunk this input gets from its source, as it gets it, and with
  // nullopt once the source has ended: a second reader of the same bytes sees every chunk without
  // the source being read twice (TranscodeTorch7 checks the other long size so). Set before the
  // first read; nullptr stops it.
  using ChunkObserver = std::function<void(const std::optional<Buffer>&)>;
  void ObserveChunks(ChunkObserver observer) { observer_ = std::move(observer); }

  // A chunk source over one buffer, `step` bytes at a time (core/io/step_reader.h: slices, or
  // for a mapped file of 256 KiB or more, read from the file into a few chunks that are filled
  // again once no one refers to them).
  static NextChunk ChunksOf(Buffer whole, size_t step);

 private:
  // The source's next chunk, shown to the observer.
  absl::StatusOr<std::optional<Buffer>> NextFromSource();
  // Makes sure the front chunk has bytes at the cursor; false at the end of the input.
  absl::StatusOr<bool> Fill();
  // Drops the front chunk, whose bytes the cursor has passed.
  void PopFront();
  // Moves from a gathered front to the chunk it borrowed from, once the cursor is in that part.
  void LeaveGathered();

  NextChunk next_;
  ChunkObserver observer_;
  std::string_view format_;
  std::optional<uint64_t> total_size_;
  bool ended_ = false;
  // Chunks from the one holding the cursor on; `front_offset_` is the cursor within the first.
  std::deque<Buffer> chunks_;
  size_t front_offset_ = 0;
  // When the first chunk was gathered by Peek: how many of its last bytes are a copy of the
  // first bytes of the second, which is kept whole.
  size_t borrowed_ = 0;
  uint64_t offset_ = 0;
};

}  // namespace seriald

#endif  // SERIALD_CORE_IO_CHUNKED_INPUT_H_
