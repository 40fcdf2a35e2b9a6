#include "core/io/chunked_input.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "core/io/step_reader.h"
#include "core/status_macros.h"

namespace seriald {

ChunkedInput::ChunkedInput(NextChunk next, std::string_view format,
                           std::optional<uint64_t> total_size)
    : next_(std::move(next)), format_(format), total_size_(total_size) {}

std::optional<uint64_t> ChunkedInput::remaining() const {
  if (!total_size_.has_value() || *total_size_ < offset_) return std::nullopt;
  return *total_size_ - offset_;
}

void ChunkedInput::PopFront() {
  chunks_.front().DropPages();
  chunks_.pop_front();
  front_offset_ = 0;
  borrowed_ = 0;
}

void ChunkedInput::LeaveGathered() {
  // Past the bytes the gathered buffer copied from chunks now gone, the cursor is in bytes the
  // next chunk still holds: read them there, so that one gather does not lead to the next.
  if (borrowed_ == 0 || chunks_.size() < 2) return;
  const size_t own = chunks_.front().size() - borrowed_;
  if (front_offset_ < own) return;
  const size_t into_next = front_offset_ - own;
  chunks_.pop_front();
  front_offset_ = into_next;
  borrowed_ = 0;
}

absl::StatusOr<std::optional<Buffer>> ChunkedInput::NextFromSource() {
  absl::StatusOr<std::optional<Buffer>> chunk = next_();
  if (chunk.ok() && observer_ && (!chunk->has_value() || !(*chunk)->empty())) observer_(*chunk);
  return chunk;
}

absl::StatusOr<bool> ChunkedInput::Fill() {
  LeaveGathered();
  while (true) {
    if (!chunks_.empty()) {
      if (front_offset_ < chunks_.front().size()) return true;
      PopFront();
      continue;
    }
    if (ended_) return false;
    ASSIGN_OR_RETURN(std::optional<Buffer> chunk, NextFromSource());
    if (!chunk.has_value()) {
      ended_ = true;
      return false;
    }
    if (!chunk->empty()) chunks_.push_back(*std::move(chunk));
  }
}

absl::StatusOr<Buffer> ChunkedInput::Peek(size_t min, size_t want) {
  ASSIGN_OR_RETURN(bool any, Fill());
  if (!any) return Buffer();
  const Buffer& front = chunks_.front();
  const size_t have = front.size() - front_offset_;
  if (have >= min) return front.Slice(front_offset_, have);
  // The bytes straddle chunks: gather up to `want` of them into one buffer, which takes the
  // place of the chunks it copied whole; the last one it copied from stays as it is, its first
  // `borrowed_` bytes also at the end of the gathered buffer (see LeaveGathered).
  want = std::max(want, min);
  auto [gathered, out] = Buffer::Allocate(want);
  size_t got = 0;
  size_t index = 0;
  size_t position = front_offset_;
  // A gathered front's borrowed bytes are copied from the chunk that holds them.
  size_t end = chunks_.front().size() - borrowed_;
  while (got < want) {
    if (index == chunks_.size()) {
      if (ended_) break;
      ASSIGN_OR_RETURN(std::optional<Buffer> chunk, NextFromSource());
      if (!chunk.has_value()) {
        ended_ = true;
        break;
      }
      if (chunk->empty()) continue;
      chunks_.push_back(*std::move(chunk));
      end = chunks_.back().size();
    }
    const Buffer& chunk = chunks_[index];
    const size_t n = std::min(end - position, want - got);
    std::memcpy(out + got, chunk.data() + position, n);
    got += n;
    position += n;
    if (position == end) {
      ++index;
      position = 0;
      if (index < chunks_.size()) end = chunks_[index].size();
    }
  }
  for (size_t i = 0; i < index; ++i) PopFront();
  borrowed_ = position;
  chunks_.push_front(gathered.Slice(0, got));
  front_offset_ = 0;
  return chunks_.front();
}

void ChunkedInput::Skip(size_t size) {
  // A chunk the cursor has left is dropped by the next Fill, not here: a slice Take just handed
  // out is still to be used, and a mapped chunk's pages would be given back only to fault in again.
  front_offset_ += size;
  offset_ += size;
}

absl::StatusOr<Buffer> ChunkedInput::Take(size_t max) {
  ASSIGN_OR_RETURN(bool any, Fill());
  if (!any) return Buffer();
  const Buffer& front = chunks_.front();
  const size_t n = std::min(max, front.size() - front_offset_);
  Buffer slice = front.Slice(front_offset_, n);
  Skip(n);
  return slice;
}

absl::StatusOr<bool> ChunkedInput::AtEnd() {
  ASSIGN_OR_RETURN(bool any, Fill());
  return !any;
}

ChunkedInput::NextChunk ChunkedInput::ChunksOf(Buffer whole, size_t step) {
  auto steps = std::make_shared<StepReader>(std::move(whole), step);
  return [steps] { return steps->Next(); };
}

}  // namespace seriald
