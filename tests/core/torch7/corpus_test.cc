// Every file of the Torch7 corpus (written by Torch7 itself): it decodes to what the independent
// reference reader says (expected/*.json), and writing it back reproduces Torch7's bytes, in its
// own layout and converted into every other layout the corpus has a twin for.
#include "tests/core/torch7/testing/corpus.h"

#include <cstdint>
#include <string>
#include <vector>

#include "core/io/byte_writer.h"
#include "core/io/input_error.h"
#include "core/torch7/reader.h"
#include "core/torch7/serialize.h"
#include "core/torch7/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/torch7/testing/json.h"
#include "tests/core/torch7/testing/t7dump_form.h"

namespace seriald {
namespace {

using ::seriald::testing::CorpusFile;
using ::seriald::testing::CorpusStreams;
using ::seriald::testing::ExpectedFiles;
using ::seriald::testing::Json;

std::string Write(const Value& value, const Torch7Layout& layout, bool referenced = true) {
  ByteWriter out;
  absl::Status status = WriteTorch7(value, layout, out, referenced);
  EXPECT_TRUE(status.ok()) << status;
  BufferChain bytes;
  EXPECT_TRUE(out.Finish(&bytes).ok());
  return bytes.ToString();
}

Value Read(std::string_view path) {
  absl::StatusOr<Value> value = ReadTorch7(testing::CorpusFile(path));
  EXPECT_TRUE(value.ok()) << path << ": " << value.status();
  return value.ok() ? *std::move(value) : Value();
}

TEST(Torch7CorpusTest, CorpusIsComplete) {
  // 150 expected dumps (every file but the generator and the raw primitives file).
  EXPECT_EQ(ExpectedFiles().size(), 150u);
  EXPECT_EQ(CorpusStreams().size(), 151u);  // + generator.bin.t7
}

TEST(Torch7CorpusTest, EveryFileDecodesToItsExpectedContent) {
  int compared = 0;
  for (const testing::ExpectedFile& file : ExpectedFiles()) {
    SCOPED_TRACE(file.path);
    Value value = Read(file.path);
    absl::StatusOr<Json> expected = testing::ParseJson(CorpusFile(file.json_path).view());
    ASSERT_TRUE(expected.ok()) << expected.status();
    Json actual = testing::RenderLikeT7dump(value);
    EXPECT_EQ(testing::JsonDifference(*expected, actual), "") << testing::ToText(actual);
    ++compared;
  }
  EXPECT_EQ(compared, 150);
}

TEST(Torch7CorpusTest, ComparisonNoticesDifferences) {
  // The check above could not fail if rendering or comparing ignored content: it does not.
  absl::StatusOr<Json> doubles =
      testing::ParseJson(CorpusFile("expected/generated_tensor_double_2x3.bin.t7.json").view());
  ASSERT_TRUE(doubles.ok());
  Value floats = Read("generated/tensor_float_2x3.bin.t7");
  EXPECT_EQ(testing::JsonDifference(*doubles, testing::RenderLikeT7dump(floats)),
            "$.$class: expected \"torch.DoubleTensor\", got \"torch.FloatTensor\"");
  Value value = Read("generated/tensor_double_2x3.bin.t7");
  NodeId storage = value.Get<Tensor>(value.Get<TorchObject>(value.roots()[0]).payload).storage;
  Array& array = value.Get<Array>(value.Get<TorchObject>(storage).payload);
  std::string changed(array.data.view());
  changed[8 * 5 + 7] ^= 0x01;  // the sign-and-exponent byte of the 6th double
  array.data = Buffer::Copy(changed);
  EXPECT_THAT(testing::JsonDifference(*doubles, testing::RenderLikeT7dump(value)),
              ::testing::StartsWith("$.storage.data[5]: expected 6, got "));
  // Integers and doubles are different JSON types, as in t7dump.py's output.
  EXPECT_NE(testing::JsonDifference(testing::Json::Int(1), testing::Json::Double(1)), "");
}

TEST(Torch7CorpusTest, EveryFileDetectsItsLayout) {
  for (const std::string& path : CorpusStreams()) {
    SCOPED_TRACE(path);
    Value value = Read(path);
    ASSERT_TRUE(value.source().torch7.has_value());
    const Torch7Layout& layout = *value.source().torch7;
    const bool ascii = path.find(".ascii.") != std::string::npos || path.ends_with(".txt");
    EXPECT_EQ(layout.ascii, ascii);
    EXPECT_EQ(layout.long_size, path.find(".long4.") != std::string::npos ? 4 : 8);
    EXPECT_EQ(layout.big_endian, path.find(".bigendian.") != std::string::npos);
  }
}

TEST(Torch7CorpusTest, EveryFileRewritesByteForByteInItsOwnLayout) {
  for (const std::string& path : CorpusStreams()) {
    SCOPED_TRACE(path);
    Buffer input = CorpusFile(path);
    Value value = Read(path);
    EXPECT_TRUE(Write(value, *value.source().torch7) == input.view());
  }
}

// A conversion within Torch7 reads storages in the file's own byte order
// (ReadOptions::keep_array_byte_order) and the writer swaps them only if its layout differs: every
// corpus file must then write, in every layout, the bytes of the plain read (swapped on input).
TEST(Torch7CorpusTest, EveryFileReadAsWrittenWritesEveryLayoutAsThePlainReadDoes) {
  ReadOptions as_written;
  as_written.keep_array_byte_order = true;
  int big_endian_arrays = 0;
  for (const std::string& path : CorpusStreams()) {
    SCOPED_TRACE(path);
    const Value plain = Read(path);
    absl::StatusOr<Value> kept = ReadTorch7(CorpusFile(path), as_written);
    ASSERT_TRUE(kept.ok()) << kept.status();
    for (const Node& node : kept->nodes()) {
      if (const auto* array = std::get_if<Array>(&node.data)) big_endian_arrays += array->big_endian;
    }
    for (const Torch7Layout& layout :
         {*plain.source().torch7, Torch7Layout{}, Torch7Layout{.big_endian = true},
          Torch7Layout{.long_size = 4}, Torch7Layout{.long_size = 4, .big_endian = true},
          Torch7Layout{.ascii = true}}) {
      EXPECT_TRUE(Write(*kept, layout) == Write(plain, layout))
          << "long size " << layout.long_size << (layout.big_endian ? " big-endian" : "")
          << (layout.ascii ? " ascii" : "");
    }
  }
  // The corpus's big-endian files did keep their storages big-endian.
  EXPECT_GT(big_endian_arrays, 0);
}

TEST(Torch7CorpusTest, BinaryAndAsciiTwinsConvertIntoEachOther) {
  int pairs = 0;
  for (const std::string& path : CorpusStreams()) {
    if (!path.starts_with("generated/") || !path.ends_with(".bin.t7") ||
        path.find(".long") != std::string::npos || path.find(".bigendian") != std::string::npos) {
      continue;
    }
    std::string twin = path.substr(0, path.size() - 7) + ".ascii.t7";
    if (twin == "generated/generator.ascii.t7" || twin == "generated/multi_object.ascii.t7") {
      continue;  // no ascii twin in the corpus
    }
    SCOPED_TRACE(path);
    Buffer binary = CorpusFile(path);
    Buffer ascii = CorpusFile(twin);
    EXPECT_TRUE(Write(Read(path), Torch7Layout{.ascii = true}) == ascii.view()) << twin;
    EXPECT_TRUE(Write(Read(twin), Torch7Layout{}) == binary.view());
    ++pairs;
  }
  EXPECT_EQ(pairs, 61);
}

TEST(Torch7CorpusTest, LongSizeTwinsConvertIntoEachOther) {
  Buffer long8 = CorpusFile("generated/tensor_double_2x3.bin.t7");
  Buffer long4 = CorpusFile("generated/tensor_double_2x3.long4.bin.t7");
  Buffer explicit8 = CorpusFile("generated/tensor_double_2x3.long8.bin.t7");
  EXPECT_TRUE(long8.view() == explicit8.view());
  EXPECT_TRUE(Write(Read("generated/tensor_double_2x3.bin.t7"), {.long_size = 4}) == long4.view());
  EXPECT_TRUE(Write(Read("generated/tensor_double_2x3.long4.bin.t7"), {.long_size = 8}) ==
              long8.view());
  EXPECT_TRUE(Write(Read("generated/tensor_double_2x3.long8.bin.t7"), {.long_size = 4}) ==
              long4.view());
  // LongStorage data is 4 bytes per element with 4-byte longs: through the 8-byte layout and back.
  Value long_tensor = Read("generated/tensor_long_2x3.long4.bin.t7");
  std::string as8 = Write(long_tensor, {.long_size = 8});
  absl::StatusOr<Value> reread = ReadTorch7(Buffer::Copy(as8));
  ASSERT_TRUE(reread.ok()) << reread.status();
  EXPECT_EQ(reread->source().torch7->long_size, 8);
  EXPECT_TRUE(Write(*reread, {.long_size = 4}) ==
              CorpusFile("generated/tensor_long_2x3.long4.bin.t7").view());
}

TEST(Torch7CorpusTest, BigEndianFileConvertsToLittleEndianAndBack) {
  Buffer big = CorpusFile("generated/tensor_double_2x3.bigendian.bin.t7");
  Value value = Read("generated/tensor_double_2x3.bigendian.bin.t7");
  std::string little = Write(value, {.big_endian = false});
  EXPECT_EQ(little.size(), big.size());
  absl::StatusOr<Value> reread = ReadTorch7(Buffer::Copy(little));
  ASSERT_TRUE(reread.ok()) << reread.status();
  EXPECT_FALSE(reread->source().torch7->big_endian);
  EXPECT_EQ(reread->nodes(), value.nodes());
  EXPECT_TRUE(Write(*reread, {.big_endian = true}) == big.view());
  // The little-endian form matches what the reference reader says the big-endian file holds.
  absl::StatusOr<Json> expected = testing::ParseJson(
      CorpusFile("expected/generated_tensor_double_2x3.bigendian.bin.t7.json").view());
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(testing::JsonDifference(*expected, testing::RenderLikeT7dump(*reread)), "");
}

TEST(Torch7CorpusTest, SerializeTableRoundTripsThroughTheMemoryApi) {
  for (auto [path, mode] : {std::pair{"generated/serialize_table.bin.t7", Torch7Mode::kBinary},
                            std::pair{"generated/serialize_table.ascii.t7", Torch7Mode::kAscii}}) {
    SCOPED_TRACE(path);
    std::string bytes(CorpusFile(path).view());
    absl::StatusOr<Value> value = DeserializeTorch7(bytes, mode);
    ASSERT_TRUE(value.ok()) << value.status();
    absl::StatusOr<std::string> again = SerializeTorch7(*value, mode);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(*again == bytes);
    // torch.serialize before 2016 appended a NUL; it is accepted and ignored.
    absl::StatusOr<Value> with_nul = DeserializeTorch7(bytes + std::string(1, '\0'), mode);
    ASSERT_TRUE(with_nul.ok()) << with_nul.status();
    EXPECT_EQ(with_nul->nodes(), value->nodes());
  }
}

TEST(Torch7CorpusTest, GeneratorStateIsKeptVerbatim) {
  Buffer input = CorpusFile("generated/generator.bin.t7");
  ASSERT_EQ(input.size(), 34u + 5048u);
  Value value = Read("generated/generator.bin.t7");
  ASSERT_EQ(value.roots().size(), 1u);
  const auto& generator = value.Get<TorchObject>(value.roots()[0]);
  EXPECT_EQ(generator.class_name, "torch.Generator");
  const auto& state = value.Get<Opaque>(generator.payload);
  EXPECT_EQ(state.bytes.size(), 5048u);
  EXPECT_TRUE(state.bytes.view() == input.view().substr(34));
  uint64_t seed;
  std::memcpy(&seed, state.bytes.data(), sizeof seed);
  EXPECT_EQ(seed, 1234u);  // the_initial_seed, the struct's first field
}

// Reads the generator state of a one-generator stream written in `layout`.
std::string GeneratorStateIn(const std::string& stream, const ReadOptions& options) {
  absl::StatusOr<Value> value = ReadTorch7(Buffer::Copy(stream), options);
  EXPECT_TRUE(value.ok()) << value.status();
  if (!value.ok()) return "";
  const auto& generator = value->Get<TorchObject>(value->roots()[0]);
  return std::string(value->Get<Opaque>(generator.payload).bytes.view());
}

uint64_t LoadWord(std::string_view bytes, size_t offset, size_t size, bool big_endian) {
  uint64_t word = 0;
  for (size_t i = 0; i < size; ++i) {
    word = (word << 8) | static_cast<uint8_t>(bytes[offset + (big_endian ? i : size - 1 - i)]);
  }
  return word;
}

TEST(Torch7CorpusTest, GeneratorStateIsReLaidForAnotherLongSizeOrByteOrder) {
  // A THGenerator is a raw C struct whose longs follow the machine: written for 4-byte longs the
  // seed, `next` and the 624 Mersenne Twister words shrink to 4 bytes each (2544 bytes in all),
  // and back for 8-byte longs they give Torch7's original bytes again.
  Buffer input = CorpusFile("generated/generator.bin.t7");
  const std::string original(input.view().substr(34));
  Value value = Read("generated/generator.bin.t7");

  const std::string long4 = Write(value, {.long_size = 4});
  const std::string state4 = GeneratorStateIn(long4, {.torch7_long_size = 4});
  ASSERT_EQ(state4.size(), 2544u);
  EXPECT_EQ(LoadWord(state4, 0, 4, false), 1234u);                           // the_initial_seed
  EXPECT_EQ(LoadWord(state4, 4, 4, false), LoadWord(original, 8, 4, false));  // left
  EXPECT_EQ(LoadWord(state4, 12, 4, false), LoadWord(original, 16, 8, false));  // next
  for (size_t i = 0; i < 624; ++i) {
    ASSERT_EQ(LoadWord(state4, 16 + 4 * i, 4, false), LoadWord(original, 24 + 8 * i, 8, false))
        << "state[" << i << "]";
  }
  EXPECT_EQ(state4.substr(2512, 28), original.substr(5016, 28));  // normal_x/y/rho, is_valid

  absl::StatusOr<Value> reread = ReadTorch7(Buffer::Copy(long4), {.torch7_long_size = 4});
  ASSERT_TRUE(reread.ok()) << reread.status();
  EXPECT_TRUE(Write(*reread, {.long_size = 8}) == input.view());

  // Big-endian: every field is byte-swapped in place, and back again.
  const std::string big = Write(value, {.big_endian = true});
  const std::string state_big = GeneratorStateIn(big, {.torch7_big_endian = true});
  ASSERT_EQ(state_big.size(), 5048u);
  EXPECT_EQ(LoadWord(state_big, 0, 8, true), 1234u);
  EXPECT_EQ(LoadWord(state_big, 24 + 8 * 623, 8, true), LoadWord(original, 24 + 8 * 623, 8, false));
  absl::StatusOr<Value> big_value = ReadTorch7(Buffer::Copy(big), {.torch7_big_endian = true});
  ASSERT_TRUE(big_value.ok()) << big_value.status();
  EXPECT_TRUE(Write(*big_value, {}) == input.view());

  // Ascii records no layout and is read with 8-byte little-endian longs: a 4-byte-long
  // generator written as ascii is widened, so the text reads back with the original state.
  const std::string ascii = Write(*reread, {.ascii = true, .long_size = 8});
  EXPECT_EQ(GeneratorStateIn(ascii, {}), original);
}

TEST(Torch7CorpusTest, PrimitivesFileIsNotAnObjectStream) {
  // "7\n0.10000000000000001\n...": tag 7 (a 2014 function), index 0 (fscanf stops at '.'), then a
  // bytecode length that is not a number. Refused cleanly where the number is missing.
  Buffer input = CorpusFile("generated/primitives.ascii.txt");
  absl::StatusOr<Value> value = ReadTorch7(input);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InputErrorOffset(value.status()), 3u);
  EXPECT_THAT(value.status().message(), ::testing::HasSubstr("expected bytecode length"));
}

}  // namespace
}  // namespace seriald
