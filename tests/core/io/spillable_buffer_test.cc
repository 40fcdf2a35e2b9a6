// SpillableBuffer (core/io/spillable_buffer.h): bytes stay in memory up to the threshold and move
// to a spill file past it, with the same bytes either way; a directory that cannot take the file
// fails the append that passes the threshold, naming it. Decompression of R input spills through
// it (core/rds/compression.h).
#include "core/io/spillable_buffer.h"

#include <zlib.h>

#include <string>
#include <vector>

#include "core/format/codec.h"
#include "core/rds/compression.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"

namespace seriald {
namespace {

using ::testing::HasSubstr;

std::string Pattern(size_t size, int seed) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + seed) % 251);
  return bytes;
}

class SpillableBufferTest : public ::testing::Test {
 protected:
  testing::ScratchDir scratch_;
  const std::string dir_ = scratch_.path();
};

TEST_F(SpillableBufferTest, StaysInMemoryUpToTheThresholdAndSpillsPastIt) {
  const std::string first = Pattern(600, 1), second = Pattern(400, 2), third = Pattern(5000, 3);
  SpillableBuffer small(dir_, 1000);
  ASSERT_TRUE(small.Append(first.data(), first.size()).ok());
  ASSERT_TRUE(small.Append(second.data(), second.size()).ok());
  EXPECT_FALSE(small.spilled());  // exactly the threshold
  absl::StatusOr<Buffer> kept = std::move(small).Finish();
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->view(), first + second);

  SpillableBuffer large(dir_, 1000);
  EXPECT_FALSE(large.Spills(1000));
  EXPECT_TRUE(large.Spills(1001));
  ASSERT_TRUE(large.Append(first.data(), first.size()).ok());
  ASSERT_TRUE(large.Append(second.data(), second.size()).ok());
  ASSERT_TRUE(large.Append(third.data(), third.size()).ok());
  EXPECT_TRUE(large.spilled());
  EXPECT_EQ(large.size(), first.size() + second.size() + third.size());
  absl::StatusOr<Buffer> spilled = std::move(large).Finish();
  ASSERT_TRUE(spilled.ok()) << spilled.status();
  EXPECT_EQ(spilled->view(), first + second + third);
}

TEST_F(SpillableBufferTest, NoDirectoryMeansMemoryWhateverTheSize) {
  const std::string bytes = Pattern(10000, 4);
  SpillableBuffer buffer("", 10);
  EXPECT_FALSE(buffer.Spills(uint64_t{1} << 40));
  ASSERT_TRUE(buffer.Append(bytes.data(), bytes.size()).ok());
  EXPECT_FALSE(buffer.spilled());
  EXPECT_EQ(std::move(buffer).Finish()->view(), bytes);
}

// Every byte that goes to the file is counted once, before it is written: on the move what
// memory held, then each append; a declared total is counted up front, and only what passes it
// later. A refusal fails the append and writes nothing.
TEST_F(SpillableBufferTest, WhatGoesToTheFileIsCountedOnceBeforeItIsWritten) {
  std::vector<uint64_t> counted;
  absl::Status answer = absl::OkStatus();
  auto count = [&](uint64_t bytes) {
    if (answer.ok()) counted.push_back(bytes);
    return answer;
  };
  const std::string a = Pattern(600, 1), b = Pattern(600, 2), c = Pattern(100, 3);
  SpillableBuffer buffer(dir_, 1000, count);
  ASSERT_TRUE(buffer.Append(a.data(), a.size()).ok());
  EXPECT_TRUE(counted.empty()) << "in memory: not disk";
  // Two pieces at once, the move to the file among them.
  const std::vector<std::string_view> pieces = {b, c};
  ASSERT_TRUE(buffer.Append(pieces).ok());
  EXPECT_EQ(counted, (std::vector<uint64_t>{1300}));
  answer = absl::ResourceExhaustedError("disk budget");
  absl::Status refused = buffer.Append(c.data(), c.size());
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(buffer.size(), 1300u);
  answer = absl::OkStatus();
  ASSERT_TRUE(buffer.Append(c.data(), c.size()).ok());
  EXPECT_EQ(counted, (std::vector<uint64_t>{1300, 100}));
  absl::StatusOr<Buffer> whole = std::move(buffer).Finish();
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->view(), a + b + c + c);

  counted.clear();
  SpillableBuffer declared(dir_, 1000, count);
  ASSERT_TRUE(declared.ReserveSpill(5000).ok());
  EXPECT_EQ(counted, (std::vector<uint64_t>{5000}));
  EXPECT_TRUE(declared.spilled()) << "a declared total that spills goes to the file from byte 0";
  const std::string big = Pattern(4800, 4);
  ASSERT_TRUE(declared.Append(big.data(), big.size()).ok());
  ASSERT_TRUE(declared.Append(a.data(), a.size()).ok());
  EXPECT_EQ(counted, (std::vector<uint64_t>{5000, 400})) << "only what passes the declared 5000";
  SpillableBuffer small(dir_, 1000, count);
  ASSERT_TRUE(small.ReserveSpill(900).ok());
  EXPECT_EQ(counted.size(), 2u) << "a total that stays in memory reserves no disk";
  EXPECT_FALSE(small.spilled());
}

TEST_F(SpillableBufferTest, ADirectoryThatCannotTakeTheFileFailsThePassingAppend) {
  const std::string bytes = Pattern(600, 5);
  SpillableBuffer buffer(dir_ + "/missing", 1000);
  ASSERT_TRUE(buffer.Append(bytes.data(), bytes.size()).ok());
  absl::Status status = buffer.Append(bytes.data(), bytes.size());
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("cannot create a spill file in " + dir_ + "/missing"));
  // With a declared total that spills, the reservation fails, before any byte comes.
  SpillableBuffer declared(dir_ + "/missing", 1000);
  status = declared.ReserveSpill(2000);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("cannot create a spill file in " + dir_ + "/missing"));
}

// Bytes appended after a declared total that spills are the file's from the first; the whole
// reads back as appended, a total that turns out smaller than declared too.
TEST_F(SpillableBufferTest, ADeclaredTotalThatSpillsWritesEveryByteToTheFile) {
  const std::string a = Pattern(300, 7), b = Pattern(200, 8);
  SpillableBuffer buffer(dir_, 1000);
  ASSERT_TRUE(buffer.ReserveSpill(4000).ok());
  ASSERT_TRUE(buffer.Append(a.data(), a.size()).ok());
  ASSERT_TRUE(buffer.Append(b.data(), b.size()).ok());
  EXPECT_TRUE(buffer.spilled());
  absl::StatusOr<Buffer> whole = std::move(buffer).Finish();
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->view(), a + b);
  EXPECT_TRUE(whole->file_region().has_value()) << "a mapping of the file";
}

std::string Gzip(const std::string& bytes) {
  uLongf size = compressBound(bytes.size()) + 32;
  std::string out(size, '\0');
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST_F(SpillableBufferTest, DecompressedRInputSpillsPastTheThresholdAndIsNotReserved) {
  const std::string plain = Pattern(3 << 20, 6);
  const Buffer gz = Buffer::FromString(Gzip(plain));
  ReadOptions options;
  options.spill_dir = dir_;
  options.spill_above_bytes = 1 << 20;
  uint64_t reserved = 0;
  options.reserve_memory = [&](uint64_t bytes) {
    reserved += bytes;
    return absl::OkStatus();
  };
  uint64_t reserved_spill = 0;
  options.reserve_spill = [&](uint64_t bytes) {
    reserved_spill += bytes;
    return absl::OkStatus();
  };
  absl::StatusOr<Buffer> spilled = rds::Decompress(gz, RCompression::kGzip, options);
  ASSERT_TRUE(spilled.ok()) << spilled.status();
  EXPECT_EQ(spilled->view(), plain);
  // Only the first MiB, which stayed in memory until the output passed it, was reserved as
  // memory; everything in the file, that MiB included, as spill.
  EXPECT_EQ(reserved, uint64_t{1} << 20);
  EXPECT_EQ(reserved_spill, plain.size());

  // A spill budget that is full stops the read with its error.
  options.reserve_spill = [](uint64_t) { return absl::ResourceExhaustedError("spill budget"); };
  absl::StatusOr<Buffer> refused = rds::Decompress(gz, RCompression::kGzip, options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("spill budget"));
  options.reserve_spill = nullptr;

  options.spill_dir = dir_ + "/missing";
  absl::StatusOr<Buffer> failed = rds::Decompress(gz, RCompression::kGzip, options);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("cannot create a spill file in"));

  options.spill_dir = "";
  reserved = 0;
  absl::StatusOr<Buffer> in_memory = rds::Decompress(gz, RCompression::kGzip, options);
  ASSERT_TRUE(in_memory.ok()) << in_memory.status();
  EXPECT_EQ(in_memory->view(), plain);
  EXPECT_EQ(reserved, plain.size());
}

}  // namespace
}  // namespace seriald
