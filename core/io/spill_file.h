// File: core/io/spill_file.h
//
// SpillFile: an unnamed temporary file that bytes arriving in pieces (a stream's chunks) are
// appended to, then mapped as one Buffer. The bytes wait in the page cache, not in the process's
// memory: the mapping's pages are faulted in as a reader touches them and given back behind a
// writer that streams them out (Buffer::DropPages), so converting a stream of any size holds
// only a few of its pieces in memory. The file is unlinked as soon as it is created, so it
// disappears with its last reference, also if the process dies. Where a pool keeps files
// (core/io/spill_file_pool.h), Create takes a kept one and writes over it, and the file goes back
// to the pool when the SpillFile, or its mapping, goes.
//
// Not thread-safe.
//
// Example:
//
//   ASSIGN_OR_RETURN(SpillFile spill, SpillFile::Create("/var/tmp"));
//   while (ReadChunk(&chunk)) RETURN_IF_ERROR(spill.Append(chunk.data(), chunk.size()));
//   ASSIGN_OR_RETURN(Buffer whole, std::move(spill).Map());
#ifndef SERIALD_CORE_IO_SPILL_FILE_H_
#define SERIALD_CORE_IO_SPILL_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/io/buffer.h"
#include "core/io/spill_file_pool.h"

namespace seriald {

// Where spill files go unless told otherwise: $TMPDIR, else /tmp.
std::string DefaultSpillDir();

// The bytes an unprivileged process may still write on `directory`'s file system (statvfs).
absl::StatusOr<uint64_t> FreeBytes(const std::string& directory);

class SpillFile {
 public:
  // An empty file in `directory`: one `pool` kept (written over from its start), else a new one,
  // given back to `pool` (null: closed) once done with. The error names the directory and the
  // system's reason.
  static absl::StatusOr<SpillFile> Create(const std::string& directory,
                                          SpillFilePool* pool = &SpillFilePool::Shared());

  SpillFile(SpillFile&& other) noexcept;
  SpillFile& operator=(SpillFile&& other) noexcept;
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;
  ~SpillFile();

  // Appends `pieces`, in order, in as few system calls as it can (WritePieces). RESOURCE_EXHAUSTED
  // when the disk is full.
  absl::Status Append(absl::Span<const std::string_view> pieces);
  uint64_t size() const { return size_; }

  // Writes `bytes` over what Append wrote at `offset` (the whole range must have been appended):
  // for a writer that goes back to fill in a header once what follows it is written (libzip's
  // local file headers). The file's size does not change.
  absl::Status WriteAt(uint64_t offset, std::string_view bytes);

  // A copy of `size` bytes from `offset`, which Append has written. May run on another thread
  // than Append (the bytes it reads are already written).
  absl::StatusOr<Buffer> ReadAt(uint64_t offset, uint64_t size) const;

  // The whole file as a read-only file mapping (Buffer::DropPages applies); the file lives as
  // long as the Buffer and its slices, then goes back to the pool. A kept file is first cut to
  // what was appended, so that no byte of an earlier user lies past it, even in the mapping's
  // last page. An empty file gives an empty Buffer.
  absl::StatusOr<Buffer> Map() &&;

 private:
  SpillFile(int fd, std::string directory, SpillFilePool* pool, uint64_t length)
      : fd_(fd), directory_(std::move(directory)), pool_(pool), length_(length) {}

  // Gives the descriptor, if any, back to the pool (or closes it).
  void GiveBack();

  int fd_ = -1;
  std::string directory_;
  SpillFilePool* pool_ = nullptr;
  uint64_t size_ = 0;
  // The file's length: what was appended, or more in a kept file that is being written over.
  uint64_t length_ = 0;
};

}  // namespace seriald

#endif  // SERIALD_CORE_IO_SPILL_FILE_H_
