// PieceQueue (core/io/piece_queue.h): pieces pushed on one thread come out on another in order,
// held in memory up to the bound and in a spill file beyond it, and the end or an error follows
// the last piece.
#include "core/io/piece_queue.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"

namespace seriald {
namespace {

using ::testing::HasSubstr;

// Tests that need the consumer found stalled do not wait the default second for it.
constexpr std::chrono::milliseconds kShortStall{50};

// Piece `i`: 1000 + i bytes of a pattern that tells pieces apart.
Buffer Piece(int i) {
  std::string bytes(1000 + i, '\0');
  for (size_t k = 0; k < bytes.size(); ++k) bytes[k] = static_cast<char>(i * 31 + k);
  return Buffer::Copy(bytes);
}

// Piece(0), Piece(1), ... Piece(count - 1), as one stream.
std::string Stream(int count) {
  std::string bytes;
  for (int i = 0; i < count; ++i) bytes += Piece(i).view();
  return bytes;
}

// Pops until the end, returning the stream of the pieces (pieces pushed together may come back
// as one); `*end` is how it ended.
std::string PopAll(PieceQueue& queue, absl::Status* end) {
  std::string bytes;
  while (true) {
    absl::StatusOr<std::optional<Buffer>> piece = queue.Pop();
    if (!piece.ok()) {
      *end = piece.status();
      return bytes;
    }
    if (!piece->has_value()) {
      *end = absl::OkStatus();
      return bytes;
    }
    bytes += (*piece)->view();
  }
}

TEST(PieceQueueTest, PiecesPassBetweenThreadsInOrderSpillingBeyondTheBound) {
  testing::ScratchDir dir;
  uint64_t reserved = 0;
  PieceQueue queue(
      dir.path(), 20000,
      [&](uint64_t bytes) {
        reserved += bytes;
        return absl::OkStatus();
      },
      nullptr, kShortStall);
  // Everything is pushed before anything is popped: the consumer takes nothing, so after the
  // stall time the pushes go on, and all but the first ~20 KB wait on disk.
  for (int i = 0; i < 200; i += 2) ASSERT_TRUE(queue.Push({Piece(i), Piece(i + 1)}).ok());
  queue.Close(absl::OkStatus());
  absl::Status end;
  EXPECT_TRUE(PopAll(queue, &end) == Stream(200));
  EXPECT_TRUE(end.ok()) << end;
  EXPECT_LE(queue.peak_memory_bytes(), 20000u);
  EXPECT_GT(queue.spilled_bytes(), 150000u);
  EXPECT_EQ(reserved, queue.spilled_bytes());
}

TEST(PieceQueueTest, ASlowerConsumerHoldsTheReceiverBackInsteadOfSpilling) {
  testing::ScratchDir dir;
  PieceQueue queue(dir.path(), 20000, nullptr);
  std::thread pushing([&] {
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(queue.Push({Piece(i)}).ok());
    queue.Close(absl::OkStatus());
  });
  // The consumer takes a piece every millisecond, well within the stall time.
  int count = 0;
  while (true) {
    absl::StatusOr<std::optional<Buffer>> piece = queue.Pop();
    ASSERT_TRUE(piece.ok());
    if (!piece->has_value()) break;
    EXPECT_TRUE((*piece)->view() == Piece(count).view()) << count;
    ++count;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  pushing.join();
  EXPECT_EQ(count, 300);
  EXPECT_EQ(queue.spilled_bytes(), 0u);
  EXPECT_LE(queue.peak_memory_bytes(), 20000u);
}

TEST(PieceQueueTest, TheReceiversErrorComesAfterThePiecesBeforeIt) {
  PieceQueue queue("", 1 << 20, nullptr);
  ASSERT_TRUE(queue.Push({Piece(0), Piece(1)}).ok());
  queue.Close(absl::CancelledError("call cancelled by the client"));
  absl::Status end;
  EXPECT_TRUE(PopAll(queue, &end) == Stream(2));
  EXPECT_EQ(end.code(), absl::StatusCode::kCancelled);
}

TEST(PieceQueueTest, WithoutASpillDirectoryEverythingStaysInMemory) {
  uint64_t reserved = 0;
  PieceQueue queue(
      "", 1000, nullptr,
      [&](uint64_t bytes) {
        reserved += bytes;
        return absl::OkStatus();
      },
      kShortStall);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(queue.Push({Piece(i)}).ok());
  queue.Close(absl::OkStatus());
  EXPECT_GT(queue.peak_memory_bytes(), 10000u);
  EXPECT_EQ(queue.spilled_bytes(), 0u);
  // What is held beyond the bound is reserved.
  EXPECT_EQ(reserved, queue.peak_memory_bytes() - 1000);
  absl::Status end;
  EXPECT_TRUE(PopAll(queue, &end) == Stream(10));
}

TEST(PieceQueueTest, WithoutASpillDirectoryTheMemoryBudgetStopsTheReceiver) {
  uint64_t reserved = 0;
  PieceQueue queue(
      "", 1500, nullptr,
      [&](uint64_t bytes) -> absl::Status {
        if (reserved + bytes > 1000) return absl::ResourceExhaustedError("max-inflight-bytes");
        reserved += bytes;
        return absl::OkStatus();
      },
      kShortStall);
  ASSERT_TRUE(queue.Push({Piece(0)}).ok());  // 1000 bytes: within the bound
  ASSERT_TRUE(queue.Push({Piece(1)}).ok());  // 2001 held: 501 reserved beyond it
  absl::Status pushed = queue.Push({Piece(2)});
  EXPECT_EQ(pushed.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(reserved, 501u);
  queue.Close(pushed);
  absl::Status end;
  EXPECT_TRUE(PopAll(queue, &end) == Stream(2));
  EXPECT_EQ(end.code(), absl::StatusCode::kResourceExhausted);
}

TEST(PieceQueueTest, TheSpillBudgetStopsTheReceiver) {
  testing::ScratchDir dir;
  PieceQueue queue(
      dir.path(), 1500, [](uint64_t) { return absl::ResourceExhaustedError("max-spill-bytes"); },
      nullptr, kShortStall);
  ASSERT_TRUE(queue.Push({Piece(0)}).ok());  // fits in memory
  absl::Status pushed = queue.Push({Piece(1)});
  EXPECT_EQ(pushed.code(), absl::StatusCode::kResourceExhausted);
  queue.Close(pushed);
  absl::Status end;
  EXPECT_TRUE(PopAll(queue, &end) == Stream(1));
  EXPECT_THAT(std::string(end.message()), HasSubstr("max-spill-bytes"));
}

TEST(PieceQueueTest, AnAbandonedQueueDropsWhatComes) {
  testing::ScratchDir dir;
  PieceQueue queue(dir.path(), 1500, nullptr, nullptr, kShortStall);
  ASSERT_TRUE(queue.Push({Piece(0), Piece(1)}).ok());
  queue.Abandon();
  ASSERT_TRUE(queue.Push({Piece(2)}).ok());
  queue.Close(absl::OkStatus());
  absl::StatusOr<std::optional<Buffer>> piece = queue.Pop();
  ASSERT_TRUE(piece.ok());
  EXPECT_FALSE(piece->has_value());
}

TEST(PieceQueueTest, ASpillDirectoryThatCannotTakeAFileIsNamed) {
  PieceQueue queue("/nonexistent/spill", 10, nullptr, nullptr, kShortStall);
  absl::Status pushed = queue.Push({Piece(0)});  // larger than the bound: to the file
  EXPECT_EQ(pushed.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(pushed.message()), HasSubstr("/nonexistent/spill"));
}

}  // namespace
}  // namespace seriald
