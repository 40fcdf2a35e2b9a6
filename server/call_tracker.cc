#include "server/call_tracker.h"

#include "absl/strings/str_cat.h"
#include "core/io/input_error.h"

namespace seriald {

CallTracker::Token::~Token() {
  if (tracker_ != nullptr) tracker_->End();
}

absl::StatusOr<CallTracker::Token> CallTracker::Begin() {
  absl::MutexLock lock(&mutex_);
  if (draining_) return absl::UnavailableError("server is shutting down; retry on another replica");
  if (max_calls_ != 0 && running_ >= max_calls_) {
    return LimitExceeded("max-concurrent-calls",
                         absl::StrCat("server is running its maximum of ", max_calls_,
                                      " concurrent calls (--max-concurrent-calls); retry later"));
  }
  ++running_;
  ++started_;
  return Token(this);
}

void CallTracker::End() {
  absl::MutexLock lock(&mutex_);
  --running_;
}

void CallTracker::StartDraining() {
  absl::MutexLock lock(&mutex_);
  draining_ = true;
}

bool CallTracker::draining() const {
  absl::MutexLock lock(&mutex_);
  return draining_;
}

uint32_t CallTracker::running() const {
  absl::MutexLock lock(&mutex_);
  return running_;
}

uint64_t CallTracker::started() const {
  absl::MutexLock lock(&mutex_);
  return started_;
}

bool CallTracker::WaitUntilIdle(absl::Time deadline) {
  absl::MutexLock lock(&mutex_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return running_ == 0; };
  return mutex_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

}  // namespace seriald
