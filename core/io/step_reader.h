// File: core/io/step_reader.h
//
// Reading a Buffer's bytes once, in order, a step at a time, with only a step of them resident.
// For memory, a step is a slice. For a mapped file (Buffer::file_region), a step is read from the
// file with pread into one of a few chunks that are filled again once no one refers to them:
// bytes read once cost a copy from the page cache either way, and through the mapping also a
// page fault and a page-table entry for each 4 KiB, set up and torn down again (DropPages). On
// the virtual machines measured, streaming a 400 MB file out through its mapping took 2 to 3
// times as long as through pread. A file cut short after it was mapped is then an error naming
// the byte, where touching the mapping would be SIGBUS. On a machine with a second CPU, a file
// of kReadAheadBytes or more is read a step ahead on a helper thread: the next step's pread (and
// swap) runs while the consumer writes out the current one, instead of before it (XDR to native
// R of a 400 MB file: the reads were a quarter of the time, in line with the writes).
//
// Example:
//
//   // Writes a (maybe mapped) array to a file without making the input resident.
//   RETURN_IF_ERROR(ReadInSteps(array.data, 8 << 20, [&](const Buffer& step) {
//     return file->Append(step.view());
//   }));
//
//   StepReader steps(mapped, 1 << 20);                 // what ChunkedInput::ChunksOf serves
//   ASSIGN_OR_RETURN(std::optional<Buffer> step, steps.Next());
#ifndef SERIALD_CORE_IO_STEP_READER_H_
#define SERIALD_CORE_IO_STEP_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/io/buffer.h"

namespace seriald {

class StepReader {
 public:
  // Mapped bytes are read with pread from this size on; a smaller slice is cheaper to touch
  // through the mapping than a system call and a chunk to read it into.
  static constexpr size_t kReadFromBytes = size_t{256} << 10;
  // `step` is at least 1. Read from a file, each step is memory of its own (a slice of a mapping
  // costs nothing however large): a MiB is as fast as more.
  //
  // With `swap_bytes` (2, 4 or 8), the bytes are big-endian elements of that size, handed out
  // little-endian: each step is then memory of its own, read from the file and swapped in place,
  // or swapped out of memory into it (the source's pages given back behind, Buffer::DropPages).
  // Steps are then whole elements (`step` rounded down to a multiple, at least one element); a
  // trailing part of an element, which array data never has, is passed on unswapped.
  StepReader(Buffer whole, size_t step, size_t swap_bytes = 0);
  ~StepReader();
  StepReader(const StepReader&) = delete;
  StepReader& operator=(const StepReader&) = delete;

  // Files from this size on are read a step ahead on a helper thread: a thread costs tens of
  // microseconds to start, a MiB's pread about a quarter of a millisecond.
  static constexpr size_t kReadAheadBytes = size_t{8} << 20;

  // The next step's bytes, nullopt at the end. An error only when the file cannot be read.
  absl::StatusOr<std::optional<Buffer>> Next();

  // Whether the steps are read from the file rather than sliced.
  bool reads_file() const { return region_.has_value(); }

 private:
  // Chunks kept for filling again: as many as a reader holds at once in the usual case (the
  // step at the cursor, the one before it while a piece of it is written out, one ahead).
  static constexpr size_t kKept = 4;

  // A chunk of `step_` bytes no one else refers to: a kept one, or a new one.
  std::pair<Buffer, uint8_t*> FreeChunk();

  // Reads (and swaps) the `size` bytes at `offset` of the file into `into`.
  absl::Status ReadStep(size_t offset, size_t size, uint8_t* into) const;

  // Next() when reading ahead: waits for the step in flight, starts the one after it.
  absl::StatusOr<std::optional<Buffer>> NextReadAhead();
  // Starts reading the step at offset_ into a free chunk on the helper thread.
  void StartReadAhead();

  // The helper thread and its one job (step_reader.cc).
  class ReadAhead;
  struct InFlight {
    Buffer chunk;
    size_t size;
  };

  Buffer whole_;  // keeps a mapping's descriptor open
  std::optional<Buffer::FileRegion> region_;
  size_t step_;
  size_t swap_bytes_;
  size_t offset_ = 0;
  std::vector<std::pair<Buffer, uint8_t*>> kept_;
  std::optional<InFlight> in_flight_;  // the step the helper reads, at offset_
  std::unique_ptr<ReadAhead> ahead_;   // last: joined before the chunks it fills go
};

// The step for bytes copied out (a file, a compressor): read from a file, a MiB is as fast as
// more and stays in the cache; sliced from memory, any step costs the same.
inline constexpr size_t kCopyOutStep = size_t{1} << 20;

// Hands `buffer`'s bytes to `consume` a step of at most `step_bytes` at a time (StepReader: a
// mapped file's steps read from the file, other memory's slices, their pages given back once
// consumed): how bytes that may be a mapped input's are copied out (to a file, a compressor, the
// network) with only a step of them resident. A consumer that reads the buffer itself around the
// step wants ConsumeInSteps (core/io/buffer.h). Stops at the first error, the file's included.
// A template, so that `consume` inlines into the loop.
//
// With `swap_bytes` (2, 4 or 8), the buffer holds big-endian elements of that size and every step
// is handed out little-endian (StepReader): how big-endian array data is streamed out as
// little-endian without a swapped copy of the whole.
template <typename Consume>
absl::Status ReadInSteps(const Buffer& buffer, size_t step_bytes, size_t swap_bytes,
                         Consume&& consume) {
  StepReader steps(buffer, step_bytes, swap_bytes);
  while (true) {
    absl::StatusOr<std::optional<Buffer>> step = steps.Next();
    if (!step.ok()) return step.status();
    if (!step->has_value()) return absl::OkStatus();
    absl::Status status = consume(**step);
    if (!status.ok()) return status;
    if (!steps.reads_file()) (*step)->DropPages();
  }
}

template <typename Consume>
absl::Status ReadInSteps(const Buffer& buffer, size_t step_bytes, Consume&& consume) {
  return ReadInSteps(buffer, step_bytes, /*swap_bytes=*/0, std::forward<Consume>(consume));
}

}  // namespace seriald

#endif  // SERIALD_CORE_IO_STEP_READER_H_
