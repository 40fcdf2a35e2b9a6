// Tests of the "json" codec in a CodecRegistry: recognition, detection next to the core formats,
// reading with limits and writing whole lines.
#include "proto/json_codec.h"

#include <algorithm>
#include <string>

#include "core/convert/convert.h"
#include "core/io/byte_order.h"
#include "core/io/file.h"
#include "core/rds/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/value_json.h"
#include "tests/proto/sample_values.h"
#include "tests/testing/files.h"

namespace seriald {
namespace {

using ::seriald::testing::Chain;
using ::seriald::testing::NetExample;
using ::testing::HasSubstr;

CodecRegistry Registry() {
  CodecRegistry registry = CoreCodecs();
  RegisterJsonCodec(registry);
  return registry;
}

Buffer Input(std::string_view text) { return Buffer::Copy(text); }

TEST(JsonCodecTest, RecognisesAnObjectAfterOptionalWhitespace) {
  CodecRegistry registry = Registry();
  absl::StatusOr<const Codec*> json = registry.Find("json");
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)->family(), "json");
  EXPECT_FALSE((*json)->description().empty());
  EXPECT_EQ((*json)->Recognize(Input("{}")).verdict, Recognition::kYes);
  EXPECT_EQ((*json)->Recognize(Input(" \t\r\n {\"nodes\": []}")).verdict, Recognition::kYes);
  const std::string_view others[] = {"", "   ", "[1]", "\"{\"", std::string_view("\x03\0\0\0{", 5)};
  for (std::string_view other : others) {
    Recognition r = (*json)->Recognize(Input(other));
    EXPECT_EQ(r.verdict, Recognition::kNo) << other;
    EXPECT_EQ(r.reason, "first non-whitespace byte is not {");
  }
}

TEST(JsonCodecTest, DetectFindsJsonAmongTheCoreFormats) {
  CodecRegistry registry = Registry();
  absl::StatusOr<const Codec*> detected = registry.Detect(Input("\n{\"nodes\": []}"));
  ASSERT_TRUE(detected.ok()) << detected.status();
  EXPECT_EQ((*detected)->name(), "json");
  absl::Status array = registry.Detect(Input("[1, 2]")).status();
  EXPECT_THAT(std::string(array.message()), HasSubstr("json: first non-whitespace byte is not {"));
}

TEST(JsonCodecTest, WritesOneLineOrIndentedTextEndingInANewline) {
  for (bool pretty : {false, true}) {
    CodecRegistry registry = Registry();
    WriteOptions options;
    options.json_pretty = pretty;
    absl::StatusOr<BufferChain> written = WriteAs(registry, "json", NetExample(), options);
    ASSERT_TRUE(written.ok()) << written.status();
    const std::string text = written->ToString();
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n') == 1, !pretty);
    EXPECT_EQ(text, *ValueToJson(NetExample(), pretty) + (pretty ? "" : "\n"));
    absl::StatusOr<Value> read = ReadAs(registry, "", written->Flatten(), ReadOptions{});
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_TRUE(*read == NetExample());
  }
}

// An XDR stream's large vector goes to JSON as read: not swapped into a copy first, but encoded
// a step at a time, swapped as it is, into the text of the little-endian value.
TEST(JsonCodecTest, AConversionTakesBigEndianArraysAsReadAndPrintsThemLittleEndian) {
  CodecRegistry registry = Registry();
  constexpr uint64_t kCount = 300000;  // 2.4 MB: past the bound of arrays swapped as read
  auto [data, bytes] = Buffer::Allocate(kCount * 8);
  for (uint64_t i = 0; i < kCount; ++i) {
    const double d = static_cast<double>(i) * 0.37 - 1000.0;
    std::memcpy(bytes + 8 * i, &d, 8);
  }
  Value value;
  value.roots().push_back(value.Add(Array{ElementType::kFloat64, kCount, data}));
  ByteWriter stream;
  ASSERT_TRUE(
      WriteR(value, rds::SettingsFor(value, RFormat::kXdr, 3, RCompression::kNone), stream).ok());
  BufferChain xdr;
  ASSERT_TRUE(stream.Finish(&xdr).ok());
  for (bool pretty : {false, true}) {
    WriteOptions options;
    options.json_pretty = pretty;
    ByteWriter out;
    ConversionNotes notes;
    bool read_big_endian = false;
    ConvertHooks hooks;
    hooks.after_read = [&](Value& read) {
      read_big_endian = read.Get<Array>(read.roots()[0]).big_endian;
      return absl::OkStatus();
    };
    absl::StatusOr<std::string> read_as =
        ConvertInput(**registry.Find("rds"), **registry.Find("json"), xdr.Flatten(), ReadOptions{},
                     options, out, notes, hooks);
    ASSERT_TRUE(read_as.ok()) << read_as.status();
    EXPECT_TRUE(read_big_endian);
    BufferChain text;
    ASSERT_TRUE(out.Finish(&text).ok());
    absl::StatusOr<Value> read = ReadAs(registry, "rds", xdr.Flatten(), ReadOptions{});
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_TRUE(text.ToString() == *ValueToJson(*read, pretty) + (pretty ? "" : "\n"));
    // Read back from the file, mapped: the base64 decoded a step at a time, its pages given back.
    testing::ScratchDir dir;
    testing::WriteBytes(dir.File("out.json"), text.ToString());
    absl::StatusOr<Buffer> mapped = ReadFile(dir.File("out.json"));
    ASSERT_TRUE(mapped.ok()) << mapped.status();
    absl::StatusOr<Value> back = ReadAs(registry, "json", *mapped, ReadOptions{});
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == *read);
  }
}

TEST(JsonCodecTest, ReadAppliesTheDepthLimit) {
  CodecRegistry registry = Registry();
  absl::StatusOr<BufferChain> written = WriteAs(registry, "json", Chain(10), WriteOptions{});
  ASSERT_TRUE(written.ok());
  ReadOptions options;
  options.max_depth = 10;
  EXPECT_TRUE(ReadAs(registry, "json", written->Flatten(), options).ok());
  options.max_depth = 9;
  absl::Status status = ReadAs(registry, "json", written->Flatten(), options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // Node 0 is the key string; the tables are nodes 1..10, the tenth at depth 10.
  EXPECT_EQ(status.message(), "json: node 10 is nested deeper than the limit of 9 levels");

  // A cycle is not deep: each node counts at its first occurrence only.
  absl::StatusOr<BufferChain> net = WriteAs(registry, "json", NetExample(), WriteOptions{});
  options.max_depth = 5;
  EXPECT_TRUE(ReadAs(registry, "json", net->Flatten(), options).ok());
  options.max_depth = 4;  // table > tensor object > tensor > storage object > array
  EXPECT_FALSE(ReadAs(registry, "json", net->Flatten(), options).ok());
}

TEST(JsonCodecTest, ReadErrorsCarryTheOffset) {
  CodecRegistry registry = Registry();
  absl::Status status = ReadAs(registry, "json", Input("{\"nodes\": [}"), ReadOptions{}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("at byte 11"));
}

}  // namespace
}  // namespace seriald
