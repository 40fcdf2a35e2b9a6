#include "core/io/chunked_input.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

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
}

absl::StatusOr<bool> ChunkedInput::Fill() {
  while (true) {
    if (!chunks_.empty()) {
      if (front_offset_ < chunks_.front().size()) return true;
      PopFront();
      continue;
    }
    if (ended_) return false;
    ASSIGN_OR_RETURN(std::optional<Buffer> chunk, next_());
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
  // place of what it was copied from.
  want = std::max(want, min);
  auto [gathered, out] = Buffer::Allocate(want);
  size_t got = 0;
  size_t index = 0;
  size_t position = front_offset_;
  while (got < want) {
    if (index == chunks_.size()) {
      if (ended_) break;
      ASSIGN_OR_RETURN(std::optional<Buffer> chunk, next_());
      if (!chunk.has_value()) {
        ended_ = true;
        break;
      }
      if (chunk->empty()) continue;
      chunks_.push_back(*std::move(chunk));
    }
    const Buffer& chunk = chunks_[index];
    const size_t n = std::min(chunk.size() - position, want - got);
    std::memcpy(out + got, chunk.data() + position, n);
    got += n;
    position += n;
    if (position == chunk.size()) {
      ++index;
      position = 0;
    }
  }
  for (size_t i = 0; i < index; ++i) PopFront();
  if (position > 0) {
    chunks_.front() = chunks_.front().Slice(position, chunks_.front().size() - position);
  }
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
  auto offset = std::make_shared<size_t>(0);
  return [whole = std::move(whole), step, offset]() -> absl::StatusOr<std::optional<Buffer>> {
    if (*offset >= whole.size()) return std::nullopt;
    const size_t n = std::min(step, whole.size() - *offset);
    Buffer chunk = whole.Slice(*offset, n);
    *offset += n;
    return chunk;
  };
}

}  // namespace seriald
