// The R writer: exact bytes in every encoding, string flags and escapes, NA/NaN bits, reference
// and length encodings, ALTREP expansion, and what R cannot hold.
#include <sys/mman.h>

#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/byte_order.h"
#include "core/rds/altrep.h"
#include "core/rds/reader.h"
#include "core/rds/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/rds/rds_test_util.h"

namespace seriald {
namespace {

using rds_test::Hex;
using rds_test::Read;
using rds_test::ToHex;
using rds_test::Write;
using rds_test::Xdr;
using ::testing::HasSubstr;

Buffer Doubles(std::initializer_list<uint64_t> bits) {
  std::string bytes;
  for (uint64_t b : bits) bytes.append(reinterpret_cast<const char*>(&b), 8);
  return Buffer::Copy(bytes);
}
uint64_t Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

Value Root(Value value, NodeId root) {
  value.roots().push_back(root);
  return value;
}

// c(1.5, NA, NaN, -0, Inf, -Inf)
Value SpecialDoubles() {
  Value value;
  NodeId id = value.Add(Array{ElementType::kFloat64, 6,
                              Doubles({Bits(1.5), kNaRealBits, 0x7FF8000000000000ULL, Bits(-0.0),
                                       Bits(HUGE_VAL), Bits(-HUGE_VAL)})});
  return Root(std::move(value), id);
}

// A version-3 header holds a native encoding name of at most 63 bytes (R_CODESET_MAX); a Value
// built by hand (JSON, the schema) may say more, which no reader would take back
// (fuzz/regressions/json_fuzzer/rds-native-encoding-longer-than-63.json).
TEST(RdsWriterTest, NativeEncodingNamesLongerThanRAllowsAreRefused) {
  for (size_t length : {size_t{63}, size_t{64}}) {
    Value value = SpecialDoubles();
    RStreamInfo source;
    source.version = 3;
    source.native_encoding = std::string(length, 'c');
    value.source().r = source;
    ByteWriter out;
    absl::Status status = WriteR(value, rds::SettingsFor(value, RFormat::kXdr), out);
    if (length == 63) {
      ASSERT_TRUE(status.ok()) << status;
      BufferChain chain;
      ASSERT_TRUE(out.Finish(&chain).ok());
      absl::StatusOr<Value> back = ReadR(chain.Flatten());
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(back->source().r->native_encoding, source.native_encoding);
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(status.message(), "a native encoding name of 64 bytes (R allows 0 to 63)");
      // Version 2 records no native encoding.
      ByteWriter v2;
      EXPECT_TRUE(WriteR(value, rds::SettingsFor(value, RFormat::kXdr, 2), v2).ok());
    }
  }
}

// Attributes that are a pairlist without cells are written as the pairlist's tail: a symbol
// there would read back as attributes of the wrong kind, which the reader refuses
// (fuzz/regressions/proto_value_fuzzer/rds-attributes-cell-less-pairlist-tail-symbol.pb).
TEST(RdsWriterTest, AttributesWrittenAsSomethingOtherThanAPairlistAreRefused) {
  for (bool tail_is_symbol : {true, false}) {
    Value value;
    const NodeId vector = value.Add(Array{ElementType::kFloat64, 1, Doubles({Bits(1.0)})});
    Pairlist empty;
    if (tail_is_symbol) empty.tail = value.Add(Symbol{StringValue{"names"}});
    const NodeId attributes = value.Add(std::move(empty));
    value.mutable_node(vector).attributes = attributes;
    value.roots().push_back(vector);
    ByteWriter out;
    absl::Status status = WriteR(value, rds::SettingsFor(value, RFormat::kXdr), out);
    if (tail_is_symbol) {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(status.message()), HasSubstr("node 0: its attributes are a pairlist "
                                                           "without cells"));
    } else {
      // Written as NULL after the attribute bit: it reads back (RFlags::null_attributes).
      ASSERT_TRUE(status.ok()) << status;
      BufferChain chain;
      ASSERT_TRUE(out.Finish(&chain).ok());
      EXPECT_TRUE(ReadR(chain.Flatten()).ok());
    }
  }
}

// The same for a pairlist cell's attributes, for a chain of cell-less pairlists that ends in a
// symbol (walked once, shared by two owners), and for one whose tail comes back to itself.
TEST(RdsWriterTest, CellAttributesAndChainsOfEmptyPairlistsAreCheckedToo) {
  {
    Value value;
    const NodeId symbol = value.Add(Symbol{StringValue{"names"}});
    Pairlist inner;
    inner.tail = symbol;
    Pairlist outer;
    outer.tail = value.Add(std::move(inner));
    const NodeId chain = value.Add(std::move(outer));
    PairlistCell cell;
    cell.type = CellType::kList;
    cell.value = symbol;
    cell.attributes = chain;
    Pairlist list;
    list.cells.push_back(cell);
    const NodeId root = value.Add(std::move(list));
    value.roots().push_back(root);
    ByteWriter out;
    absl::Status status = WriteR(value, rds::SettingsFor(value, RFormat::kXdr), out);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()),
                HasSubstr(absl::StrCat("node ", root, ": its attributes are a pairlist without")));
  }
  {
    Value value;
    const NodeId vector = value.Add(Array{ElementType::kFloat64, 1, Doubles({Bits(1.0)})});
    const NodeId circle = value.Add(Pairlist{});
    value.Get<Pairlist>(circle).tail = circle;
    value.mutable_node(vector).attributes = circle;
    value.roots().push_back(vector);
    ByteWriter out;
    absl::Status status = WriteR(value, rds::SettingsFor(value, RFormat::kXdr), out);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(
        std::string(status.message()),
        HasSubstr(absl::StrCat("node ", vector, ": its attributes are a pairlist without")));
  }
}

TEST(RdsWriterTest, AsciiWritesRsNumberTokens) {
  // serialize(c(1.5, NA, NaN, -0, Inf, -Inf), NULL, ascii = TRUE, version = 2) in R 4.2.2.
  EXPECT_EQ(*Write(SpecialDoubles(), RFormat::kAscii, 2),
            "A\n2\n262658\n131840\n14\n6\n1.5\nNA\nNaN\n-0\nInf\n-Inf\n");
}

TEST(RdsWriterTest, AsciiHexWritesHexFloats) {
  Value value;
  NodeId id =
      value.Add(Array{ElementType::kFloat64, 3, Doubles({Bits(0.1), kNaRealBits, Bits(1.0 / 3)})});
  // serialize(c(0.1, NA, 1/3), NULL, ascii = NA, version = 3) in R 4.2.2.
  EXPECT_EQ(*Write(Root(std::move(value), id), RFormat::kAsciiHex, 3),
            "A\n3\n262658\n197888\n5\nUTF-8\n14\n3\n0x1.999999999999ap-4\nNA\n"
            "0x1.5555555555555p-2\n");
}

TEST(RdsWriterTest, NaAndNanPayloadsKeepTheirBitsInBinary) {
  Value value;
  NodeId id =
      value.Add(Array{ElementType::kFloat64, 5,
                      Doubles({0x7FF00000000007A2ULL, 0xFFF00000000007A2ULL, 0x7FF80000000007A2ULL,
                               0x7FF8000000000000ULL, 0xFFF8000000000000ULL})});
  Value v = Root(std::move(value), id);
  std::string xdr = *Write(v, RFormat::kXdr, 2);
  EXPECT_EQ(ToHex(xdr.substr(xdr.size() - 40)),
            "7ff00000000007a2fff00000000007a27ff80000000007a27ff8000000000000fff8000000000000");
  // Ascii keeps only NA versus NaN.
  std::string ascii = *Write(v, RFormat::kAscii, 2);
  EXPECT_THAT(ascii, ::testing::EndsWith("14\n5\nNA\nNA\nNA\nNaN\nNaN\n"));
}

TEST(RdsWriterTest, StringsGetRsFlagsAndEscapes) {
  StringVector s;
  s.Append("a\tb\n", StringEncoding::kUtf8);  // ASCII: only the ASCII bit, whatever declared
  s.Append("caf\xc3\xa9", StringEncoding::kUtf8);
  s.AppendNa();
  s.Append("sp ace?\"'\\", StringEncoding::kNative);
  s.Append("\x01\x7f", StringEncoding::kLatin1);
  Value value;
  NodeId id = value.Add(std::move(s));
  // serialize(c("a\tb\n", "café", NA, "sp ace?\"'\\", "\001\177"), NULL, ascii = TRUE,
  // version = 2) in R 4.2.2.
  EXPECT_EQ(*Write(Root(std::move(value), id), RFormat::kAscii, 2),
            "A\n2\n262658\n131840\n16\n5\n262153\n4\na\\tb\\n\n32777\n5\ncaf\\303\\251\n9\n-1\n"
            "262153\n10\nsp\\040ace\\?\\\"\\'\\\\\n262153\n2\n\\001\\177\n");
}

TEST(RdsWriterTest, DeclaredEncodingsOfNonAsciiStrings) {
  StringVector s;
  s.Append("\xe9", StringEncoding::kLatin1);
  s.Append("\xff", StringEncoding::kBytes);
  s.Append("\xc3\xa9", StringEncoding::kNative);
  s.Append("\xc3\xa9", StringEncoding::kAscii);  // mislabelled: written as native
  Value value;
  NodeId id = value.Add(std::move(s));
  Xdr expected;
  expected.Header(2).Int(16).Int(4);
  expected.Int(0x4009).Int(1).Raw("\xe9").Int(0x2009).Int(1).Raw("\xff");
  expected.Int(0x9).Int(2).Raw("\xc3\xa9").Int(0x9).Int(2).Raw("\xc3\xa9");
  EXPECT_EQ(*Write(Root(std::move(value), id), RFormat::kXdr, 2), expected.str());
}

TEST(RdsWriterTest, ListInEveryBinaryEncodingMatchesR) {
  // list(1L, TRUE, as.raw(255), 1i, "x")
  Value value;
  int32_t one = 1;
  double complex[2] = {0, 1};
  StringVector x;
  x.Append("x");
  NodeId items[] = {value.Add(Array{ElementType::kInt32, 1, Buffer::Copy(&one, 4)}),
                    value.Add(Array{ElementType::kLogical, 1, Buffer::Copy(&one, 4)}),
                    value.Add(Array{ElementType::kRaw, 1, Buffer::Copy("\xff", 1)}),
                    value.Add(Array{ElementType::kComplex128, 1, Buffer::Copy(complex, 16)}),
                    value.Add(std::move(x))};
  NodeId id = value.Add(List{false, {items, items + 5}});
  Value v = Root(std::move(value), id);
  EXPECT_EQ(ToHex(*Write(v, RFormat::kXdr, 3)),
            "580a000000030004020200030500000000055554462d3800000013000000050000000d0000000100"
            "0000010000000a00000001000000010000001800000001ff0000000f00000001000000000000000"
            "03ff00000000000000000001000000001000400090000000178");
  EXPECT_EQ(ToHex(*Write(v, RFormat::kNative, 2)),
            "420a02000000020204000003020013000000050000000d00000001000000010000000a0000000100"
            "0000010000001800000001000000ff0f000000010000000000000000000000000000000000f03f10"
            "00000001000000090004000100000078");
}

TEST(RdsWriterTest, SymbolsAreInternedByName) {
  Value value;
  NodeId a1 = value.Add(Symbol{{"a"}});
  NodeId a2 = value.Add(Symbol{{"a"}});  // another node, same name: one table entry
  NodeId id = value.Add(List{false, {a1, a2}});
  Xdr expected;
  expected.Header(2).Int(19).Int(2).Sym("a").Int(0x1FF);
  EXPECT_EQ(*Write(Root(std::move(value), id), RFormat::kXdr, 2), expected.str());
}

TEST(RdsWriterTest, ReferenceIndexPacking) {
  int32_t words[2];
  EXPECT_EQ(rds::PackRef(1, words), 1);
  EXPECT_EQ(words[0], 0x1FF);
  EXPECT_EQ(rds::PackRef(8388607, words), 1);
  EXPECT_EQ(words[0], 0x7FFFFFFF);
  EXPECT_EQ(rds::PackRef(8388608, words), 2);  // beyond the packed range: 255, then the index
  EXPECT_EQ(words[0], 255);
  EXPECT_EQ(words[1], 8388608);
}

TEST(RdsWriterTest, LongVectorLengthUsesTheThreeWordForm) {
  // raw(2^31), backed by untouched anonymous memory so nothing is copied or filled.
  const size_t size = size_t{1} << 31;
  void* memory = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  Value value;
  NodeId id = value.Add(
      Array{ElementType::kRaw, size, Buffer::Wrap(memory, size, [=] { munmap(memory, size); })});
  value.roots().push_back(id);
  ByteWriter out;
  ASSERT_TRUE(WriteR(value, rds::SettingsFor(value, RFormat::kXdr, 3), out).ok());
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  EXPECT_EQ(chain.size(), size + 39);  // the file size R writes (spec §4)
  ASSERT_EQ(chain.pieces().size(), 2u);
  EXPECT_EQ(chain.pieces()[1].data(), memory);  // referenced, not copied
  EXPECT_EQ(ToHex(chain.pieces()[0].view()),
            "580a000000030004020200030500000000055554462d3800000018ffffffff0000000080000000");
}

TEST(RdsWriterTest, AltrepIsKeptInVersion3AndExpandedInVersion2) {
  // serialize(1:3, NULL, version = 3) in R 4.2.2, read back.
  auto value = Read(Hex(
      "580a000000030004020200030500000000055554462d38000000ee0000000200000001000400090000000e63"
      "6f6d706163745f696e747365710000000200000001000400090000000462617365000000020000000d00000"
      "0010000000d000000fe0000000e0000000340080000000000003ff00000000000003ff0000000000000000000"
      "fe"));
  ASSERT_TRUE(value.ok()) << value.status();
  Xdr v2;
  v2.Header(2).Int(13).Int(3).Int(1).Int(2).Int(3);
  EXPECT_EQ(*Write(*value, RFormat::kXdr, 2), v2.str());
}

// deferred_string over `numbers` with scipen 0.
Value DeferredString(Array numbers) {
  Value value;
  NodeId data = value.Add(std::move(numbers));
  int32_t scipen = 0;
  NodeId meta = value.Add(Array{ElementType::kInt32, 1, Buffer::Copy(&scipen, 4)});
  Pairlist state;
  state.cells.push_back(PairlistCell{CellType::kList, kNoNode, data, kNoNode, RFlags{}});
  state.tail = meta;
  NodeId state_id = value.Add(std::move(state));
  NodeId id = value.Add(Altrep{"deferred_string", "base", 16, state_id});
  return Root(std::move(value), id);
}

TEST(RdsWriterTest, DeferredStringsExpandWithRsNumberFormatting) {
  Value value = DeferredString(
      Array{ElementType::kFloat64, 5,
            Doubles({Bits(1.5), kNaRealBits, Bits(1e10), Bits(0.1 + 0.2), Bits(123456.7)})});
  Xdr expected;
  expected.Header(2).Int(16).Int(5).Char("1.5").Int(9).Int(-1).Char("1e+10").Char("0.3");
  expected.Char("123456.7");
  EXPECT_EQ(*Write(value, RFormat::kXdr, 2), expected.str());
  EXPECT_EQ(rds::FormatRealAsR(100000, 0), "1e+05");
  EXPECT_EQ(rds::FormatRealAsR(123456, 0), "123456");
  EXPECT_EQ(rds::FormatRealAsR(100000, 1), "100000");
  EXPECT_EQ(rds::FormatRealAsR(-0.0, 0), "0");
  EXPECT_EQ(rds::FormatRealAsR(1e-4, 0), "1e-04");
  EXPECT_EQ(rds::FormatRealAsR(0.5, 0, ","), "0,5");
  // 0.95577270258218050003...: its 15th digit is a 0 when scaled by exactly 10^15, as R does,
  // and a 1 when divided by an inexact 10^-15.
  EXPECT_EQ(rds::FormatRealAsR(0x1.e95b0a28p-1, 0), "0.95577270258218");
  EXPECT_EQ(rds::FormatRealAsR(0x1.75fc082p-4, 0), "0.091304809320718");
  // 10^23 - 8388608 prints in full with scipen 100: past R's table of exact powers (10^22),
  // rounding is not taken to widen it.
  EXPECT_EQ(rds::FormatRealAsR(0x1.52d02c7e14af6p+76, 100), " 99999999999999991611392");
}

TEST(RdsWriterTest, UnknownAltrepClassCannotBeWrittenAsVersion2) {
  Value value;
  NodeId state = value.Add(Nil{});
  NodeId id = value.Add(Altrep{"arrow_chunked", "arrow", 14, state});
  Value v = Root(std::move(value), id);
  EXPECT_TRUE(Write(v, RFormat::kXdr, 3).ok());
  auto v2 = Write(v, RFormat::kXdr, 2);
  ASSERT_FALSE(v2.ok());
  EXPECT_THAT(std::string(v2.status().message()), HasSubstr("node 1"));
  EXPECT_THAT(std::string(v2.status().message()), HasSubstr("arrow_chunked"));
}

// `count` elements of `type` made by `element(i)`, little-endian (or big-endian), and the same
// values as R holds them (`wide`), for the widening test below.
template <typename Narrow, typename Wide, typename Element>
std::pair<Buffer, Buffer> NarrowAndWide(uint64_t count, Element element, bool big_endian,
                                        Wide (*widen)(Narrow)) {
  std::vector<Narrow> narrow(count);
  std::vector<Wide> wide(count);
  for (uint64_t i = 0; i < count; ++i) {
    narrow[i] = element(i);
    wide[i] = widen(narrow[i]);
  }
  Buffer bytes = Buffer::Copy(narrow.data(), count * sizeof(Narrow));
  if (big_endian && sizeof(Narrow) > 1) {
    auto [swapped, out] = Buffer::Allocate(bytes.size());
    SwapCopy(bytes.data(), out, count, sizeof(Narrow));
    bytes = swapped;
  }
  return {bytes, Buffer::Copy(wide.data(), count * sizeof(Wide))};
}

TEST(RdsWriterTest, NarrowElementsAreWrittenWidenedAsRHoldsThem) {
  // A vector of float32, float16, int8, int16 or uint8 (a FloatTensor converted to R) is written
  // as the double or integer vector R holds its values as, widened a step at a time as it is
  // written: the bytes of writing the widened values themselves, in every format, from either
  // byte order, across several steps (300,001 elements) and with the edge values of each type.
  constexpr uint64_t kCount = 300001;
  const float kFloats[] = {0.0f,
                           -0.0f,
                           1.5f,
                           -3.25e-41f,
                           3.4028235e38f,
                           std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::quiet_NaN()};
  const uint16_t kHalves[] = {0x0000, 0x8000, 0x0001, 0x3c00, 0x7bff, 0x7c00, 0xfc00, 0x7e00};
  for (bool big_endian : {false, true}) {
    const std::pair<Buffer, Buffer> cases[] = {
        NarrowAndWide<float, double>(
            kCount, [&](uint64_t i) { return i < 7 ? kFloats[i] : static_cast<float>(i) / 3; },
            big_endian, +[](float v) { return double{v}; }),
        NarrowAndWide<uint16_t, double>(
            kCount, [&](uint64_t i) { return i < 8 ? kHalves[i] : static_cast<uint16_t>(i); },
            big_endian, +[](uint16_t v) { return double{HalfToFloat(v)}; }),
        NarrowAndWide<int8_t, int32_t>(
            kCount, [](uint64_t i) { return static_cast<int8_t>(i * 7 - 128); }, big_endian,
            +[](int8_t v) { return int32_t{v}; }),
        NarrowAndWide<int16_t, int32_t>(
            kCount, [](uint64_t i) { return static_cast<int16_t>(i * 31 - 32768); }, big_endian,
            +[](int16_t v) { return int32_t{v}; }),
        NarrowAndWide<uint8_t, int32_t>(
            kCount, [](uint64_t i) { return static_cast<uint8_t>(255 - i); }, big_endian,
            +[](uint8_t v) { return int32_t{v}; }),
    };
    const ElementType types[] = {ElementType::kFloat32, ElementType::kFloat16, ElementType::kInt8,
                                 ElementType::kInt16, ElementType::kUint8};
    for (size_t c = 0; c < std::size(cases); ++c) {
      const ElementType wide_type = c < 2 ? ElementType::kFloat64 : ElementType::kInt32;
      for (RFormat format : {RFormat::kXdr, RFormat::kNative, RFormat::kAscii}) {
        SCOPED_TRACE(absl::StrCat(AsAbsl(ElementTypeName(types[c])), big_endian ? " big-endian" : "",
                                  " as format ", static_cast<int>(format)));
        Value narrow;
        const NodeId n = narrow.Add(Array{types[c], kCount, cases[c].first, big_endian});
        Value wide;
        const NodeId w = wide.Add(Array{wide_type, kCount, cases[c].second});
        absl::StatusOr<std::string> from_narrow = Write(Root(std::move(narrow), n), format, 3);
        absl::StatusOr<std::string> from_wide = Write(Root(std::move(wide), w), format, 3);
        ASSERT_TRUE(from_narrow.ok()) << from_narrow.status();
        ASSERT_TRUE(from_wide.ok()) << from_wide.status();
        EXPECT_TRUE(*from_narrow == *from_wide);
      }
    }
  }
}

TEST(RdsWriterTest, RefusesWhatRCannotHold) {
  {
    Value value;
    NodeId id = value.Add(Table{});
    auto r = Write(Root(std::move(value), id), RFormat::kXdr, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "node 0: a table node cannot be written as R");
  }
  {
    Value value;
    // int64: R's doubles hold it exactly only up to 2^53 (a conversion decides, not the writer).
    NodeId id = value.Add(Array{ElementType::kInt64, 1, Buffer::Copy("abcdefgh", 8)});
    auto r = Write(Root(std::move(value), id), RFormat::kXdr, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "node 0: R has no vector of int64 elements");
  }
  {
    Value value;
    NodeId id = value.Add(List{});
    Value v = Root(std::move(value), id);
    v.roots().push_back(id);
    auto r = Write(v, RFormat::kXdr, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("exactly one object"));
  }
}

TEST(RdsWriterTest, RefusesWhatRsReaderWouldMisread) {
  {  // A compact_intseq whose state is one integer, not c(n, first, increment): R reads past it.
    Value value;
    int32_t zero = 0;
    NodeId state = value.Add(Array{ElementType::kInt32, 1, Buffer::Copy(&zero, 4)});
    const NodeId altrep = value.Add(Altrep{"compact_intseq", "base", 13, state});
    Value v = Root(std::move(value), altrep);
    auto r = Write(v, RFormat::kXdr, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(),
              "node 1: ALTREP class compact_intseq (package base) cannot be expanded: its state "
              "is not c(n, first, increment); R's unserialize would misread it");
  }
  {  // An environment whose hash table is a symbol.
    Value value;
    NodeId enclosure = value.Add(Special{SpecialKind::kGlobalEnv});
    NodeId symbol = value.Add(Symbol{StringValue{"x"}});
    NodeId env = value.Add(Environment{false, enclosure, kNoNode, symbol});
    auto r = Write(Root(std::move(value), env), RFormat::kXdr, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(),
              "node 2: an environment's hash table must be a list, not symbol");
  }
  {  // A string element or symbol name keeping a flags word that is not a CHARSXP's.
    Value value;
    StringVector strings;
    strings.Append("a", StringEncoding::kAscii);
    strings.Append("b", StringEncoding::kAscii);
    strings.SetLastCharFlags(1);
    const NodeId id = value.Add(std::move(strings));
    auto r = Write(Root(std::move(value), id), RFormat::kXdr, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(),
              "node 0: element 2 keeps the CHARSXP flags word 1, which is not a CHARSXP's "
              "(type 1; a CHARSXP is type 9 without attributes)");
    Value symbol;
    StringValue name{"x"};
    name.char_flags = 9 | (1 << 9);
    const NodeId symbol_id = symbol.Add(Symbol{name});
    auto s = Write(Root(std::move(symbol), symbol_id), RFormat::kXdr, 3);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().message(),
              "node 0: the symbol's name keeps the CHARSXP flags word 521, which is not a "
              "CHARSXP's (type 9, with attributes; a CHARSXP is type 9 without attributes)");
  }
  {  // ... or whose frame is an integer vector.
    Value value;
    int32_t one = 1;
    NodeId frame = value.Add(Array{ElementType::kInt32, 1, Buffer::Copy(&one, 4)});
    NodeId env = value.Add(Environment{false, kNoNode, frame, kNoNode});
    auto r = Write(Root(std::move(value), env), RFormat::kXdr, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "node 1: an environment's frame must be a pairlist, not array");
  }
}

TEST(RdsWriterTest, NullTagIsNoTag) {
  // R flags a tag only when it is not R_NilValue: a pairlist cell whose tag is an R NULL node
  // writes as the untagged cell, so what is read back writes the same bytes.
  auto pairlist = [](bool null_tag) {
    Value value;
    int32_t one = 1;
    NodeId nil = value.Add(Nil{});
    NodeId item = value.Add(Array{ElementType::kInt32, 1, Buffer::Copy(&one, 4)});
    Pairlist list;
    list.cells.push_back(
        PairlistCell{CellType::kList, null_tag ? nil : kNoNode, item, kNoNode, RFlags{}});
    const NodeId id = value.Add(std::move(list));
    return Root(std::move(value), id);
  };
  Xdr expected;
  expected.Header(3).Int(2).Int(13).Int(1).Int(1).Int(254);
  auto plain = Write(pairlist(false), RFormat::kXdr, 3);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(ToHex(*plain), ToHex(expected.str()));
  auto null_tag = Write(pairlist(true), RFormat::kXdr, 3);
  ASSERT_TRUE(null_tag.ok()) << null_tag.status();
  EXPECT_EQ(ToHex(*null_tag), ToHex(*plain));
  auto reread = Read(*null_tag);
  ASSERT_TRUE(reread.ok()) << reread.status();
  EXPECT_EQ(ToHex(*Write(*reread, RFormat::kXdr, 3)), ToHex(*plain));
}

TEST(RdsWriterTest, RefusesCyclesAndRunawaySharingOfNonReferenceNodes) {
  {  // A list that contains itself.
    Value value;
    NodeId id = value.Add(List{});
    value.Get<List>(id).items = {id};
    auto r = Write(Root(std::move(value), id), RFormat::kXdr, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("node 0: contains itself"));
  }
  {  // 64 levels of a list holding the level below twice: 2^64 lists once expanded.
    Value value;
    NodeId below = value.Add(Nil{});
    for (int i = 0; i < 64; ++i) below = value.Add(List{false, {below, below}});
    auto r = Write(Root(std::move(value), below), RFormat::kXdr, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("expands to more than"));
  }
  {  // Sharing within the budget is written once per use, as R does.
    Value value;
    NodeId one = value.Add(Array{ElementType::kInt32, 0, Buffer()});
    NodeId id = value.Add(List{false, {one, one}});
    Xdr expected;
    expected.Header(2).Int(19).Int(2).Int(13).Int(0).Int(13).Int(0);
    EXPECT_EQ(*Write(Root(std::move(value), id), RFormat::kXdr, 2), expected.str());
  }
}

TEST(RdsWriterTest, HeaderKeepsTheSourcesVersionsAndEncoding) {
  Value value = SpecialDoubles();
  value.source().r =
      RStreamInfo{RFormat::kXdr, 3, 0x00030600, 0x00030500, "latin1", RCompression::kNone, ""};
  std::string bytes = *Write(value, RFormat::kXdr, 3);
  Xdr expected;
  expected.Raw("X\n").Int(3).Int(0x00030600).Int(0x00030500).Int(6).Raw("latin1");
  EXPECT_EQ(bytes.substr(0, expected.str().size()), expected.str());
  // Another version takes that version's minimal reader.
  std::string v2 = *Write(value, RFormat::kXdr, 2);
  EXPECT_EQ(ToHex(v2.substr(0, 14)), "580a000000020003060000020300");
}

}  // namespace
}  // namespace seriald
