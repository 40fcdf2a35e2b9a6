// File: server/memory_budget.h
//
// MemoryBudget: the bytes every call together may hold at once (--max-inflight-bytes; a second
// budget, named by its own flag, bounds the bytes calls keep in spill files, --max-spill-bytes). A call
// reserves what it is about to allocate (the request bytes it will receive, the arrays a
// SerializeStream header declares, the output it must collect for a unary response, a working
// copy for decoding) before allocating it; when the budget has no room, the call waits briefly
// for other calls to give bytes back, and otherwise is refused with RESOURCE_EXHAUSTED (limit
// "max-inflight-bytes"). So eight concurrent 1 GiB streams on a 4 GiB pod queue or are refused
// instead of taking the process down.
//
// Thread-safe.
//
// Example:
//
//   MemoryBudget budget(uint64_t{3} << 30);
//   MemoryBudget::Reservation held = budget.Start();        // one per call
//   RETURN_IF_ERROR(held.Grow(request_bytes, deadline));     // before reading them
//   ...                                                      // released when `held` goes
#ifndef SERIALD_SERVER_MEMORY_BUDGET_H_
#define SERIALD_SERVER_MEMORY_BUDGET_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace seriald {

class MemoryBudget {
 public:
  // How long a call waits for room before it is refused (or until its deadline, if sooner).
  static constexpr absl::Duration kMaxWait = absl::Seconds(10);

  // The bytes one call holds; given back when destroyed.
  class Reservation {
   public:
    Reservation(Reservation&& other) noexcept
        : budget_(other.budget_), held_(other.held_) {
      other.held_ = 0;
    }
    Reservation& operator=(Reservation&&) = delete;
    ~Reservation();

    // Adds `bytes` to what the call holds, waiting until `deadline` (at most kMaxWait) for room.
    // RESOURCE_EXHAUSTED naming the budget's limit when there is none, or when the call's total
    // could never fit the budget.
    absl::Status Grow(uint64_t bytes, absl::Time deadline = absl::InfiniteFuture());
    // Gives back `bytes` of what the call holds (at most all of it).
    void Shrink(uint64_t bytes);
    uint64_t held() const { return held_; }

   private:
    friend class MemoryBudget;
    explicit Reservation(MemoryBudget* budget) : budget_(budget) {}
    MemoryBudget* budget_;
    uint64_t held_ = 0;
  };

  // `total` 0 means no limit (reservations always succeed and are still counted). `limit` is
  // the flag that sets it, named by every refusal ("max-inflight-bytes", "max-spill-bytes").
  explicit MemoryBudget(uint64_t total, std::string limit = "max-inflight-bytes")
      : total_(total), limit_(std::move(limit)) {}

  Reservation Start() { return Reservation(this); }

  uint64_t total() const { return total_; }
  uint64_t in_use() const;
  // The most bytes held at once so far.
  uint64_t peak() const;

  // The default --max-inflight-bytes: three quarters of the memory this process may use, which
  // is the cgroup's limit when one is set (cgroup v2 memory.max, v1 memory.limit_in_bytes), else
  // physical memory. The rest is left for what reservations do not count (gRPC's own buffers,
  // the heap's slack, the binary).
  static uint64_t DefaultTotal();

 private:
  absl::Status Acquire(uint64_t bytes, uint64_t already_held, absl::Time deadline);
  void Release(uint64_t bytes);

  const uint64_t total_;
  const std::string limit_;
  mutable absl::Mutex mutex_;
  uint64_t in_use_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t peak_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace seriald

#endif  // SERIALD_SERVER_MEMORY_BUDGET_H_
