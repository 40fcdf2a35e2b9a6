// ArrayAssembler (wire/array_assembler.h): arrays are put back together from chunks that come
// whole and in order; everything else a peer may send is refused naming the array and the
// offsets, before anything is written out of place.
#include "wire/array_assembler.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald::wire {
namespace {

using ::testing::HasSubstr;

// A chunk of `data` (kept alive by the chunk) for `node` at `offset`, split in two pieces.
void Fill(ReceivedChunk* chunk, uint32_t node, uint64_t offset, const std::string& data) {
  chunk->Clear();
  chunk->node = node;
  chunk->offset = offset;
  chunk->parsed = data;
  const size_t half = data.size() / 2;
  chunk->pieces.emplace_back(chunk->parsed.data(), half);
  chunk->pieces.emplace_back(chunk->parsed.data() + half, data.size() - half);
  chunk->size = data.size();
}

void ExpectInvalid(const absl::Status& status, const std::string& message) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(message));
}

TEST(ArrayAssemblerTest, ChunksInOrderMakeEachArrayWhole) {
  std::string first, second;
  ArrayAssembler arrays;
  ASSERT_TRUE(arrays.Expect(4, &first, 6, 6).ok());
  ASSERT_TRUE(arrays.Expect(9, &second, 3, 3).ok());
  EXPECT_THAT(arrays.CheckComplete().message(), HasSubstr("node 4 at 0 of 6 bytes"));
  ReceivedChunk chunk;
  Fill(&chunk, 9, 0, "xyz");
  ASSERT_TRUE(arrays.Add(chunk).ok());
  Fill(&chunk, 4, 0, "abcd");
  ASSERT_TRUE(arrays.Add(chunk).ok());
  Fill(&chunk, 4, 4, "ef");
  ASSERT_TRUE(arrays.Add(chunk).ok());
  EXPECT_TRUE(arrays.CheckComplete().ok());
  EXPECT_EQ(first, "abcdef");
  EXPECT_EQ(second, "xyz");
}

TEST(ArrayAssemblerTest, ChunksOutOfPlacePastTheirArrayOrNotListedAreRefused) {
  std::string data;
  ArrayAssembler arrays;
  ASSERT_TRUE(arrays.Expect(0, &data, 4, 4).ok());
  ReceivedChunk chunk;
  Fill(&chunk, 0, 2, "ab");
  ExpectInvalid(arrays.Add(chunk),
                "a chunk for node 0 at offset 2 of 2 bytes, where 0 of 4 bytes had arrived");
  Fill(&chunk, 0, 0, "abcdef");
  ExpectInvalid(arrays.Add(chunk),
                "a chunk for node 0 at offset 0 of 6 bytes, where 0 of 4 bytes had arrived");
  Fill(&chunk, 7, 0, "ab");
  ExpectInvalid(arrays.Add(chunk), "a chunk for node 7, which is not listed in streamed_arrays");
  EXPECT_EQ(data, "") << "nothing refused is written";
  Fill(&chunk, 0, 0, "abc");
  ASSERT_TRUE(arrays.Add(chunk).ok());
  Fill(&chunk, 0, 3, "de");
  ExpectInvalid(arrays.Add(chunk),
                "a chunk for node 0 at offset 3 of 2 bytes, where 3 of 4 bytes had arrived");
  ExpectInvalid(arrays.CheckComplete(), "the stream ended with node 0 at 3 of 4 bytes");
}

TEST(ArrayAssemblerTest, AnArrayListedTwiceOrWithDataInTheHeaderIsRefused) {
  std::string data;
  std::string inline_data = "x";
  ArrayAssembler arrays;
  ASSERT_TRUE(arrays.Expect(1, &data, 4, 4).ok());
  ExpectInvalid(arrays.Expect(1, &data, 4, 4),
                "streamed array 1 must be listed once and have empty data in the header");
  ExpectInvalid(arrays.Expect(2, &inline_data, 4, 4),
                "streamed array 2 must be listed once and have empty data in the header");
}

TEST(ArrayAssemblerTest, OnlyTheRoomAskedForIsMadeUpFront) {
  // A peer's claim of a huge array reserves no more than the caller allows.
  std::string data;
  ArrayAssembler arrays;
  ASSERT_TRUE(arrays.Expect(0, &data, uint64_t{1} << 50, 1024).ok());
  EXPECT_LT(data.capacity(), 4096u);
  std::string exact;
  ASSERT_TRUE(arrays.Expect(1, &exact, 100000, 100000).ok());
  EXPECT_GE(exact.capacity(), 100000u);
}

}  // namespace
}  // namespace seriald::wire
