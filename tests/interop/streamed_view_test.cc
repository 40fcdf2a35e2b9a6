// Real files as DeserializeStream sends them. Every R file installed under R's library
// directories, every entry of installed packages' lazy-load databases, and every file of the
// Torch7 corpus written big-endian: large arrays of big-endian input are left as written
// (ReadOptions::keep_array_byte_order, then MakeArraysLittleEndian below the streaming size) and
// swapped a chunk at a time as they are sent (ReadInSteps with swap_bytes, what
// wire::SendArrayChunks runs). Put back together, the Value and the plain data (with and without
// dictionary-coded strings) must serialize to exactly the bytes of a read that swaps every vector
// as it reads (what unary Deserialize sends). The chunk size is the server's smallest (4 KiB), so
// that most vectors of these files stream.
#include <string>
#include <vector>

#include "core/data/mapping.h"
#include "core/format/codec.h"
#include "core/io/byte_writer.h"
#include "core/io/file.h"
#include "core/io/step_reader.h"
#include "core/model/value.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "proto/data_conversion.h"
#include "proto/value_conversion.h"
#include "tests/core/rds/testing/lazy_load.h"
#include "tests/core/torch7/testing/corpus.h"
#include "tests/testing/files.h"

namespace seriald {
namespace {

// A message's bytes, serialized deterministically: two messages are the same when these are (a
// comparison of fields would find NaN unequal to itself).
std::string Bytes(const google::protobuf::Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

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

// Checks `input` (an R file or stream) as DeserializeStream sends it against a read that swaps
// as it reads, in both views, the data with and without string codes. Returns whether some
// big-endian array went out in chunks; `what` names the input in failures.
bool ExpectStreamedAsSwapped(const CodecRegistry& registry, const Buffer& input,
                             const std::string& what) {
  absl::StatusOr<const Codec*> codec = registry.Detect(input);
  EXPECT_TRUE(codec.ok()) << what << ": " << codec.status();
  if (!codec.ok()) return false;
  absl::StatusOr<Value> swapped = (*codec)->Read(input, ReadOptions{});
  ReadOptions as_written_options;
  as_written_options.keep_array_byte_order = true;
  absl::StatusOr<Value> as_written = (*codec)->Read(input, as_written_options);
  EXPECT_TRUE(swapped.ok() && as_written.ok()) << what;
  if (!swapped.ok() || !as_written.ok()) return false;
  MakeArraysLittleEndian(*as_written, kInlineBytes);
  bool big_endian_chunks = false;

  // The Value view.
  v1::Value expected_value;
  EXPECT_TRUE(ToProto(*swapped, &expected_value).ok()) << what;
  const ToProtoOptions streaming{.max_inline_array_bytes = kInlineBytes};
  v1::Value streamed_value;
  EXPECT_TRUE(ToProto(*as_written, &streamed_value, streaming).ok()) << what;
  for (NodeId id : ArraysLeftOut(*as_written, streaming)) {
    const Array& array = as_written->Get<Array>(id);
    big_endian_chunks = big_endian_chunks || array.big_endian;
    *streamed_value.mutable_nodes(static_cast<int>(id))->mutable_array()->mutable_data() =
        Received(array.data, array.big_endian ? SwapUnit(array.type) : 0);
  }
  EXPECT_TRUE(Bytes(expected_value) == Bytes(streamed_value)) << what;

  // The plain data, with and without strings in dictionary form.
  absl::StatusOr<data::Data> expected_plain = ToData(*swapped);
  absl::StatusOr<data::Data> streamed_plain = ToData(*as_written);
  EXPECT_EQ(expected_plain.ok(), streamed_plain.ok()) << what;
  // What has no plain form fails the same way both times.
  if (!expected_plain.ok() || !streamed_plain.ok()) return big_endian_chunks;
  for (bool string_codes : {false, true}) {
    v1::Data expected_data;
    EXPECT_TRUE(DataToProto(*expected_plain, &expected_data, {.string_codes = string_codes}).ok());
    const ToProtoOptions data_streaming{.max_inline_array_bytes = kInlineBytes,
                                        .string_codes = string_codes};
    v1::Data streamed_data;
    EXPECT_TRUE(DataToProto(*streamed_plain, &streamed_data, data_streaming).ok()) << what;
    for (ItemId id : DataArraysLeftOut(*streamed_plain, data_streaming)) {
      const data::NdArray& array = *streamed_plain->GetIf<data::NdArray>(id);
      *streamed_data.mutable_items(static_cast<int>(id))->mutable_array()->mutable_data() =
          Received(array.data, array.big_endian ? SwapUnit(array.dtype) : 0);
    }
    EXPECT_TRUE(Bytes(expected_data) == Bytes(streamed_data))
        << what << (string_codes ? " (string codes)" : "");
  }
  return big_endian_chunks;
}

TEST(StreamedViewTest, InstalledFilesStreamedAsWrittenGiveTheMessagesOfASwappingRead) {
  const CodecRegistry registry = CoreCodecs();
  int files = 0, with_big_endian_chunks = 0;
  for (const std::string& path : testing::InstalledRFiles()) {
    absl::StatusOr<Buffer> input = ReadFile(path);
    ASSERT_TRUE(input.ok()) << path;
    ++files;
    if (ExpectStreamedAsSwapped(registry, *input, path)) ++with_big_endian_chunks;
  }
  std::printf("%d installed R files, %d with big-endian vectors sent in chunks\n", files,
              with_big_endian_chunks);
  RecordProperty("files", files);
  RecordProperty("with_big_endian_chunks", with_big_endian_chunks);
  EXPECT_GE(files, 100);
  EXPECT_GE(with_big_endian_chunks, 10);  // 19 with the packages install-deps.sh installs
}

// The same for every entry of installed packages' lazy-load databases (functions, environments,
// byte code, data), R's XDR streams all.
TEST(StreamedViewTest, LazyLoadEntriesStreamedAsWrittenGiveTheMessagesOfASwappingRead) {
  const CodecRegistry registry = CoreCodecs();
  int with_big_endian_chunks = 0;
  testing::LazyLoadCounts counts;
  absl::Status walked = testing::ForEachLazyLoadEntry(
      [&](const testing::LazyLoadEntry& entry) {
        if (ExpectStreamedAsSwapped(registry, entry.stream, entry.Where())) {
          ++with_big_endian_chunks;
        }
      },
      &counts);
  ASSERT_TRUE(walked.ok()) << walked;
  std::printf("%d lazy-load entries, %d with big-endian vectors sent in chunks\n", counts.entries,
              with_big_endian_chunks);
  RecordProperty("entries", counts.entries);
  RecordProperty("with_big_endian_chunks", with_big_endian_chunks);
  EXPECT_GE(counts.entries, 1000);
  EXPECT_GE(with_big_endian_chunks, 1);
}

// Every file of the Torch7 corpus (written by Torch7: models, tensors, ascii and binary), written
// big-endian by the core's writer, through the same check.
TEST(StreamedViewTest, Torch7CorpusWrittenBigEndianGivesTheMessagesOfASwappingRead) {
  const CodecRegistry registry = CoreCodecs();
  const Codec* torch7 = *registry.Find("t7");
  WriteOptions big_endian;
  big_endian.torch7_big_endian = true;
  int files = 0, with_big_endian_chunks = 0;
  for (const std::string& path : testing::CorpusStreams()) {
    const Buffer input = testing::CorpusFile(path);
    absl::StatusOr<const Codec*> codec = registry.Detect(input);
    ASSERT_TRUE(codec.ok()) << path << ": " << codec.status();
    absl::StatusOr<Value> value = (*codec)->Read(input, ReadOptions{});
    if (!value.ok()) continue;  // the corpus's malformed files
    ByteWriter out;
    ASSERT_TRUE(torch7->Write(*value, big_endian, out).ok()) << path;
    BufferChain chain;
    ASSERT_TRUE(out.Finish(&chain).ok());
    ++files;
    if (ExpectStreamedAsSwapped(registry, chain.Flatten(), path + " written big-endian")) {
      ++with_big_endian_chunks;
    }
  }
  std::printf("%d Torch7 corpus files written big-endian, %d with arrays sent in chunks\n", files,
              with_big_endian_chunks);
  EXPECT_GE(files, 100);
  EXPECT_GE(with_big_endian_chunks, 1);
}

}  // namespace
}  // namespace seriald
