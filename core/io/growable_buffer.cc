#include "core/io/growable_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/io/mapping_pool.h"

namespace seriald {
namespace {

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

size_t RoundUpToPage(size_t n) { return (n + PageSize() - 1) / PageSize() * PageSize(); }

// Mappings of huge pages (from kHugePageThreshold on) come from the process's MappingPool and go
// back to it; smaller ones are the buffer's own.
void Unmap(uint8_t* data, size_t capacity) {
  if (capacity >= kHugePageThreshold) {
    MappingPool::Shared().Unmap(data, capacity);
  } else {
    munmap(data, capacity);
  }
}

}  // namespace

GrowableBuffer::~GrowableBuffer() {
  if (data_ != nullptr) Unmap(data_, capacity_);
}

absl::Status GrowableBuffer::Reserve(size_t capacity) {
  if (capacity <= capacity_) return absl::OkStatus();
  // From kHugePageThreshold on, huge pages, as Buffer::Allocate has them, so that a large input
  // collected here is faulted in 2 MiB at a time: whole 2 MiB pages from a 2 MiB boundary
  // (MapHugePages), where what grows moves to. Moved with mremap's MAYMOVE alone, the mapping
  // landed on any 4 KiB boundary, and its ends were faulted in 4 KiB at a time: a 12 MB stream
  // collected here cost the server 886 faults.
  const bool huge = capacity >= kHugePageThreshold;
  const size_t new_capacity = huge ? RoundUpToHugePages(capacity) : RoundUpToPage(capacity);
  void* memory = MAP_FAILED;
  if (huge) {
    // Pages kept in the pool, if it has a mapping this long, else fresh: the kept pages under
    // what moves are freed, the rest are written over without a fault.
    uint8_t* target = MappingPool::Shared().Map(new_capacity);
    if (target != nullptr && data_ == nullptr) {
      memory = target;
    } else if (target != nullptr) {
      // Onto the new mapping (which MREMAP_FIXED replaces): pages move, bytes are not copied.
      memory = mremap(data_, capacity_, new_capacity, MREMAP_MAYMOVE | MREMAP_FIXED, target);
      if (memory == MAP_FAILED) MappingPool::Shared().Unmap(target, new_capacity);
    }
  } else if (data_ == nullptr) {
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
  // The whole mapping is advised again: a moved mapping keeps the advice of the one it was, and
  // advice on part of a mapping splits it in regions, which mremap cannot grow as one.
  if (huge) ::madvise(data_, new_capacity, MADV_HUGEPAGE);
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
    Unmap(data, capacity);
    return Buffer();
  }
  return Buffer::WrapOwnMemory(data, size, [data, capacity] { Unmap(data, capacity); });
}

}  // namespace seriald
