#include "core/io/byte_writer.h"

#include <algorithm>

namespace seriald {

void ByteWriter::Deliver(Buffer piece) {
  if (piece.empty() || !status_.ok()) return;
  if (on_piece_) {
    status_ = on_piece_(std::move(piece));
  } else {
    chain_.Append(std::move(piece));
  }
}

void ByteWriter::FlushBlock() {
  if (used_ > flushed_) Deliver(block_.Slice(flushed_, used_ - flushed_));
  flushed_ = used_;
  if (capacity_ - used_ < 256) {  // not worth keeping: start a fresh block on the next write
    block_ = Buffer();
    block_bytes_ = nullptr;
    capacity_ = used_ = flushed_ = 0;
  }
}

void ByteWriter::AppendSlow(const uint8_t* data, size_t size) {
  while (size > 0) {
    size_t available = 0;
    uint8_t* space = WritableSpace(1, &available);
    size_t n = std::min(available, size);
    std::memcpy(space, data, n);
    Commit(n);
    data += n;
    size -= n;
  }
}

uint8_t* ByteWriter::WritableSpace(size_t min_size, size_t* available) {
  if (capacity_ - used_ < min_size) {
    FlushBlock();
    if (capacity_ - used_ < min_size) {
      auto [block, bytes] = Buffer::Allocate(std::max(min_size, next_block_size_));
      next_block_size_ = std::min(next_block_size_ * 2,
                                  on_piece_ ? kMaxStreamedBlockSize : kMaxCollectedBlockSize);
      block_ = std::move(block);
      block_bytes_ = bytes;
      capacity_ = block_.size();
      used_ = flushed_ = 0;
    }
  }
  *available = capacity_ - used_;
  return block_bytes_ + used_;
}

void ByteWriter::AppendShared(const Buffer& buffer) {
  if (buffer.size() < kShareThreshold) {
    Append(buffer.data(), buffer.size());
    return;
  }
  FlushBlock();
  Deliver(buffer);
  written_ += buffer.size();
}

absl::Status ByteWriter::Finish(BufferChain* out) {
  FlushBlock();
  if (!status_.ok()) return status_;
  if (out != nullptr) {
    for (const Buffer& piece : chain_.pieces()) out->Append(piece);
  }
  chain_ = BufferChain();
  return absl::OkStatus();
}

}  // namespace seriald
