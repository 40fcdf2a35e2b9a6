// ArrayAssembler (wire/array_assembler.h): arrays are put back together from chunks that come
// whole and in order; everything else a peer may send is refused naming the array and the
// offsets, before anything is written out of place.
#include "wire/array_assembler.h"

#include <unistd.h>

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

TEST(ArrayAssemblerTest, ArraysStartedAtOnceShareOneHeadStart) {
  // A head start of 1 MiB; five arrays declared at a terabyte each, nothing reserved up front.
  ArrayAssembler arrays(uint64_t{1} << 20);
  for (uint32_t id = 0; id < 5; ++id) ASSERT_TRUE(arrays.Expect(id, 0, uint64_t{1} << 40, 0).ok());
  EXPECT_EQ(arrays.held_bytes(), 0u);
  ReceivedChunk chunk;
  for (uint32_t id = 0; id < 5; ++id) {
    Fill(&chunk, id, 0, "xy");
    ASSERT_TRUE(arrays.Add(chunk).ok());
  }
  // The first took the head start; the others a page each, for the bytes they brought.
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_EQ(arrays.held_bytes(), (uint64_t{1} << 20) + 4 * page);
  // Filling the first frees the head start for the next array that grows.
  Fill(&chunk, 0, 2, std::string((1 << 20) - 2, 'z'));
  ASSERT_TRUE(arrays.Add(chunk).ok());
  Fill(&chunk, 1, 2, std::string(page, 'w'));
  ASSERT_TRUE(arrays.Add(chunk).ok());
  // The second takes the head start less the room the other three hold (a page each, less the
  // two bytes that arrived), in whole pages.
  const uint64_t second = ((uint64_t{1} << 20) - 3 * (page - 2) + page - 1) / page * page;
  EXPECT_EQ(arrays.held_bytes(), (uint64_t{1} << 20) + second + 3 * page);
  // An array never grows past its declared size.
  ArrayAssembler small(uint64_t{1} << 20);
  ASSERT_TRUE(small.Expect(7, 0, 10, 0).ok());
  Fill(&chunk, 7, 0, "0123456789");
  ASSERT_TRUE(small.Add(chunk).ok());
  EXPECT_EQ(small.held_bytes(), page);
}

}  // namespace
}  // namespace seriald::wire
