#include "core/io/growable_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace seriald {
namespace {

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

size_t RoundUpToPage(size_t n) { return (n + PageSize() - 1) / PageSize() * PageSize(); }

}  // namespace

GrowableBuffer::~GrowableBuffer() {
  if (data_ != nullptr) munmap(data_, capacity_);
}

absl::Status GrowableBuffer::Reserve(size_t capacity) {
  if (capacity <= capacity_) return absl::OkStatus();
  size_t new_capacity = RoundUpToPage(capacity);
  void* memory;
  if (data_ == nullptr) {
    memory =
        mmap(nullptr, new_capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  } else {
    memory = mremap(data_, capacity_, new_capacity, MREMAP_MAYMOVE);
  }
  if (memory == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", new_capacity, " bytes for the input"));
  }
  data_ = static_cast<uint8_t*>(memory);
  capacity_ = new_capacity;
  // Huge pages, as Buffer::Allocate asks for, so that a large input collected here is faulted in
  // 2 MiB at a time. The whole mapping is advised, not only the 2 MiB pages inside it
  // (AdviseHugePages): advice on part of a mapping splits it in regions, and mremap cannot grow
  // a range that spans several.
  if (new_capacity >= kHugePageThreshold) ::madvise(data_, new_capacity, MADV_HUGEPAGE);
  return absl::OkStatus();
}

absl::StatusOr<uint8_t*> GrowableBuffer::WritableSpace(size_t min_size, size_t* available) {
  if (size_ + min_size > capacity_) {
    // Grow by half again (at least 1 MiB) so that appends stay amortised O(1).
    size_t wanted = std::max({size_ + min_size, capacity_ + capacity_ / 2, size_t{1} << 20});
    absl::Status status = Reserve(wanted);
    if (!status.ok()) return status;
  }
  *available = capacity_ - size_;
  return data_ + size_;
}

absl::Status GrowableBuffer::Append(const void* data, size_t size) {
  size_t available = 0;
  absl::StatusOr<uint8_t*> space = WritableSpace(size, &available);
  if (!space.ok()) return space.status();
  if (size > 0) std::memcpy(*space, data, size);
  Commit(size);
  return absl::OkStatus();
}

Buffer GrowableBuffer::Finish() && {
  if (data_ == nullptr) return Buffer();
  uint8_t* data = data_;
  size_t capacity = capacity_;
  size_t size = size_;
  data_ = nullptr;
  size_ = capacity_ = 0;
  if (size == 0) {
    munmap(data, capacity);
    return Buffer();
  }
  return Buffer::WrapOwnMemory(data, size, [data, capacity] { munmap(data, capacity); });
}

}  // namespace seriald
