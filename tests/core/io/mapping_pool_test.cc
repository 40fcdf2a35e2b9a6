// MappingPool (core/io/mapping_pool.h): freed huge-page mappings are kept, within the bound and
// for the decay time, and handed out again (the smallest long enough, its rest kept); what is not
// kept is unmapped. Buffer::Allocate and GrowableBuffer take from and give to the shared pool.
#include "core/io/mapping_pool.h"

#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "absl/time/clock.h"
#include "core/io/buffer.h"
#include "core/io/growable_buffer.h"
#include "gtest/gtest.h"

namespace seriald {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Whether every page of [data, data + size) is mapped (mincore fails with ENOMEM otherwise).
bool Mapped(const uint8_t* data, size_t size) {
  std::vector<unsigned char> pages(size / 4096);
  return ::mincore(const_cast<uint8_t*>(data), size, pages.data()) == 0;
}

// How many of the 4 KiB pages of [data, data + size) are resident.
size_t ResidentPages(const uint8_t* data, size_t size) {
  std::vector<unsigned char> pages(size / 4096);
  if (::mincore(const_cast<uint8_t*>(data), size, pages.data()) != 0) return 0;
  size_t resident = 0;
  for (unsigned char page : pages) resident += page & 1;
  return resident;
}

TEST(MappingPoolTest, AFreedMappingIsHandedOutAgainWithItsPages) {
  MappingPool pool(64 * kMiB);
  uint8_t* first = pool.Map(10 * kMiB + 1);  // 12 MiB: whole 2 MiB pages
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % kHugePageSize, 0u);
  std::memset(first, 0x5a, 12 * kMiB);
  pool.Unmap(first, 10 * kMiB + 1);
  EXPECT_EQ(pool.kept_bytes(), 12 * kMiB);
  EXPECT_TRUE(Mapped(first, 12 * kMiB));

  // The head of the kept mapping, its pages still there; the tail stays kept.
  uint8_t* second = pool.Map(8 * kMiB);
  EXPECT_EQ(second, first);
  EXPECT_EQ(pool.reused_bytes(), 8 * kMiB);
  EXPECT_EQ(pool.kept_bytes(), 4 * kMiB);
  EXPECT_EQ(ResidentPages(second, 8 * kMiB), 8 * kMiB / 4096);
  uint8_t* third = pool.Map(4 * kMiB);
  EXPECT_EQ(third, first + 8 * kMiB);
  EXPECT_EQ(pool.kept_bytes(), 0u);

  // Nothing kept is long enough: a fresh mapping elsewhere.
  uint8_t* fresh = pool.Map(2 * kMiB);
  ASSERT_NE(fresh, nullptr);
  EXPECT_TRUE(fresh < first || fresh >= first + 12 * kMiB);
  EXPECT_EQ(pool.reused_bytes(), 12 * kMiB);
  pool.Unmap(second, 8 * kMiB);
  pool.Unmap(third, 4 * kMiB);
  pool.Unmap(fresh, 2 * kMiB);
  EXPECT_EQ(pool.kept_bytes(), 14 * kMiB);
  EXPECT_EQ(pool.kept_mappings(), 3u);
}

TEST(MappingPoolTest, TheSmallestKeptMappingLongEnoughIsTaken) {
  MappingPool pool(256 * kMiB);
  uint8_t* large = pool.Map(64 * kMiB);
  uint8_t* middle = pool.Map(16 * kMiB);
  uint8_t* small = pool.Map(8 * kMiB);
  pool.Unmap(large, 64 * kMiB);
  pool.Unmap(middle, 16 * kMiB);
  pool.Unmap(small, 8 * kMiB);
  EXPECT_EQ(pool.Map(12 * kMiB), middle);
  EXPECT_EQ(pool.Map(20 * kMiB), large);
  EXPECT_EQ(pool.Map(8 * kMiB), small);
  EXPECT_EQ(pool.kept_bytes(), 44 * kMiB + 4 * kMiB);
}

// A request longer than anything kept gets a fresh mapping whose head is the longest kept one's
// pages, moved (the bytes they held come along: nothing was copied or zeroed).
TEST(MappingPoolTest, TheLongestKeptMappingHeadsOneThatIsLonger) {
  MappingPool pool(64 * kMiB);
  uint8_t* shorter = pool.Map(4 * kMiB);
  uint8_t* longest = pool.Map(8 * kMiB);
  std::memset(longest, 0x33, 8 * kMiB);
  pool.Unmap(shorter, 4 * kMiB);
  pool.Unmap(longest, 8 * kMiB);
  uint8_t* longer = pool.Map(10 * kMiB);
  ASSERT_NE(longer, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(longer) % kHugePageSize, 0u);
  EXPECT_EQ(pool.reused_bytes(), 8 * kMiB);
  EXPECT_EQ(pool.kept_bytes(), 4 * kMiB);
  EXPECT_EQ(pool.kept_mappings(), 1u);
  if (longer != longest) EXPECT_FALSE(Mapped(longest, 8 * kMiB));
  EXPECT_EQ(ResidentPages(longer, 8 * kMiB), 8 * kMiB / 4096);
  EXPECT_EQ(longer[0], 0x33);
  EXPECT_EQ(longer[8 * kMiB - 1], 0x33);
  std::memset(longer, 0, 10 * kMiB);
  pool.Unmap(longer, 10 * kMiB);
}

// A size the system refuses is nullptr, and what was kept stays kept.
TEST(MappingPoolTest, ARefusedSizeLeavesWhatIsKept) {
  MappingPool pool(64 * kMiB);
  uint8_t* kept = pool.Map(8 * kMiB);
  pool.Unmap(kept, 8 * kMiB);
  EXPECT_EQ(pool.Map(size_t{1} << 62), nullptr);
  EXPECT_EQ(pool.kept_bytes(), 8 * kMiB);
  EXPECT_EQ(pool.reused_bytes(), 0u);
  EXPECT_TRUE(Mapped(kept, 8 * kMiB));
  EXPECT_EQ(pool.Map(8 * kMiB), kept);
}

// At most 64 mappings are kept, whatever the bound: the oldest goes for the 65th.
TEST(MappingPoolTest, AtMostSixtyFourMappingsAreKept) {
  MappingPool pool(uint64_t{1} << 30);
  std::vector<uint8_t*> mappings;
  for (int i = 0; i < 65; ++i) mappings.push_back(pool.Map(2 * kMiB));
  for (uint8_t* mapping : mappings) pool.Unmap(mapping, 2 * kMiB);
  EXPECT_EQ(pool.kept_mappings(), 64u);
  EXPECT_EQ(pool.kept_bytes(), 64 * 2 * kMiB);
  EXPECT_FALSE(Mapped(mappings[0], 2 * kMiB));
  EXPECT_TRUE(Mapped(mappings[1], 2 * kMiB));
  EXPECT_TRUE(Mapped(mappings[64], 2 * kMiB));
}

TEST(MappingPoolTest, WhatTheBoundHasNoRoomForIsUnmapped) {
  MappingPool pool(33 * kMiB);  // 32 MiB of whole 2 MiB pages
  uint8_t* a = pool.Map(16 * kMiB);
  uint8_t* b = pool.Map(16 * kMiB);
  uint8_t* c = pool.Map(16 * kMiB);
  pool.Unmap(a, 16 * kMiB);
  pool.Unmap(b, 16 * kMiB);
  EXPECT_EQ(pool.kept_bytes(), 32 * kMiB);
  // The oldest goes to make room.
  pool.Unmap(c, 16 * kMiB);
  EXPECT_EQ(pool.kept_bytes(), 32 * kMiB);
  EXPECT_FALSE(Mapped(a, 16 * kMiB));
  EXPECT_TRUE(Mapped(b, 16 * kMiB));
  EXPECT_TRUE(Mapped(c, 16 * kMiB));

  // One longer than the bound is cut to it.
  uint8_t* d = pool.Map(40 * kMiB);
  pool.Unmap(d, 40 * kMiB);
  EXPECT_EQ(pool.kept_bytes(), 32 * kMiB);
  EXPECT_EQ(pool.kept_mappings(), 1u);
  EXPECT_TRUE(Mapped(d, 32 * kMiB));
  EXPECT_FALSE(Mapped(d + 32 * kMiB, 8 * kMiB));
  EXPECT_FALSE(Mapped(b, 16 * kMiB));

  // A smaller bound unmaps what no longer fits; none keeps nothing.
  pool.set_keep_bytes(0);
  EXPECT_EQ(pool.kept_bytes(), 0u);
  EXPECT_FALSE(Mapped(d, 32 * kMiB));
  uint8_t* e = pool.Map(8 * kMiB);
  pool.Unmap(e, 8 * kMiB);
  EXPECT_EQ(pool.kept_bytes(), 0u);
  EXPECT_FALSE(Mapped(e, 8 * kMiB));
}

TEST(MappingPoolTest, KeptMappingsDecayAndReleaseUnmapsThem) {
  MappingPool pool(64 * kMiB, absl::Milliseconds(100));
  uint8_t* a = pool.Map(8 * kMiB);
  pool.Unmap(a, 8 * kMiB);
  EXPECT_EQ(pool.kept_bytes(), 8 * kMiB);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (pool.kept_bytes() != 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(pool.kept_bytes(), 0u);
  EXPECT_FALSE(Mapped(a, 8 * kMiB));

  MappingPool lasting(64 * kMiB, absl::Hours(1));
  uint8_t* b = lasting.Map(8 * kMiB);
  lasting.Unmap(b, 8 * kMiB);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(lasting.kept_bytes(), 8 * kMiB);
  lasting.Release();
  EXPECT_EQ(lasting.kept_bytes(), 0u);
  EXPECT_FALSE(Mapped(b, 8 * kMiB));
}

// The bytes a kept mapping held are the next user's to overwrite: a Buffer from the shared pool
// is whatever its writer puts there, and the pool's pages are not faulted in again.
TEST(MappingPoolTest, LargeBuffersAndGrowableBuffersShareTheProcesssPool) {
  MappingPool& pool = MappingPool::Shared();
  pool.Release();
  const uint64_t reused = pool.reused_bytes();
  const uint8_t* first = nullptr;
  {
    auto [buffer, bytes] = Buffer::Allocate(64 * kMiB);
    std::memset(bytes, 1, 64 * kMiB);
    first = bytes;
  }
  EXPECT_EQ(pool.kept_bytes(), 64 * kMiB);
  // Grows in steps of half again, each from the kept mapping's rest (12, 18, then 28 MiB).
  GrowableBuffer growing;
  std::vector<uint8_t> piece(kMiB, 7);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(growing.Append(piece.data(), piece.size()).ok());
  Buffer collected = std::move(growing).Finish();
  EXPECT_GT(pool.reused_bytes(), reused);
  EXPECT_GE(collected.data(), first);
  EXPECT_LT(collected.data(), first + 64 * kMiB);
  for (size_t at = 0; at < collected.size(); at += 4096) ASSERT_EQ(collected.data()[at], 7);
  const uint8_t* data = collected.data();
  collected = Buffer();
  EXPECT_TRUE(Mapped(data, 8 * kMiB));
  EXPECT_GE(pool.kept_bytes(), 8 * kMiB);
  pool.Release();
  EXPECT_EQ(pool.kept_bytes(), 0u);
}

}  // namespace
}  // namespace seriald
