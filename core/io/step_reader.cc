#include "core/io/step_reader.h"

#include <algorithm>

#include "core/io/file.h"

namespace seriald {

StepReader::StepReader(Buffer whole, size_t step) : whole_(std::move(whole)), step_(step) {
  if (whole_.size() >= kReadFromBytes) region_ = whole_.file_region();
  if (region_.has_value()) step_ = std::min(step_, whole_.size());
}

absl::StatusOr<std::optional<Buffer>> StepReader::Next() {
  if (offset_ >= whole_.size()) return std::nullopt;
  const size_t n = std::min(step_, whole_.size() - offset_);
  if (!region_.has_value()) {
    Buffer slice = whole_.Slice(offset_, n);
    offset_ += n;
    return slice;
  }
  auto [chunk, bytes] = FreeChunk();
  absl::Status read = ReadAt(region_->descriptor, region_->offset + offset_, n, bytes, "the input");
  if (!read.ok()) return read;
  offset_ += n;
  return chunk.Slice(0, n);
}

std::pair<Buffer, uint8_t*> StepReader::FreeChunk() {
  for (const auto& kept : kept_) {
    if (kept.first.references() == 1) return kept;
  }
  std::pair<Buffer, uint8_t*> fresh = Buffer::Allocate(step_);
  if (kept_.size() < kKept) kept_.push_back(fresh);
  return fresh;
}

}  // namespace seriald
