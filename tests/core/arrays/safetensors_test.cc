// Hugging Face safetensors: the reference layout byte for byte, every dtype both ways, zero-copy
// reading and writing, and hostile headers with their exact messages and offsets.
#include "core/arrays/safetensors.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/data/ndarray.h"
#include "core/io/input_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/arrays/array_testing.h"

namespace seriald::arrays {
namespace {

using Metadata = std::vector<std::pair<std::string, std::string>>;

std::string Write(const std::vector<NamedArray>& arrays, const Metadata& metadata = {}) {
  ByteWriter out;
  absl::Status status = WriteSafetensors(arrays, metadata, out);
  EXPECT_TRUE(status.ok()) << status;
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return chain.ToString();
}

absl::Status WriteError(const std::vector<NamedArray>& arrays, const Metadata& metadata = {}) {
  ByteWriter out;
  return WriteSafetensors(arrays, metadata, out);
}

SafetensorsFile Read(const std::string& bytes) {
  absl::StatusOr<SafetensorsFile> file = ReadSafetensors(Buffer::Copy(bytes));
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return {};
  for (const NamedArray& named : file->arrays) {
    EXPECT_TRUE(data::CheckView(named.array, named.name).ok());
  }
  return *std::move(file);
}

// A file of `header` (unpadded) and `data`.
std::string File(std::string_view header, std::string_view data = "") {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(uint64_t{header.size()} >> (8 * i));
  out.append(header);
  out.append(data);
  return out;
}

// The message and the offset attached to it.
void ExpectError(const std::string& input, std::string_view message, uint64_t offset) {
  absl::Status status = ReadSafetensors(Buffer::Copy(input)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()), message);
  EXPECT_EQ(InputErrorOffset(status), offset) << status;
  EXPECT_EQ(InputErrorFormat(status), "safetensors");
}

TEST(SafetensorsTest, WritesTheReferenceLayout) {
  // Compact JSON, "__metadata__" first, the fields in the order dtype, shape, data_offsets, and
  // spaces up to a multiple of 8 (152 = 0x98 bytes), as the reference serializer writes.
  const std::string expected = std::string("\x98\0\0\0\0\0\0\0", 8) +
                               R"({"__metadata__":{"format":"pt"},)"
                               R"("weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("mask":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]}})"
                               "    " +
                               std::string("\x00\x00\x80\x3f\x00\x00\x00\x40\x01\x00\x01", 11);
  EXPECT_EQ(Write({{"weight", Array<float>(ElementType::kFloat32, {1, 2}, {2})},
                   {"mask", Array<int32_t>(ElementType::kLogical, {1, 0, 1}, {3})}},
                  {{"format", "pt"}}),
            expected);

  const SafetensorsFile file = Read(expected);
  EXPECT_EQ(file.metadata, (Metadata{{"format", "pt"}}));
  ASSERT_EQ(file.arrays.size(), 2u);
  EXPECT_EQ(file.arrays[0].name, "weight");
  EXPECT_EQ(file.arrays[0].array.dtype, ElementType::kFloat32);
  EXPECT_EQ(Values<float>(file.arrays[0].array), (std::vector<float>{1, 2}));
  EXPECT_EQ(file.arrays[1].name, "mask");
  EXPECT_EQ(file.arrays[1].array.dtype, ElementType::kLogical);
  EXPECT_EQ(Values<int32_t>(file.arrays[1].array), (std::vector<int32_t>{1, 0, 1}));
}

TEST(SafetensorsTest, LeavesOutEmptyMetadata) {
  EXPECT_EQ(Write({{"x", Array<uint8_t>(ElementType::kUint8, {7}, {1})}}),
            std::string("\x38\0\0\0\0\0\0\0", 8) +
                R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}   )" + "\x07");
}

TEST(SafetensorsTest, RoundTripsEveryDtypeAndShape) {
  data::NdArray column_major = Array<int32_t>(ElementType::kInt32, {1, 2, 3, 4, 5, 6}, {2, 3});
  column_major.strides = data::ContiguousStrides(column_major.shape, data::Order::kColumnMajor);
  data::NdArray reversed = Array<double>(ElementType::kFloat64, {1, 2, 3}, {3});
  reversed.strides = {-1};
  reversed.offset = 2;
  const std::vector<NamedArray> arrays = {
      {"u8", Array<uint8_t>(ElementType::kUint8, {0, 255}, {2})},
      {"raw", Array<uint8_t>(ElementType::kRaw, {9}, {1})},
      {"i8", Array<int8_t>(ElementType::kInt8, {-128, 127}, {1, 2})},
      {"i16", Array<int16_t>(ElementType::kInt16, {-3}, {})},
      {"column_major", column_major},
      {"i64", Array<int64_t>(ElementType::kInt64, {INT64_MIN, INT64_MAX}, {2})},
      {"f16", Array<uint16_t>(ElementType::kFloat16, {0x3C00, 0x7C00}, {2, 1})},
      {"f32", Array<float>(ElementType::kFloat32, {}, {0, 3})},
      {"reversed", reversed},
      {"bool", Array<int32_t>(ElementType::kLogical, {0, 1}, {2})},
  };
  const SafetensorsFile file = Read(Write(arrays, {{"b", "2"}, {"a", "1"}}));
  EXPECT_EQ(file.metadata, (Metadata{{"b", "2"}, {"a", "1"}}));
  ASSERT_EQ(file.arrays.size(), arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) {
    EXPECT_EQ(file.arrays[i].name, arrays[i].name);
    EXPECT_EQ(file.arrays[i].array.shape, arrays[i].array.shape);
    EXPECT_EQ(file.arrays[i].array.strides,
              data::ContiguousStrides(arrays[i].array.shape, data::Order::kRowMajor));
  }
  EXPECT_EQ(Values<uint8_t>(file.arrays[0].array), (std::vector<uint8_t>{0, 255}));
  EXPECT_EQ(file.arrays[1].array.dtype, ElementType::kUint8);  // safetensors has no raw type
  EXPECT_EQ(Values<int8_t>(file.arrays[2].array), (std::vector<int8_t>{-128, 127}));
  EXPECT_EQ(Values<int16_t>(file.arrays[3].array), (std::vector<int16_t>{-3}));
  EXPECT_EQ(Values<int32_t>(file.arrays[4].array), (std::vector<int32_t>{1, 3, 5, 2, 4, 6}));
  EXPECT_EQ(Values<int64_t>(file.arrays[5].array), (std::vector<int64_t>{INT64_MIN, INT64_MAX}));
  EXPECT_EQ(file.arrays[6].array.dtype, ElementType::kFloat16);
  EXPECT_EQ(Values<uint16_t>(file.arrays[6].array), (std::vector<uint16_t>{0x3C00, 0x7C00}));
  EXPECT_EQ(file.arrays[7].array.length, 0u);
  EXPECT_EQ(file.arrays[7].array.dtype, ElementType::kFloat32);
  EXPECT_EQ(Values<double>(file.arrays[8].array), (std::vector<double>{3, 2, 1}));
  EXPECT_EQ(file.arrays[9].array.dtype, ElementType::kLogical);
  EXPECT_EQ(Values<int32_t>(file.arrays[9].array), (std::vector<int32_t>{0, 1}));
}

TEST(SafetensorsTest, ReadTensorsAreSlicesOfTheInput) {
  Buffer input = Buffer::Copy(Write({{"a", Array<float>(ElementType::kFloat32, {1, 2, 3}, {3})},
                                     {"b", Array<int64_t>(ElementType::kInt64, {4}, {1})}}));
  absl::StatusOr<SafetensorsFile> file = ReadSafetensors(input);
  ASSERT_TRUE(file.ok()) << file.status();
  const uint8_t* data_start = input.data() + input.size() - 20;
  EXPECT_EQ(file->arrays[0].array.data.data(), data_start);
  EXPECT_EQ(file->arrays[1].array.data.data(), data_start + 12);
}

TEST(SafetensorsTest, WritesContiguousTensorsByReferenceAndGathersOthers) {
  std::vector<float> values(4096);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  const data::NdArray row_major = Array<float>(ElementType::kFloat32, values, {64, 64});
  data::NdArray transposed = row_major;
  transposed.strides = {1, 64};
  std::vector<Buffer> pieces;
  ByteWriter out([&](Buffer piece) {
    pieces.push_back(piece);
    return absl::OkStatus();
  });
  ASSERT_TRUE(WriteSafetensors({{"w", row_major}, {"t", transposed}}, {}, out).ok());
  ASSERT_TRUE(out.Finish().ok());
  ASSERT_EQ(pieces.size(), 3u);                        // the header, then one piece per tensor
  EXPECT_EQ(pieces[1].data(), row_major.data.data());  // not copied
  EXPECT_EQ(pieces[1].size(), 16384u);
  EXPECT_NE(pieces[2].data(), row_major.data.data());  // gathered in C order
  std::vector<float> gathered(4096);
  std::memcpy(gathered.data(), pieces[2].data(), 16384);
  EXPECT_EQ(gathered[1], 64.0f);  // t[0, 1] = w[1, 0]
}

TEST(SafetensorsTest, KeepsHeaderOrderWhateverTheDataOrder) {
  const std::string header = R"({"second":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},)"
                             R"("first":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})";
  const SafetensorsFile file = Read(File(header, std::string("\x01\0\0\0\x02\0\0\0", 8)));
  ASSERT_EQ(file.arrays.size(), 2u);
  EXPECT_EQ(file.arrays[0].name, "second");
  EXPECT_EQ(Values<int32_t>(file.arrays[0].array), (std::vector<int32_t>{2}));
  EXPECT_EQ(file.arrays[1].name, "first");
  EXPECT_EQ(Values<int32_t>(file.arrays[1].array), (std::vector<int32_t>{1}));
}

TEST(SafetensorsTest, AcceptsWhatTheReferenceAccepts) {
  // Unknown fields (of any kind) are ignored, "__metadata__" may be null, empty tensors may share
  // an offset, and the header may end in whitespace.
  const std::string header =
      R"({"__metadata__":null,"e1":{"dtype":"F64","shape":[0],"data_offsets":[0,0],)"
      R"("extra":{"nested":[1,{"x":[]}]},"note":"hi"},)"
      R"("e2":{"dtype":"F64","shape":[2,0],"data_offsets":[0,0]},)"
      R"("one":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}  )"
      "\n ";
  const SafetensorsFile file = Read(File(header, "\x05"));
  EXPECT_TRUE(file.metadata.empty());
  ASSERT_EQ(file.arrays.size(), 3u);
  EXPECT_EQ(file.arrays[0].array.length, 0u);
  EXPECT_EQ(file.arrays[1].array.shape, (std::vector<int64_t>{2, 0}));
  EXPECT_TRUE(file.arrays[2].array.shape.empty());
  EXPECT_EQ(Values<uint8_t>(file.arrays[2].array), (std::vector<uint8_t>{5}));
}

TEST(SafetensorsTest, RefusesToWriteWhatItCannotRepresent) {
  const data::NdArray one = Array<float>(ElementType::kFloat32, {1}, {1});
  EXPECT_EQ(
      std::string(
          WriteError({{"z", Array<double>(ElementType::kComplex128, {1, 2}, {1})}}).message()),
      "safetensors: tensor 'z' is complex128, and safetensors has no complex type");
  EXPECT_EQ(
      std::string(
          WriteError({{"m", Array<int32_t>(ElementType::kLogical, {1, kNaInteger, 0, 0}, {2, 2})}})
              .message()),
      "safetensors: tensor 'm': element [0, 1] is NA; safetensors BOOL has no NA");
  EXPECT_EQ(std::string(WriteError({{"a", one}, {"a", one}}).message()),
            "safetensors: two tensors are named 'a'");
  EXPECT_EQ(std::string(WriteError({{"__metadata__", one}}).message()),
            "safetensors: no tensor may be named \"__metadata__\" (the header's metadata key)");
  EXPECT_EQ(std::string(WriteError({{"a", one}}, {{"k", "1"}, {"k", "2"}}).message()),
            "safetensors: metadata key 'k' appears twice");
  EXPECT_EQ(std::string(WriteError({{"bad\xff", one}}).message()),
            "safetensors: a tensor name or metadata string is not valid UTF-8");
  data::NdArray outside = one;
  outside.offset = 1;
  absl::Status status = WriteError({{"o", outside}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("safetensors: tensor 'o': the view (offset 1"));
}

TEST(SafetensorsTest, RefusesBrokenLengthsAndHeaders) {
  ExpectError("",
              "safetensors: input ends inside the header length (needs 8 bytes, 0 remain) at "
              "byte 0",
              0);
  ExpectError(std::string("\x01\xe1\xf5\x05\0\0\0\0{}", 10),
              "safetensors: header length 100000001 exceeds the limit of 100000000 bytes at byte 0",
              0);
  ExpectError(std::string("\x64\0\0\0\0\0\0\0{\"a\": 1}  ", 18),
              "safetensors: header length 100 runs past the end of the input (10 bytes follow the "
              "length) at byte 0",
              0);
  ExpectError(File("[]"), "safetensors: the header does not start with '{' at byte 8", 8);
  ExpectError(File(""), "safetensors: the header does not start with '{' at byte 8", 8);
  ExpectError(File(R"({"a":})"),
              "safetensors: the header is not valid JSON: syntax error while parsing value - "
              "unexpected '}'; expected '[', '{', or a literal at byte 13",
              13);
  ExpectError(File(R"({"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]}} x)", "\x01"),
              "safetensors: the header is not valid JSON: syntax error while parsing value - "
              "invalid literal; last read: '1]}} x'; expected end of input at byte 61",
              61);
  ExpectError(File(std::string("{\"\xff\":1}")),
              "safetensors: the header is not valid JSON: syntax error while parsing object key - "
              "invalid string: ill-formed UTF-8 byte; last read: '\"\xff'; expected string "
              "literal at byte 10",
              10);
}

TEST(SafetensorsTest, RefusesMalformedTensorEntries) {
  struct Case {
    std::string header;
    std::string message;
  };
  const Case cases[] = {
      {R"({"a":1})", "tensor 'a' is a number, not an object"},
      {R"({"a":[]})", "tensor 'a' is an array, not an object"},
      {R"({"__metadata__":[]})", "\"__metadata__\" is an array, not an object"},
      {R"({"__metadata__":{"k":1}})", "metadata 'k' is a number, not a string"},
      {R"({"__metadata__":{"k":"1","k":"2"}})", "metadata key 'k' appears twice"},
      {R"({"__metadata__":{},"__metadata__":{}})", "\"__metadata__\" appears twice"},
      {R"({"a":{"shape":[],"data_offsets":[0,0]}})", "tensor 'a' has no \"dtype\""},
      {R"({"a":{"dtype":"U8","data_offsets":[0,0]}})", "tensor 'a' has no \"shape\""},
      {R"({"a":{"dtype":"U8","shape":[]}})", "tensor 'a' has no \"data_offsets\""},
      {R"({"a":{"dtype":"U8","dtype":"U8","shape":[],"data_offsets":[0,1]}})",
       "tensor 'a' has \"dtype\" twice"},
      {R"({"a":{"dtype":8,"shape":[],"data_offsets":[0,1]}})", "tensor 'a': \"dtype\" is a number"},
      {R"({"a":{"dtype":["U8"],"shape":[],"data_offsets":[0,1]}})",
       "tensor 'a': \"dtype\" is an array"},
      {R"({"a":{"dtype":"U8","shape":3,"data_offsets":[0,1]}})",
       "tensor 'a': \"shape\" is a number"},
      {R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})",
       "tensor 'a': shape has a negative size -1"},
      {R"({"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})",
       "tensor 'a': shape holds a fraction, not a size"},
      {R"({"a":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,1]}})",
       "tensor 'a': size 9223372036854775808 in shape does not fit in 63 bits"},
      {R"({"a":{"dtype":"U8","shape":[],"data_offsets":[0,1,2]}})",
       "tensor 'a' has more than two data_offsets"},
      {R"({"a":{"dtype":"U8","shape":[],"data_offsets":[1]}})",
       "tensor 'a' has 1 data_offsets, not two (begin, end)"},
      {R"({"a":{"dtype":"U8","shape":[],"data_offsets":["0","1"]}})",
       "tensor 'a': data_offsets holds a string, not an offset"},
      {R"({"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[],)"
       R"("data_offsets":[1,2]}})",
       "tensor 'a' appears twice"},
      {R"({"a":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}})",
       "tensor 'a' has dtype 'BF16', which is not supported (BOOL, U8, I8, I16, I32, I64, F16, "
       "F32 and F64 are)"},
      {R"({"a":{"dtype":"U16","shape":[],"data_offsets":[0,2]}})",
       "tensor 'a' has dtype 'U16', which is not supported (BOOL, U8, I8, I16, I32, I64, F16, "
       "F32 and F64 are)"},
      {R"({"a":{"dtype":"F8_E4M3","shape":[],"data_offsets":[0,1]}})",
       "tensor 'a' has dtype 'F8_E4M3', which is not supported (BOOL, U8, I8, I16, I32, I64, F16, "
       "F32 and F64 are)"},
      {R"({"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}})",
       "tensor 'a' has shape [4294967296, 4294967296], more than 2^62 elements"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    ExpectError(File(c.header, std::string(2, '\0')), "safetensors: " + c.message + " at byte 8",
                8);
  }
}

TEST(SafetensorsTest, RefusesOffsetsThatDoNotTileTheDataBuffer) {
  struct Case {
    std::string tensors;  // the header without its braces
    size_t data_size;
    std::string message;
    uint64_t offset;  // within the data buffer
  };
  const std::string a = R"("a":{"dtype":"I32","shape":[2],"data_offsets":)";
  const std::string b = R"("b":{"dtype":"I32","shape":[1],"data_offsets":)";
  const Case cases[] = {
      {a + "[8,0]}", 8, "tensor 'a' has data_offsets [8, 0], which end before they begin", 8},
      {a + "[0,8]}", 4,
       "tensor 'a' has data_offsets [0, 8], past the end of the 4-byte data buffer", 0},
      {a + "[0,18446744073709551615]}", 8,
       "tensor 'a' has data_offsets [0, 18446744073709551615], past the end of the 8-byte data "
       "buffer",
       0},
      {a + "[0,8]}," + b + "[12,16]}", 16,
       "data bytes [8, 12) belong to no tensor (a gap before tensor 'b')", 8},
      {a + "[4,12]}," + b + "[0,4]}", 16,
       "data bytes [12, 16) after the last tensor belong to no tensor", 12},
      {a + "[0,8]}," + b + "[4,8]}", 8,
       "tensor 'b' (data_offsets [4, 8]) overlaps tensor 'a', "
       "which ends at 8",
       4},
      {a + "[0,6]}", 6,
       "tensor 'a' (I32, shape [2]: 2 elements of 4 bytes) has data_offsets [0, 6], which span 6 "
       "bytes",
       0},
      {a + "[0,4]}", 4,
       "tensor 'a' (I32, shape [2]: 2 elements of 4 bytes) has data_offsets [0, 4], which span 4 "
       "bytes",
       0},
      {a + "[0,8]}", 9, "data bytes [8, 9) after the last tensor belong to no tensor", 8},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.tensors);
    const std::string header = "{" + c.tensors + "}";
    ExpectError(
        File(header, std::string(c.data_size, '\0')),
        "safetensors: " + c.message + " at byte " + std::to_string(8 + header.size() + c.offset),
        8 + header.size() + c.offset);
  }
}

TEST(SafetensorsTest, RefusesBoolBytesOtherThanZeroAndOne) {
  const std::string header = R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})";
  ExpectError(File(header, std::string("\x01\x00\x07", 3)),
              "safetensors: tensor 'm': BOOL element [2] is byte 7, not 0 or 1 at byte " +
                  std::to_string(8 + header.size() + 2),
              8 + header.size() + 2);
}

TEST(SafetensorsTest, RecognisesTheHeader) {
  EXPECT_TRUE(LooksLikeSafetensors(
      Buffer::Copy(Write({{"x", Array<uint8_t>(ElementType::kUint8, {7}, {1})}}))));
  EXPECT_TRUE(LooksLikeSafetensors(Buffer::Copy(File("{}"))));
  EXPECT_FALSE(LooksLikeSafetensors(Buffer::Copy(File("{"))));  // n < 2
  EXPECT_FALSE(LooksLikeSafetensors(Buffer::Copy(File("[]"))));
  EXPECT_FALSE(LooksLikeSafetensors(Buffer::Copy(File("{}").substr(0, 9))));  // n > size - 8
  EXPECT_FALSE(LooksLikeSafetensors(Buffer::Copy(std::string("\x93NUMPY\x01\x00v\x00{'d", 13))));
  EXPECT_FALSE(LooksLikeSafetensors(Buffer::Copy(std::string("PK\x03\x04\x14\0\0\0\0", 9))));
  EXPECT_FALSE(LooksLikeSafetensors(Buffer()));
}

}  // namespace
}  // namespace seriald::arrays
