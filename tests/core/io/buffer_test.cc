// Tests of Buffer, BufferChain, ByteWriter and ByteReader: sharing instead of copying, bounds
// checks, error payloads.
#include "core/io/buffer.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "core/io/byte_reader.h"
#include "core/io/byte_writer.h"
#include "core/io/input_error.h"
#include "core/io/mapping_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald {
namespace {

using ::testing::HasSubstr;

TEST(BufferTest, SlicesAndCopiesShareMemory) {
  Buffer whole = Buffer::FromString(std::string("hello world"));
  Buffer word = whole.Slice(6, 5);
  EXPECT_EQ(word.view(), "world");
  EXPECT_EQ(word.data(), whole.data() + 6);
  Buffer copy = word;
  EXPECT_EQ(copy.data(), word.data());
  EXPECT_TRUE(whole.Slice(3, 0).empty());
}

TEST(BufferTest, FromStringTakesTheStringsMemory) {
  std::string text(1000, 'x');
  const char* before = text.data();
  Buffer buffer = Buffer::FromString(std::move(text));
  EXPECT_EQ(reinterpret_cast<const char*>(buffer.data()), before);
  EXPECT_EQ(buffer.size(), 1000u);
}

TEST(BufferTest, CopyIsIndependentAndAllocateIsAligned) {
  char source[4] = {'a', 'b', 'c', 'd'};
  Buffer copy = Buffer::Copy(source, 4);
  source[0] = 'z';
  EXPECT_EQ(copy.view(), "abcd");
  auto [buffer, bytes] = Buffer::Allocate(100);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(bytes) % 64, 0u);
  EXPECT_EQ(buffer.data(), bytes);
  EXPECT_EQ(buffer.size(), 100u);
  EXPECT_TRUE(Buffer::Allocate(0).first.empty());
}

// The mapping that holds `address` in /proc/self/maps, as [begin, end); {0, 0} when none does.
std::pair<uintptr_t, uintptr_t> MappingOf(const void* address) {
  std::ifstream maps("/proc/self/maps");
  const auto at = reinterpret_cast<uintptr_t>(address);
  std::string line;
  while (std::getline(maps, line)) {
    uintptr_t begin = 0;
    uintptr_t end = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR, &begin, &end) == 2 && begin <= at &&
        at < end) {
      return {begin, end};
    }
  }
  return {0, 0};
}

// A large allocation is a mapping of its own in whole 2 MiB pages from a 2 MiB boundary, so that
// every page of it can be a huge page; it is unmapped with its last reference.
TEST(BufferTest, LargeAllocationsAreMappingsOfWhole2MiBPages) {
  constexpr uintptr_t kTwoMiB = uintptr_t{2} << 20;
  MappingPool::Shared().Release();
  for (size_t size : {kHugePageThreshold, size_t{12000000}, size_t{40} << 20}) {
    auto [buffer, bytes] = Buffer::Allocate(size);
    std::memset(bytes, 0x5a, size);
    const auto begin = reinterpret_cast<uintptr_t>(bytes);
    EXPECT_EQ(begin % kTwoMiB, 0u) << size;
    // Covered, not equal: the kernel may show it joined with a mapping next to it.
    auto [mapping_begin, mapping_end] = MappingOf(bytes);
    EXPECT_LE(mapping_begin, begin) << size;
    EXPECT_GE(mapping_end, begin + (size + kTwoMiB - 1) / kTwoMiB * kTwoMiB) << size;
    EXPECT_EQ(buffer.size(), size);
    EXPECT_EQ(buffer.data()[size - 1], 0x5a);
    buffer = Buffer();
    // Kept by the process's MappingPool for the next large allocation, until it is released.
    EXPECT_EQ(MappingPool::Shared().kept_bytes(), RoundUpToHugePages(size)) << size;
    EXPECT_NE(MappingOf(bytes).first, 0u) << size;
    MappingPool::Shared().Release();
    EXPECT_EQ(MappingOf(bytes).first, 0u) << size;
  }
}

TEST(BufferTest, WrapReleasesOnceWhenTheLastReferenceGoes) {
  static const char kData[] = "external";
  int releases = 0;
  {
    Buffer wrapped = Buffer::Wrap(kData, 8, [&] { ++releases; });
    Buffer slice = wrapped.Slice(2, 3);
    wrapped = Buffer();
    EXPECT_EQ(releases, 0);  // the slice still refers to it
    EXPECT_EQ(slice.view(), "ter");
  }
  EXPECT_EQ(releases, 1);
}

TEST(BufferTest, OnlyTheProcesssOwnMemoryIsWritable) {
  auto [allocated, bytes] = Buffer::Allocate(100);
  EXPECT_EQ(allocated.WritableBytes(), bytes);
  EXPECT_EQ(allocated.Slice(10, 5).WritableBytes(), bytes + 10);
  auto [huge, huge_bytes] = Buffer::Allocate(kHugePageThreshold);  // its own mapping
  EXPECT_EQ(huge.WritableBytes(), huge_bytes);
  Buffer copy = Buffer::Copy("abc", 3);
  EXPECT_EQ(copy.WritableBytes(), copy.data());
  Buffer text = Buffer::FromString(std::string(100, 'x'));
  EXPECT_EQ(text.Slice(1, 2).WritableBytes(), text.data() + 1);
  static const char kData[] = "external";
  Buffer wrapped = Buffer::Wrap(kData, 8, [] {});
  EXPECT_EQ(wrapped.WritableBytes(), nullptr);
  EXPECT_EQ(wrapped.Slice(1, 2).WritableBytes(), nullptr);
  EXPECT_EQ(Buffer().WritableBytes(), nullptr);
}

TEST(BufferTest, EqualityComparesBytes) {
  EXPECT_EQ(Buffer::Copy("abc", 3), Buffer::FromString("abc"));
  EXPECT_NE(Buffer::Copy("abc", 3), Buffer::Copy("abd", 3));
  EXPECT_EQ(Buffer(), Buffer::Copy("", 0));
}

TEST(BufferChainTest, AppendsFlattensAndSkipsEmptyPieces) {
  BufferChain chain;
  Buffer first = Buffer::FromString(std::string("abc"));
  chain.Append(first);
  chain.Append(Buffer());
  EXPECT_EQ(chain.pieces().size(), 1u);
  EXPECT_EQ(chain.Flatten().data(), first.data());  // one piece: no copy
  chain.Append(Buffer::FromString(std::string("def")));
  EXPECT_EQ(chain.size(), 6u);
  EXPECT_EQ(chain.pieces().size(), 2u);
  EXPECT_EQ(chain.Flatten().view(), "abcdef");
  EXPECT_EQ(chain.ToString(), "abcdef");
}

// ---------------------------------------------------------------------------------------------

TEST(ByteWriterTest, SmallWritesGoIntoOneBlock) {
  ByteWriter out;
  out.Append("ab", 2);
  out.AppendByte('c');
  out.Append(std::string_view("def"));
  EXPECT_EQ(out.size(), 6u);
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  EXPECT_EQ(chain.pieces().size(), 1u);
  EXPECT_EQ(chain.ToString(), "abcdef");
}

TEST(ByteWriterTest, AppendSharedReferencesLargeBuffersWithoutCopying) {
  std::string big(ByteWriter::kShareThreshold, 'L');
  Buffer large = Buffer::FromString(big);
  Buffer small = Buffer::FromString(std::string("small"));
  ByteWriter out;
  out.Append("head", 4);
  out.AppendShared(large);
  out.AppendShared(small);
  out.Append("tail", 4);
  EXPECT_EQ(out.size(), 4 + big.size() + 5 + 4);
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  ASSERT_EQ(chain.pieces().size(), 3u);
  EXPECT_EQ(chain.pieces()[0].view(), "head");
  EXPECT_EQ(chain.pieces()[1].data(), large.data());  // the same memory
  EXPECT_EQ(chain.pieces()[2].view(), "smalltail");   // copied into a block
  EXPECT_NE(chain.pieces()[2].data(), small.data());
  EXPECT_EQ(chain.ToString(), "head" + big + "smalltail");
}

TEST(ByteWriterTest, WritableSpaceAndCommitWriteInPlace) {
  ByteWriter out;
  out.Append("x", 1);
  size_t available = 0;
  uint8_t* space = out.WritableSpace(8, &available);
  ASSERT_GE(available, 8u);
  std::memcpy(space, "12345678", 8);
  out.Commit(5);  // only five of them count
  EXPECT_EQ(out.size(), 6u);
  // Ask for more than is left in the block: a new block with room for it.
  uint8_t* more = out.WritableSpace(ByteWriter::kDefaultBlockSize, &available);
  ASSERT_GE(available, ByteWriter::kDefaultBlockSize);
  std::memset(more, 'y', 3);
  out.Commit(3);
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  EXPECT_EQ(chain.ToString(), "x12345yyy");
}

TEST(ByteWriterTest, LargeAppendsSpanBlocksThatGrowToTheirBound) {
  std::string data(3 * ByteWriter::kDefaultBlockSize + 17, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  ByteWriter out;
  out.Append(data);
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  ASSERT_EQ(chain.pieces().size(), 3u);
  EXPECT_EQ(chain.pieces()[0].size(), ByteWriter::kDefaultBlockSize);
  EXPECT_EQ(chain.pieces()[1].size(), 2 * ByteWriter::kDefaultBlockSize);
  EXPECT_EQ(chain.ToString(), data);

  // Streaming grows blocks too, but only up to kMaxStreamedBlockSize, so pieces keep going out
  // as they fill: 64, 128, 256 and 512 KiB, then 1 MiB at a time.
  constexpr size_t kKiB = 1024;
  static_assert(ByteWriter::kDefaultBlockSize == 64 * kKiB);
  static_assert(ByteWriter::kMaxStreamedBlockSize == 1024 * kKiB);
  std::string streamed_data(5 * 1024 * kKiB + 17, '\0');
  for (size_t i = 0; i < streamed_data.size(); ++i) {
    streamed_data[i] = static_cast<char>(i * 13);
  }
  std::vector<size_t> sizes;
  std::string received;
  ByteWriter streamed([&](Buffer piece) {
    sizes.push_back(piece.size());
    received.append(piece.view());
    return absl::OkStatus();
  });
  streamed.Append(streamed_data);
  const std::vector<size_t> before_finish = sizes;
  ASSERT_TRUE(streamed.Finish().ok());
  EXPECT_EQ(before_finish,
            (std::vector<size_t>{64 * kKiB, 128 * kKiB, 256 * kKiB, 512 * kKiB, 1024 * kKiB,
                                 1024 * kKiB, 1024 * kKiB, 1024 * kKiB}));
  ASSERT_EQ(sizes.size(), before_finish.size() + 1);
  EXPECT_EQ(sizes.back(), 64 * kKiB + 17);
  EXPECT_EQ(received, streamed_data);
}

TEST(ByteWriterTest, PieceCallbackReceivesPiecesInOrder) {
  std::vector<std::string> pieces;
  ByteWriter out([&](Buffer piece) {
    pieces.emplace_back(piece.view());
    return absl::OkStatus();
  });
  out.Append("a", 1);
  out.AppendShared(Buffer::FromString(std::string(ByteWriter::kShareThreshold, 'b')));
  out.Append("c", 1);
  ASSERT_TRUE(out.Finish().ok());
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0], "a");
  EXPECT_EQ(pieces[1], std::string(ByteWriter::kShareThreshold, 'b'));
  EXPECT_EQ(pieces[2], "c");
}

TEST(ByteWriterTest, PieceCallbackErrorStopsTheWriter) {
  int calls = 0;
  ByteWriter out([&](Buffer) {
    ++calls;
    return absl::CancelledError("client went away");
  });
  out.Append("a", 1);
  out.AppendShared(Buffer::FromString(std::string(ByteWriter::kShareThreshold, 'b')));
  EXPECT_EQ(calls, 1);  // "a" was delivered (and refused) before the shared buffer
  EXPECT_FALSE(out.ok());
  out.AppendShared(Buffer::FromString(std::string(ByteWriter::kShareThreshold, 'c')));
  out.Append("d", 1);
  absl::Status status = out.Finish();
  EXPECT_EQ(calls, 1);  // nothing more was delivered
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(status.message(), "client went away");
}

// ---------------------------------------------------------------------------------------------

TEST(ByteReaderTest, ReadsWithinBoundsAndSlicesShareTheInput) {
  Buffer input = Buffer::FromString(std::string("0123456789"));
  ByteReader in(input, "torch7");
  EXPECT_EQ(in.format(), "torch7");
  absl::StatusOr<std::string_view> head = in.ReadBytes(3, "tag");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, "012");
  EXPECT_EQ(in.offset(), 3u);
  absl::StatusOr<Buffer> slice = in.ReadSlice(4, "data");
  ASSERT_TRUE(slice.ok());
  EXPECT_EQ(slice->view(), "3456");
  EXPECT_EQ(slice->data(), input.data() + 3);
  EXPECT_EQ(in.remaining(), 3u);
  in.Skip(3);
  EXPECT_TRUE(in.AtEnd());
  in.Seek(1);
  EXPECT_EQ(*in.current(), '1');
}

TEST(ByteReaderTest, ReadingPastTheEndIsAnInputErrorWithTheOffset) {
  ByteReader in(Buffer::FromString(std::string("abcdefgh")), "rds");
  ASSERT_TRUE(in.ReadBytes(5, "header").ok());
  absl::Status status = in.ReadBytes(8, "a double").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "rds: input ends inside a double (needs 8 bytes, 3 remain) at byte 5");
  EXPECT_EQ(InputErrorOffset(status), 5u);
  EXPECT_EQ(InputErrorFormat(status), "rds");
  EXPECT_EQ(in.offset(), 5u);  // a failed read does not move
  absl::Status slice = in.ReadSlice(uint64_t{1} << 62, "vector data").status();
  EXPECT_THAT(std::string(slice.message()), HasSubstr("vector data"));
  EXPECT_EQ(InputErrorOffset(slice), 5u);
}

TEST(InputErrorTest, CarriesFormatAndOffset) {
  absl::Status status = InputError("torch7", 1234, "unknown type tag 99");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "torch7: unknown type tag 99 at byte 1234");
  EXPECT_EQ(InputErrorOffset(status), 1234u);
  EXPECT_EQ(InputErrorFormat(status), "torch7");
  EXPECT_EQ(InputErrorOffset(absl::InvalidArgumentError("plain")), std::nullopt);
  EXPECT_EQ(InputErrorFormat(absl::InvalidArgumentError("plain")), "");
}

}  // namespace
}  // namespace seriald
