// GrowableBuffer collects pieces into one contiguous Buffer: content survives growth (mremap may
// move the bytes), Finish hands the memory over, and in-place writes commit only what was
// written.
#include "core/io/growable_buffer.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace seriald {
namespace {

std::string Pattern(size_t size, int seed) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 31 + seed) & 0xff);
  return bytes;
}

TEST(GrowableBufferTest, AppendsAcrossGrowthKeepEveryByte) {
  GrowableBuffer buffer;
  std::string expected;
  // Pieces of odd sizes, growing the buffer several times past its 1 MiB first step.
  for (int i = 0; i < 40; ++i) {
    std::string piece = Pattern(100'003 + i * 997, i);
    ASSERT_TRUE(buffer.Append(piece.data(), piece.size()).ok());
    expected += piece;
  }
  EXPECT_EQ(buffer.size(), expected.size());
  Buffer whole = std::move(buffer).Finish();
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_EQ(whole.view(), expected);
}

// Past 8 MiB the mapping asks for huge pages; growing it further must still work (advice on part
// of a mapping would split it, and mremap cannot grow a split range), and the buffer is whole
// 2 MiB pages from a 2 MiB boundary wherever growth moves it, so that every page of it can be a
// huge page.
TEST(GrowableBufferTest, GrowsOnPastTheHugePageThresholdInWhole2MiBPages) {
  constexpr uintptr_t kTwoMiB = uintptr_t{2} << 20;
  GrowableBuffer buffer;
  std::string expected;
  for (int i = 0; expected.size() < (size_t{48} << 20); ++i) {
    std::string piece = Pattern((1 << 20) + 4093 * i, i);
    ASSERT_TRUE(buffer.Append(piece.data(), piece.size()).ok()) << "at " << expected.size();
    expected += piece;
    if (buffer.capacity() < kHugePageThreshold) continue;
    size_t available = 0;
    absl::StatusOr<uint8_t*> end = buffer.WritableSpace(0, &available);
    ASSERT_TRUE(end.ok());
    const auto begin = reinterpret_cast<uintptr_t>(*end) - buffer.size();
    EXPECT_EQ(begin % kTwoMiB, 0u) << "at " << expected.size();
    EXPECT_EQ(buffer.capacity() % kTwoMiB, 0u) << "at " << expected.size();
  }
  Buffer whole = std::move(buffer).Finish();
  EXPECT_TRUE(whole.view() == expected);
}

TEST(GrowableBufferTest, ReserveThenAppendDoesNotMoveTheBytes) {
  GrowableBuffer buffer;
  ASSERT_TRUE(buffer.Reserve(3 << 20).ok());
  size_t available = 0;
  absl::StatusOr<uint8_t*> first = buffer.WritableSpace(1, &available);
  ASSERT_TRUE(first.ok());
  EXPECT_GE(available, size_t{3} << 20);
  std::string piece = Pattern(1 << 20, 7);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(buffer.Append(piece.data(), piece.size()).ok());
  Buffer whole = std::move(buffer).Finish();
  EXPECT_EQ(whole.data(), *first) << "a reserved buffer must not be reallocated";
  EXPECT_EQ(whole.size(), 3u << 20);
}

TEST(GrowableBufferTest, InPlaceWritesCommitOnlyWhatWasWritten) {
  GrowableBuffer buffer;
  size_t available = 0;
  absl::StatusOr<uint8_t*> space = buffer.WritableSpace(10, &available);
  ASSERT_TRUE(space.ok());
  ASSERT_GE(available, 10u);
  std::memcpy(*space, "hello", 5);
  buffer.Commit(5);
  ASSERT_TRUE(buffer.Append(" world", 6).ok());
  EXPECT_EQ(std::move(buffer).Finish().view(), "hello world");
}

TEST(GrowableBufferTest, EmptyBufferFinishesEmpty) {
  GrowableBuffer unused;
  EXPECT_TRUE(std::move(unused).Finish().empty());
  GrowableBuffer reserved;
  ASSERT_TRUE(reserved.Reserve(4096).ok());
  EXPECT_TRUE(std::move(reserved).Finish().empty());
}

TEST(GrowableBufferTest, ImpossibleSizesAreResourceExhausted) {
  GrowableBuffer buffer;
  absl::Status status = buffer.Reserve(size_t{1} << 62);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(status.message()).find("cannot allocate"), std::string::npos);
  // Still usable afterwards.
  ASSERT_TRUE(buffer.Append("x", 1).ok());
  // Growing a buffer that holds bytes, small or already on huge pages, fails the same way and
  // keeps them.
  const std::string piece = Pattern(size_t{9} << 20, 3);
  for (int round = 0; round < 2; ++round) {
    status = buffer.Reserve(size_t{1} << 62);
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << round;
    ASSERT_TRUE(buffer.Append(piece.data(), piece.size()).ok()) << round;
  }
  const Buffer finished = std::move(buffer).Finish();
  EXPECT_TRUE(finished.view() == "x" + piece + piece);
  EXPECT_EQ(finished.WritableBytes(), finished.data());  // its own mapping
}

}  // namespace
}  // namespace seriald
