// File: core/io/mapping_pool.h
//
// MappingPool: the huge-page mappings of large Buffers and GrowableBuffers (core/io/buffer.h,
// core/io/growable_buffer.h) kept for a moment after they are freed, for the next large
// allocation to reuse their pages instead of asking the kernel for fresh ones. A fresh page is
// zeroed by the kernel and, on a virtual machine that reports freed memory to its host, first
// fetched back from the host: on the 2-core virtual machine measured, a memcpy of 400 MB took
// 35-38 ms into memory already touched and 74-83 ms into a fresh mapping (rds_benchmark), and
// filling 1 GiB of fresh memory took 0.16-0.22 s back to back and several seconds the first time
// (service_benchmark). A process that decodes one large file after another (a client's
// DeserializeStream in a loop, a server's calls) paid that on every file.
//
// What is kept is bounded (keep_bytes), marked MADV_FREE (the kernel takes the pages back under
// memory pressure, a container's limit included, without swap; a page it took reads as zeros and
// is faulted in afresh when written), and unmapped once unused for `decay` (1 s), as allocators
// such as jemalloc let dirty pages decay: memory a process no longer uses goes back to the system
// within a second. A kept mapping's pages hold the bytes of whoever used them last; like memory
// from malloc, what Map returns is uninitialised and must be written before it is read.
//
// Thread-safe.
//
// Example:
//
//   uint8_t* bytes = MappingPool::Shared().Map(size);   // RoundUpToHugePages(size) bytes
//   ...                                                 // fill and use them
//   MappingPool::Shared().Unmap(bytes, size);           // kept for the next Map, or unmapped
//   MappingPool::Shared().Release();                    // when idle: everything kept unmapped
#ifndef SERIALD_CORE_IO_MAPPING_POOL_H_
#define SERIALD_CORE_IO_MAPPING_POOL_H_

#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace seriald {

class MappingPool {
 public:
  // Keeps at most `keep_bytes` in all (0: keeps nothing), each mapping for at most `decay`.
  explicit MappingPool(uint64_t keep_bytes, absl::Duration decay = absl::Seconds(1));
  // Unmaps everything kept.
  ~MappingPool();
  MappingPool(const MappingPool&) = delete;
  MappingPool& operator=(const MappingPool&) = delete;

  // The process's pool, which Buffer::Allocate and GrowableBuffer take their huge-page mappings
  // from: keeps up to 1 GiB for 1 s until told otherwise.
  static MappingPool& Shared();

  // A new bound; mappings kept beyond it are unmapped at once, the longest kept first.
  void set_keep_bytes(uint64_t keep_bytes);

  // RoundUpToHugePages(size) bytes on a 2 MiB boundary, advised to use huge pages: the head of the
  // smallest kept mapping that is long enough (the rest of it stays kept), else a fresh mapping
  // (MapHugePages) whose head is the longest kept one's pages, moved there. nullptr when the
  // system refuses.
  uint8_t* Map(size_t size);

  // Takes back RoundUpToHugePages(size) bytes at `data` (from Map, or any 2 MiB-aligned part of
  // what Map returned): kept if the bound has room (the oldest kept unmapped to make it), cut to
  // the bound if it alone is longer, else unmapped.
  void Unmap(uint8_t* data, size_t size);

  // Unmaps everything kept: its pages go back to the system.
  void Release();

  uint64_t kept_bytes() const;
  size_t kept_mappings() const;
  // Bytes Map has returned from kept mappings since the pool was made.
  uint64_t reused_bytes() const;

 private:
  struct Kept {
    uint8_t* data;
    size_t length;
    absl::Time since;
  };

  // Removes kept mappings, the oldest first, until `room` bytes more fit the bound (and, for a
  // mapping to keep, one more fits kMostKept); what is removed goes to `*out` to be unmapped once
  // the lock is let go.
  void MakeRoom(uint64_t room, std::vector<Kept>* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Moves the `count` oldest kept mappings to `*out` (their bytes already taken off kept_bytes_).
  void TakeOldest(size_t count, std::vector<Kept>* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  static void UnmapAll(const std::vector<Kept>& mappings);
  bool StoppingOrKeeping() const ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
    return stopping_ || !kept_.empty();
  }
  // The decay thread: unmaps what has been kept for `decay_`, until the pool goes.
  void Decay();

  const absl::Duration decay_;
  mutable absl::Mutex mutex_;
  uint64_t keep_bytes_ ABSL_GUARDED_BY(mutex_);
  uint64_t kept_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t reused_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<Kept> kept_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Started when something is first kept.
  std::thread decay_thread_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace seriald

#endif  // SERIALD_CORE_IO_MAPPING_POOL_H_
