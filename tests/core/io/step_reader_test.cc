// StepReader and ReadInSteps (core/io/step_reader.h): a mapped file's bytes are read from the
// file into chunks used again, memory's are sliced, and every error stops the reading. Asked to
// swap, the steps are whole elements, little-endian, in memory of their own, the source left as
// it was.
#include "core/io/step_reader.h"

#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/io/file.h"
#include "core/io/second_cpu.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"

namespace seriald {
namespace {

class StepReaderTest : public ::testing::Test {
 protected:
  // A mapped file of `size` bytes, each its offset mod 251 (also kept in data_).
  Buffer MappedFile(size_t size) {
    data_.assign(size, '\0');
    for (size_t i = 0; i < size; ++i) data_[i] = static_cast<char>(i % 251);
    path_ = dir_.File("input.bin");
    testing::WriteBytes(path_, data_);
    absl::StatusOr<Buffer> mapped = ReadFile(path_);
    EXPECT_TRUE(mapped.ok()) << mapped.status();
    EXPECT_TRUE(mapped->file_region().has_value());
    return *mapped;
  }

  testing::ScratchDir dir_;
  std::string path_;
  std::string data_;
};

bool Inside(const Buffer& part, const Buffer& whole) {
  return part.data() >= whole.data() && part.data() < whole.data() + whole.size();
}

TEST_F(StepReaderTest, AMappedFileIsReadFromTheFileAStepAtATimeIntoTheSameMemory) {
  const Buffer mapped = MappedFile((3 << 20) + 5);
  // A slice in the middle, to check the file offsets.
  const Buffer middle = mapped.Slice(1000, (2 << 20) + 7);
  std::string read;
  std::vector<const uint8_t*> memory;
  ASSERT_TRUE(ReadInSteps(middle, size_t{1} << 20, [&](const Buffer& step) {
                EXPECT_FALSE(Inside(step, mapped));
                memory.push_back(step.data());
                read += step.view();
                return absl::OkStatus();
              }).ok());
  EXPECT_TRUE(read == std::string_view(data_).substr(1000, (2 << 20) + 7));
  ASSERT_EQ(memory.size(), 3u);  // 1 MiB, 1 MiB, 7 bytes
  EXPECT_EQ(memory[1], memory[0]);
  EXPECT_EQ(memory[2], memory[0]);
}

TEST_F(StepReaderTest, StepsStillHeldAreNotFilledAgain) {
  const Buffer mapped = MappedFile(size_t{6} << 20);
  StepReader steps(mapped, size_t{1} << 20);
  EXPECT_TRUE(steps.reads_file());
  std::vector<Buffer> held;
  while (true) {
    absl::StatusOr<std::optional<Buffer>> step = steps.Next();
    ASSERT_TRUE(step.ok()) << step.status();
    if (!step->has_value()) break;
    held.push_back(**step);
  }
  ASSERT_EQ(held.size(), 6u);
  std::string read;
  for (const Buffer& step : held) read += step.view();
  EXPECT_TRUE(read == data_);
}

TEST_F(StepReaderTest, SmallSlicesOfAMappingAndMemoryAreSliced) {
  const Buffer mapped = MappedFile(size_t{2} << 20);
  // Below 256 KiB a system call costs more than touching the mapping.
  const Buffer small = mapped.Slice(4096, (256 << 10) - 1);
  StepReader small_steps(small, 100000);
  EXPECT_FALSE(small_steps.reads_file());
  std::string read;
  ASSERT_TRUE(ReadInSteps(small, 100000, [&](const Buffer& step) {
                EXPECT_TRUE(Inside(step, mapped));
                read += step.view();
                return absl::OkStatus();
              }).ok());
  EXPECT_TRUE(read == small.view());
  const Buffer memory = Buffer::Copy(data_);
  size_t offset = 0;
  ASSERT_TRUE(ReadInSteps(memory, size_t{1} << 20, [&](const Buffer& step) {
                EXPECT_EQ(step.data(), memory.data() + offset);
                offset += step.size();
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(offset, memory.size());
}

TEST_F(StepReaderTest, TheConsumersErrorAndAFileCutShortStopTheReading) {
  const Buffer mapped = MappedFile(size_t{3} << 20);
  int calls = 0;
  absl::Status stopped = ReadInSteps(mapped, size_t{1} << 20, [&](const Buffer&) {
    ++calls;
    return absl::ResourceExhaustedError("disk full");
  });
  EXPECT_EQ(stopped, absl::ResourceExhaustedError("disk full"));
  EXPECT_EQ(calls, 1);
  // Touching the mapping past the new end would be SIGBUS; read, it is an error at the byte.
  ASSERT_EQ(::truncate(path_.c_str(), (3 << 20) / 2), 0);
  calls = 0;
  absl::Status cut = ReadInSteps(mapped, size_t{1} << 20, [&](const Buffer&) {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(cut.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(cut.message(), "cannot read the input at byte 1572864: it ends early");
}

// `bytes` with each whole element of `size` bytes reversed.
std::string Swapped(std::string bytes, size_t size) {
  for (size_t at = 0; at + size <= bytes.size(); at += size) {
    std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                 bytes.begin() + static_cast<std::ptrdiff_t>(at + size));
  }
  return bytes;
}

TEST_F(StepReaderTest, ALargeFileIsReadAStepAheadIntoASecondChunkWhenThereIsASecondCpu) {
  const size_t size = StepReader::kReadAheadBytes + 5;
  const Buffer mapped = MappedFile(size);
  std::string read;
  std::vector<const uint8_t*> memory;
  ASSERT_TRUE(ReadInSteps(mapped, size_t{1} << 20, [&](const Buffer& step) {
                EXPECT_FALSE(Inside(step, mapped));
                memory.push_back(step.data());
                read += step.view();
                return absl::OkStatus();
              }).ok());
  EXPECT_TRUE(read == data_);
  ASSERT_EQ(memory.size(), 9u);
  // Each step is read while the one before it is consumed: two chunks take turns. On one CPU the
  // steps are read when asked for, into one chunk.
  for (size_t i = 0; i < memory.size(); ++i) {
    EXPECT_EQ(memory[i], memory[i % 2]) << i;
  }
  EXPECT_EQ(memory[1] != memory[0], HasSecondCpu());

  // Swapped on the helper, in place.
  read.clear();
  ASSERT_TRUE(ReadInSteps(mapped, (size_t{1} << 20) + 3, 8, [&](const Buffer& step) {
                read += step.view();
                return absl::OkStatus();
              }).ok());
  EXPECT_TRUE(read == Swapped(data_, 8));

  // The consumer stops with a step in flight: the reader waits for it before its chunks go.
  int calls = 0;
  EXPECT_EQ(ReadInSteps(mapped, size_t{1} << 20,
                        [&](const Buffer&) {
                          ++calls;
                          return absl::CancelledError("enough");
                        }),
            absl::CancelledError("enough"));
  EXPECT_EQ(calls, 1);

  // A file cut short: every whole step before the cut, then the error at its byte.
  ASSERT_EQ(::truncate(path_.c_str(), off_t{4} << 20), 0);
  calls = 0;
  absl::Status cut = ReadInSteps(mapped, size_t{1} << 20, 8, [&](const Buffer&) {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(cut.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(cut.message(), "cannot read the input at byte 4194304: it ends early");
}

TEST_F(StepReaderTest, SwappedStepsOfMemoryAreCopiesOfWholeElementsLeavingTheSourceAlone) {
  std::string big_endian(8000, '\0');
  for (size_t i = 0; i < big_endian.size(); ++i) big_endian[i] = static_cast<char>(i % 251);
  const Buffer source = Buffer::Copy(big_endian.data(), big_endian.size());
  for (size_t unit : {2, 4, 8}) {
    SCOPED_TRACE(::testing::Message() << unit << "-byte elements");
    std::string read;
    std::vector<size_t> sizes;
    ASSERT_TRUE(ReadInSteps(source, 1001, unit, [&](const Buffer& step) {
                  EXPECT_FALSE(Inside(step, source));
                  sizes.push_back(step.size());
                  read += step.view();
                  return absl::OkStatus();
                }).ok());
    EXPECT_EQ(read, Swapped(big_endian, unit));
    // 1001 bytes rounded down to whole elements; the last step what is left.
    const size_t step = 1001 - 1001 % unit;
    ASSERT_EQ(sizes.size(), (8000 + step - 1) / step);
    for (size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], step);
    EXPECT_EQ(sizes.back(), 8000 - step * (sizes.size() - 1));
  }
  EXPECT_EQ(source.view(), big_endian);
}

TEST_F(StepReaderTest, SwappedStepsOfAMappedFileAreSwappedInPlaceInTheSameMemory) {
  const Buffer mapped = MappedFile((size_t{3} << 20) + 16);
  std::string read;
  std::vector<const uint8_t*> memory;
  ASSERT_TRUE(ReadInSteps(mapped, (size_t{1} << 20) + 3, 8, [&](const Buffer& step) {
                EXPECT_FALSE(Inside(step, mapped));
                memory.push_back(step.data());
                read += step.view();
                return absl::OkStatus();
              }).ok());
  EXPECT_TRUE(read == Swapped(data_, 8));
  ASSERT_EQ(memory.size(), 4u);  // 1 MiB three times, 16 bytes
  EXPECT_EQ(memory[1], memory[0]);
  EXPECT_EQ(memory[3], memory[0]);
  EXPECT_TRUE(mapped.view() == data_);  // the file's bytes as they were
  // A spill file cut short is an error at the byte, swapped or not, never a swap of what is not
  // there.
  ASSERT_EQ(::truncate(path_.c_str(), (size_t{3} << 20) / 2), 0);
  int calls = 0;
  absl::Status cut = ReadInSteps(mapped, size_t{1} << 20, 8, [&](const Buffer&) {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(cut.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(cut.message(), "cannot read the input at byte 1572864: it ends early");
}

TEST_F(StepReaderTest, AStepIsAtLeastOneElementAndAPartOfOneAtTheEndIsPassedOn) {
  const Buffer source = Buffer::Copy("abcdefghij", 10);
  std::vector<std::string> steps;
  ASSERT_TRUE(ReadInSteps(source, 1, 4, [&](const Buffer& step) {
                steps.emplace_back(step.view());
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(steps, (std::vector<std::string>{"dcba", "hgfe", "ij"}));
}

}  // namespace
}  // namespace seriald
