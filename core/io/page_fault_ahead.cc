#include "core/io/page_fault_ahead.h"

#include <sys/mman.h>

#include <algorithm>
#include <system_error>

#include "core/io/second_cpu.h"

namespace seriald {
namespace {

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels refuse it with EINVAL
#endif

// The helper faults this much per call: one 2 MiB huge page at a time would check the writer's
// place often but spend more on the calls; 8 MiB is 2 ms of zeroing.
constexpr uint64_t kFaultStepBytes = uint64_t{8} << 20;
constexpr uint64_t kPageBytes = 4096;

}  // namespace

PageFaultAhead::PageFaultAhead(uint8_t* to, uint64_t size) : to_(to), size_(size) {
  if (size < kFaultAheadBytes || !HasSecondCpu()) return;
  try {
    helper_ = std::thread([this] { FaultBackwards(); });
  } catch (const std::system_error&) {
    // No thread to be had: the writer faults its own pages.
  }
}

PageFaultAhead::~PageFaultAhead() {
  stop_.store(true, std::memory_order_relaxed);
  if (helper_.joinable()) helper_.join();
}

void PageFaultAhead::WaitForHelper() {
  if (helper_.joinable()) helper_.join();
}

void PageFaultAhead::FaultBackwards() {
  // Whole pages inside the destination only: its first and last partial pages may hold someone
  // else's bytes, and are the writer's to fault.
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(to_) + kPageBytes - 1) & ~(kPageBytes - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(to_) + size_) & ~(kPageBytes - 1);
  while (end > begin && !stop_.load(std::memory_order_relaxed)) {
    // The writer's next step is its own: stop one step short of it.
    const uintptr_t writer = reinterpret_cast<uintptr_t>(to_) +
                             writer_at_.load(std::memory_order_relaxed) + kFaultStepBytes;
    const uintptr_t floor = std::max(begin, writer);
    if (end <= floor) break;
    const uintptr_t start = std::max(floor, end > kFaultStepBytes ? end - kFaultStepBytes : 0);
    const uintptr_t aligned_start = start & ~(kPageBytes - 1);
    if (::madvise(reinterpret_cast<void*>(aligned_start), end - aligned_start,
                  MADV_POPULATE_WRITE) != 0) {
      break;  // an older kernel, or memory that cannot be populated: the writer faults the rest
    }
    end = aligned_start;
  }
}

}  // namespace seriald
