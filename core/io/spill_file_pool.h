// File: core/io/spill_file_pool.h
//
// SpillFilePool: spill files (core/io/spill_file.h) kept after use, for the next spill in the same
// directory to write over instead of making a new file. Writing into a file's pages that are
// already in the page cache costs a copy; writing a new file also costs allocating, charging and
// indexing each page, and closing it costs freeing them all again. On the 2-core virtual machine
// measured, writing 1 GiB over a kept file took 0.10 s of system time against 0.68-0.75 s for a
// new one (dd, 1 MiB blocks), and a spilled 1 GiB DeserializeStream's server time fell by 27-30 %
// (service_benchmark; README, "Spill files are kept between calls"). A server that spills call after call (seriald: --spill-keep) keeps what the last calls
// spilled, up to a bound, and gives it all back once idle (server/idle_memory.h); serialctl,
// which spills once per process, keeps nothing.
//
// What a kept file holds is page cache (given back by the kernel under pressure once written
// back) and, once written back, disk blocks; neither is counted in a spill budget, so the bound
// must leave room for it. A file is kept at the length it had, or cut to what the bound has room
// for; each user empties it as it starts writing (SpillFile), and a mapping of it shows no byte
// an earlier user wrote (SpillFile::Map cuts what lies past its own bytes).
//
// Thread-safe.
//
// Example:
//
//   SpillFilePool::Shared().set_keep_bytes(uint64_t{1} << 30);   // at start-up
//   ASSIGN_OR_RETURN(SpillFile spill, SpillFile::Create("/tmp"));  // a kept one if there is one
//   ...                                          // given back when it (or its mapping) goes
//   SpillFilePool::Shared().Release();           // when idle: every kept file closed
#ifndef SERIALD_CORE_IO_SPILL_FILE_POOL_H_
#define SERIALD_CORE_IO_SPILL_FILE_POOL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace seriald {

class SpillFilePool {
 public:
  // An open spill file, unlinked, and the bytes it holds.
  struct KeptFile {
    int fd = -1;
    std::string directory;
    uint64_t length = 0;
  };

  // Keeps at most `keep_bytes` of files in all; 0 keeps none.
  explicit SpillFilePool(uint64_t keep_bytes = 0) : keep_bytes_(keep_bytes) {}
  ~SpillFilePool();
  SpillFilePool(const SpillFilePool&) = delete;
  SpillFilePool& operator=(const SpillFilePool&) = delete;

  // The process's pool, which SpillFile::Create takes from. Keeps nothing until told to.
  static SpillFilePool& Shared();

  // A new bound; files kept beyond it are cut or closed at once.
  void set_keep_bytes(uint64_t keep_bytes);

  // The longest file kept for `directory`, now the caller's; nullopt when there is none.
  std::optional<KeptFile> Take(const std::string& directory);

  // Takes `file` back for keeping (it is no longer the caller's): kept whole if the bound has room
  // for it, else cut to the room left (ftruncate), else closed. An empty file is closed.
  void Give(KeptFile file);

  // Closes every kept file: their pages and blocks go back to the system.
  void Release();

  uint64_t kept_bytes() const;
  size_t kept_files() const;

 private:
  // Cuts or closes kept files, latest given first, until they fit the bound.
  void Fit() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  uint64_t keep_bytes_ ABSL_GUARDED_BY(mutex_);
  uint64_t kept_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<KeptFile> kept_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace seriald

#endif  // SERIALD_CORE_IO_SPILL_FILE_POOL_H_
