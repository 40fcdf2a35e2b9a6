// File: core/io/spillable_buffer.h
//
// SpillableBuffer: collects bytes that arrive in pieces (a stream's chunks, decompressed output)
// in memory (a GrowableBuffer) until they pass a threshold, then in a SpillFile: what was
// collected moves to the file, and the rest goes there too. Finish gives one Buffer either way;
// a spilled one is a file mapping, resident only where it is touched (Buffer::DropPages). So a
// large input costs page cache, not the process's memory.
//
// Not thread-safe.
//
// Example:
//
//   SpillableBuffer input("/tmp", /*spill_above=*/64 << 20, reserve_disk);
//   while (ReadChunk(&chunk)) RETURN_IF_ERROR(input.Append(chunk.data(), chunk.size()));
//   ASSIGN_OR_RETURN(Buffer whole, std::move(input).Finish());
//
// What goes to the file can be counted against a disk budget: `reserve_spill` is called with the
// bytes about to be written there (on the move to the file, all collected so far), and its error
// fails the append. ReserveSpill reserves a declared total up front instead.
#ifndef SERIALD_CORE_IO_SPILLABLE_BUFFER_H_
#define SERIALD_CORE_IO_SPILLABLE_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/io/buffer.h"
#include "core/io/growable_buffer.h"
#include "core/io/spill_file.h"

namespace seriald {

class SpillableBuffer {
 public:
  using ReserveFn = std::function<absl::Status(uint64_t bytes)>;

  // Spills once more than `spill_above` bytes are collected, into a file in `spill_dir`; an
  // empty `spill_dir` keeps everything in memory. `reserve_spill` (may be null) counts what goes
  // to the file.
  SpillableBuffer(std::string spill_dir, uint64_t spill_above, ReserveFn reserve_spill = nullptr)
      : spill_dir_(std::move(spill_dir)),
        spill_above_(spill_above),
        reserve_spill_(std::move(reserve_spill)) {}

  // Whether `total` bytes in all would be (or are) in a file.
  bool Spills(uint64_t total) const {
    return file_.has_value() || (!spill_dir_.empty() && total > spill_above_);
  }
  bool spilled() const { return file_.has_value(); }

  // Makes room in memory for `capacity` bytes in total, when that many stay in memory.
  absl::Status Reserve(size_t capacity);
  // Reserves `total` bytes of disk now (through reserve_spill), when that many would spill: a
  // declared size, so that an input that can never fit is refused before it is sent. The file
  // is then created at once, and every byte appended goes straight to it (a directory that
  // cannot take it fails here, before any byte is sent).
  absl::Status ReserveSpill(uint64_t total);
  // Appends a copy of `n` bytes, moving everything to the file first when the total passes
  // the threshold. The file's errors name its directory.
  absl::Status Append(const void* data, size_t n);
  // Appends the pieces in order, as Append does each; to the file in one write where it can.
  absl::Status Append(absl::Span<const std::string_view> pieces);
  uint64_t size() const { return size_; }
  // What reserve_spill has granted so far, for giving it back when the buffer is dropped.
  uint64_t reserved_spill() const { return reserved_spill_; }

  // Everything appended, as one Buffer; the SpillableBuffer is empty afterwards.
  absl::StatusOr<Buffer> Finish() &&;

 private:
  // Counts bytes about to go to the file against reserve_spill_, beyond those reserved already.
  absl::Status ReserveSpillUpTo(uint64_t total);
  // Creates the file, if there is none yet, and moves what memory holds to it.
  absl::Status OpenFile();

  std::string spill_dir_;
  uint64_t spill_above_;
  ReserveFn reserve_spill_;
  uint64_t reserved_spill_ = 0;
  uint64_t size_ = 0;
  GrowableBuffer memory_;
  std::optional<SpillFile> file_;
};

}  // namespace seriald

#endif  // SERIALD_CORE_IO_SPILLABLE_BUFFER_H_
