// The R reader: every type and pseudo-type from hand-built or R-written streams, R's read-side
// normalisations, and hostile input.
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/io/input_error.h"
#include "core/rds/primitives.h"
#include "core/rds/reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/rds/rds_test_util.h"
#include "tests/testing/files.h"

namespace seriald {
namespace {

using rds_test::Hex;
using rds_test::Read;
using rds_test::Write;
using rds_test::WriteBack;
using rds_test::Xdr;
using ::testing::HasSubstr;

// serialize(list(1L, TRUE, as.raw(255), 1i, "x"), NULL, version = 3) and the same with
// xdr = FALSE, version = 2, from R 4.2.2.
const char kListX3[] =
    "580a000000030004020200030500000000055554462d3800000013000000050000000d00000001000000010000"
    "000a00000001000000010000001800000001ff0000000f0000000100000000000000003ff000000000000000000"
    "01000000001000400090000000178";
const char kListB2[] =
    "420a02000000020204000003020013000000050000000d00000001000000010000000a00000001000000010000"
    "001800000001000000ff0f000000010000000000000000000000000000000000f03f1000000001000000090004"
    "000100000078";
// serialize(quote(f(x, y = 2)), NULL, version = 2)
const char kCallX2[] =
    "580a0000000200040202000203000000000600000001000400090000000166000000020000000100040009000"
    "000017800000402000000010004000900000001790000000e000000014000000000000000000000fe";
// e <- new.env(parent = emptyenv()); e$a <- 1L; serialize(list(e, e), NULL, version = 2)
const char kSharedEnvX2[] =
    "580a00000002000402020002030000000013000000020000000400000000000000f2000000fe000000130000"
    "001d000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe0000"
    "0402000000010004000900000001610000000d0000000100000001000000fe000000fe000000fe000000fe00"
    "0000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe00"
    "0000fe000000fe000000fe000000fe000000fe000001ff";
// serialize(factor(c("a", "b")), NULL, version = 2)
const char kFactorX2[] =
    "580a0000000200040202000203000000030d000000020000000100000002000004020000000100040009000000"
    "066c6576656c73000000100000000200040009000000016100040009000000016200000402000000010004000"
    "900000005636c61737300000010000000010004000900000006666163746f72000000fe";
// serialize(1:3, NULL, version = 3): compact_intseq
const char kIntseqX3[] =
    "580a000000030004020200030500000000055554462d38000000ee0000000200000001000400090000000e636f"
    "6d706163745f696e747365710000000200000001000400090000000462617365000000020000000d0000000100"
    "00000d000000fe0000000e0000000340080000000000003ff00000000000003ff0000000000000000000fe";

template <typename T>
T Element(const Array& array, size_t i) {
  T v;
  std::memcpy(&v, array.data.data() + i * sizeof(T), sizeof(T));
  return v;
}

void ExpectInputError(const absl::StatusOr<Value>& result, const std::string& fragment) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(fragment));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(" at byte "));
  EXPECT_TRUE(InputErrorOffset(result.status()).has_value());
}

TEST(RdsReaderTest, ReadsAtomicVectorsAndHeader) {
  auto value = Read(Hex(kListX3));
  ASSERT_TRUE(value.ok()) << value.status();
  const RStreamInfo& info = *value->source().r;
  EXPECT_EQ(info.format, RFormat::kXdr);
  EXPECT_EQ(info.version, 3);
  EXPECT_EQ(info.writer_version, 0x00040202);
  EXPECT_EQ(info.min_reader_version, 0x00030500);
  EXPECT_EQ(info.native_encoding, "UTF-8");
  EXPECT_EQ(info.compression, RCompression::kNone);
  const auto& list = value->Get<List>(value->roots()[0]);
  ASSERT_EQ(list.items.size(), 5u);
  const auto& i = value->Get<Array>(list.items[0]);
  EXPECT_EQ(i.type, ElementType::kInt32);
  EXPECT_EQ(Element<int32_t>(i, 0), 1);
  EXPECT_EQ(value->Get<Array>(list.items[1]).type, ElementType::kLogical);
  EXPECT_EQ(value->Get<Array>(list.items[2]).data.view(), "\xff");
  const auto& c = value->Get<Array>(list.items[3]);
  EXPECT_EQ(c.type, ElementType::kComplex128);
  EXPECT_EQ(Element<double>(c, 0), 0.0);
  EXPECT_EQ(Element<double>(c, 1), 1.0);
  const auto& s = value->Get<StringVector>(list.items[4]);
  EXPECT_EQ(s.Get(0).bytes, "x");
  EXPECT_EQ(s.Get(0).encoding, StringEncoding::kAscii);
  auto back = WriteBack(*value);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, Hex(kListX3));
}

TEST(RdsReaderTest, NativeVectorsAreSlicesOfTheInput) {
  Buffer input = Buffer::Copy(Hex(kListB2));
  auto value = ReadR(input);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->source().r->format, RFormat::kNative);
  EXPECT_EQ(value->source().r->version, 2);
  EXPECT_EQ(value->source().r->native_encoding, "");
  const auto& list = value->Get<List>(value->roots()[0]);
  const Array& c = value->Get<Array>(list.items[3]);
  EXPECT_GE(c.data.data(), input.data());
  EXPECT_LT(c.data.data(), input.data() + input.size());
  EXPECT_EQ(Element<double>(c, 1), 1.0);
  EXPECT_EQ(*WriteBack(*value), Hex(kListB2));
}

// An XDR stream's vectors are swapped into new memory, leaving the input as it was; lent the
// input (ReadOptions::input_is_scratch), the reader swaps them where they are when its memory is
// the process's own, and never writes a file mapping or memory wrapped from elsewhere.
TEST(RdsReaderTest, XdrVectorsAreSwappedWhereTheyAreOnlyInALentInput) {
  const std::string bytes = Hex(kListX3);
  auto expect_values = [](const Value& value) {
    const auto& list = value.Get<List>(value.roots()[0]);
    EXPECT_EQ(Element<int32_t>(value.Get<Array>(list.items[0]), 0), 1);
    EXPECT_EQ(Element<int32_t>(value.Get<Array>(list.items[1]), 0), 1);
    const Array& c = value.Get<Array>(list.items[3]);
    EXPECT_FALSE(c.big_endian);
    EXPECT_EQ(Element<double>(c, 0), 0.0);
    EXPECT_EQ(Element<double>(c, 1), 1.0);
    EXPECT_EQ(*WriteBack(value), Hex(kListX3));
  };
  auto inside = [](const Buffer& data, const Buffer& input) {
    return data.data() >= input.data() && data.data() + data.size() <= input.data() + input.size();
  };

  Buffer kept = Buffer::Copy(bytes);
  auto value = ReadR(kept);
  ASSERT_TRUE(value.ok()) << value.status();
  expect_values(*value);
  EXPECT_EQ(kept.view(), bytes);
  EXPECT_FALSE(inside(value->Get<Array>(value->Get<List>(value->roots()[0]).items[3]).data, kept));

  ReadOptions lend;
  lend.input_is_scratch = true;
  Buffer lent = Buffer::Copy(bytes);
  value = ReadR(lent, lend);
  ASSERT_TRUE(value.ok()) << value.status();
  expect_values(*value);
  const auto& list = value->Get<List>(value->roots()[0]);
  for (int item : {0, 1, 3}) {
    EXPECT_TRUE(inside(value->Get<Array>(list.items[item]).data, lent)) << item;
  }
  EXPECT_NE(lent.view(), bytes);  // its vectors now little-endian

  // Memory not the process's own is read as if not lent.
  std::string external = bytes;
  Buffer wrapped = Buffer::Wrap(external.data(), external.size(), [] {});
  EXPECT_EQ(wrapped.WritableBytes(), nullptr);
  value = ReadR(wrapped, lend);
  ASSERT_TRUE(value.ok()) << value.status();
  expect_values(*value);
  EXPECT_EQ(external, bytes);
}

// A lent input cut short fails as one not lent does, with the same error and offset, though
// the vectors before the cut have been swapped where they are.
TEST(RdsReaderTest, ALentInputCutShortFailsAsOneNotLent) {
  const std::string bytes = Hex(kListX3);
  ReadOptions lend;
  lend.input_is_scratch = true;
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    const std::string prefix = bytes.substr(0, cut);
    const absl::StatusOr<Value> kept = ReadR(Buffer::Copy(prefix));
    ASSERT_FALSE(kept.ok()) << cut;
    const absl::StatusOr<Value> lent = ReadR(Buffer::Copy(prefix), lend);
    ASSERT_FALSE(lent.ok()) << cut;
    EXPECT_EQ(lent.status(), kept.status()) << cut;
    EXPECT_EQ(InputErrorOffset(lent.status()), InputErrorOffset(kept.status())) << cut;
  }
}

// A compressed stream's decompressed bytes are the reader's alone: its vectors are swapped there,
// lent or not, and the compressed input is never written. Swapped where they are, two vectors
// stay where the stream has them, 32 bytes apart (three doubles, then the next one's flags and
// length); swapped into new memory (64-byte aligned allocations), never so.
TEST(RdsReaderTest, ACompressedStreamsVectorsAreSwappedInItsDecompressedBytes) {
  Xdr s;
  s.Header(3).Int(19).Int(2);  // list(c(1.5, -2, 1e300), 7)
  s.Int(14).Int(3).Double(1.5).Double(-2).Double(1e300).Int(14).Int(1).Double(7);
  auto plain = Read(s.str());
  ASSERT_TRUE(plain.ok()) << plain.status();
  for (RCompression compression : {RCompression::kGzip, RCompression::kBzip2, RCompression::kXz}) {
    absl::StatusOr<std::string> compressed = Write(*plain, RFormat::kXdr, 3, compression);
    ASSERT_TRUE(compressed.ok()) << compressed.status();
    auto distance = [](const Value& value) {
      const auto& list = value.Get<List>(value.roots()[0]);
      const Array& doubles = value.Get<Array>(list.items[0]);
      EXPECT_FALSE(doubles.big_endian);
      EXPECT_EQ(Element<double>(doubles, 0), 1.5);
      EXPECT_EQ(Element<double>(doubles, 1), -2.0);
      EXPECT_EQ(Element<double>(doubles, 2), 1e300);
      const Array& seven = value.Get<Array>(list.items[1]);
      EXPECT_EQ(Element<double>(seven, 0), 7.0);
      return seven.data.data() - doubles.data.data();
    };
    Buffer input = Buffer::Copy(*compressed);
    auto value = ReadR(input);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(distance(*value), 32);
    EXPECT_EQ(input.view(), *compressed);
    EXPECT_EQ(*WriteBack(*value), *compressed);

    // Decompressed into a spill file, whose read-only mapping is never written: swapped into
    // new memory as before, lent or not.
    testing::ScratchDir spill;
    ReadOptions spilled;
    spilled.spill_dir = spill.path();
    spilled.spill_above_bytes = 0;
    spilled.input_is_scratch = true;
    value = ReadR(input, spilled);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_NE(distance(*value), 32);
    EXPECT_EQ(*WriteBack(*value), *compressed);
  }
}

TEST(RdsReaderTest, ReadsCallsAsPairlistsWithTags) {
  auto value = Read(Hex(kCallX2));
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& call = value->Get<Pairlist>(value->roots()[0]);
  ASSERT_EQ(call.cells.size(), 3u);
  EXPECT_EQ(call.cells[0].type, CellType::kLanguage);
  EXPECT_EQ(value->Get<Symbol>(call.cells[0].value).name.bytes, "f");
  EXPECT_EQ(call.cells[1].type, CellType::kList);
  EXPECT_EQ(call.cells[1].tag, kNoNode);
  EXPECT_EQ(value->Get<Symbol>(call.cells[2].tag).name.bytes, "y");
  EXPECT_EQ(call.tail, kNoNode);
  EXPECT_EQ(*WriteBack(*value), Hex(kCallX2));
}

TEST(RdsReaderTest, SharedEnvironmentIsOneNodeAndRefsResolve) {
  auto value = Read(Hex(kSharedEnvX2));
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& list = value->Get<List>(value->roots()[0]);
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(list.items[0], list.items[1]);
  const auto& env = value->Get<Environment>(list.items[0]);
  EXPECT_EQ(value->Get<Special>(env.enclosure).which, SpecialKind::kEmptyEnv);
  EXPECT_EQ(env.frame, kNoNode);
  EXPECT_EQ(value->Get<List>(env.hash_table).items.size(), 29u);
  EXPECT_EQ(*WriteBack(*value), Hex(kSharedEnvX2));
}

TEST(RdsReaderTest, CyclicEnvironmentRefersToItself) {
  Xdr s;
  s.Header(2).Int(4).Int(0).Int(253);            // env, unlocked, enclosure .GlobalEnv
  s.Int(0x402).Sym("self").Int(0x1FF).Int(254);  // frame: self = REFSXP 1
  s.Int(254).Int(254);                           // no hash table, no attributes
  auto value = Read(s.str());
  ASSERT_TRUE(value.ok()) << value.status();
  NodeId root = value->roots()[0];
  const auto& env = value->Get<Environment>(root);
  EXPECT_EQ(value->Get<Special>(env.enclosure).which, SpecialKind::kGlobalEnv);
  EXPECT_EQ(value->Get<Pairlist>(env.frame).cells[0].value, root);
  EXPECT_EQ(*WriteBack(*value), s.str());
}

TEST(RdsReaderTest, FactorKeepsAttributeOrderAndObjectBit) {
  auto value = Read(Hex(kFactorX2));
  ASSERT_TRUE(value.ok()) << value.status();
  const Node& root = value->node(value->roots()[0]);
  EXPECT_TRUE(root.r_flags.object);
  const auto& attributes = value->Get<Pairlist>(root.attributes);
  ASSERT_EQ(attributes.cells.size(), 2u);
  EXPECT_EQ(value->Get<Symbol>(attributes.cells[0].tag).name.bytes, "levels");
  EXPECT_EQ(value->Get<Symbol>(attributes.cells[1].tag).name.bytes, "class");
  EXPECT_EQ(*WriteBack(*value), Hex(kFactorX2));
}

TEST(RdsReaderTest, ReadsAltrepAsAltrepNode) {
  auto value = Read(Hex(kIntseqX3));
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& altrep = value->Get<Altrep>(value->roots()[0]);
  EXPECT_EQ(altrep.class_name, "compact_intseq");
  EXPECT_EQ(altrep.package, "base");
  EXPECT_EQ(altrep.base_type, 13);
  const auto& state = value->Get<Array>(altrep.state);
  EXPECT_EQ(state.type, ElementType::kFloat64);
  EXPECT_EQ(Element<double>(state, 0), 3.0);
  EXPECT_EQ(*WriteBack(*value), Hex(kIntseqX3));
}

// The info list of an ALTREP item.
void AltrepHeader(Xdr& s, std::string_view klass, int32_t type) {
  s.Int(238).Int(2).Sym(klass).Int(2).Sym("base").Int(2).Int(13).Int(1).Int(type).Int(254);
}

// Reading as R's unserialize() leaves things: what writing must give R's serialize() bytes.
const ReadOptions kNormalise{.r_normalize = true};

TEST(RdsReaderTest, NormalisesAltrepAsRDoes) {
  {  // R 3.5 wrote compact_intseq state as integers; R 4.2 writes doubles.
    Xdr s;
    s.Header(3);
    AltrepHeader(s, "compact_intseq", 13);
    s.Int(13).Int(3).Int(5).Int(10).Int(-1).Int(254);
    auto value = Read(s.str(), kNormalise);
    ASSERT_TRUE(value.ok()) << value.status();
    const auto& state = value->Get<Array>(value->Get<Altrep>(value->roots()[0]).state);
    ASSERT_EQ(state.type, ElementType::kFloat64);
    EXPECT_EQ(Element<double>(state, 1), 10.0);
    EXPECT_EQ(Element<double>(state, 2), -1.0);
  }
  {  // A compact sequence of length 1 is a plain scalar in R.
    Xdr s;
    s.Header(3);
    AltrepHeader(s, "compact_intseq", 13);
    s.Int(14).Int(3).Double(1).Double(7).Double(1).Int(254);
    auto value = Read(s.str(), kNormalise);
    ASSERT_TRUE(value.ok()) << value.status();
    const auto& array = value->Get<Array>(value->roots()[0]);
    EXPECT_EQ(array.type, ElementType::kInt32);
    EXPECT_EQ(Element<int32_t>(array, 0), 7);
  }
  {  // A wrapper whose metadata says nothing is written by R as the plain vector.
    Xdr s;
    s.Header(3);
    AltrepHeader(s, "wrap_real", 14);
    s.Int(2).Int(14).Int(2).Double(1.5).Double(2.5);  // (c(1.5, 2.5) . c(NA, 0))
    s.Int(13).Int(2).Int(INT32_MIN).Int(0);
    s.Int(254);
    auto value = Read(s.str(), kNormalise);
    ASSERT_TRUE(value.ok()) << value.status();
    const auto& array = value->Get<Array>(value->roots()[0]);
    EXPECT_EQ(array.length, 2u);
    EXPECT_EQ(Element<double>(array, 1), 2.5);
  }
}

TEST(RdsReaderTest, NullFunctionEnvironmentsBecomeBaseEnv) {
  Xdr s;
  s.Header(2);
  s.Int(19).Int(2);
  s.Int(3).Int(254).Int(14).Int(1).Double(1);  // closure without env: no formals, body 1
  s.Int(5).Int(14).Int(1).Double(2).Int(14).Int(1).Double(3);  // forced promise, no env
  auto value = Read(s.str(), kNormalise);
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& list = value->Get<List>(value->roots()[0]);
  const auto& closure = value->Get<Closure>(list.items[0]);
  EXPECT_EQ(value->Get<Special>(closure.environment).which, SpecialKind::kBaseEnv);
  EXPECT_EQ(closure.formals, kNoNode);
  const auto& promise = value->Get<Promise>(list.items[1]);
  EXPECT_EQ(value->Get<Special>(promise.environment).which, SpecialKind::kBaseEnv);
  // Written back, the closure and the promise carry env 241 (and the closure its tag bit).
  Xdr expected;
  expected.Header(2);
  expected.Int(19).Int(2);
  expected.Int(0x403).Int(241).Int(254).Int(14).Int(1).Double(1);
  expected.Int(0x405).Int(241).Int(14).Int(1).Double(2).Int(14).Int(1).Double(3);
  EXPECT_EQ(*WriteBack(*value), expected.str());
}

// Without r_normalize, what R would change on reading stays as the stream had it, and writing it
// back gives the stream's own bytes.
TEST(RdsReaderTest, KeepsTheSourceFormUnlessAskedToNormalise) {
  Xdr functions;
  functions.Header(2);
  functions.Int(19).Int(2);
  functions.Int(3).Int(254).Int(14).Int(1).Double(1);                  // closure without env
  functions.Int(5).Int(14).Int(1).Double(2).Int(14).Int(1).Double(3);  // forced promise, no env
  auto value = Read(functions.str());
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& list = value->Get<List>(value->roots()[0]);
  EXPECT_EQ(value->Get<Closure>(list.items[0]).environment, kNoNode);
  EXPECT_EQ(value->Get<Promise>(list.items[1]).environment, kNoNode);
  EXPECT_EQ(*WriteBack(*value), functions.str());

  Xdr old_state;  // R 3.5's compact_intseq state: integers
  old_state.Header(3);
  AltrepHeader(old_state, "compact_intseq", 13);
  old_state.Int(13).Int(3).Int(5).Int(10).Int(-1).Int(254);
  value = Read(old_state.str());
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->Get<Array>(value->Get<Altrep>(value->roots()[0]).state).type,
            ElementType::kInt32);
  EXPECT_EQ(*WriteBack(*value), old_state.str());

  Xdr old_bytecode;  // byte code of version 8, which R 4.2 replaces by its source
  old_bytecode.Header(2);
  // BCODESXP, 1 reps slot; code int(8, 1); 1 constant of type 14: double 7
  old_bytecode.Int(21).Int(1).Int(13).Int(2).Int(8).Int(1);
  old_bytecode.Int(1).Int(14).Int(14).Int(1).Double(7);
  value = Read(old_bytecode.str());
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->node(value->roots()[0]).kind(), NodeKind::kBytecode);
  EXPECT_EQ(*WriteBack(*value), old_bytecode.str());
  value = Read(old_bytecode.str(), kNormalise);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->node(value->roots()[0]).kind(), NodeKind::kArray);

  Xdr old_flags;  // CHARSXPs with levels 0 and the tag bit, a vector with the tag bit: old R
  old_flags.Header(2);
  old_flags.Int(0x410).Int(2).Int(0x0009).Int(1).Raw("a").Int(0x1409).Int(1).Raw("b");
  value = Read(old_flags.str());
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_TRUE(value->node(value->roots()[0]).r_flags.stray_tag);
  EXPECT_EQ(*WriteBack(*value), old_flags.str());
  value = Read(old_flags.str(), kNormalise);
  ASSERT_TRUE(value.ok());
  Xdr normalised;
  normalised.Header(2);
  normalised.Int(0x10).Int(2).Int(0x40009).Int(1).Raw("a").Int(0x40009).Int(1).Raw("b");
  EXPECT_EQ(*WriteBack(*value), normalised.str());
}

// A gzip header other than R's (another OS byte, a time stamp) is kept and written again.
TEST(RdsReaderTest, KeepsAGzipHeaderOtherThanRs) {
  Xdr s;
  s.Header(3).Int(13).Int(2).Int(1).Int(2);
  auto plain = Read(s.str());
  ASSERT_TRUE(plain.ok());
  absl::StatusOr<std::string> gzip = Write(*plain, RFormat::kXdr, 3, RCompression::kGzip);
  ASSERT_TRUE(gzip.ok());
  std::string windows = *gzip;
  windows[4] = '\x12';  // a time stamp
  windows[9] = '\x0b';  // OS: NTFS
  auto value = Read(windows);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->source().r->gzip_header, windows.substr(0, 10));
  EXPECT_EQ(*WriteBack(*value), windows);
  auto from_r = Read(*gzip);
  ASSERT_TRUE(from_r.ok());
  EXPECT_EQ(from_r->source().r->gzip_header, "");  // R's own header is not recorded
}

TEST(RdsReaderTest, ReadsEveryPseudoType) {
  Xdr s;
  s.Header(3).Int(19).Int(10);
  s.Int(253).Int(242).Int(241).Int(250).Int(251).Int(252).Int(254);
  s.Int(249).Int(0).Int(2).Char("stats").Char("4.2.2");
  s.Int(248).Int(0).Int(1).Char("package:stats");
  s.Int(247).Int(0).Int(1).Char("my-env-id");
  auto value = Read(s.str());
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& items = value->Get<List>(value->roots()[0]).items;
  EXPECT_EQ(value->Get<Special>(items[0]).which, SpecialKind::kGlobalEnv);
  EXPECT_EQ(value->Get<Special>(items[1]).which, SpecialKind::kEmptyEnv);
  EXPECT_EQ(value->Get<Special>(items[2]).which, SpecialKind::kBaseEnv);
  EXPECT_EQ(value->Get<Special>(items[3]).which, SpecialKind::kBaseNamespace);
  EXPECT_EQ(value->Get<Special>(items[4]).which, SpecialKind::kMissingArg);
  EXPECT_EQ(value->Get<Special>(items[5]).which, SpecialKind::kUnboundValue);
  EXPECT_EQ(value->node(items[6]).kind(), NodeKind::kNil);
  EXPECT_EQ(value->Get<Namespace>(items[7]).info.Get(1).bytes, "4.2.2");
  EXPECT_EQ(value->Get<PackageEnvironment>(items[8]).info.Get(0).bytes, "package:stats");
  EXPECT_EQ(value->Get<PersistentReference>(items[9]).names.Get(0).bytes, "my-env-id");
  EXPECT_EQ(*WriteBack(*value), s.str());
}

TEST(RdsReaderTest, ReadsFunctionsS4ExpressionsAndDots) {
  Xdr s;
  s.Header(3).Int(19).Int(6);
  s.Int(8).Int(3).Raw("sum");                             // BUILTINSXP
  s.Int(7).Int(2).Raw("if");                              // SPECIALSXP
  s.Int(0x10319).Int(0x402).Sym("class").Int(16).Int(1);  // S4SXP: S4 bit, object, attributes
  s.Int(0x40009).Int(6).Raw("Person").Int(254);
  s.Int(20).Int(1).Int(6).Sym("f").Int(254);                 // EXPRSXP holding the call f()
  s.Int(17).Int(0x405).Int(253).Int(252).Sym("x").Int(254);  // DOTSXP: an unforced promise
  s.Int(0x40009).Int(2).Raw("ok");                           // a CHARSXP standing alone
  auto value = Read(s.str());
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& items = value->Get<List>(value->roots()[0]).items;
  EXPECT_EQ(value->Get<Builtin>(items[0]).name, "sum");
  EXPECT_FALSE(value->Get<Builtin>(items[0]).special);
  EXPECT_TRUE(value->Get<Builtin>(items[1]).special);
  const Node& s4 = value->node(items[2]);
  EXPECT_EQ(s4.kind(), NodeKind::kS4Object);
  EXPECT_EQ(s4.r_flags.levels, 16);
  EXPECT_TRUE(s4.r_flags.object);
  EXPECT_TRUE(value->Get<List>(items[3]).expression);
  const auto& dots = value->Get<Pairlist>(items[4]);
  EXPECT_EQ(dots.cells[0].type, CellType::kDots);
  const auto& promise = value->Get<Promise>(dots.cells[0].value);
  EXPECT_EQ(value->Get<Special>(promise.value).which, SpecialKind::kUnboundValue);
  EXPECT_EQ(value->Get<StringValue>(items[5]).bytes, "ok");
  EXPECT_EQ(*WriteBack(*value), s.str());
}

TEST(RdsReaderTest, DropsAttributesOfCharsxpAsRDoes) {
  Xdr s;
  s.Header(2).Int(0x40209).Int(1).Raw("a").Int(0x402).Sym("n").Int(254).Int(254);
  auto value = Read(s.str());
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->Get<StringValue>(value->roots()[0]).bytes, "a");
  Xdr expected;
  expected.Header(2).Char("a");
  EXPECT_EQ(*WriteBack(*value), expected.str());
}

TEST(RdsReaderTest, ExternalPointersAndWeakReferencesAreReferenced) {
  Xdr s;
  s.Header(3).Int(19).Int(4);
  s.Int(22).Sym("tag").Int(254);  // extptr: prot = symbol tag, tag NULL  (refs: 1 extptr, 2 tag)
  s.Int(0x2FF);                   // the same symbol
  s.Int(0x1FF);                   // the same extptr
  s.Int(23);                      // weak reference (ref 3)
  auto value = Read(s.str());
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& items = value->Get<List>(value->roots()[0]).items;
  EXPECT_EQ(items[2], items[0]);
  EXPECT_EQ(value->Get<ExternalPointer>(items[0]).protected_value, items[1]);
  EXPECT_EQ(value->node(items[3]).kind(), NodeKind::kWeakReference);
  EXPECT_EQ(*WriteBack(*value), s.str());
}

TEST(RdsReaderTest, ReadsLargeReferenceIndexForm) {
  Xdr s;
  s.Header(2).Int(19).Int(2).Sym("a").Int(255).Int(1);  // packed index 0: the index follows
  auto value = Read(s.str());
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& items = value->Get<List>(value->roots()[0]).items;
  EXPECT_EQ(items[0], items[1]);
}

TEST(RdsReaderTest, ByteCodeSharesLanguageCellsThroughReps) {
  Xdr s;
  s.Header(3).Int(21).Int(2);                                        // BCODESXP, nreps 2
  s.Int(13).Int(2).Int(12).Int(1);                                   // code c(12L, 1L)
  s.Int(3);                                                          // 3 constants
  s.Int(244).Int(0).Int(6).Int(254);                                 // BCREPDEF 0 LANGSXP, tag NULL
  s.Int(0).Sym("f");                                                 //   CAR: pad + f
  s.Int(239).Int(0x402).Sym("a").Int(14).Int(1).Double(1).Int(254);  // CDR ATTRLISTSXP + attr
  s.Int(254).Int(0).Sym("x");                                        //   tag NULL, CAR x
  s.Int(0).Int(254);                                                 //   CDR NULL
  s.Int(243).Int(0);                                                 // BCREPREF 0
  s.Int(16).Int(16).Int(1).Char("s");  // an ordinary constant, type repeated
  auto value = Read(s.str());
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& bc = value->Get<Bytecode>(value->roots()[0]);
  ASSERT_EQ(bc.constants.size(), 3u);
  EXPECT_EQ(bc.constants[0], bc.constants[1]);
  const auto& call = value->Get<Pairlist>(bc.constants[0]);
  ASSERT_EQ(call.cells.size(), 2u);
  EXPECT_EQ(call.cells[0].type, CellType::kLanguage);
  EXPECT_NE(call.cells[1].attributes, kNoNode);
  EXPECT_EQ(*WriteBack(*value), s.str());
}

TEST(RdsReaderTest, ByteCodeOfAnotherVersionBecomesItsSource) {
  Xdr s;
  s.Header(3).Int(21).Int(1).Int(13).Int(1).Int(5);  // version 5: R 4.2 cannot run it
  s.Int(1).Int(14).Int(14).Int(1).Double(42);
  auto value = Read(s.str(), kNormalise);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(Element<double>(value->Get<Array>(value->roots()[0]), 0), 42.0);
}

TEST(RdsReaderTest, ReadsAsciiWithNewlineHackAndCrlf) {
  std::string text =
      "\nA\n2\r\n262658\r\n131840\r\n16\r\n2\r\n262153\r\n3\r\na\\040\\n\r\n9\r\n-1\r\n";
  auto value = Read(text);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->source().r->format, RFormat::kAscii);
  const auto& s = value->Get<StringVector>(value->roots()[0]);
  EXPECT_EQ(s.Get(0).bytes, "a \n");
  EXPECT_TRUE(s.Get(1).is_na);
}

TEST(RdsReaderTest, AsciiHexIsRecordedAndDoublesAreExact) {
  std::string text = "A\n3\n262658\n197888\n5\nUTF-8\n14\n3\n0x1.999999999999ap-4\nNA\nNaN\n";
  auto value = Read(text);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->source().r->format, RFormat::kAsciiHex);
  const auto& a = value->Get<Array>(value->roots()[0]);
  EXPECT_EQ(Element<double>(a, 0), 0.1);
  EXPECT_EQ(Element<uint64_t>(a, 1), kNaRealBits);
  EXPECT_EQ(Element<uint64_t>(a, 2), rds::kRNaNBits);
  EXPECT_EQ(*WriteBack(*value), text);
}

TEST(RdsReaderTest, LongVectorLengthIsCheckedAgainstTheInput) {
  // The header of raw(2^31) as R writes it (spec §4): -1, upper 0, lower 0x80000000.
  Xdr s;
  s.Header(3).Int(24).Int(-1).Int(0).Int(INT32_MIN).Raw("only a few bytes");
  ExpectInputError(Read(s.str()),
                   "vector of 2147483648 elements needs at least 2147483648 more bytes");
  Xdr too_long;
  too_long.Header(3).Int(24).Int(-1).Int(65537).Int(0);
  ExpectInputError(Read(too_long.str()), "upper word 65537");
}

TEST(RdsReaderTest, RefusesHostileLengthsBeforeAllocating) {
  Xdr strings;
  strings.Header(3).Int(16).Int(1000000000).Char("a");
  ExpectInputError(Read(strings.str()), "character vector of 1000000000 elements needs at least");
  Xdr list;
  list.Header(3).Int(19).Int(0x7FFFFFFF);
  ExpectInputError(Read(list.str()), "list of 2147483647 elements");
  Xdr negative;
  negative.Header(3).Int(13).Int(-5);
  ExpectInputError(Read(negative.str()), "negative vector length -5");
  Xdr string_length;
  string_length.Header(3).Int(16).Int(1).Int(0x40009).Int(-7);
  ExpectInputError(Read(string_length.str()), "negative string length -7");
  Xdr charsxp;
  charsxp.Header(3).Int(16).Int(1).Int(0x40009).Int(100000).Raw("abc");
  ExpectInputError(Read(charsxp.str()), "input ends inside string");
}

TEST(RdsReaderTest, RefusesBadReferencesAndTypes) {
  Xdr zero;
  zero.Header(3).Int(19).Int(1).Int(255).Int(0);
  ExpectInputError(Read(zero.str()), "reference to index 0, but the table has 0 entries");
  Xdr beyond;
  beyond.Header(3).Int(19).Int(2).Sym("a").Int(0x2FF);
  ExpectInputError(Read(beyond.str()), "reference to index 2, but the table has 1 entries");
  Xdr unknown;
  unknown.Header(3).Int(31);
  ExpectInputError(Read(unknown.str()), "unknown type 31");
  Xdr nil;
  nil.Header(3).Int(0);
  ExpectInputError(Read(nil.str()), "unknown type 0");
  Xdr cdr;  // an unknown type in a pairlist's CDR is reported where its flags are
  cdr.Header(3).Int(2).Int(254).Int(30);
  auto bad_cdr = Read(cdr.str());
  ExpectInputError(bad_cdr, "unknown type 30");
  EXPECT_EQ(InputErrorOffset(bad_cdr.status()), cdr.str().size() - 4);
  Xdr rep;
  rep.Header(3).Int(21).Int(1).Int(13).Int(1).Int(12).Int(1).Int(243).Int(0);
  ExpectInputError(Read(rep.str()), "byte code reps index 0 not defined yet");
  Xdr version;
  version.Header(3);
  std::string bad = version.str();
  bad[5] = 4;
  ExpectInputError(Read(bad), "unsupported serialization version 4");
  ExpectInputError(Read("Q\n"), "unknown input format");
  Xdr attributes;
  attributes.Header(3).Int(0x20E).Int(0).Int(13).Int(0);
  ExpectInputError(Read(attributes.str()), "attributes must be a pairlist");
}

TEST(RdsReaderTest, EveryTruncationIsAnError) {
  std::vector<std::string> streams = {Hex(kListX3), Hex(kListB2), Hex(kCallX2), Hex(kSharedEnvX2),
                                      Hex(kIntseqX3)};
  auto ascii = rds_test::Write(*Read(Hex(kFactorX2)), RFormat::kAscii, 3);
  ASSERT_TRUE(ascii.ok());
  streams.push_back(*ascii);
  for (const std::string& stream : streams) {
    for (size_t n = 0; n < stream.size(); ++n) {
      auto value = Read(stream.substr(0, n));
      ASSERT_FALSE(value.ok()) << "prefix of " << n << " bytes of a " << stream.size()
                               << "-byte stream";
      EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_LE(InputErrorOffset(value.status()).value_or(n + 1), n) << value.status();
    }
  }
}

// list(list(list(... 1L ...))) nested `depth` deep, as R would write it.
std::string DeepList(int depth) {
  Xdr s;
  s.Header(3);
  for (int i = 0; i < depth; ++i) s.Int(19).Int(1);
  s.Int(13).Int(1).Int(1);
  return s.str();
}

TEST(RdsReaderTest, DeepNestingCostsNoStack) {
  const std::string stream = DeepList(200000);
  auto value = Read(stream);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->size(), 200001u);
  auto back = WriteBack(*value);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, stream);

  ReadOptions options;
  options.max_depth = 1000;
  auto refused = Read(stream, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(LimitName(refused.status()), "max-depth");
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("more than 1000 deep"));
}

TEST(RdsReaderTest, LongPairlistsCostNoStack) {
  Xdr s;
  s.Header(2);
  for (int i = 0; i < 100000; ++i) s.Int(0x402).Sym(absl::StrCat("v", i)).Int(13).Int(1).Int(i);
  s.Int(254);
  auto value = Read(s.str());
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& list = value->Get<Pairlist>(value->roots()[0]);
  ASSERT_EQ(list.cells.size(), 100000u);
  EXPECT_EQ(value->Get<Symbol>(list.cells[99999].tag).name.bytes, "v99999");
  EXPECT_EQ(*WriteBack(*value), s.str());
}

TEST(RdsReaderTest, DottedPairKeepsItsTail) {
  Xdr s;
  s.Header(2).Int(2).Int(13).Int(1).Int(1).Int(14).Int(1).Double(2);  // (1L . 2)
  auto value = Read(s.str());
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& pair = value->Get<Pairlist>(value->roots()[0]);
  EXPECT_EQ(pair.cells.size(), 1u);
  EXPECT_EQ(value->Get<Array>(pair.tail).type, ElementType::kFloat64);
  EXPECT_EQ(*WriteBack(*value), s.str());
}

TEST(RdsReaderTest, ReadsSaveFiles) {
  Xdr s;
  s.Raw("RDX2\n").Header(2).Int(0x402).Sym("x").Int(13).Int(1).Int(5).Int(254);
  auto value = Read(s.str());
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->source().r->rdata_magic, "RDX2");
  const auto& objects = value->Get<Pairlist>(value->roots()[0]);
  EXPECT_EQ(value->Get<Symbol>(objects.cells[0].tag).name.bytes, "x");
}

// R stops reading after the object and ignores what follows (robustbase's d1k27.rda ends in a
// stray newline): so does seriald, keeping the bytes for the stream's own format only.
TEST(RdsReaderTest, BytesAfterTheObjectAreKeptAndWrittenBackInTheSameFormatOnly) {
  Xdr trailing;
  trailing.Header(3).Int(254).Raw("xx");
  absl::StatusOr<Value> value = Read(trailing.str());
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->source().r->trailing_bytes.view(), "xx");
  absl::StatusOr<std::string> same = WriteBack(*value);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(*same, trailing.str());
  absl::StatusOr<std::string> native = Write(*value, RFormat::kNative, 3);
  ASSERT_TRUE(native.ok());
  EXPECT_FALSE(native->ends_with("xx"));
  absl::StatusOr<std::string> version2 = Write(*value, RFormat::kXdr, 2);
  ASSERT_TRUE(version2.ok());
  EXPECT_FALSE(version2->ends_with("xx"));
}

}  // namespace
}  // namespace seriald
