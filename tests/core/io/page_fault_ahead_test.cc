// PageFaultAhead (core/io/page_fault_ahead.h): the helper faults in a fresh destination's pages
// from its far end down to one step past the writer, and never changes a byte the writer wrote.
#include "core/io/page_fault_ahead.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "core/io/buffer.h"
#include "core/io/byte_order.h"
#include "gtest/gtest.h"

namespace seriald {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

// A fresh anonymous mapping without huge-page advice, so that residency is per 4 KiB page.
class FreshMapping {
 public:
  explicit FreshMapping(uint64_t size) : size_(size) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bytes_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
    if (bytes_ != nullptr) ::madvise(bytes_, size, MADV_NOHUGEPAGE);
  }
  ~FreshMapping() {
    if (bytes_ != nullptr) ::munmap(bytes_, size_);
  }
  uint8_t* bytes() const { return bytes_; }

  // How many of the 4 KiB pages in [begin, end) are resident.
  uint64_t ResidentPages(uint64_t begin, uint64_t end) const {
    std::vector<unsigned char> pages((end - begin) / 4096);
    if (::mincore(bytes_ + begin, end - begin, pages.data()) != 0) return ~uint64_t{0};
    uint64_t resident = 0;
    for (unsigned char page : pages) resident += page & 1;
    return resident;
  }

 private:
  uint8_t* bytes_;
  uint64_t size_;
};

TEST(PageFaultAheadTest, FaultsInTheFarEndDownToOneStepPastTheWriter) {
  const uint64_t size = 128 * kMiB;
  FreshMapping destination(size);
  ASSERT_NE(destination.bytes(), nullptr);
  PageFaultAhead ahead(destination.bytes(), size);
  if (!ahead.started()) GTEST_SKIP() << "one CPU for this process, or no thread to be had";
  ahead.WaitForHelper();
  // The writer stayed at 0: everything from its first step (8 MiB) on is resident, zero-filled;
  // the writer's own step is not.
  EXPECT_EQ(destination.ResidentPages(8 * kMiB, size), (size - 8 * kMiB) / 4096);
  EXPECT_EQ(destination.ResidentPages(0, 8 * kMiB), 0u);
  for (uint64_t at = 8 * kMiB; at < size; at += 4096) ASSERT_EQ(destination.bytes()[at], 0);
}

TEST(PageFaultAheadTest, NothingHappensForSmallDestinations) {
  const uint64_t size = kFaultAheadBytes - 4096;
  FreshMapping destination(size);
  ASSERT_NE(destination.bytes(), nullptr);
  PageFaultAhead ahead(destination.bytes(), size);
  EXPECT_FALSE(ahead.started());
  ahead.WaitForHelper();
  EXPECT_EQ(destination.ResidentPages(0, size), 0u);
}

// The writer fills the destination in steps while the helper faults pages in behind and ahead of
// it: every byte ends as the writer wrote it (the helper maps zeroed pages only where none is).
TEST(PageFaultAheadTest, TheWritersBytesAreNeverOverwritten) {
  const uint64_t size = 96 * kMiB + 12345;
  FreshMapping destination(size);
  ASSERT_NE(destination.bytes(), nullptr);
  {
    PageFaultAhead ahead(destination.bytes(), size);
    const uint64_t step = kMiB;
    for (uint64_t at = 0; at < size; at += step) {
      ahead.WriterAt(at);
      std::memset(destination.bytes() + at, static_cast<int>(1 + at / step % 200),
                  std::min(step, size - at));
    }
  }
  for (uint64_t at = 0; at < size; ++at) {
    ASSERT_EQ(destination.bytes()[at], static_cast<uint8_t>(1 + at / kMiB % 200)) << at;
  }
}

// SwapCopy from a Buffer uses it for large destinations: every element still reversed.
TEST(PageFaultAheadTest, LargeSwapCopyFromABufferReversesEveryElement) {
  const uint64_t count = (72 * kMiB) / 8 + 3;
  auto [source, source_bytes] = Buffer::Allocate(count * 8);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t value = i * 0x0102030405060708u + 11;
    std::memcpy(source_bytes + 8 * i, &value, 8);
  }
  auto [swapped, bytes] = Buffer::Allocate(count * 8);
  SwapCopy(source, bytes, count, 8);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t value;
    std::memcpy(&value, bytes + 8 * i, 8);
    ASSERT_EQ(value, __builtin_bswap64(i * 0x0102030405060708u + 11)) << i;
  }
}

}  // namespace
}  // namespace seriald
