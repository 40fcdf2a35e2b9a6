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
  ArrayAssembler arrays;
  ASSERT_TRUE(arrays.Expect(4, 0, 6, 6).ok());
  ASSERT_TRUE(arrays.Expect(9, 0, 3, 3).ok());
  ASSERT_TRUE(arrays.Expect(2, 0, 0, 0).ok());  // an empty array needs no chunk
  EXPECT_THAT(arrays.CheckComplete().message(), HasSubstr("node 4 at 0 of 6 bytes"));
  ReceivedChunk chunk;
  Fill(&chunk, 9, 0, "xyz");
  ASSERT_TRUE(arrays.Add(chunk).ok());
  Fill(&chunk, 4, 0, "abcd");
  ASSERT_TRUE(arrays.Add(chunk).ok());
  Fill(&chunk, 4, 4, "ef");
  ASSERT_TRUE(arrays.Add(chunk).ok());
  EXPECT_TRUE(arrays.CheckComplete().ok());
  absl::flat_hash_map<uint32_t, Buffer> whole = std::move(arrays).Finish();
  ASSERT_EQ(whole.size(), 3u);
  EXPECT_EQ(whole[4].view(), "abcdef");
  EXPECT_EQ(whole[9].view(), "xyz");
  EXPECT_TRUE(whole[2].empty());
}

TEST(ArrayAssemblerTest, ChunksOutOfPlacePastTheirArrayOrNotListedAreRefused) {
  ArrayAssembler arrays;
  ASSERT_TRUE(arrays.Expect(0, 0, 4, 4).ok());
  ReceivedChunk chunk;
  Fill(&chunk, 0, 2, "ab");
  ExpectInvalid(arrays.Add(chunk),
                "a chunk for node 0 at offset 2 of 2 bytes, where 0 of 4 bytes had arrived");
  Fill(&chunk, 0, 0, "abcdef");
  ExpectInvalid(arrays.Add(chunk),
                "a chunk for node 0 at offset 0 of 6 bytes, where 0 of 4 bytes had arrived");
  Fill(&chunk, 7, 0, "ab");
  ExpectInvalid(arrays.Add(chunk), "a chunk for node 7, which is not listed in streamed_arrays");
  Fill(&chunk, 0, 0, "abc");
  ASSERT_TRUE(arrays.Add(chunk).ok()) << "nothing refused was written";
  Fill(&chunk, 0, 3, "de");
  ExpectInvalid(arrays.Add(chunk),
                "a chunk for node 0 at offset 3 of 2 bytes, where 3 of 4 bytes had arrived");
  ExpectInvalid(arrays.CheckComplete(), "the stream ended with node 0 at 3 of 4 bytes");
}

TEST(ArrayAssemblerTest, AnArrayListedTwiceOrWithDataInTheHeaderIsRefused) {
  ArrayAssembler arrays;
  ASSERT_TRUE(arrays.Expect(1, 0, 4, 4).ok());
  ExpectInvalid(arrays.Expect(1, 0, 4, 4),
                "streamed array 1 must be listed once and have empty data in the header");
  ExpectInvalid(arrays.Expect(2, 1, 4, 4),
                "streamed array 2 must be listed once and have empty data in the header");
}

TEST(ArrayAssemblerTest, AClaimedSizeTakesOnlyTheRoomAllowedAndMemoryThatCannotBeHadIsAnError) {
  // A peer claiming a petabyte costs the 1 KiB the caller allows, until bytes arrive.
  ArrayAssembler arrays;
  ASSERT_TRUE(arrays.Expect(0, 0, uint64_t{1} << 50, 1024).ok());
  ReceivedChunk chunk;
  Fill(&chunk, 0, 0, std::string(5000, 'x'));  // grows past the reservation
  ASSERT_TRUE(arrays.Add(chunk).ok());
  // Reserving what the machine cannot have is RESOURCE_EXHAUSTED, not a crash.
  absl::Status huge = arrays.Expect(1, 0, uint64_t{1} << 50, uint64_t{1} << 50);
  EXPECT_EQ(huge.code(), absl::StatusCode::kResourceExhausted) << huge;
}

}  // namespace
}  // namespace seriald::wire
