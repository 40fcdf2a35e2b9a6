#include "server/memory_budget.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/io/input_error.h"

namespace seriald {

MemoryBudget::Reservation::~Reservation() {
  if (held_ > 0) budget_->Release(held_);
}

absl::Status MemoryBudget::Reservation::Grow(uint64_t bytes, absl::Time deadline) {
  if (bytes == 0) return absl::OkStatus();
  absl::Status status = budget_->Acquire(bytes, held_, deadline);
  if (status.ok()) held_ += bytes;
  return status;
}

void MemoryBudget::Reservation::Shrink(uint64_t bytes) {
  bytes = std::min(bytes, held_);
  held_ -= bytes;
  budget_->Release(bytes);
}

uint64_t MemoryBudget::in_use() const {
  absl::MutexLock lock(&mutex_);
  return in_use_;
}

uint64_t MemoryBudget::peak() const {
  absl::MutexLock lock(&mutex_);
  return peak_;
}

absl::Status MemoryBudget::Acquire(uint64_t bytes, uint64_t already_held, absl::Time deadline) {
  absl::MutexLock lock(&mutex_);
  if (total_ != 0) {
    if (bytes > total_ || already_held > total_ - bytes) {
      return LimitExceeded(
          limit_, absl::StrCat("the call needs ", already_held + bytes, " bytes at once, more "
                               "than the server's whole budget of ", total_, " bytes (--",
                               limit_, ")"));
    }
    const absl::Time until = std::min(deadline, absl::Now() + kMaxWait);
    auto room = [this, bytes]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
      return bytes <= total_ - in_use_;
    };
    if (!mutex_.AwaitWithDeadline(absl::Condition(&room), until)) {
      return LimitExceeded(
          limit_, absl::StrCat("no room for ", bytes, " more bytes: calls in flight hold ",
                               in_use_, " of the server's ", total_, " bytes (--", limit_,
                               "); retry later"));
    }
  }
  in_use_ += bytes;
  peak_ = std::max(peak_, in_use_);
  return absl::OkStatus();
}

void MemoryBudget::Release(uint64_t bytes) {
  absl::MutexLock lock(&mutex_);
  in_use_ -= std::min(bytes, in_use_);
}

namespace {

// The first line of a file as a number of bytes; 0 when absent, "max" or unreadable.
uint64_t ReadLimit(const char* path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) return 0;
  uint64_t value = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &value)) return 0;
  return value;
}

}  // namespace

uint64_t MemoryBudget::DefaultTotal() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  uint64_t memory = pages > 0 && page_size > 0
                        ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size)
                        : uint64_t{4} << 30;
  // cgroup v1 reports "no limit" as a huge number; anything above physical memory is none.
  for (const char* path : {"/sys/fs/cgroup/memory.max",
                           "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    const uint64_t limit = ReadLimit(path);
    if (limit > 0 && limit < memory) memory = limit;
  }
  return memory / 4 * 3;
}

}  // namespace seriald
