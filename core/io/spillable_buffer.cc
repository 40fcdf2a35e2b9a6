#include "core/io/spillable_buffer.h"

#include <utility>

#include "core/status_macros.h"

namespace seriald {

absl::Status SpillableBuffer::Reserve(size_t capacity) {
  if (Spills(capacity)) return absl::OkStatus();
  return memory_.Reserve(capacity);
}

absl::Status SpillableBuffer::ReserveSpill(uint64_t total) {
  if (!Spills(total)) return absl::OkStatus();
  RETURN_IF_ERROR(ReserveSpillUpTo(total));
  // Bytes that will spill go to the file from the first: collected in memory up to the
  // threshold, they would cost fresh pages and a second copy on the move.
  return OpenFile();
}

absl::Status SpillableBuffer::OpenFile() {
  if (file_.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(SpillFile file, SpillFile::Create(spill_dir_));
  file_.emplace(std::move(file));
  if (size_ == 0) return absl::OkStatus();
  const Buffer held = std::move(memory_).Finish();
  const std::string_view held_view = held.view();
  return file_->Append(absl::MakeConstSpan(&held_view, 1));
}

absl::Status SpillableBuffer::ReserveSpillUpTo(uint64_t total) {
  if (!reserve_spill_ || total <= reserved_spill_) return absl::OkStatus();
  RETURN_IF_ERROR(reserve_spill_(total - reserved_spill_));
  reserved_spill_ = total;
  return absl::OkStatus();
}

absl::Status SpillableBuffer::Append(const void* data, size_t n) {
  const std::string_view piece(static_cast<const char*>(data), n);
  return Append(absl::MakeConstSpan(&piece, 1));
}

absl::Status SpillableBuffer::Append(absl::Span<const std::string_view> pieces) {
  uint64_t n = 0;
  for (std::string_view piece : pieces) n += piece.size();
  if (Spills(size_ + n)) {
    // Counted before anything is written: on the move, what memory held goes too.
    RETURN_IF_ERROR(ReserveSpillUpTo(size_ + n));
    RETURN_IF_ERROR(OpenFile());
    RETURN_IF_ERROR(file_->Append(pieces));
  } else {
    for (std::string_view piece : pieces) {
      RETURN_IF_ERROR(memory_.Append(piece.data(), piece.size()));
    }
  }
  size_ += n;
  return absl::OkStatus();
}

absl::StatusOr<Buffer> SpillableBuffer::Finish() && {
  size_ = 0;
  if (!file_.has_value()) return std::move(memory_).Finish();
  SpillFile file = std::move(*file_);
  file_.reset();
  return std::move(file).Map();
}

}  // namespace seriald
