// File: server/idle_memory.h
//
// IdleMemoryReturner: gives the memory the heap keeps back to the system once the server has been
// idle for a while. glibc's malloc keeps freed small and medium blocks in its arenas for reuse,
// so after a burst of concurrent calls an idle seriald would otherwise hold what its busiest
// moment needed, for good: in a container that is memory the pod is charged for and the
// scheduler cannot give to anyone else, and it hides real leaks behind heap slack. A thread looks
// every `period`; when no call is running and none began during the last period, it closes the
// spill files kept for later calls (core/io/spill_file_pool.h: page cache and disk blocks that
// only a next call would have used), unmaps the large buffers' mappings kept for later calls
// (core/io/mapping_pool.h) and trims the heap (malloc_trim), once per idle stretch.
//
// Example:
//
//   CallTracker tracker(64);
//   IdleMemoryReturner returner(&tracker);            // stops with it
#ifndef SERIALD_SERVER_IDLE_MEMORY_H_
#define SERIALD_SERVER_IDLE_MEMORY_H_

#include <cstdint>
#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/call_tracker.h"

namespace seriald {

class IdleMemoryReturner {
 public:
  // `give_back` is what giving back does (tests count it); by default
  // SpillFilePool::Shared().Release(), MappingPool::Shared().Release() and
  // GiveBackFreedHeapPages() (malloc_trim).
  explicit IdleMemoryReturner(const CallTracker* tracker, absl::Duration period = absl::Seconds(1),
                              std::function<void()> give_back = nullptr);
  ~IdleMemoryReturner();
  IdleMemoryReturner(const IdleMemoryReturner&) = delete;
  IdleMemoryReturner& operator=(const IdleMemoryReturner&) = delete;

 private:
  void Run();

  const CallTracker* tracker_;
  const absl::Duration period_;
  std::function<void()> give_back_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace seriald

#endif  // SERIALD_SERVER_IDLE_MEMORY_H_
