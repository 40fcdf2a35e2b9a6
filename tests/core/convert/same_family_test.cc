// Conversions within a family (core/convert/convert.cc): a big-endian input's arrays reach the
// writer as read (ReadOptions::keep_array_byte_order, Array::big_endian). Every output must be
// the bytes of the plain path, reading into little-endian arrays and writing those, and an array
// whose byte order the output keeps must be the input's own memory, not a copy.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/convert/convert.h"
#include "core/format/codec.h"
#include "core/io/byte_order.h"
#include "core/rds/altrep.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/convert/convert_testing.h"

namespace seriald {
namespace {

using testing::ConvertBytes;

const CodecRegistry& Registry() {
  static const CodecRegistry registry = CoreCodecs();
  return registry;
}

std::string ToBytes(ByteWriter& out) {
  BufferChain chain;
  absl::Status status = out.Finish(&chain);
  EXPECT_TRUE(status.ok()) << status;
  return chain.ToString();
}

// What the plain path writes: `input` read into little-endian arrays, then written as `to`.
std::string ViaLittleEndianValue(const Buffer& input, std::string_view from, std::string_view to,
                                 const WriteOptions& options) {
  absl::StatusOr<Value> value = (*Registry().Find(from))->Read(input, ReadOptions{});
  EXPECT_TRUE(value.ok()) << value.status();
  if (!value.ok()) return "";
  ByteWriter out;
  absl::Status status = (*Registry().Find(to))->Write(*value, options, out);
  EXPECT_TRUE(status.ok()) << status;
  return ToBytes(out);
}

std::string Convert(const Buffer& input, std::string_view from, std::string_view to,
                    const WriteOptions& options) {
  absl::StatusOr<testing::Converted> converted = ConvertBytes(input, from, to, options);
  EXPECT_TRUE(converted.ok()) << converted.status();
  return converted.ok() ? std::string(converted->bytes.view()) : "";
}

template <typename T>
Buffer Elements(const std::vector<T>& values) {
  return Buffer::Copy(values.data(), values.size() * sizeof(T));
}

// Whether `inner` lies within `outer`'s memory.
bool Within(const Buffer& inner, const Buffer& outer) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

// Converts `input` from `format` to itself: the output must be the input's bytes, and one piece
// of it, of `piece_size` bytes, the input's own memory.
void ExpectTheSameBytesSharingAPieceOf(const Buffer& input, std::string_view format,
                                       const WriteOptions& options, size_t piece_size) {
  absl::StatusOr<const Codec*> codec = Registry().Find(format);
  ASSERT_TRUE(codec.ok()) << codec.status();
  ByteWriter out;
  ConversionNotes notes;
  ASSERT_TRUE(ConvertInput(**codec, **codec, input, ReadOptions{}, options, out, notes).ok());
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  EXPECT_EQ(chain.ToString(), input.view());
  bool shared = false;
  for (const Buffer& piece : chain.pieces()) {
    shared |= piece.size() == piece_size && Within(piece, input);
  }
  EXPECT_TRUE(shared) << "no " << piece_size << "-byte piece of the output is the input's memory";
}

// An R list of every atomic vector type and of the ALTREP classes whose writing reads array
// elements: a wrapper (written expanded in version 2), deferred strings (formatted from their
// numbers), compact sequences with double and, as R 3.5 wrote them, integer state.
Value RVectors() {
  Value value;
  std::vector<double> doubles;
  for (int i = 0; i < 5000; ++i) doubles.push_back(i * 0.25 - 7);
  doubles[3] = NAN;
  uint64_t na_real = kNaRealBits;
  std::memcpy(&doubles[4], &na_real, 8);
  std::vector<int32_t> ints;
  for (int i = 0; i < 3000; ++i) ints.push_back(i * 7919 - 100000);
  ints[5] = kNaInteger;
  std::vector<NodeId> items;
  items.push_back(value.Add(Array{ElementType::kFloat64, doubles.size(), Elements(doubles)}));
  items.push_back(value.Add(Array{ElementType::kInt32, ints.size(), Elements(ints)}));
  items.push_back(
      value.Add(Array{ElementType::kLogical, 3, Elements(std::vector<int32_t>{1, 0, kNaInteger})}));
  items.push_back(value.Add(
      Array{ElementType::kComplex128, 2, Elements(std::vector<double>{1.5, -2, 1e300, -0.0})}));
  items.push_back(value.Add(Array{ElementType::kRaw, 4, Elements(std::vector<uint8_t>{0, 1, 254, 255})}));

  auto meta = [&](std::vector<int32_t> words) {
    return value.Add(Array{ElementType::kInt32, words.size(), Elements(words)});
  };
  auto pair = [&](NodeId data, NodeId tail) {
    Pairlist state;
    state.cells.push_back(PairlistCell{CellType::kList, kNoNode, data, kNoNode, RFlags{}});
    state.tail = tail;
    return value.Add(std::move(state));
  };
  // wrap_real over the doubles: sorted unknown (NA), no_na unknown (0).
  items.push_back(value.Add(Altrep{"wrap_real", "base", 14, pair(items[0], meta({kNaInteger, 0}))}));
  // deferred_string over the integers, scipen 0.
  items.push_back(value.Add(Altrep{"deferred_string", "base", 16, pair(items[1], meta({0}))}));
  items.push_back(value.Add(Altrep{
      "compact_intseq", "base", 13,
      value.Add(Array{ElementType::kFloat64, 3, Elements(std::vector<double>{4000, -5, 1})})}));
  items.push_back(value.Add(Altrep{"compact_intseq", "base", 13,
                                   value.Add(Array{ElementType::kInt32, 3,
                                                   Elements(std::vector<int32_t>{6, 10, -1})})}));
  items.push_back(value.Add(Altrep{
      "compact_realseq", "base", 14,
      value.Add(Array{ElementType::kFloat64, 3, Elements(std::vector<double>{700, 0.5, 1})})}));
  List list;
  list.items = items;
  value.roots().push_back(value.Add(std::move(list)));
  return value;
}

Buffer Written(const Value& value, std::string_view format, const WriteOptions& options = {}) {
  ByteWriter out;
  absl::Status status = (*Registry().Find(format))->Write(value, options, out);
  EXPECT_TRUE(status.ok()) << status;
  return Buffer::FromString(ToBytes(out));
}

TEST(SameFamilyTest, XdrArraysReadAsWrittenAreTheInputsOwnBytes) {
  const Buffer input = Written(RVectors(), "rds");
  ReadOptions options;
  options.keep_array_byte_order = true;
  absl::StatusOr<Value> value = (*Registry().Find("rds"))->Read(input, options);
  ASSERT_TRUE(value.ok()) << value.status();
  const Array& doubles = value->Get<Array>(value->Get<List>(value->roots()[0]).items[0]);
  EXPECT_TRUE(doubles.big_endian);
  EXPECT_TRUE(Within(doubles.data, input));
  EXPECT_EQ(LoadElement<double>(doubles, 10), 10 * 0.25 - 7);
  const Array& raw = value->Get<Array>(value->Get<List>(value->roots()[0]).items[4]);
  EXPECT_FALSE(raw.big_endian);  // bytes have no order

  // The same values as the plain read, once in little-endian order.
  absl::StatusOr<Value> plain = (*Registry().Find("rds"))->Read(input, ReadOptions{});
  ASSERT_TRUE(plain.ok()) << plain.status();
  const Array& plain_doubles = plain->Get<Array>(plain->Get<List>(plain->roots()[0]).items[0]);
  EXPECT_FALSE(plain_doubles.big_endian);
  std::string stepped;
  uint64_t steps = 0;
  ForEachLittleEndianStep(doubles, [&](const uint8_t* values, uint64_t count) {
    stepped.append(reinterpret_cast<const char*>(values), count * 8);
    ++steps;
  });
  EXPECT_EQ(stepped, plain_doubles.data.view());
  EXPECT_EQ(steps, 1);  // 40,000 bytes: less than a step
  std::vector<uint8_t> some(16);
  CopyLittleEndian(doubles, 100, 2, some.data());
  EXPECT_EQ(std::memcmp(some.data(), plain_doubles.data.data() + 800, 16), 0);
}

TEST(SameFamilyTest, XdrToXdrSharesTheInputsArrays) {
  const Buffer input = Written(RVectors(), "rds");
  // The 40,000 bytes of doubles are one piece of the output: a slice of the input.
  ExpectTheSameBytesSharingAPieceOf(input, "rds", WriteOptions{}, 40000);
}

TEST(SameFamilyTest, EveryROutputOfAnXdrInputIsThePlainPathsBytes) {
  const Value source = RVectors();
  for (int input_version : {2, 3}) {
    WriteOptions input_options;
    input_options.r_version = input_version;
    const Buffer input = Written(source, "rds", input_options);
    for (std::string_view to : {"rds", "rds-native", "rds-ascii", "rds-asciihex"}) {
      for (int version : {2, 3}) {
        SCOPED_TRACE(absl::StrCat("version ", input_version, " to ", AsAbsl(to), " version ",
                                  version));
        WriteOptions options;
        options.r_version = version;
        const std::string expected = ViaLittleEndianValue(input, "rds", to, options);
        ASSERT_FALSE(expected.empty());
        EXPECT_EQ(Convert(input, "rds", to, options), expected);
      }
    }
    WriteOptions gzip;
    gzip.r_compression = RCompression::kGzip;
    EXPECT_EQ(Convert(input, "rds", "rds", gzip), ViaLittleEndianValue(input, "rds", "rds", gzip));
  }
  // A version-2 stream of the list expands the ALTREP objects from the big-endian arrays: check
  // the values themselves too, read back from native.
  WriteOptions v2;
  v2.r_version = 2;
  absl::StatusOr<Value> back = (*Registry().Find("rds"))
                                   ->Read(Buffer::FromString(Convert(Written(source, "rds"), "rds",
                                                                     "rds-native", v2)),
                                          ReadOptions{});
  ASSERT_TRUE(back.ok()) << back.status();
  const List& items = back->Get<List>(back->roots()[0]);
  const Array& wrapped = back->Get<Array>(items.items[5]);
  EXPECT_EQ(LoadElement<double>(wrapped, 4999), 4999 * 0.25 - 7);
  const StringVector& strings = back->Get<StringVector>(items.items[6]);
  EXPECT_EQ(strings.Get(1).bytes, "-92081");
  EXPECT_TRUE(strings.Get(5).is_na);
  const Array& sequence = back->Get<Array>(items.items[7]);
  EXPECT_EQ(LoadElement<int32_t>(sequence, 3999), -5 + 3999);
}

// A Torch7 stream of every storage type, each behind a tensor, and a LongStorage.
Buffer Torch7Stream(bool big_endian, int long_size) {
  Value value;
  Table table;
  int key = 1;
  auto add_storage = [&](std::string class_name, ElementType type, Buffer data, uint64_t count) {
    NodeId array = value.Add(Array{type, count, std::move(data)});
    NodeId storage = value.Add(TorchObject{std::move(class_name), "1", array});
    NodeId number = value.Add(Number{static_cast<double>(key++)});
    table.entries.push_back(TableEntry{number, storage});
  };
  std::vector<double> doubles(3000);
  for (size_t i = 0; i < doubles.size(); ++i) doubles[i] = std::ldexp(static_cast<double>(i), -3) - 1;
  std::vector<float> floats(doubles.begin(), doubles.end());
  std::vector<int64_t> longs(2000);
  for (size_t i = 0; i < longs.size(); ++i) longs[i] = static_cast<int64_t>(i) * -1000003;
  std::vector<int32_t> ints(longs.begin(), longs.end());
  std::vector<int16_t> shorts(500);
  for (size_t i = 0; i < shorts.size(); ++i) shorts[i] = static_cast<int16_t>(i * 131 - 30000);
  std::vector<uint8_t> bytes{1, 2, 3, 250};
  add_storage("torch.DoubleStorage", ElementType::kFloat64, Elements(doubles), doubles.size());
  add_storage("torch.FloatStorage", ElementType::kFloat32, Elements(floats), floats.size());
  add_storage("torch.LongStorage", ElementType::kInt64, Elements(longs), longs.size());
  add_storage("torch.IntStorage", ElementType::kInt32, Elements(ints), ints.size());
  add_storage("torch.ShortStorage", ElementType::kInt16, Elements(shorts), shorts.size());
  add_storage("torch.ByteStorage", ElementType::kUint8, Elements(bytes), bytes.size());
  // A tensor over the doubles: 30 x 100.
  NodeId storage = table.entries[0].value;
  NodeId tensor = value.Add(Tensor{{30, 100}, {100, 1}, 0, storage});
  NodeId tensor_object = value.Add(TorchObject{"torch.DoubleTensor", "1", tensor});
  table.entries.push_back(TableEntry{value.Add(StringValue{"tensor"}), tensor_object});
  value.roots().push_back(value.Add(std::move(table)));
  WriteOptions options;
  options.torch7_big_endian = big_endian;
  options.torch7_long_size = long_size;
  return Written(value, "t7", options);
}

TEST(SameFamilyTest, EveryTorch7OutputOfABigEndianInputIsThePlainPathsBytes) {
  for (int input_long_size : {8, 4}) {
    const Buffer input = Torch7Stream(/*big_endian=*/true, input_long_size);
    for (bool big_endian : {false, true}) {
      for (int long_size : {8, 4}) {
        SCOPED_TRACE(absl::StrCat(input_long_size, "-byte longs to ",
                                  big_endian ? "big" : "little", "-endian ", long_size));
        WriteOptions options;
        options.torch7_big_endian = big_endian;
        options.torch7_long_size = long_size;
        const std::string expected = ViaLittleEndianValue(input, "t7", "t7", options);
        ASSERT_FALSE(expected.empty());
        EXPECT_EQ(Convert(input, "t7", "t7", options), expected);
      }
    }
    EXPECT_EQ(Convert(input, "t7", "t7-ascii", {}),
              ViaLittleEndianValue(input, "t7", "t7-ascii", {}));
  }
  // Big-endian to big-endian is the input itself, its storages passed by reference.
  const Buffer input = Torch7Stream(true, 8);
  WriteOptions big;
  big.torch7_big_endian = true;
  ExpectTheSameBytesSharingAPieceOf(input, "t7", big, 24000);  // the DoubleStorage
}

TEST(SameFamilyTest, ArraysOfSeveralStepsReachAsciiAndFourByteLongsWhole) {
  // 300,000 elements: big-endian arrays reach ascii output (and 4-byte longs) a MiB at a time,
  // and the pieces must join into one array call.
  constexpr size_t kCount = 300000;
  std::vector<double> doubles(kCount);
  std::vector<int64_t> longs(kCount);
  for (size_t i = 0; i < kCount; ++i) {
    doubles[i] = std::ldexp(static_cast<double>(i), -5) - 3;
    longs[i] = static_cast<int64_t>(i) * 7 - 1000;
  }
  Value t7;
  Table table;
  table.entries.push_back(TableEntry{
      t7.Add(Number{1}),
      t7.Add(TorchObject{"torch.DoubleStorage", "1",
                         t7.Add(Array{ElementType::kFloat64, kCount, Elements(doubles)})})});
  table.entries.push_back(TableEntry{
      t7.Add(Number{2}),
      t7.Add(TorchObject{"torch.LongStorage", "1",
                         t7.Add(Array{ElementType::kInt64, kCount, Elements(longs)})})});
  t7.roots().push_back(t7.Add(std::move(table)));
  WriteOptions big;
  big.torch7_big_endian = true;
  const Buffer t7_input = Written(t7, "t7", big);
  EXPECT_EQ(Convert(t7_input, "t7", "t7-ascii", {}),
            ViaLittleEndianValue(t7_input, "t7", "t7-ascii", {}));
  WriteOptions four;
  four.torch7_long_size = 4;
  EXPECT_EQ(Convert(t7_input, "t7", "t7", four), ViaLittleEndianValue(t7_input, "t7", "t7", four));

  Value r;
  r.roots().push_back(r.Add(Array{ElementType::kFloat64, kCount, Elements(doubles)}));
  const Buffer r_input = Written(r, "rds");
  const std::string ascii = Convert(r_input, "rds", "rds-ascii", {});
  EXPECT_EQ(ascii, ViaLittleEndianValue(r_input, "rds", "rds-ascii", {}));
  EXPECT_NE(ascii.find("\n9371.46875\n"), std::string::npos);  // element 299,983
}

// A damaged input fails a conversion within its family exactly as it fails the plain read: the
// same status, message and byte offset, whether its arrays are kept as written or not.
void ExpectTheSameFailures(const Buffer& input, std::string_view format) {
  const Codec* codec = *Registry().Find(format);
  int failures = 0;
  for (size_t size = 0; size < input.size(); size += size + 64 < input.size() ? 7 : 1) {
    const Buffer prefix = input.Slice(0, size);
    const absl::Status plain = codec->Read(prefix, ReadOptions{}).status();
    const absl::StatusOr<testing::Converted> converted = ConvertBytes(prefix, format, format);
    ASSERT_EQ(converted.status(), plain) << size << " of " << input.size() << " bytes";
    failures += !plain.ok();
  }
  EXPECT_GT(failures, 0);
}

TEST(SameFamilyTest, TruncatedInputFailsAsThePlainReadFails) {
  ExpectTheSameFailures(Written(RVectors(), "rds"), "rds");
  ExpectTheSameFailures(Torch7Stream(/*big_endian=*/true, 8), "t7");
}

TEST(SameFamilyTest, AVectorLongerThanItsInputIsRefusedAtItsOffset) {
  // XDR version 3: a double vector claiming 2^31 - 1 elements, holding one.
  std::string xdr = "X\n";
  for (uint32_t word : {3u, 0x00040202u, 0x00030500u, 5u}) {
    const uint32_t be = __builtin_bswap32(word);
    xdr.append(reinterpret_cast<const char*>(&be), 4);
  }
  xdr += "UTF-8";
  for (uint32_t word : {14u, 0x7FFFFFFFu, 0x3FF00000u, 0u}) {
    const uint32_t be = __builtin_bswap32(word);
    xdr.append(reinterpret_cast<const char*>(&be), 4);
  }
  const Buffer input = Buffer::FromString(xdr);
  const absl::StatusOr<testing::Converted> converted = ConvertBytes(input, "rds", "rds");
  ASSERT_FALSE(converted.ok());
  EXPECT_EQ(converted.status(), (*Registry().Find("rds"))->Read(input, ReadOptions{}).status());
  EXPECT_EQ(converted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(converted.status().message()),
              ::testing::HasSubstr("vector of 2147483647 elements needs at least 17179869176 "
                                   "more bytes, but only 8 remain at byte 31"));
}

TEST(SameFamilyTest, OnlyAConversionWithinTheFamilyKeepsTheByteOrder) {
  // To another family the arrays are values: a big-endian input reaches R as its numbers.
  const Buffer input = Torch7Stream(true, 8);
  absl::StatusOr<testing::Converted> r = ConvertBytes(input, "t7", "rds-native");
  ASSERT_TRUE(r.ok()) << r.status();
  const Buffer little = Torch7Stream(false, 8);
  absl::StatusOr<testing::Converted> from_little = ConvertBytes(little, "t7", "rds-native");
  ASSERT_TRUE(from_little.ok()) << from_little.status();
  EXPECT_EQ(r->bytes.view(), from_little->bytes.view());
  // And to an array file.
  absl::StatusOr<testing::Converted> arrays = ConvertBytes(input, "t7", "safetensors");
  absl::StatusOr<testing::Converted> arrays_little = ConvertBytes(little, "t7", "safetensors");
  ASSERT_TRUE(arrays.ok()) << arrays.status();
  ASSERT_TRUE(arrays_little.ok()) << arrays_little.status();
  EXPECT_EQ(arrays->bytes.view(), arrays_little->bytes.view());
}

}  // namespace
}  // namespace seriald
