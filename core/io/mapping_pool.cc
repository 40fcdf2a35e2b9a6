#include "core/io/mapping_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <utility>

#include "core/io/buffer.h"

namespace seriald {
namespace {

// More kept mappings than this are not worth searching: the oldest go.
constexpr size_t kMostKept = 64;

}  // namespace

void MappingPool::UnmapAll(const std::vector<Kept>& mappings) {
  for (const Kept& kept : mappings) ::munmap(kept.data, kept.length);
}

MappingPool::MappingPool(uint64_t keep_bytes, absl::Duration decay)
    : decay_(decay), keep_bytes_(keep_bytes) {}

MappingPool::~MappingPool() {
  std::thread thread;
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    thread = std::move(decay_thread_);
  }
  if (thread.joinable()) thread.join();
  Release();
}

MappingPool& MappingPool::Shared() {
  // Never destroyed: a Buffer freed while the process exits may still give its mapping back.
  static MappingPool* const pool = new MappingPool(uint64_t{1} << 30);
  return *pool;
}

void MappingPool::set_keep_bytes(uint64_t keep_bytes) {
  std::vector<Kept> removed;
  {
    absl::MutexLock lock(&mutex_);
    keep_bytes_ = keep_bytes;
    MakeRoom(0, &removed);
  }
  UnmapAll(removed);
}

uint8_t* MappingPool::Map(size_t size) {
  const size_t length = RoundUpToHugePages(size);
  {
    absl::MutexLock lock(&mutex_);
    auto best = kept_.end();
    for (auto it = kept_.begin(); it != kept_.end(); ++it) {
      if (it->length >= length && (best == kept_.end() || it->length < best->length)) best = it;
    }
    if (best != kept_.end()) {
      uint8_t* data = best->data;
      if (best->length == length) {
        kept_.erase(best);
      } else {
        // The head is taken: the tail stays where it is, one mapping as before.
        best->data += length;
        best->length -= length;
      }
      kept_bytes_ -= length;
      reused_bytes_ += length;
      return data;
    }
  }
  // Fresh first: a size the system refuses leaves what is kept as it was.
  uint8_t* data = MapHugePages(length);
  if (data == nullptr) return nullptr;
  Kept longest{nullptr, 0, absl::Time()};
  {
    absl::MutexLock lock(&mutex_);
    auto it = std::max_element(kept_.begin(), kept_.end(),
                               [](const Kept& a, const Kept& b) { return a.length < b.length; });
    if (it == kept_.end() || it->length > length) return data;
    longest = *it;
    kept_.erase(it);
    kept_bytes_ -= longest.length;
    reused_bytes_ += longest.length;
  }
  // The longest kept becomes the fresh mapping's head (mremap moves its pages, not its bytes), so
  // that a call a little larger than the last (its input's header, a longer vector) still finds
  // most of its pages. Unmapped instead if that fails.
  if (::mremap(longest.data, longest.length, longest.length, MREMAP_MAYMOVE | MREMAP_FIXED, data) ==
      MAP_FAILED) {
    ::munmap(longest.data, longest.length);
    absl::MutexLock lock(&mutex_);
    reused_bytes_ -= longest.length;
  }
  return data;
}

void MappingPool::Unmap(uint8_t* data, size_t size) {
  size_t length = RoundUpToHugePages(size);
  if (data == nullptr || length == 0) return;
  std::vector<Kept> removed;
  bool keep = false;
  {
    absl::MutexLock lock(&mutex_);
    // Whole 2 MiB pages only: a kept mapping's parts are handed out on 2 MiB boundaries.
    const uint64_t bound = keep_bytes_ / kHugePageSize * kHugePageSize;
    if (bound > 0 && !stopping_) {
      // Cut to the bound (what lies past it is unmapped below), then room made for the rest.
      if (length > bound) {
        removed.push_back(Kept{data + bound, length - bound, absl::Time()});
        length = bound;
      }
      MakeRoom(length, &removed);
      // Pages given up lazily: they stay mapped, and the next Map writes over them without a
      // fault unless memory ran short and the kernel took them first.
      ::madvise(data, length, MADV_FREE);
      kept_.push_back(Kept{data, length, absl::Now()});
      kept_bytes_ += length;
      keep = true;
      if (!decay_thread_.joinable()) decay_thread_ = std::thread([this] { Decay(); });
    }
  }
  if (!keep) removed.push_back(Kept{data, length, absl::Time()});
  UnmapAll(removed);
}

void MappingPool::MakeRoom(uint64_t room, std::vector<Kept>* out) {
  // Kept in the order given: the oldest first. One more place is needed when room is made for a
  // mapping (room > 0) while kMostKept are kept.
  size_t count = 0;
  while (count < kept_.size() &&
         (kept_bytes_ + room > keep_bytes_ || (room > 0 && kept_.size() - count >= kMostKept))) {
    kept_bytes_ -= kept_[count].length;
    ++count;
  }
  TakeOldest(count, out);
}

void MappingPool::TakeOldest(size_t count, std::vector<Kept>* out) {
  out->insert(out->end(), kept_.begin(), kept_.begin() + static_cast<ptrdiff_t>(count));
  kept_.erase(kept_.begin(), kept_.begin() + static_cast<ptrdiff_t>(count));
}

void MappingPool::Release() {
  std::vector<Kept> removed;
  {
    absl::MutexLock lock(&mutex_);
    removed.swap(kept_);
    kept_bytes_ = 0;
  }
  UnmapAll(removed);
}

void MappingPool::Decay() {
  absl::MutexLock lock(&mutex_);
  while (!stopping_) {
    if (kept_.empty()) {
      mutex_.Await(absl::Condition(this, &MappingPool::StoppingOrKeeping));
      continue;
    }
    // The oldest is first: everything kept before its time plus decay_ goes now.
    const absl::Time now = absl::Now();
    if (kept_.front().since + decay_ > now) {
      mutex_.AwaitWithTimeout(absl::Condition(&stopping_), kept_.front().since + decay_ - now);
      continue;
    }
    size_t count = 0;
    while (count < kept_.size() && kept_[count].since + decay_ <= now) {
      kept_bytes_ -= kept_[count].length;
      ++count;
    }
    std::vector<Kept> expired;
    TakeOldest(count, &expired);
    // Unmapping a large mapping takes a while: not under the lock that Map and Unmap wait for.
    mutex_.Unlock();
    UnmapAll(expired);
    mutex_.Lock();
  }
}

uint64_t MappingPool::kept_bytes() const {
  absl::MutexLock lock(&mutex_);
  return kept_bytes_;
}

size_t MappingPool::kept_mappings() const {
  absl::MutexLock lock(&mutex_);
  return kept_.size();
}

uint64_t MappingPool::reused_bytes() const {
  absl::MutexLock lock(&mutex_);
  return reused_bytes_;
}

}  // namespace seriald
