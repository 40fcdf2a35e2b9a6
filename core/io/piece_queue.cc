#include "core/io/piece_queue.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "core/status_macros.h"

namespace seriald {

PieceQueue::PieceQueue(std::string spill_dir, uint64_t memory_bytes,
                       std::function<absl::Status(uint64_t)> reserve_spill,
                       std::function<absl::Status(uint64_t)> reserve_memory,
                       std::chrono::milliseconds stall)
    : spill_dir_(std::move(spill_dir)),
      memory_bytes_(memory_bytes),
      reserve_spill_(std::move(reserve_spill)),
      reserve_memory_(std::move(reserve_memory)),
      stall_(stall),
      memory_reserved_(memory_bytes) {}

absl::Status PieceQueue::Push(const std::vector<Buffer>& pieces) {
  uint64_t size = 0;
  for (const Buffer& piece : pieces) size += piece.size();
  if (size == 0) return absl::OkStatus();
  bool to_memory;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // Full: wait for room while the consumer keeps taking pieces. Once it has stalled, no more
    // waiting until it takes one again.
    while (!abandoned_ && spilled_pending_ == 0 && in_memory_ > 0 &&
           in_memory_ + size > memory_bytes_ && pops_ != stalled_at_pops_) {
      const uint64_t pops = pops_;
      if (!taken_.wait_for(lock, stall_, [&] { return pops_ != pops || abandoned_; })) {
        stalled_at_pops_ = pops_;
        break;
      }
    }
    if (abandoned_) return absl::OkStatus();
    // Once anything waits in the file, later pieces follow it there, to keep their order.
    to_memory = spill_dir_.empty() || (spilled_pending_ == 0 && in_memory_ + size <= memory_bytes_);
    if (to_memory && in_memory_ + size > memory_reserved_ && reserve_memory_) {
      // Only this thread reserves: the count cannot change under it, only shrink.
      const uint64_t more = in_memory_ + size - memory_reserved_;
      lock.unlock();
      RETURN_IF_ERROR(reserve_memory_(more));
      lock.lock();
      memory_reserved_ += more;
      if (abandoned_) return absl::OkStatus();
    }
    if (to_memory) {
      for (const Buffer& piece : pieces) {
        if (!piece.empty()) entries_.push_back(Entry{piece, 0, piece.size(), false});
      }
      in_memory_ += size;
      peak_memory_ = std::max(peak_memory_, in_memory_);
    }
  }
  if (to_memory) {
    ready_.notify_one();
    return absl::OkStatus();
  }
  // Only this thread writes the file, so it needs no lock; the consumer reads only what an entry
  // below says is written.
  if (reserve_spill_) RETURN_IF_ERROR(reserve_spill_(size));
  if (!spill_.has_value()) {
    ASSIGN_OR_RETURN(SpillFile file, SpillFile::Create(spill_dir_));
    spill_.emplace(std::move(file));
  }
  const std::vector<std::string_view> views = ViewsOf(pieces);
  const uint64_t offset = spill_->size();
  RETURN_IF_ERROR(spill_->Append(views));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (abandoned_) return absl::OkStatus();
    entries_.push_back(Entry{Buffer(), offset, size, true});
    ++spilled_pending_;
    spilled_total_ += size;
  }
  ready_.notify_one();
  return absl::OkStatus();
}

void PieceQueue::Close(absl::Status status) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closed_.has_value()) closed_ = std::move(status);
  }
  ready_.notify_one();
}

absl::StatusOr<std::optional<Buffer>> PieceQueue::Pop() {
  Entry entry;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [this] { return !entries_.empty() || closed_.has_value(); });
    if (entries_.empty()) {
      if (!closed_->ok()) return *closed_;
      return std::nullopt;
    }
    entry = std::move(entries_.front());
    entries_.pop_front();
    if (entry.spilled) {
      --spilled_pending_;
    } else {
      in_memory_ -= entry.size;
    }
    ++pops_;
  }
  taken_.notify_one();
  if (!entry.spilled) return std::optional<Buffer>(std::move(entry.piece));
  ASSIGN_OR_RETURN(Buffer piece, spill_->ReadAt(entry.offset, entry.size));
  return std::optional<Buffer>(std::move(piece));
}

void PieceQueue::Abandon() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    abandoned_ = true;
    entries_.clear();
    in_memory_ = 0;
    spilled_pending_ = 0;
  }
  taken_.notify_one();
}

uint64_t PieceQueue::peak_memory_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_memory_;
}

uint64_t PieceQueue::spilled_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return spilled_total_;
}

}  // namespace seriald
