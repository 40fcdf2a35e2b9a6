// ChunkedInput (core/io/chunked_input.h): bytes that straddle chunks are gathered once, bulk
// bytes come out as slices of the chunk that holds them, and the cursor's offset is the stream's.
#include "core/io/chunked_input.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/io/file.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"

namespace seriald {
namespace {

// A source handing out `chunks` in turn, counting the calls.
ChunkedInput::NextChunk FromChunks(std::vector<Buffer> chunks, int* calls) {
  auto next = std::make_shared<size_t>(0);
  return [chunks = std::move(chunks), next, calls]() -> absl::StatusOr<std::optional<Buffer>> {
    ++*calls;
    if (*next == chunks.size()) return std::nullopt;
    return chunks[(*next)++];
  };
}

TEST(ChunkedInputTest, PeekGathersAcrossChunksAndTakeSlicesWithoutCopying) {
  const Buffer a = Buffer::Copy("abc");
  const Buffer b = Buffer::Copy("");
  const Buffer c = Buffer::Copy("defghij");
  int calls = 0;
  ChunkedInput in(FromChunks({a, b, c}, &calls), "test", 10);
  EXPECT_EQ(in.remaining(), 10u);
  // Two bytes are in the first chunk: its rest comes back as it is.
  absl::StatusOr<Buffer> peeked = in.Peek(2, 2);
  ASSERT_TRUE(peeked.ok());
  EXPECT_EQ(peeked->view(), "abc");
  EXPECT_EQ(peeked->data(), a.data());
  in.Skip(2);
  // Five bytes straddle three chunks (one empty): gathered into one buffer of the wanted size.
  peeked = in.Peek(5, 5);
  ASSERT_TRUE(peeked.ok());
  EXPECT_EQ(peeked->view(), "cdefg");
  in.Skip(5);
  EXPECT_EQ(in.offset(), 7u);
  EXPECT_EQ(in.remaining(), 3u);
  // What follows the gathered bytes is still the chunk's own memory.
  absl::StatusOr<Buffer> taken = in.Take(100);
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->view(), "hij");
  EXPECT_EQ(taken->data(), c.data() + 4);
  absl::StatusOr<bool> end = in.AtEnd();
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(*end);
  // At the end, reads give what there is: nothing.
  EXPECT_TRUE(in.Take(1)->empty());
  EXPECT_TRUE(in.Peek(4, 4)->empty());
}

TEST(ChunkedInputTest, APeekPastTheEndGivesTheRest) {
  int calls = 0;
  ChunkedInput in(FromChunks({Buffer::Copy("ab"), Buffer::Copy("c")}, &calls), "test");
  EXPECT_FALSE(in.remaining().has_value());
  absl::StatusOr<Buffer> peeked = in.Peek(8, 8);
  ASSERT_TRUE(peeked.ok());
  EXPECT_EQ(peeked->view(), "abc");
  in.Skip(3);
  EXPECT_TRUE(*in.AtEnd());
}

TEST(ChunkedInputTest, TheSourceIsReadOnlyWhenBytesAreNeeded) {
  int calls = 0;
  ChunkedInput in(FromChunks({Buffer::Copy("abcd"), Buffer::Copy("efgh")}, &calls), "test");
  ASSERT_TRUE(in.Peek(4, 4).ok());
  EXPECT_EQ(calls, 1);
  in.Skip(4);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(in.Take(8)->view(), "efgh");
  EXPECT_EQ(calls, 2);
}

TEST(ChunkedInputTest, TheSourcesErrorStopsTheRead) {
  ChunkedInput in(
      []() -> absl::StatusOr<std::optional<Buffer>> {
        return absl::CancelledError("call cancelled by the client");
      },
      "test");
  EXPECT_EQ(in.Peek(1, 1).status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(in.AtEnd().status().code(), absl::StatusCode::kCancelled);
}

// Random chunkings and random reads: whatever the mix of Peeks (gathering or not), Skips and
// Takes, the bytes read are the input's, in order, each once.
TEST(ChunkedInputTest, RandomReadsOfRandomChunksGiveTheInputBack) {
  std::mt19937_64 random(7);
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes(1 + random() % 5000, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    std::vector<Buffer> chunks;
    for (size_t at = 0; at < bytes.size();) {
      const size_t n = std::min<size_t>(random() % 300, bytes.size() - at);
      chunks.push_back(Buffer::Copy(bytes.data() + at, n));
      at += n;
    }
    int calls = 0;
    ChunkedInput in(FromChunks(chunks, &calls), "test", bytes.size());
    std::string read;
    while (true) {
      ASSERT_EQ(in.offset(), read.size());
      if (random() % 2 == 0) {
        const size_t min = 1 + random() % 100;
        const size_t want = min + random() % 200;
        absl::StatusOr<Buffer> window = in.Peek(min, want);
        ASSERT_TRUE(window.ok());
        if (window->empty()) break;
        ASSERT_TRUE(window->size() >= min || read.size() + window->size() == bytes.size());
        ASSERT_EQ(window->view(), std::string_view(bytes).substr(read.size(), window->size()));
        const size_t skip = 1 + random() % window->size();
        read += window->view().substr(0, skip);
        in.Skip(skip);
      } else {
        absl::StatusOr<Buffer> taken = in.Take(1 + random() % 400);
        ASSERT_TRUE(taken.ok());
        if (taken->empty()) break;
        read += taken->view();
      }
    }
    ASSERT_TRUE(read == bytes) << trial;
    EXPECT_TRUE(*in.AtEnd());
  }
}

TEST(ChunkedInputTest, ChunksOfCutsABufferIntoSlices) {
  const Buffer whole = Buffer::Copy("0123456789");
  ChunkedInput::NextChunk next = ChunkedInput::ChunksOf(whole, 4);
  std::vector<std::string> pieces;
  while (true) {
    absl::StatusOr<std::optional<Buffer>> chunk = next();
    ASSERT_TRUE(chunk.ok());
    if (!chunk->has_value()) break;
    EXPECT_EQ((*chunk)->data(), whole.data() + 4 * pieces.size());
    pieces.emplace_back((*chunk)->view());
  }
  EXPECT_EQ(pieces, (std::vector<std::string>{"0123", "4567", "89"}));
}

TEST(ChunkedInputTest, ChunksOfAMappedFileAreReadFromTheFile) {
  // StepReader's (core/io/step_reader.h; its own tests cover reuse and errors), as the
  // transcoders read them.
  std::string data((5 << 20) + 123, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  testing::ScratchDir dir;
  const std::string path = dir.File("input.bin");
  testing::WriteBytes(path, data);
  absl::StatusOr<Buffer> mapped = ReadFile(path);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  ASSERT_TRUE(mapped->file_region().has_value());
  ChunkedInput in(ChunkedInput::ChunksOf(*mapped, size_t{1} << 20), "test", mapped->size());
  std::string read;
  while (true) {
    absl::StatusOr<Buffer> taken = in.Take(300000);
    ASSERT_TRUE(taken.ok()) << taken.status();
    if (taken->empty()) break;
    EXPECT_FALSE(taken->data() >= mapped->data() &&
                 taken->data() < mapped->data() + mapped->size());
    read += taken->view();
  }
  EXPECT_TRUE(read == data);
}

}  // namespace
}  // namespace seriald
