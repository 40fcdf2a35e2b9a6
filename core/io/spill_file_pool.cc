#include "core/io/spill_file_pool.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

namespace seriald {
namespace {

void Close(const SpillFilePool::KeptFile& file) {
  if (file.fd >= 0) ::close(file.fd);
}

}  // namespace

SpillFilePool::~SpillFilePool() { Release(); }

SpillFilePool& SpillFilePool::Shared() {
  // Never destroyed: a mapping released while the process exits may still give its file back.
  static SpillFilePool* const pool = new SpillFilePool();
  return *pool;
}

void SpillFilePool::set_keep_bytes(uint64_t keep_bytes) {
  absl::MutexLock lock(&mutex_);
  keep_bytes_ = keep_bytes;
  Fit();
}

std::optional<SpillFilePool::KeptFile> SpillFilePool::Take(const std::string& directory) {
  absl::MutexLock lock(&mutex_);
  auto longest = kept_.end();
  for (auto it = kept_.begin(); it != kept_.end(); ++it) {
    if (it->directory == directory && (longest == kept_.end() || it->length > longest->length)) {
      longest = it;
    }
  }
  if (longest == kept_.end()) return std::nullopt;
  KeptFile file = std::move(*longest);
  kept_.erase(longest);
  kept_bytes_ -= file.length;
  return file;
}

void SpillFilePool::Give(KeptFile file) {
  if (file.fd < 0) return;
  {
    absl::MutexLock lock(&mutex_);
    const uint64_t room = keep_bytes_ - std::min(keep_bytes_, kept_bytes_);
    if (file.length > 0 && room > 0) {
      if (file.length > room) {
        // Cutting frees the pages past the cut, as closing would have freed them all.
        if (::ftruncate(file.fd, static_cast<off_t>(room)) == 0) file.length = room;
      }
      if (file.length <= room) {
        kept_bytes_ += file.length;
        kept_.push_back(std::move(file));
        return;
      }
    }
  }
  Close(file);
}

void SpillFilePool::Release() {
  std::vector<KeptFile> closing;
  {
    absl::MutexLock lock(&mutex_);
    closing.swap(kept_);
    kept_bytes_ = 0;
  }
  // Outside the lock: freeing a large file's pages takes a while.
  for (const KeptFile& file : closing) Close(file);
}

uint64_t SpillFilePool::kept_bytes() const {
  absl::MutexLock lock(&mutex_);
  return kept_bytes_;
}

size_t SpillFilePool::kept_files() const {
  absl::MutexLock lock(&mutex_);
  return kept_.size();
}

void SpillFilePool::Fit() {
  while (kept_bytes_ > keep_bytes_ && !kept_.empty()) {
    KeptFile& last = kept_.back();
    const uint64_t excess = kept_bytes_ - keep_bytes_;
    if (last.length > excess &&
        ::ftruncate(last.fd, static_cast<off_t>(last.length - excess)) == 0) {
      last.length -= excess;
      kept_bytes_ -= excess;
      return;
    }
    kept_bytes_ -= last.length;
    Close(last);
    kept_.pop_back();
  }
}

}  // namespace seriald
