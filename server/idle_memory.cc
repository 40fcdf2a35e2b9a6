#include "server/idle_memory.h"

#include <utility>

#include "core/io/mapping_pool.h"
#include "core/io/spill_file_pool.h"
#include "wire/heap_settings.h"

namespace seriald {

IdleMemoryReturner::IdleMemoryReturner(const CallTracker* tracker, absl::Duration period,
                                       std::function<void()> give_back)
    : tracker_(tracker), period_(period), give_back_(std::move(give_back)) {
  if (!give_back_) {
    give_back_ = [] {
      SpillFilePool::Shared().Release();
      MappingPool::Shared().Release();
      GiveBackFreedHeapPages();
    };
  }
  thread_ = std::thread([this] { Run(); });
}

IdleMemoryReturner::~IdleMemoryReturner() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

void IdleMemoryReturner::Run() {
  uint64_t last_started = tracker_->started();
  // Trimmed since the last call began: an idle stretch is trimmed once, not every period.
  bool trimmed = false;
  absl::MutexLock lock(&mutex_);
  while (!mutex_.AwaitWithTimeout(absl::Condition(&stopping_), period_)) {
    const uint64_t started = tracker_->started();
    if (started != last_started) {
      last_started = started;
      trimmed = false;
      continue;
    }
    if (trimmed || tracker_->running() != 0) continue;
    give_back_();
    trimmed = true;
  }
}

}  // namespace seriald
