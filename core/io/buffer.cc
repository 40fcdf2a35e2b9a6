#include "core/io/buffer.h"

#include <cstring>
#include <new>

namespace seriald {
namespace {

constexpr std::align_val_t kAlignment{64};

struct AlignedDelete {
  void operator()(const uint8_t* p) const {
    ::operator delete(const_cast<uint8_t*>(p), kAlignment);
  }
};

}  // namespace

std::pair<Buffer, uint8_t*> Buffer::Allocate(size_t size) {
  if (size == 0) return {Buffer(), nullptr};
  auto* bytes = static_cast<uint8_t*>(::operator new(size, kAlignment));
  return {Buffer(std::shared_ptr<const uint8_t>(bytes, AlignedDelete()), size), bytes};
}

Buffer Buffer::Copy(const void* data, size_t size) {
  auto [buffer, bytes] = Allocate(size);
  if (size > 0) std::memcpy(bytes, data, size);
  return buffer;
}

Buffer Buffer::FromString(std::string bytes) {
  if (bytes.empty()) return Buffer();
  auto owner = std::make_shared<std::string>(std::move(bytes));
  const auto* data = reinterpret_cast<const uint8_t*>(owner->data());
  size_t size = owner->size();
  return Buffer(std::shared_ptr<const uint8_t>(owner, data), size);
}

Buffer Buffer::Wrap(const void* data, size_t size, std::function<void()> release) {
  struct Releaser {
    std::function<void()> release;
    ~Releaser() {
      if (release) release();
    }
  };
  auto owner = std::make_shared<Releaser>(Releaser{std::move(release)});
  return Buffer(std::shared_ptr<const uint8_t>(owner, static_cast<const uint8_t*>(data)), size);
}

Buffer Buffer::Slice(size_t offset, size_t length) const {
  if (length == 0) return Buffer();
  return Buffer(std::shared_ptr<const uint8_t>(data_, data_.get() + offset), length);
}

Buffer BufferChain::Flatten() const {
  if (pieces_.size() == 1) return pieces_[0];
  auto [buffer, bytes] = Buffer::Allocate(size_);
  for (const Buffer& piece : pieces_) {
    std::memcpy(bytes, piece.data(), piece.size());
    bytes += piece.size();
  }
  return buffer;
}

std::string BufferChain::ToString() const {
  std::string out;
  out.reserve(size_);
  for (const Buffer& piece : pieces_) out.append(piece.view());
  return out;
}

}  // namespace seriald
