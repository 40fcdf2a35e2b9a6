// File: core/io/page_fault_ahead.h
//
// PageFaultAhead: faults in the pages of a large destination on another thread while the caller
// fills it from the front. Fresh memory costs more than the copy into it: the kernel zeroes each
// new page on its first touch (400 MB of XDR doubles: about 35 ms of zeroing against 17 ms of
// swapping on a 2-core machine). Zeroing is work the process pays anyway; done on a second core,
// from the destination's far end towards the writer, it overlaps the writing instead of
// preceding each step of it. The helper stops where it meets the writer, so no page is faulted
// twice, and the bytes are never touched by it (MADV_POPULATE_WRITE maps zeroed pages without
// writing into pages already there).
//
// Only for destinations of at least kFaultAheadBytes, on machines with a second CPU for this
// process, on kernels with MADV_POPULATE_WRITE (Linux 5.14); otherwise nothing happens and the
// writer faults its pages itself, as before.
//
// Example:
//
//   auto [buffer, bytes] = Buffer::Allocate(size);
//   PageFaultAhead ahead(bytes, size);
//   for (uint64_t at = 0; at < size; at += step) {
//     ahead.WriterAt(at);
//     Fill(bytes + at, std::min(step, size - at));
//   }
//   // ~PageFaultAhead joins the helper.
#ifndef SERIALD_CORE_IO_PAGE_FAULT_AHEAD_H_
#define SERIALD_CORE_IO_PAGE_FAULT_AHEAD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

namespace seriald {

// Smaller destinations are filled faster than a thread starts to matter.
inline constexpr uint64_t kFaultAheadBytes = uint64_t{64} << 20;

class PageFaultAhead {
 public:
  // Starts the helper on [to, to + size) when the conditions above hold.
  PageFaultAhead(uint8_t* to, uint64_t size);
  // Stops the helper where it is and waits for it.
  ~PageFaultAhead();

  PageFaultAhead(const PageFaultAhead&) = delete;
  PageFaultAhead& operator=(const PageFaultAhead&) = delete;

  // The writer is about to write from `offset` on: the helper leaves the pages from there to
  // one step past it alone.
  void WriterAt(uint64_t offset) { writer_at_.store(offset, std::memory_order_relaxed); }

  // Waits until the helper has faulted in all it will, without stopping it early (for tests:
  // which pages are resident then tells what it did).
  void WaitForHelper();

  // Whether a helper was started (and not yet waited for).
  bool started() const { return helper_.joinable(); }

 private:
  void FaultBackwards();

  uint8_t* const to_;
  const uint64_t size_;
  std::atomic<uint64_t> writer_at_{0};
  std::atomic<bool> stop_{false};
  std::thread helper_;
};

}  // namespace seriald

#endif  // SERIALD_CORE_IO_PAGE_FAULT_AHEAD_H_
