#include "core/io/spillable_buffer.h"

#include <utility>

#include "core/status_macros.h"

namespace seriald {

absl::Status SpillableBuffer::Reserve(size_t capacity) {
  if (Spills(capacity)) return absl::OkStatus();
  return memory_.Reserve(capacity);
}

absl::Status SpillableBuffer::Append(const void* data, size_t n) {
  if (!file_.has_value() && Spills(size_ + n)) {
    ASSIGN_OR_RETURN(SpillFile file, SpillFile::Create(spill_dir_));
    file_.emplace(std::move(file));
    const Buffer held = std::move(memory_).Finish();
    RETURN_IF_ERROR(file_->Append(held.data(), held.size()));
  }
  RETURN_IF_ERROR(file_.has_value() ? file_->Append(data, n) : memory_.Append(data, n));
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
