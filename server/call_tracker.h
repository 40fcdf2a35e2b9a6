// File: server/call_tracker.h
//
// CallTracker counts the calls a server is running, enforces --max-concurrent-calls, and makes
// graceful shutdown exact: once draining starts, new calls are refused with UNAVAILABLE (clients
// retry elsewhere) and the server waits only as long as calls are actually in flight, instead of
// always waiting out the whole grace period (gRPC's own Shutdown(deadline) waits for idle client
// connections to go away as well, which they may never do by themselves).
//
// Thread-safe.
//
// Example:
//
//   CallTracker tracker(/*max_concurrent_calls=*/64);
//   absl::StatusOr<CallTracker::Token> token = tracker.Begin();   // in each handler
//   if (!token.ok()) return ToGrpcStatus(token.status());
//   ...                                                            // token ends the call when
//   destroyed tracker.StartDraining();                                        // on SIGTERM bool
//   idle = tracker.WaitUntilIdle(absl::Now() + absl::Seconds(30));
#ifndef SERIALD_SERVER_CALL_TRACKER_H_
#define SERIALD_SERVER_CALL_TRACKER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace seriald {

class CallTracker {
 public:
  // Marks one running call; ends it when destroyed.
  class Token {
   public:
    Token(Token&& other) noexcept : tracker_(other.tracker_) { other.tracker_ = nullptr; }
    Token& operator=(Token&&) = delete;
    ~Token();

   private:
    friend class CallTracker;
    explicit Token(CallTracker* tracker) : tracker_(tracker) {}
    CallTracker* tracker_;
  };

  // `max_concurrent_calls` 0 means no limit.
  explicit CallTracker(uint32_t max_concurrent_calls) : max_calls_(max_concurrent_calls) {}

  // Starts a call. UNAVAILABLE while draining; RESOURCE_EXHAUSTED (limit "max-concurrent-calls")
  // when the limit is reached.
  absl::StatusOr<Token> Begin();

  void StartDraining();
  bool draining() const;

  // Blocks until no call runs or `deadline` passes; true when idle.
  bool WaitUntilIdle(absl::Time deadline);

  uint32_t running() const;
  // Calls begun since the tracker was made (a call refused at Begin does not count).
  uint64_t started() const;

 private:
  void End();

  const uint32_t max_calls_;
  mutable absl::Mutex mutex_;
  uint32_t running_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t started_ ABSL_GUARDED_BY(mutex_) = 0;
  bool draining_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace seriald

#endif  // SERIALD_SERVER_CALL_TRACKER_H_
