// The R codecs: recognition, which encoding each writes, compression containers and their
// limits, save() files, and the serialize()/saveRDS()-like convenience functions.
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/io/input_error.h"
#include "core/rds/codec.h"
#include "core/rds/compression.h"
#include "core/rds/serialize.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/rds/rds_test_util.h"

namespace seriald {
namespace {

using rds_test::Read;
using rds_test::Write;
using rds_test::Xdr;
using ::testing::HasSubstr;

Value Sample() {
  Xdr s;
  s.Header(3).Int(0x20D).Int(3).Int(1).Int(2).Int(3);  // 1:3 with attributes
  s.Int(0x402).Sym("names").Int(16).Int(3).Char("a").Char("b").Char("c").Int(254);
  return *Read(s.str());
}

std::string WriteWith(const Codec& codec, const Value& value, WriteOptions options = {}) {
  ByteWriter out;
  EXPECT_TRUE(codec.Write(value, options, out).ok());
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return chain.ToString();
}

TEST(RdsCodecTest, RecognisesEveryRInput) {
  CodecRegistry registry;
  RegisterRdsCodecs(registry);
  const Codec* rds = *registry.Find("rds");
  EXPECT_EQ(rds->family(), "rds");
  for (std::string head :
       {std::string("X\n"), std::string("B\n"), std::string("A\n"), std::string("\nA\n"),
        std::string("RDX3\n"), std::string("RDA2\n"), std::string("RDB3\n")}) {
    EXPECT_EQ(rds->Recognize(Buffer::Copy(head + "rest")).verdict, Recognition::kYes) << head;
  }
  EXPECT_EQ(rds->Recognize(Buffer::Copy("\x1f\x8b\x08")).reason,
            "gzip-compressed (R's saveRDS/save default)");
  EXPECT_EQ(rds->Recognize(Buffer::Copy("BZh91AY")).reason, "bzip2-compressed");
  EXPECT_EQ(rds->Recognize(Buffer::Copy(std::string("\xfd"
                                                    "7zXZ\0\0",
                                                    7)))
                .reason,
            "xz-compressed");
  EXPECT_EQ(rds->Recognize(Buffer::Copy("hello")).verdict, Recognition::kNo);
  EXPECT_EQ(rds->Recognize(Buffer::Copy("RDX4\n")).verdict, Recognition::kNo);
  // The whole registry picks R for R input.
  CodecRegistry core = CoreCodecs();
  auto detected = core.Detect(Buffer::Copy(std::string("X\n\0\0\0\3", 6)));
  ASSERT_TRUE(detected.ok()) << detected.status();
  EXPECT_EQ((*detected)->family(), "rds");
}

TEST(RdsCodecTest, EachCodecWritesItsEncodingAndAllReadEverything) {
  CodecRegistry registry;
  RegisterRdsCodecs(registry);
  Value value = Sample();
  const std::pair<const char*, RFormat> cases[] = {{"rds", RFormat::kXdr},
                                                   {"rds-native", RFormat::kNative},
                                                   {"rds-ascii", RFormat::kAscii},
                                                   {"rds-asciihex", RFormat::kAsciiHex}};
  for (const auto& [name, format] : cases) {
    const Codec* codec = *registry.Find(name);
    std::string bytes = WriteWith(*codec, value);
    EXPECT_EQ(bytes, *Write(value, format, 3)) << name;
    for (const Codec* reader : registry.codecs()) {
      auto back = reader->Read(Buffer::Copy(bytes), ReadOptions{});
      ASSERT_TRUE(back.ok()) << reader->name() << " reading " << name << ": " << back.status();
      EXPECT_EQ(*Write(*back, RFormat::kXdr, 3), *Write(value, RFormat::kXdr, 3));
    }
  }
  WriteOptions v2;
  v2.r_version = 2;
  EXPECT_EQ(WriteWith(**registry.Find("rds"), value, v2), *Write(value, RFormat::kXdr, 2));
}

TEST(RdsCodecTest, CompressedStreamsRoundTrip) {
  Value value = Sample();
  const std::string plain = *Write(value, RFormat::kXdr, 3);
  for (RCompression kind : {RCompression::kGzip, RCompression::kBzip2, RCompression::kXz}) {
    std::string packed = *Write(value, RFormat::kXdr, 3, kind);
    EXPECT_EQ(rds::DetectCompression(packed), kind);
    auto back = Read(packed);
    ASSERT_TRUE(back.ok()) << rds::CompressionName(kind) << ": " << back.status();
    EXPECT_EQ(back->source().r->compression, kind);
    EXPECT_EQ(*Write(*back, RFormat::kXdr, 3, RCompression::kNone), plain);
    // The codec keeps the source's compression by default.
    CodecRegistry registry;
    RegisterRdsCodecs(registry);
    EXPECT_EQ(WriteWith(**registry.Find("rds"), *back), packed);
    // Every truncation is refused.
    for (size_t n = 0; n < packed.size(); n += 7) {
      auto cut = Read(packed.substr(0, n));
      EXPECT_FALSE(cut.ok()) << rds::CompressionName(kind) << " cut at " << n;
    }
  }
  // gzip as R's gzfile writes it: no name, no time, OS 3.
  EXPECT_EQ(rds_test::ToHex(Write(value, RFormat::kXdr, 3, RCompression::kGzip)->substr(0, 10)),
            "1f8b0800000000000003");
}

TEST(RdsCodecTest, CorruptCompressedDataIsAnInputError) {
  std::string gzip = *Write(Sample(), RFormat::kXdr, 3, RCompression::kGzip);
  gzip[12] ^= 0x55;
  gzip[13] ^= 0x55;
  auto r = Read(gzip);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("rds: gzip"));
  auto bz = Read("BZh9garbage-garbage");
  ASSERT_FALSE(bz.ok());
  EXPECT_THAT(std::string(bz.status().message()), HasSubstr("bzip2"));
  auto xz =
      Read(std::string("\xfd"
                       "7zXZ\0garbage",
                       12));
  ASSERT_FALSE(xz.ok());
  EXPECT_THAT(std::string(xz.status().message()), HasSubstr("xz"));
}

TEST(RdsCodecTest, DecompressionIsBoundedByTheLimit) {
  // A 16 MiB raw vector of zeros compresses to a few KiB.
  Value value;
  auto [buffer, bytes] = Buffer::Allocate(16 << 20);
  std::memset(bytes, 0, 16 << 20);
  NodeId id = value.Add(Array{ElementType::kRaw, 16 << 20, buffer});
  value.roots().push_back(id);
  for (RCompression kind : {RCompression::kGzip, RCompression::kBzip2, RCompression::kXz}) {
    std::string bomb = *Write(value, RFormat::kXdr, 3, kind);
    EXPECT_LT(bomb.size(), 100000u);
    ReadOptions options;
    options.max_decompressed_bytes = 1 << 20;
    auto r = Read(bomb, options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(LimitName(r.status()), "max-decompressed-bytes");
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("more than 1048576 bytes"));
    options.max_decompressed_bytes = 17 << 20;
    EXPECT_TRUE(Read(bomb, options).ok()) << rds::CompressionName(kind);
  }
}

TEST(RdsCodecTest, RDataCodecWritesSaveFiles) {
  CodecRegistry registry;
  RegisterRdsCodecs(registry);
  const Codec* rdata = *registry.Find("rdata");
  Xdr s;
  s.Raw("RDX3\n").Header(3).Int(0x402).Sym("x").Int(13).Int(1).Int(5).Int(254);
  auto value = Read(s.str());
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(WriteWith(*rdata, *value), s.str());  // the source's container: uncompressed
  Value fresh = *value;
  fresh.source().r.reset();
  std::string saved = WriteWith(*rdata, fresh);  // save()'s default: gzip, XDR
  EXPECT_EQ(rds::DetectCompression(saved), RCompression::kGzip);
  auto back = Read(saved);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->source().r->rdata_magic, "RDX3");
  // A save() file's root must be the pairlist of objects.
  Value list = Sample();
  ByteWriter out;
  absl::Status status = rdata->Write(list, WriteOptions{}, out);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("root of a save() file must be a pairlist, or NULL for no objects"));
}

TEST(RdsCodecTest, AnEmptySaveFileRoundTrips) {
  // R 4.2.2's save(list = character(0), file = f): gzip around "RDX3\nX\n", the header and
  // NILVALUE, since a pairlist of no objects is R NULL.
  const std::string original = rds_test::Hex(
      "1f8b08000000000000030b728930e68ae06260606066606162626066053219584343dc742d808c7f0074f37aec"
      "20000000");
  CodecRegistry registry;
  RegisterRdsCodecs(registry);
  const Codec* rdata = *registry.Find("rdata");
  auto value = rdata->Read(Buffer::Copy(original), ReadOptions{});
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->node(value->roots()[0]).kind(), NodeKind::kNil);
  EXPECT_EQ(WriteWith(*rdata, *value), original);
  // A pairlist without cells is written as its tail: an empty one is NULL too, one whose tail is
  // an integer vector is no save() file.
  Value empty;
  empty.roots().push_back(empty.Add(Pairlist{}));
  empty.source() = value->source();
  EXPECT_EQ(WriteWith(*rdata, empty), original);
  Value not_a_list;
  int32_t one = 1;
  NodeId tail = not_a_list.Add(Array{ElementType::kInt32, 1, Buffer::Copy(&one, 4)});
  Pairlist cells_none;
  cells_none.tail = tail;
  not_a_list.roots().push_back(not_a_list.Add(std::move(cells_none)));
  ByteWriter out;
  absl::Status status = rdata->Write(not_a_list, WriteOptions{}, out);
  EXPECT_EQ(status.message(),
            "node 1: the root of a save() file must be a pairlist, or NULL for no objects");
}

TEST(RdsCodecTest, ConvenienceFunctionsMirrorR) {
  Value value = Sample();
  auto bytes = SerializeR(value, RFormat::kAscii, 2);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->substr(0, 2), "A\n");
  auto back = UnserializeR(*bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->source().r->version, 2);

  const std::string dir = ::testing::TempDir();
  const std::string rds = dir + "/rds_codec_test.rds";
  ASSERT_TRUE(SaveRds(rds, value).ok());
  auto read = ReadRds(rds);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->source().r->compression, RCompression::kGzip);
  EXPECT_FALSE(LoadRData(rds).ok());

  Xdr s;
  s.Raw("RDX3\n").Header(3).Int(0x402).Sym("x").Int(13).Int(1).Int(5).Int(254);
  const std::string rdata = dir + "/rds_codec_test.RData";
  ASSERT_TRUE(SaveRData(rdata, *Read(s.str()), {RFormat::kXdr, 3, RCompression::kXz}).ok());
  auto loaded = LoadRData(rdata);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->source().r->compression, RCompression::kXz);
  EXPECT_EQ(loaded->source().r->rdata_magic, "RDX3");
  std::remove(rds.c_str());
  std::remove(rdata.c_str());
}

}  // namespace
}  // namespace seriald
