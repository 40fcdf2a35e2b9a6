// Every R file installed under R's library directories as DeserializeStream sends it: large
// vectors of XDR input are left as written (ReadOptions::keep_array_byte_order, then
// MakeArraysLittleEndian below the streaming size) and swapped a chunk at a time as they are sent
// (ReadInSteps with swap_bytes, what wire::SendArrayChunks runs). Put back together, the Value
// and the plain data (with and without dictionary-coded strings) must be exactly the messages of
// a read that swaps every vector as it reads (what unary Deserialize sends). The chunk size is
// the server's smallest (4 KiB), so that most vectors of these files stream.
#include <string>
#include <vector>

#include "core/data/mapping.h"
#include "core/format/codec.h"
#include "core/io/file.h"
#include "core/io/step_reader.h"
#include "core/model/value.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/data_conversion.h"
#include "proto/value_conversion.h"
#include "tests/testing/files.h"

namespace seriald {
namespace {

using ::google::protobuf::util::MessageDifferencer;

constexpr size_t kChunkBytes = 4096;
constexpr uint64_t kInlineBytes = kChunkBytes - 1;  // the server's InlineArrayBytes

// `data` as the client receives it: chunk by chunk, each swapped if the array is big-endian.
std::string Received(const Buffer& data, size_t swap_bytes) {
  std::string bytes;
  absl::Status read = ReadInSteps(data, kChunkBytes, swap_bytes, [&](const Buffer& chunk) {
    EXPECT_TRUE(swap_bytes == 0 || chunk.size() % swap_bytes == 0);
    bytes.append(chunk.view());
    return absl::OkStatus();
  });
  EXPECT_TRUE(read.ok()) << read;
  return bytes;
}

class StreamedViewTest : public ::testing::Test {
 protected:
  // The file read both ways; false when the file is not a single R stream.
  bool Read(const std::string& path) {
    absl::StatusOr<Buffer> input = ReadFile(path);
    EXPECT_TRUE(input.ok()) << path;
    absl::StatusOr<const Codec*> codec = registry_.Detect(*input);
    EXPECT_TRUE(codec.ok()) << path << ": " << codec.status();
    if (!input.ok() || !codec.ok()) return false;
    absl::StatusOr<Value> swapped = (*codec)->Read(*input, ReadOptions{});
    ReadOptions as_written_options;
    as_written_options.keep_array_byte_order = true;
    absl::StatusOr<Value> as_written = (*codec)->Read(*input, as_written_options);
    EXPECT_TRUE(swapped.ok() && as_written.ok()) << path;
    if (!swapped.ok() || !as_written.ok()) return false;
    MakeArraysLittleEndian(*as_written, kInlineBytes);
    swapped_ = *std::move(swapped);
    as_written_ = *std::move(as_written);
    return true;
  }

  const CodecRegistry registry_ = CoreCodecs();
  Value swapped_;
  Value as_written_;
};

TEST_F(StreamedViewTest, InstalledFilesStreamedAsWrittenGiveTheMessagesOfASwappingRead) {
  int files = 0, with_big_endian_chunks = 0;
  for (const std::string& path : testing::InstalledRFiles()) {
    if (!Read(path)) continue;
    ++files;
    bool big_endian_chunks = false;

    // The Value view.
    v1::Value expected_value;
    ASSERT_TRUE(ToProto(swapped_, &expected_value).ok()) << path;
    const ToProtoOptions streaming{.max_inline_array_bytes = kInlineBytes};
    v1::Value streamed_value;
    ASSERT_TRUE(ToProto(as_written_, &streamed_value, streaming).ok()) << path;
    for (NodeId id : ArraysLeftOut(as_written_, streaming)) {
      const Array& array = as_written_.Get<Array>(id);
      big_endian_chunks = big_endian_chunks || array.big_endian;
      *streamed_value.mutable_nodes(static_cast<int>(id))->mutable_array()->mutable_data() =
          Received(array.data, array.big_endian ? SwapUnit(array.type) : 0);
    }
    EXPECT_TRUE(MessageDifferencer::Equals(expected_value, streamed_value)) << path;

    // The plain data, with and without strings in dictionary form.
    absl::StatusOr<data::Data> expected_plain = ToData(swapped_);
    absl::StatusOr<data::Data> streamed_plain = ToData(as_written_);
    ASSERT_EQ(expected_plain.ok(), streamed_plain.ok()) << path;
    if (!expected_plain.ok()) continue;  // what has no plain form fails the same way both times
    for (bool string_codes : {false, true}) {
      v1::Data expected_data;
      ASSERT_TRUE(
          DataToProto(*expected_plain, &expected_data, {.string_codes = string_codes}).ok());
      const ToProtoOptions data_streaming{.max_inline_array_bytes = kInlineBytes,
                                          .string_codes = string_codes};
      v1::Data streamed_data;
      ASSERT_TRUE(DataToProto(*streamed_plain, &streamed_data, data_streaming).ok()) << path;
      for (ItemId id : DataArraysLeftOut(*streamed_plain, data_streaming)) {
        const data::NdArray& array = *streamed_plain->GetIf<data::NdArray>(id);
        *streamed_data.mutable_items(static_cast<int>(id))->mutable_array()->mutable_data() =
            Received(array.data, array.big_endian ? SwapUnit(array.dtype) : 0);
      }
      EXPECT_TRUE(MessageDifferencer::Equals(expected_data, streamed_data))
          << path << (string_codes ? " (string codes)" : "");
    }
    if (big_endian_chunks) ++with_big_endian_chunks;
  }
  std::printf("%d installed R files, %d with big-endian vectors sent in chunks\n", files,
              with_big_endian_chunks);
  RecordProperty("files", files);
  RecordProperty("with_big_endian_chunks", with_big_endian_chunks);
  EXPECT_GE(files, 100);
  EXPECT_GE(with_big_endian_chunks, 10);  // 19 with the packages install-deps.sh installs
}

}  // namespace
}  // namespace seriald
