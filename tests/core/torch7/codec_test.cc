// The "t7" and "t7-ascii" codecs in a registry, and the file and memory convenience API.
#include "core/torch7/codec.h"

#include <filesystem>
#include <string>

#include "core/format/codec.h"
#include "core/io/file.h"
#include "core/torch7/serialize.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/torch7/testing/corpus.h"

namespace seriald {
namespace {

using ::seriald::testing::CorpusFile;
using ::testing::HasSubstr;

CodecRegistry Torch7Registry() {
  CodecRegistry registry;
  RegisterTorch7Codecs(registry);
  return registry;
}

std::string WriteWith(const CodecRegistry& registry, std::string_view codec, const Value& value,
                      const WriteOptions& options = {}) {
  absl::StatusOr<BufferChain> bytes = WriteAs(registry, codec, value, options);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? bytes->ToString() : "";
}

TEST(Torch7CodecTest, RegistersBothCodecsInOneFamily) {
  CodecRegistry registry = Torch7Registry();
  absl::StatusOr<const Codec*> binary = registry.Find("t7");
  absl::StatusOr<const Codec*> ascii = registry.Find("t7-ascii");
  ASSERT_TRUE(binary.ok());
  ASSERT_TRUE(ascii.ok());
  EXPECT_EQ((*binary)->family(), "t7");
  EXPECT_EQ((*ascii)->family(), "t7");
  EXPECT_FALSE((*binary)->description().empty());
  // The core registry offers them too.
  EXPECT_TRUE(CoreCodecs().Find("t7").ok());
}

TEST(Torch7CodecTest, DetectsTorch7AndRefusesForeignFiles) {
  CodecRegistry registry = Torch7Registry();
  for (const char* path :
       {"generated/nn_linear.bin.t7", "generated/nn_linear.ascii.t7",
        "generated/tensor_double_2x3.bigendian.bin.t7", "generated/nil.bin.t7"}) {
    SCOPED_TRACE(path);
    absl::StatusOr<const Codec*> codec = registry.Detect(CorpusFile(path));
    ASSERT_TRUE(codec.ok()) << codec.status();
    EXPECT_EQ((*codec)->name(), "t7");
  }
  const Codec* ascii = *registry.Find("t7-ascii");
  EXPECT_EQ(ascii->Recognize(CorpusFile("generated/nn_linear.ascii.t7")).verdict,
            Recognition::kYes);
  EXPECT_EQ(ascii->Recognize(CorpusFile("generated/nn_linear.bin.t7")).verdict, Recognition::kNo);

  absl::StatusOr<const Codec*> pickle =
      registry.Detect(Buffer::Copy(std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46", 8)));
  ASSERT_FALSE(pickle.ok());
  EXPECT_THAT(std::string(pickle.status().message()), HasSubstr("Python pickle"));
  EXPECT_THAT(std::string(pickle.status().message()), HasSubstr("is not a type tag"));
}

TEST(Torch7CodecTest, AsciiOutputTakesNoBinaryLayoutAndReadsBackByDefault) {
  // A generator from a 4-byte-long big-endian stream: "t7" keeps that layout, "t7-ascii" takes
  // 8-byte little-endian longs, the only ones an ascii reader assumes.
  CodecRegistry registry = Torch7Registry();
  const Buffer original = CorpusFile("generated/generator.bin.t7");
  absl::StatusOr<Value> value = ReadAs(registry, "t7", original, ReadOptions{});
  ASSERT_TRUE(value.ok()) << value.status();
  const std::string windows =
      WriteWith(registry, "t7", *value, {.torch7_long_size = 4, .torch7_big_endian = true});
  absl::StatusOr<Value> from_windows =
      ReadAs(registry, "t7", Buffer::Copy(windows),
             ReadOptions{.torch7_long_size = 4, .torch7_big_endian = true});
  ASSERT_TRUE(from_windows.ok()) << from_windows.status();

  const Torch7Layout binary = Torch7OutputLayout(*from_windows, {}, /*ascii=*/false);
  EXPECT_EQ(binary, (Torch7Layout{.ascii = false, .long_size = 4, .big_endian = true}));
  const Torch7Layout ascii = Torch7OutputLayout(*from_windows, {}, /*ascii=*/true);
  EXPECT_EQ(ascii, (Torch7Layout{.ascii = true, .long_size = 8, .big_endian = false}));
  // Options still win, and an ascii source keeps its own.
  EXPECT_EQ(Torch7OutputLayout(*from_windows, {.torch7_long_size = 4}, true).long_size, 4);

  const std::string text = WriteWith(registry, "t7-ascii", *from_windows);
  absl::StatusOr<Value> back = ReadAs(registry, "t7-ascii", Buffer::Copy(text), ReadOptions{});
  ASSERT_TRUE(back.ok()) << back.status();
  const auto& generator = back->Get<TorchObject>(back->roots()[0]);
  EXPECT_TRUE(back->Get<Opaque>(generator.payload).bytes.view() == original.view().substr(34));

  // Ascii written with 4-byte longs needs them said when read: by default the 2544-byte state
  // is read as 5048 bytes and runs off the end.
  const std::string text4 = WriteWith(registry, "t7-ascii", *back, {.torch7_long_size = 4});
  EXPECT_FALSE(ReadAs(registry, "t7-ascii", Buffer::Copy(text4), ReadOptions{}).ok());
  absl::StatusOr<Value> read4 = ReadAs(registry, "t7-ascii", Buffer::Copy(text4),
                                       ReadOptions{.torch7_long_size = 4});
  ASSERT_TRUE(read4.ok()) << read4.status();
  EXPECT_EQ(read4->source().torch7->long_size, 4);
  EXPECT_EQ(Torch7OutputLayout(*read4, {}, /*ascii=*/true).long_size, 4);
  EXPECT_EQ(WriteWith(registry, "t7-ascii", *read4), text4);
}

TEST(Torch7CodecTest, ReadsThroughTheCodec) {
  CodecRegistry registry = Torch7Registry();
  absl::StatusOr<Value> value =
      ReadAs(registry, "", CorpusFile("generated/nn_linear.ascii.t7"), ReadOptions{});
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_TRUE(value->source().torch7->ascii);
  // t7-ascii reads ascii only.
  EXPECT_FALSE(
      ReadAs(registry, "t7-ascii", CorpusFile("generated/nn_linear.bin.t7"), ReadOptions{}).ok());
  EXPECT_TRUE(
      ReadAs(registry, "t7-ascii", CorpusFile("generated/nn_linear.ascii.t7"), ReadOptions{}).ok());
}

TEST(Torch7CodecTest, WritingKeepsTheSourceLayoutUnlessTold) {
  CodecRegistry registry = Torch7Registry();
  for (const char* path : {"generated/tensor_double_2x3.long4.bin.t7",
                           "generated/tensor_double_2x3.bigendian.bin.t7"}) {
    SCOPED_TRACE(path);
    Buffer input = CorpusFile(path);
    absl::StatusOr<Value> value = ReadAs(registry, "t7", input, ReadOptions{});
    ASSERT_TRUE(value.ok());
    EXPECT_TRUE(WriteWith(registry, "t7", *value) == input.view());
  }
  absl::StatusOr<Value> long4 =
      ReadAs(registry, "t7", CorpusFile("generated/tensor_double_2x3.long4.bin.t7"), {});
  ASSERT_TRUE(long4.ok());
  WriteOptions eight;
  eight.torch7_long_size = 8;
  EXPECT_TRUE(WriteWith(registry, "t7", *long4, eight) ==
              CorpusFile("generated/tensor_double_2x3.bin.t7").view());
  // Mode comes from the codec: t7-ascii writes ascii, t7 writes binary whatever the source.
  EXPECT_TRUE(WriteWith(registry, "t7-ascii", *long4) ==
              CorpusFile("generated/tensor_double_2x3.ascii.t7").view());
  absl::StatusOr<Value> ascii =
      ReadAs(registry, "t7", CorpusFile("generated/tensor_double_2x3.ascii.t7"), {});
  ASSERT_TRUE(ascii.ok());
  EXPECT_TRUE(WriteWith(registry, "t7", *ascii) ==
              CorpusFile("generated/tensor_double_2x3.bin.t7").view());
  // A value built by hand (no source) is little-endian with 8-byte longs.
  Value built;
  built.roots().push_back(built.AddNumber(42));
  EXPECT_TRUE(WriteWith(registry, "t7", built) == CorpusFile("generated/number_int.bin.t7").view());
  // referenced = false comes through WriteOptions.
  absl::StatusOr<Value> shared =
      ReadAs(registry, "t7", CorpusFile("generated/table_shared_ref.bin.t7"), {});
  ASSERT_TRUE(shared.ok());
  WriteOptions unreferenced;
  unreferenced.torch7_referenced = false;
  EXPECT_TRUE(WriteWith(registry, "t7", *shared, unreferenced) ==
              CorpusFile("generated/unreferenced_shared.bin.t7").view());
}

TEST(Torch7CodecTest, SaveAndLoadFiles) {
  const std::string path = ::testing::TempDir() + "/seriald_torch7_codec_test.t7";
  absl::StatusOr<Value> value =
      LoadTorch7File(testing::CorpusDir() + "/generated/checkpoint_like.bin.t7");
  ASSERT_TRUE(value.ok()) << value.status();
  ASSERT_TRUE(SaveTorch7File(path, *value, Torch7Layout{.ascii = true}).ok());
  absl::StatusOr<Buffer> written = ReadFile(path);
  ASSERT_TRUE(written.ok());
  EXPECT_TRUE(written->view() == CorpusFile("generated/checkpoint_like.ascii.t7").view());
  absl::StatusOr<Value> again = LoadTorch7File(path);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->source().torch7->ascii);
  std::filesystem::remove(path);

  absl::StatusOr<Value> missing = LoadTorch7File(path + ".missing");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(Torch7CodecTest, SerializeNeedsAMode) {
  Value value;
  value.roots().push_back(value.AddNumber(1));
  EXPECT_EQ(SerializeTorch7(value, Torch7Mode::kDetect).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> ascii = SerializeTorch7(value, Torch7Mode::kAscii);
  ASSERT_TRUE(ascii.ok());
  EXPECT_EQ(*ascii, "1\n1\n");
  absl::StatusOr<Value> back = DeserializeTorch7(*ascii, Torch7Mode::kDetect);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Get<Number>(back->roots()[0]).value, 1);
}

}  // namespace
}  // namespace seriald
