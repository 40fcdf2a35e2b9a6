#include "core/io/step_reader.h"

#include <algorithm>
#include <cstring>

#include "core/io/byte_order.h"
#include "core/io/file.h"

namespace seriald {

StepReader::StepReader(Buffer whole, size_t step, size_t swap_bytes)
    : whole_(std::move(whole)), step_(step), swap_bytes_(swap_bytes > 1 ? swap_bytes : 0) {
  if (whole_.size() >= kReadFromBytes) region_ = whole_.file_region();
  // Each step is a chunk of its own when read from a file or swapped: no larger than the whole.
  if (region_.has_value() || swap_bytes_ > 0) step_ = std::min(step_, whole_.size());
  if (swap_bytes_ > 0) step_ = std::max(step_ - step_ % swap_bytes_, swap_bytes_);
}

absl::StatusOr<std::optional<Buffer>> StepReader::Next() {
  if (offset_ >= whole_.size()) return std::nullopt;
  const size_t n = std::min(step_, whole_.size() - offset_);
  if (!region_.has_value() && swap_bytes_ == 0) {
    Buffer slice = whole_.Slice(offset_, n);
    offset_ += n;
    return slice;
  }
  auto [chunk, bytes] = FreeChunk();
  const uint64_t elements = swap_bytes_ > 0 ? n / swap_bytes_ : 0;
  if (region_.has_value()) {
    absl::Status read =
        ReadAt(region_->descriptor, region_->offset + offset_, n, bytes, "the input");
    if (!read.ok()) return read;
    if (elements > 0) SwapInPlace(bytes, elements, swap_bytes_);
  } else {
    const Buffer source = whole_.Slice(offset_, n);
    SwapCopy(source.data(), bytes, elements, swap_bytes_);
    const size_t swapped = elements * swap_bytes_;
    if (n > swapped) std::memcpy(bytes + swapped, source.data() + swapped, n - swapped);
    source.DropPages();
  }
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
