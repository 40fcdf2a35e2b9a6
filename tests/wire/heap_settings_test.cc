// ApplyStreamingHeapSettings (wire/heap_settings.h): freed medium blocks stay in the heap for
// the next received message until the heap is trimmed, and blocks of 8 MiB or more still get
// mappings of their own. A binary of its own: the settings are process-wide.
#include "wire/heap_settings.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace seriald {
namespace {

class HeapSettingsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ApplyStreamingHeapSettings();
    // Nothing free at the arena's top from start-up: the blocks below must come from the
    // settings' paths (a mapping, or the top grown), not from what is lying there.
    malloc_trim(0);
  }
};

// Blocks of the size gRPC reads a streamed chunk into, each touched as a received message is.
std::vector<void*> AllocateTouched(size_t count, size_t bytes) {
  std::vector<void*> blocks;
  // Reserved first: the vector growing between two blocks would put its own small block after
  // them, so that the blocks freed below it could not merge into the arena's top.
  blocks.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    blocks.push_back(std::malloc(bytes));
    std::memset(blocks.back(), 0x5a, bytes);
  }
  return blocks;
}

TEST_F(HeapSettingsTest, FreedMediumBlocksStayInTheHeapUntilItIsTrimmed) {
  constexpr size_t kBlock = 512 << 10;
  constexpr size_t kCount = 16;  // 8 MiB, under the 32 MiB kept at an arena's top
  const size_t mapped_before = mallinfo2().hblkhd;
  std::vector<void*> blocks = AllocateTouched(kCount, kBlock);
  const size_t mapped_for_blocks = mallinfo2().hblkhd - mapped_before;
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);

  // Under 8 MiB: from the heap, not mappings of their own; freed, they are the arena's free top,
  // kept for the next message instead of being returned (glibc's 128 KiB would return them).
  EXPECT_EQ(mapped_for_blocks, 0u) << "medium blocks must come from the heap";
  EXPECT_GE(mallinfo2().keepcost, kCount * kBlock - kBlock);

  // What the idle returner does gives them back.
  malloc_trim(0);
  EXPECT_LT(mallinfo2().keepcost, size_t{128} << 10);
}

// gRPC serializes a message it sends in buffers of up to 1 MiB plus a small header: they come
// from the heap and are used again, not mapped and unmapped for every MiB sent.
TEST_F(HeapSettingsTest, GrpcsMessageBuffersComeFromTheHeap) {
  constexpr size_t kBlock = (size_t{1} << 20) + 64;
  const size_t mapped_before = mallinfo2().hblkhd;
  std::vector<void*> blocks = AllocateTouched(4, kBlock);
  EXPECT_EQ(mallinfo2().hblkhd - mapped_before, 0u);
  for (void* block : blocks) std::free(block);
}

TEST_F(HeapSettingsTest, BlocksOfTheThresholdOrMoreHaveMappingsOfTheirOwn) {
  constexpr size_t kBlock = kOwnMappingFromBytes;
  const size_t mapped_before = mallinfo2().hblkhd;
  std::vector<void*> blocks = AllocateTouched(3, kBlock);
  EXPECT_GE(mallinfo2().hblkhd, mapped_before + 3 * kBlock);
  for (void* block : blocks) std::free(block);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before) << "freed, they go back to the system at once";
}

}  // namespace
}  // namespace seriald
