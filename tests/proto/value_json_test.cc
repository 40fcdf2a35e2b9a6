// Tests of the JSON form: lossless round trips, the documented example, and malformed input
// reported with the byte offset of the problem.
#include "proto/value_json.h"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/io/byte_order.h"
#include "core/io/file.h"
#include "core/io/input_error.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/internal/json_large_arrays.h"
#include "proto/value_conversion.h"
#include "tests/proto/sample_values.h"
#include "tests/testing/files.h"

namespace seriald {
namespace {

using ::seriald::testing::Chain;
using ::seriald::testing::DoubleFromBits;
using ::seriald::testing::EveryKind;
using ::seriald::testing::kNetExampleJson;
using ::seriald::testing::NetExample;
using ::testing::HasSubstr;

std::string Json(const Value& value, bool pretty) {
  absl::StatusOr<std::string> json = ValueToJson(value, pretty);
  EXPECT_TRUE(json.ok()) << json.status();
  return json.ok() ? *json : std::string();
}

TEST(ValueJsonTest, EveryKindRoundTripsCompactAndPretty) {
  const Value original = EveryKind();
  for (bool pretty : {false, true}) {
    const std::string json = Json(original, pretty);
    EXPECT_EQ(json.find('\n') != std::string::npos, pretty);
    absl::StatusOr<Value> back = ValueFromJson(json);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == original);
    // Printing is stable: the same value prints the same text.
    EXPECT_EQ(Json(*back, pretty), json);
  }
}

TEST(ValueJsonTest, DocumentedExampleIsWhatValueToJsonPrints) {
  EXPECT_EQ(Json(NetExample(), /*pretty=*/true), kNetExampleJson);
  absl::StatusOr<Value> parsed = ValueFromJson(kNetExampleJson);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(*parsed == NetExample());
  const Table& table = parsed->Get<Table>(0);
  EXPECT_EQ(table.entries[2].value, 0u);  // the self reference
  const Array& data = parsed->Get<Array>(7);
  float second;
  std::memcpy(&second, data.data.data() + 4, 4);
  EXPECT_EQ(second, -2.0f);
}

// Protobuf's own text of the whole message, every array's data in it (big-endian ones swapped):
// what the JSON form was before large arrays were encoded as written.
std::string ProtobufsText(const Value& value, bool pretty) {
  seriald::v1::Value message;
  EXPECT_TRUE(ToProto(value, &message).ok());
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  std::string text;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &text, options).ok());
  return text;
}

// `count` elements of `size` bytes, each byte its offset's low bits mixed, big-endian when asked
// (then the model bytes are the same values swapped).
Buffer Elements(uint64_t count, size_t size, bool big_endian) {
  std::string bytes(count * size, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131) ^ (i >> 8));
  Buffer model = Buffer::Copy(bytes.data(), bytes.size());
  if (!big_endian || size == 1) return model;
  auto [swapped, out] = Buffer::Allocate(bytes.size());
  SwapCopy(model.data(), out, bytes.size() / (size == 16 ? 8 : size), size == 16 ? 8 : size);
  return swapped;
}

TEST(ValueJsonTest, LargeArraysAreEncodedAsWrittenIntoProtobufsOwnText) {
  testing::ScratchDir dir;
  Value value;
  NodeId list = value.Add(List{});
  value.roots().push_back(list);
  auto add = [&](ElementType type, uint64_t length, bool big_endian) {
    Buffer data = Elements(length, ElementSize(type), big_endian);
    const NodeId id = value.Add(Array{type, length, data, big_endian});
    value.Get<List>(list).items.push_back(id);
  };
  // Around the inline bound, every remainder of three, both byte orders, every swap size.
  add(ElementType::kUint8, kJsonInlineArrayBytes, false);      // inline
  add(ElementType::kUint8, kJsonInlineArrayBytes + 1, false);  // encoded as written, 1 over 3
  add(ElementType::kInt16, 40001, true);                       // 80,002 bytes: 2 over
  add(ElementType::kFloat64, 1000000, false);                  // 8 MB: several steps
  add(ElementType::kFloat64, 1000000, true);
  add(ElementType::kInt32, 3, true);  // small and big-endian: swapped by ToProto
  add(ElementType::kComplex128, 50000, true);
  add(ElementType::kFloat32, 1 << 20, true);  // 4 MiB: a step and a third
  // A mapped file's bytes, read from the file a step at a time.
  const std::string mapped_bytes(Elements((3 << 20) + 7, 1, false).view());
  testing::WriteBytes(dir.File("data.bin"), mapped_bytes);
  absl::StatusOr<Buffer> mapped = ReadFile(dir.File("data.bin"));
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  const NodeId from_file = value.Add(Array{ElementType::kUint8, mapped->size(), *mapped, false});
  const NodeId after = value.AddString("after the arrays");
  value.Get<List>(list).items.push_back(from_file);
  value.Get<List>(list).items.push_back(after);

  Value little_endian = value;
  for (NodeId id = 0; id < little_endian.size(); ++id) {
    if (auto* array = std::get_if<Array>(&little_endian.mutable_node(id).data)) {
      MakeLittleEndian(*array);
    }
  }
  for (bool pretty : {false, true}) {
    const std::string json = Json(value, pretty);
    const std::string expected = ProtobufsText(value, pretty);
    ASSERT_EQ(json.size(), expected.size()) << "pretty " << pretty;
    EXPECT_TRUE(json == expected) << "pretty " << pretty;
    absl::StatusOr<Value> back = ValueFromJson(json);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == little_endian);
  }
}

// The [begin, end) of the `n`th "data" string's contents in compact text.
std::pair<size_t, size_t> DataString(const std::string& json, int n) {
  size_t at = 0;
  for (int i = 0; i <= n; ++i) at = json.find("\"data\":\"", at) + 8;
  return {at, json.find('"', at)};
}

TEST(ValueJsonTest, LargeArraysAreDecodedOutsideProtobufIntoTheValueItWouldRead) {
  Value value;
  const NodeId list = value.Add(List{});
  value.roots().push_back(list);
  const NodeId big = value.Add(Array{ElementType::kFloat64, 100000, Elements(100000, 8, false)});
  const NodeId odd = value.Add(Array{ElementType::kUint8, 70001, Elements(70001, 1, false)});
  const NodeId small = value.Add(Array{ElementType::kInt32, 5, Elements(5, 4, false)});
  value.Get<List>(list).items = {big, odd, small, big};
  for (bool pretty : {false, true}) {
    const std::optional<Value> read = internal::ReadJsonDecodingLargeArrays(Json(value, pretty));
    ASSERT_TRUE(read.has_value()) << "pretty " << pretty;
    EXPECT_TRUE(*read == value);
  }
  const std::string json = Json(value, /*pretty=*/false);

  // URL-safe base64 without padding, which protobuf reads too.
  std::string url_safe = json;
  for (int n : {1, 0}) {
    auto [begin, end] = DataString(url_safe, n);
    for (size_t i = begin; i < end; ++i) {
      if (url_safe[i] == '+') url_safe[i] = '-';
      if (url_safe[i] == '/') url_safe[i] = '_';
    }
    while (url_safe[end - 1] == '=') url_safe.erase(--end, 1);
  }
  ASSERT_NE(url_safe, json);
  const std::optional<Value> from_url_safe = internal::ReadJsonDecodingLargeArrays(url_safe);
  ASSERT_TRUE(from_url_safe.has_value());
  EXPECT_TRUE(*from_url_safe == value);

  // An escape in one array's base64: that string is protobuf's to decode, the other still
  // decoded here.
  std::string escaped = json;
  const size_t letter = escaped.find('A', DataString(escaped, 0).first);
  escaped.replace(letter, 1, "\\u0041");
  const std::optional<Value> from_escaped = internal::ReadJsonDecodingLargeArrays(escaped);
  ASSERT_TRUE(from_escaped.has_value());
  EXPECT_TRUE(*from_escaped == value);
  // Left to protobuf, which reads them as it always has: the nodes spread over two keys
  // (protobuf merges them), both alphabets in one string.
  std::string merged = json;
  merged.insert(1, "\"nodes\":[],");
  EXPECT_FALSE(internal::ReadJsonDecodingLargeArrays(merged).has_value());
  absl::StatusOr<Value> from_merged = ValueFromJson(merged);
  ASSERT_TRUE(from_merged.ok()) << from_merged.status();
  EXPECT_TRUE(*from_merged == value);
  std::string mixed = url_safe;
  mixed[DataString(mixed, 0).first] = '+';
  EXPECT_FALSE(internal::ReadJsonDecodingLargeArrays(mixed).has_value());

  // Errors are protobuf's, at their offset in the text as given: a bad character in the base64,
  // a syntax error after the large arrays, an array whose data does not fit its length.
  std::string bad_base64 = json;
  bad_base64[DataString(bad_base64, 1).first + 10] = '*';
  EXPECT_FALSE(internal::ReadJsonDecodingLargeArrays(bad_base64).has_value());
  absl::Status refused = ValueFromJson(bad_base64).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("json: "));

  std::string bad_syntax = json;
  const size_t roots = bad_syntax.find("\"roots\"");
  bad_syntax.insert(roots, "}");
  EXPECT_FALSE(internal::ReadJsonDecodingLargeArrays(bad_syntax).has_value());
  absl::Status syntax = ValueFromJson(bad_syntax).status();
  ASSERT_FALSE(syntax.ok());
  // Just past the brace that ends the object early, in the text as given.
  EXPECT_EQ(InputErrorOffset(syntax), std::optional<uint64_t>(roots + 1)) << syntax;

  std::string short_data = json;
  auto [begin, end] = DataString(short_data, 0);
  short_data.erase(begin, 4);  // three bytes fewer than 100,000 doubles
  EXPECT_FALSE(internal::ReadJsonDecodingLargeArrays(short_data).has_value());
  absl::Status wrong_length = ValueFromJson(short_data).status();
  EXPECT_THAT(std::string(wrong_length.message()), HasSubstr("json: node 1"));
}

// protobuf reads base64 strictly: the bits of a last partial group that no byte takes must be
// zero. The arrays decoded here are held to the same, so a JSON text reads the same whatever the
// size of its arrays (the fuzzer found "AAAAAAAA8D3=" read here and refused by protobuf).
TEST(ValueJsonTest, LargeArraysBase64WithLeftOverBitsIsRefusedAsProtobufRefusesIt) {
  const auto json = [](int length, const std::string& data) {
    return absl::StrCat(R"({"nodes":[{"array":{"type":"ELEMENT_TYPE_UINT8","length":")", length,
                        R"(","data":")", data, R"("}}],"roots":[0]})");
  };
  struct Case {
    int length;
    std::string data;
    bool canonical;
  };
  for (const Case& c : std::vector<Case>{{1, "AA==", true},
                                         {1, "AB==", false},
                                         {1, "AP", false},
                                         {1, "/w==", true},
                                         {1, "/x==", false},
                                         {2, "AAA=", true},
                                         {2, "AAB=", false},
                                         {2, "AA_", false},
                                         {2, "AAE", true},
                                         {3, "AAAB", true},
                                         {4, "AAAAAQ==", true},
                                         {4, "AAAAAR==", false}}) {
    const std::string text = json(c.length, c.data);
    const std::optional<Value> here =
        internal::ReadJsonDecodingLargeArrays(text, nullptr, /*min_length=*/2);
    const absl::StatusOr<Value> by_protobuf = ValueFromJson(text);
    EXPECT_EQ(here.has_value(), c.canonical) << c.data;
    EXPECT_EQ(by_protobuf.ok(), c.canonical) << c.data << " " << by_protobuf.status();
    if (!c.canonical) {
      EXPECT_THAT(std::string(by_protobuf.status().message()),
                  HasSubstr(absl::StrCat("invalid value \"", c.data, "\" for type TYPE_BYTES")));
    } else if (here.has_value() && by_protobuf.ok()) {
      EXPECT_TRUE(*here == *by_protobuf) << c.data;
    }
  }
  // Padding of the wrong length, and whole groups padded: whatever is read here protobuf reads.
  for (const std::string data : {"AA=", "AAA==", "AAAA=", "AAAA==", "AAAAAA=", "AAAAA===", "A==",
                                 "AA===", "AAAAAAA==", "AAAAAAA="}) {
    for (int length = 1; length <= 6; ++length) {
      const std::string text = json(length, data);
      const std::optional<Value> here =
          internal::ReadJsonDecodingLargeArrays(text, nullptr, /*min_length=*/2);
      const absl::StatusOr<Value> by_protobuf = ValueFromJson(text);
      if (!here.has_value()) continue;
      ASSERT_TRUE(by_protobuf.ok()) << data << " length " << length << ": read here, refused by "
                                    << "protobuf: " << by_protobuf.status();
      EXPECT_TRUE(*here == *by_protobuf) << data;
    }
  }
}

// Base64 longer than one decoding step (4 MiB of characters, checked and decoded a step at a
// time): the alphabet is the whole string's, whichever step shows it.
TEST(ValueJsonTest, LargeArraysBase64IsOneAlphabetAcrossItsDecodingSteps) {
  // 3 MiB of zero bytes (4 MiB of 'A's, the first step), then bytes whose base64 uses every
  // character.
  std::string bytes(size_t{3} << 20, '\0');
  for (int i = 0; i < (1 << 20); ++i) bytes.push_back(static_cast<char>((i * 37 + i / 256) % 256));
  const auto json = [&](const std::string& data) {
    return absl::StrCat(R"({"nodes":[{"array":{"type":"ELEMENT_TYPE_UINT8","length":")",
                        bytes.size(), R"(","data":")", data, R"("}}],"roots":[0]})");
  };
  std::string url_safe;
  absl::WebSafeBase64Escape(bytes, &url_safe);
  ASSERT_GE(url_safe.find_first_not_of('A'), size_t{4} << 20);
  ASSERT_NE(url_safe.find_first_of("-_"), std::string::npos);
  // The first step is plain letters, the URL-safe characters come in the second: read here as
  // protobuf reads it.
  const std::optional<Value> here = internal::ReadJsonDecodingLargeArrays(json(url_safe));
  ASSERT_TRUE(here.has_value());
  const absl::StatusOr<Value> by_protobuf = ValueFromJson(json(url_safe));
  ASSERT_TRUE(by_protobuf.ok()) << by_protobuf.status();
  EXPECT_TRUE(*here == *by_protobuf);
  EXPECT_TRUE(here->Get<Array>(here->roots()[0]).data.view() == bytes);

  // A '+' in the first step and '-' in the second: both alphabets, left to protobuf.
  std::string mixed = url_safe;
  mixed[1000] = '+';
  EXPECT_FALSE(internal::ReadJsonDecodingLargeArrays(json(mixed)).has_value());
  // A character of neither in the second step: left to protobuf, which refuses it.
  std::string bad = url_safe;
  bad[(size_t{4} << 20) + 10] = '*';
  EXPECT_FALSE(internal::ReadJsonDecodingLargeArrays(json(bad)).has_value());
  EXPECT_EQ(ValueFromJson(json(bad)).status().code(), absl::StatusCode::kInvalidArgument);
}

// A mapped input cut short after it was mapped: the array's steps are read from the file, so
// encoding it fails with the file's error instead of touching the missing pages (SIGBUS).
TEST(ValueJsonTest, AnArrayOfAFileCutShortFailsWithTheFilesError) {
  testing::ScratchDir dir;
  const std::string path = dir.File("data.bin");
  testing::WriteBytes(path, std::string(Elements(8 << 20, 1, false).view()));
  absl::StatusOr<Buffer> mapped = ReadFile(path);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  ASSERT_TRUE(mapped->file_region().has_value());
  Value value;
  value.roots().push_back(value.Add(Array{ElementType::kUint8, mapped->size(), *mapped}));
  ASSERT_EQ(::truncate(path.c_str(), 5 << 20), 0);
  ByteWriter out;
  const absl::Status status = WriteValueJson(value, /*pretty=*/false, false, out);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("5242880")) << status;
}

TEST(ValueJsonTest, AnOutputThatFailsStopsTheEncodingWithItsOwnError) {
  Value value;
  const NodeId array = value.Add(Array{ElementType::kFloat64, 4000000, Elements(4000000, 8, true),
                                       /*big_endian=*/true});
  value.roots().push_back(array);
  int pieces = 0;
  ByteWriter out([&](Buffer) {
    return ++pieces < 3 ? absl::OkStatus() : absl::ResourceExhaustedError("the output limit");
  });
  EXPECT_TRUE(WriteValueJson(value, /*pretty=*/false, /*newline_at_end=*/true, out).ok());
  EXPECT_EQ(out.Finish(), absl::ResourceExhaustedError("the output limit"));
  // 32 MB of data, 43 MB of text in pieces of at most 1 MiB: stopped after the failing one.
  EXPECT_EQ(pieces, 3);
}

TEST(ValueJsonTest, NumbersKeepTheirExactBits) {
  const uint64_t patterns[] = {
      0x8000000000000000ULL,  // -0
      0xFFF8000000000000ULL,  // x86's 0/0
      0x7FF0000000000001ULL,  // signalling NaN
      kNaRealBits,            // R's NA_real_ as a Lua number
      0x7FF8000000000000ULL,  // the canonical NaN
      0x7FF0000000000000ULL,  // +inf
      0xFFF0000000000000ULL,  // -inf
      0x0000000000000001ULL,  // smallest subnormal
      0x7FEFFFFFFFFFFFFFULL,  // largest finite
      0x3FB999999999999AULL,  // 0.1
      0xC00921FB54442D18ULL,  // -pi
  };
  Value value;
  for (uint64_t bits : patterns) value.roots().push_back(value.AddNumber(DoubleFromBits(bits)));
  absl::StatusOr<Value> back = ValueFromJson(Json(value, false));
  ASSERT_TRUE(back.ok()) << back.status();
  for (size_t i = 0; i < std::size(patterns); ++i) {
    uint64_t bits;
    std::memcpy(&bits, &back->Get<Number>(static_cast<NodeId>(i)).value, 8);
    EXPECT_EQ(bits, patterns[i]) << i;
  }
}

TEST(ValueJsonTest, NonUtf8StringsTravelAsBase64AndComeBackByteExact) {
  Value value;
  value.roots().push_back(value.AddString("caf\xe9", StringEncoding::kLatin1));
  value.roots().push_back(value.AddString("caf\xc3\xa9", StringEncoding::kUtf8));
  const std::string json = Json(value, false);
  EXPECT_THAT(json, HasSubstr(R"("raw":"Y2Fm6Q==")"));
  EXPECT_THAT(json, HasSubstr("\"text\":\"caf\xc3\xa9\""));
  EXPECT_THAT(json, HasSubstr(R"("encoding":"STRING_ENCODING_LATIN1")"));
  absl::StatusOr<Value> back = ValueFromJson(json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Get<StringValue>(0).bytes, "caf\xe9");
  EXPECT_TRUE(*back == value);
}

TEST(ValueJsonTest, LeavesDefaultsOutButPrintsReferencesToNodeZero) {
  Value value;
  const NodeId table = value.Add(Table{});
  value.Get<Table>(table).entries = {{value.AddString("self"), table}};
  value.roots().push_back(table);
  EXPECT_EQ(Json(value, false),
            R"({"nodes":[{"table":{"entries":[{"key":1,"value":0}]}},{"string":{"text":"self"}}],)"
            R"("roots":[0]})");
}

TEST(ValueJsonTest, AcceptsHandWrittenJson) {
  // Proto field names, omitted defaults, an empty string given as no content.
  absl::StatusOr<Value> value = ValueFromJson(R"({
    "nodes": [
      {"torch_object": {"class_name": "nn.Linear", "payload": 1}},
      {"table": {"entries": [{"key": 2, "value": 3}]}},
      {"string": {"text": "weight"}},
      {"array": {"type": "ELEMENT_TYPE_INT32", "length": "2", "data": "AQAAAP////8="}},
      {"string": {}}
    ],
    "roots": [0, 4]
  })");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->Get<TorchObject>(0).class_name, "nn.Linear");
  EXPECT_FALSE(value->Get<TorchObject>(0).version.has_value());
  const Array& array = value->Get<Array>(3);
  EXPECT_EQ(array.length, 2u);
  EXPECT_EQ(array.data.view(), std::string("\x01\0\0\0\xff\xff\xff\xff", 8));
  EXPECT_EQ(value->Get<StringValue>(4), StringValue{});
  EXPECT_FALSE(value->source().torch7.has_value());
}

TEST(ValueJsonTest, DeepChainRoundTrips) {
  const Value chain = Chain(200000);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Value> back = ValueFromJson(Json(chain, false));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == chain);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// ---------------------------------------------------------------------------------------------
// Malformed JSON.

struct Malformed {
  const char* name;
  std::string json;
  std::string message;  // the whole message
  uint64_t offset;
};

void ExpectMalformed(const Malformed& c) {
  absl::StatusOr<Value> value = ValueFromJson(c.json);
  ASSERT_FALSE(value.ok()) << c.name << " parsed";
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
  EXPECT_EQ(std::string(value.status().message()), c.message) << c.name;
  EXPECT_EQ(InputErrorOffset(value.status()), c.offset) << c.name;
  EXPECT_EQ(InputErrorFormat(value.status()), "json") << c.name;
}

TEST(ValueJsonTest, MalformedJsonNamesTheProblemAndItsByteOffset) {
  const Malformed cases[] = {
      {"truncated", R"({"nodes": [{"nil": {}}], "roots": [0)",
       "json: unexpected end of string. Expected , or ] after array value at byte 36", 36},
      {"truncated inside a string", R"({"nodes": [{"string": {"text": "abc)",
       "json: closing quote expected in string at byte 35", 35},
      {"empty", "", "json: unexpected end of string. Expected a value at byte 0", 0},
      {"bad token", R"({"nodes": [{"number": 1}, {"number": x}]})",
       "json: unexpected token at byte 37", 37},
      {"misspelt keyword", R"({"nodes": [{"boolean": ture}]})", "json: unexpected token at byte 23",
       23},
      {"missing colon", "{\n  \"nodes\" [\n", "json: expected : between key:value pair at byte 12",
       12},
      {"garbage after the value", "{\"roots\": []}\n\n  trailing",
       "json: parsing terminated before end of input at byte 17", 17},
      {"bad escape", R"({"nodes": [{"string": {"text": "ab\u12"}}]})",
       "json: invalid escape sequence at byte 34", 34},
      {"lone surrogate", R"({"nodes": [{"string": {"text": "\udc00"}}]})",
       "json: invalid unicode code point at byte 32", 32},
      {"not UTF-8", "{\"nodes\": [{\"string\": {\"text\": \"caf\xe9\"}}]}",
       "json: encountered non UTF-8 code points at byte 35", 35},
      {"number out of range", R"({"nodes": [{"number": 1e999}]})",
       "json: number exceeds the range of double at byte 22", 22},
      {"not an object", "[1, 2]", "json: root element must be a message at byte 0", 0},
      {"wrong type for a field", R"({"nodes": [{"nil": {}}, {"boolean": "maybe"}]})",
       "json: nodes[1].boolean: invalid value \"maybe\" for type TYPE_BOOL at byte 36", 36},
      {"negative id", R"({"nodes": [{"nil": {}}], "roots": [-1]})",
       "json: roots[0]: invalid value -1 for type TYPE_UINT32 at byte 35", 35},
      {"unknown enum name",
       R"({"nodes": [{"array": {"type": "ELEMENT_TYPE_FLOAT", "length": "0"}}]})",
       "json: nodes[0].array.type: invalid value \"ELEMENT_TYPE_FLOAT\" for type "
       "type.googleapis.com/seriald.v1.ElementType at byte 30",
       30},
      {"bad base64", R"({"nodes": [{"opaque": "not base64!"}]})",
       "json: nodes[0].opaque: invalid value \"not base64!\" for type TYPE_BYTES at byte 22", 22},
      {"unknown field", R"({"nodes": [{"nil": {}, "colour": 1}]})",
       "json: unknown field \"colour\" in nodes[0] at byte 23", 23},
      {"unknown field given by JSON name", R"({"nodes": [{"torchObject": {"classname": "x"}}]})",
       "json: unknown field \"classname\" in nodes[0].torch_object at byte 28", 28},
      {"unknown top-level field", R"({"nodes": [], "root": [0]})",
       "json: unknown field \"root\" at byte 14", 14},
      {"two kinds in one node", R"({"nodes": [{"nil": {}, "boolean": true}]})",
       "json: nodes[0]: invalid value oneof field 'kind' is already set. Cannot set 'boolean' "
       "for type oneof at byte 23",
       23},
      {"unquoted key, single quotes, deeper path",
       "{nodes: [{'pairlist': {'cells': [{'value': 0}, {'flags': {'levels': 'q'}}]}}]}",
       "json: nodes[0].pairlist.cells[1].flags.levels: invalid value \"q\" for type TYPE_UINT32 "
       "at byte 68",
       68},
      {"repeated field given twice",
       R"({"nodes": [{"nil": {}}], "nodes": [{"nil": {}}, {"boolean": 2}]})",
       "json: nodes[1].boolean: invalid value 2 for type TYPE_BOOL at byte 60", 60},
  };
  for (const Malformed& c : cases) ExpectMalformed(c);
}

TEST(ValueJsonTest, QuotedValuesAreKeptShortAndOnOneLine) {
  const std::string huge(100000, '!');
  ExpectMalformed(
      {"huge bad value", R"({"nodes": [{"opaque": ")" + huge + R"("}]})",
       "json: nodes[0].opaque: invalid value \"" + std::string(240 - 15, '!') + "... at byte 22",
       22});
  ExpectMalformed({"value with a newline", "{\"nodes\": [{\"number\": \"1\\n2\"}]}",
                   "json: nodes[0].number: invalid value \"1\\n2\" for type TYPE_DOUBLE at byte 22",
                   22});
}

TEST(ValueJsonTest, OffsetsAreExactFarIntoLargeRepetitiveInput) {
  // 150000 identical nodes (about 2.5 MB), so every snippet the parser quotes occurs many times.
  std::string nodes;
  for (int i = 0; i < 150000; ++i) nodes += R"({"nil": {}}, )";
  const std::string prefix = "{\"nodes\": [" + nodes;

  ExpectMalformed(
      {"syntax error far in", prefix + R"({"nil": {}} {"nil": {}}]})",
       "json: expected , or ] after array value at byte " + std::to_string(prefix.size() + 12),
       prefix.size() + 12});
  ExpectMalformed({"field error far in", prefix + R"({"boolean": 7}]})",
                   "json: nodes[150000].boolean: invalid value 7 for type TYPE_BOOL at byte " +
                       std::to_string(prefix.size() + 12),
                   prefix.size() + 12});
  ExpectMalformed(
      {"truncated far in", prefix,
       "json: unexpected end of string. Expected a value or ] within an array at byte " +
           std::to_string(prefix.size()),
       prefix.size()});
  // The same error just before and just after a 64 KiB boundary of the first parse.
  for (size_t target : {size_t{65536} - 1, size_t{65536}, size_t{65536} + 1}) {
    std::string text = "{\"nodes\": [";
    while (text.size() + 13 <= target) text += R"({"nil": {}}, )";
    text.resize(target, ' ');
    ExpectMalformed({"at a chunk boundary", text + "x]}",
                     "json: unexpected token at byte " + std::to_string(target), target});
  }
}

TEST(ValueJsonTest, InconsistentValuesNameTheNodeInstead) {
  absl::StatusOr<Value> value =
      ValueFromJson(R"({"nodes": [{"table": {"entries": [{"key": 1, "value": 7}]}},)"
                    R"( {"string": {"text": "k"}}]})");
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(value.status().message(),
            "json: node 0 (table): entry 0 value refers to node 7, but there are only 2 nodes");
  EXPECT_EQ(InputErrorOffset(value.status()), std::nullopt);

  absl::StatusOr<Value> no_payload =
      ValueFromJson(R"({"nodes": [{"torchObject": {"className": "nn.Linear"}}]})");
  EXPECT_EQ(no_payload.status().message(), "json: node 0 (torch_object): payload is missing");

  absl::StatusOr<Value> no_kind = ValueFromJson(R"({"nodes": [{"nil": {}}, {}]})");
  EXPECT_EQ(no_kind.status().message(), "json: node 1 has no kind");

  absl::StatusOr<Value> bad_root = ValueFromJson(R"({"nodes": [], "roots": [0]})");
  EXPECT_EQ(bad_root.status().message(),
            "json: root 0 refers to node 0, but there are only 0 nodes");
}

TEST(ValueJsonTest, ValuesTheSchemaCannotCarryAreRefusedNotMangled) {
  Value value;
  value.roots().push_back(value.Add(TorchObject{"caf\xe9", "1", value.Add(Nil{})}));
  absl::StatusOr<std::string> json = ValueToJson(value, false);
  EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(json.status().message()),
              HasSubstr("node 1 (torch_object): class name is not valid UTF-8"));
}

TEST(ValueJsonTest, MutatedJsonIsRejectedWithAnOffsetInsideItOrRoundTrips) {
  const std::string json = Json(EveryKind(), /*pretty=*/true);
  const std::string alphabet = "{}[]:,\"'\\ 0123456789-+.eEtrufalsn\n\xff\xc3";
  std::mt19937 random(20240602);
  int rejected = 0;
  for (int round = 0; round < 400; ++round) {
    std::string mutated = json;
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int i = 0; i < edits; ++i) {
      const size_t at = random() % mutated.size();
      const char c = alphabet[random() % alphabet.size()];
      switch (random() % 3) {
        case 0:
          mutated[at] = c;
          break;
        case 1:
          mutated.insert(at, 1, c);
          break;
        default:
          mutated.erase(at, 1);
          break;
      }
    }
    if (random() % 8 == 0) mutated.resize(random() % mutated.size());
    absl::StatusOr<Value> value = ValueFromJson(mutated);
    if (!value.ok()) {
      ++rejected;
      EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(value.status().message()), ::testing::StartsWith("json: "));
      EXPECT_EQ(std::string(value.status().message()).find('\n'), std::string::npos);
      if (std::optional<uint64_t> offset = InputErrorOffset(value.status())) {
        EXPECT_LE(*offset, mutated.size()) << value.status();
      }
      continue;
    }
    absl::StatusOr<Value> back = ValueFromJson(Json(*value, false));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == *value) << round;
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace seriald
