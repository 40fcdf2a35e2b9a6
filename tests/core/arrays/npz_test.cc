// numpy .npz: archives numpy writes, round trips stored and deflated, and hostile archives (zip
// bombs, corrupt data, entries that are not npy files).
#include "core/arrays/npz.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/arrays/npy.h"
#include "core/data/ndarray.h"
#include "core/io/byte_order.h"
#include "core/io/file.h"
#include "core/io/input_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/arrays/array_testing.h"

namespace seriald::arrays {
namespace {

using ::testing::HasSubstr;

// Literals written by numpy 1.24.2 and Python 3.11's zipfile (Debian 12): the expression in each
// comment was run on `f = io.BytesIO()` and f.getvalue() printed as a C string, printable ASCII
// as itself.

// np.savez(f, a=np.arange(3, dtype='<i4'), b=np.array([[1.5, 2.5]])): 518 bytes
constexpr char kNumpySavez[] =
    "PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00!\x00\x02\xec\xbd\xa9\x8c\x00\x00\x00\x8c"
    "\x00\x00\x00\x05\x00\x14\x00"
    "a.npy\x01\x00\x10\x00\x8c\x00\x00\x00\x00\x00\x00\x00"
    "\x8c\x00\x00\x00\x00\x00\x00\x00\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order'"
    ": False, 'shape': (3,), }                                                            "
    "\x0a\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00PK\x03\x04\x14\x00\x00\x00\x00\x00"
    "\x00\x00!\x00Q\x9e"
    "e\xf7\x90\x00\x00\x00\x90\x00\x00\x00\x05\x00\x14\x00"
    "b.npy\x01"
    "\x00\x10\x00\x90\x00\x00\x00\x00\x00\x00\x00\x90\x00\x00\x00\x00\x00\x00\x00\x93NUMPY"
    "\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }              "
    "                                            \x0a\x00\x00\x00\x00\x00\x00\xf8\?\x00\x00"
    "\x00\x00\x00\x00\x04@PK\x01\x02\x14\x03\x14\x00\x00\x00\x00\x00\x00\x00!\x00\x02\xec"
    "\xbd\xa9\x8c\x00\x00\x00\x8c\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x80\x01\x00\x00\x00\x00"
    "a.npyPK\x01\x02\x14\x03\x14\x00\x00\x00\x00\x00\x00\x00!"
    "\x00Q\x9e"
    "e\xf7\x90\x00\x00\x00\x90\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x80\x01\xc3\x00\x00\x00"
    "b.npyPK\x05\x06\x00\x00\x00\x00\x02\x00\x02\x00"
    ""
    "f\x00\x00\x00\x8a\x01\x00\x00\x00\x00";
// np.savez_compressed(f, a=np.arange(3, dtype='<i4'), b=np.array([[1.5, 2.5]])): 388 bytes
constexpr char kNumpySavezCompressed[] =
    "PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00!\x00\x02\xec\xbd\xa9L\x00\x00\x00\x8c\x00"
    "\x00\x00\x05\x00\x14\x00"
    "a.npy\x01\x00\x10\x00\x8c\x00\x00\x00\x00\x00\x00\x00L\x00"
    "\x00\x00\x00\x00\x00\x00\x9b\xec\x17\xea\x1b\x10\xc9\xc8P\xc6P\xad\x9e\x92Z\x9c\\\xa4n"
    "\xa5\xa0n\x93i\xa2\xae\xa3\xa0\x9e\x96_TR\x94\x98\x17\x9f_\x94\x92\x0a\x12wK\xcc)N\x05"
    "\x8a\x17g$\x16\xa4\x02\xf9\x1a\xc6:\x9a:\x0a\xb5\x0a\x14\x00.\x06 `\x04"
    "b& \x06\x00PK"
    "\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00!\x00Q\x9e"
    "e\xf7N\x00\x00\x00\x90\x00\x00\x00"
    "\x05\x00\x14\x00"
    "b.npy\x01\x00\x10\x00\x90\x00\x00\x00\x00\x00\x00\x00N\x00\x00\x00"
    "\x00\x00\x00\x00\x9b\xec\x17\xea\x1b\x10\xc9\xc8P\xc6P\xad\x9e\x92Z\x9c\\\xa4n\xa5\xa0"
    "n\x93"
    "f\xa1\xae\xa3\xa0\x9e\x96_TR\x94\x98\x17\x9f_\x94\x92\x0a\x12wK\xcc)N\x05\x8a"
    "\x17g$\x16\xa4\x02\xf9\x1a\x86:\x0a"
    "F\x9a:\x0a\xb5\x0a"
    "d\x03.\x06"
    "0\xf8"
    "a\x0f\xa1Y"
    "\x1c\x00PK\x01\x02\x14\x03\x14\x00\x00\x00\x08\x00\x00\x00!\x00\x02\xec\xbd\xa9L\x00"
    "\x00\x00\x8c\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01\x00"
    "\x00\x00\x00"
    "a.npyPK\x01\x02\x14\x03\x14\x00\x00\x00\x08\x00\x00\x00!\x00Q\x9e"
    "e\xf7"
    "N\x00\x00\x00\x90\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01"
    "\x83\x00\x00\x00"
    "b.npyPK\x05\x06\x00\x00\x00\x00\x02\x00\x02\x00"
    "f\x00\x00\x00\x08"
    "\x01\x00\x00\x00\x00";
// zipfile, ZIP_STORED: archive/data.pkl (an empty pickled dict), archive/version: 244 bytes
constexpr char kPyTorchLikeZip[] =
    "PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00!\x00\xf2\x91\x02\xc5\x06\x00\x00\x00\x06"
    "\x00\x00\x00\x10\x00\x00\x00"
    "archive/data.pkl\x80\x02}q\x00.PK\x03\x04\x14\x00\x00"
    "\x00\x00\x00\x00\x00!\x00\xd1\x9egU\x02\x00\x00\x00\x02\x00\x00\x00\x0f\x00\x00\x00"
    "a"
    "rchive/version3\x0aPK\x01\x02\x14\x03\x14\x00\x00\x00\x00\x00\x00\x00!\x00\xf2\x91\x02"
    "\xc5\x06\x00\x00\x00\x06\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x80\x01\x00\x00\x00\x00"
    "archive/data.pklPK\x01\x02\x14\x03\x14\x00\x00\x00\x00\x00"
    "\x00\x00!\x00\xd1\x9egU\x02\x00\x00\x00\x02\x00\x00\x00\x0f\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x80\x01"
    "4\x00\x00\x00"
    "archive/versionPK\x05\x06\x00\x00\x00\x00"
    "\x02\x00\x02\x00{\x00\x00\x00"
    "c\x00\x00\x00\x00\x00";
// np.savez(f, counts=np.array([1, 2], dtype='<u2')): 270 bytes
constexpr char kNumpySavezUint16[] =
    "PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00!\x00\x8e\x8d=\x9d\x84\x00\x00\x00\x84\x00"
    "\x00\x00\x0a\x00\x14\x00"
    "counts.npy\x01\x00\x10\x00\x84\x00\x00\x00\x00\x00\x00\x00"
    "\x84\x00\x00\x00\x00\x00\x00\x00\x93NUMPY\x01\x00v\x00{'descr': '<u2', 'fortran_order'"
    ": False, 'shape': (2,), }                                                            "
    "\x0a\x01\x00\x02\x00PK\x01\x02\x14\x03\x14\x00\x00\x00\x00\x00\x00\x00!\x00\x8e\x8d="
    "\x9d\x84\x00\x00\x00\x84\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x80\x01\x00\x00\x00\x00"
    "counts.npyPK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00"
    "8\x00"
    "\x00\x00\xc0\x00\x00\x00\x00\x00";

template <size_t N>
Buffer Bytes(const char (&literal)[N]) {
  return Buffer::Copy(std::string_view(literal, N - 1));
}

std::string WriteArchive(const std::vector<NamedArray>& arrays, bool compressed) {
  ByteWriter out;
  absl::Status status = WriteNpz(arrays, {.compressed = compressed}, out);
  EXPECT_TRUE(status.ok()) << status;
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return chain.ToString();
}

std::string NpyBytes(const data::NdArray& array) {
  ByteWriter out;
  EXPECT_TRUE(WriteNpy(array, out).ok());
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return chain.ToString();
}

std::vector<NamedArray> ReadArchive(const std::string& bytes, ArrayReadLimits limits = {}) {
  absl::StatusOr<std::vector<NamedArray>> arrays = ReadNpz(Buffer::Copy(bytes), limits);
  EXPECT_TRUE(arrays.ok()) << arrays.status();
  if (!arrays.ok()) return {};
  for (const NamedArray& named : *arrays) {
    EXPECT_TRUE(data::CheckView(named.array, named.name).ok());
  }
  return *std::move(arrays);
}

void PutU32(std::string& bytes, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(value >> (8 * i));
}

// Rewrites the uncompressed size that the local header and the central directory declare for
// every entry (libzip writes plain 32-bit sizes for small archives), as a zip bomb would.
void DeclareUncompressedSize(std::string& archive, uint32_t size) {
  for (size_t at = 0; (at = archive.find(std::string("PK\x03\x04", 4), at)) != std::string::npos;
       at += 4) {
    PutU32(archive, at + 22, size);
  }
  for (size_t at = 0; (at = archive.find(std::string("PK\x01\x02", 4), at)) != std::string::npos;
       at += 4) {
    PutU32(archive, at + 24, size);
  }
}

TEST(NpzTest, ReadsWhatNumpySavezWrites) {
  for (const Buffer& input : {Bytes(kNumpySavez), Bytes(kNumpySavezCompressed)}) {
    absl::StatusOr<std::vector<NamedArray>> arrays = ReadNpz(input, {});
    ASSERT_TRUE(arrays.ok()) << arrays.status();
    ASSERT_EQ(arrays->size(), 2u);
    EXPECT_EQ((*arrays)[0].name, "a");
    EXPECT_EQ((*arrays)[0].array.dtype, ElementType::kInt32);
    EXPECT_EQ(Values<int32_t>((*arrays)[0].array), (std::vector<int32_t>{0, 1, 2}));
    EXPECT_EQ((*arrays)[1].name, "b");
    EXPECT_EQ((*arrays)[1].array.shape, (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(Values<double>((*arrays)[1].array), (std::vector<double>{1.5, 2.5}));
  }
}

TEST(NpzTest, RoundTripsEveryDtypeStoredAndCompressed) {
  data::NdArray fortran = Array<int16_t>(ElementType::kInt16, {1, 2, 3, 4, 5, 6}, {2, 3});
  fortran.strides = data::ContiguousStrides(fortran.shape, data::Order::kColumnMajor);
  data::NdArray every_other = Array<float>(ElementType::kFloat32, {1, 2, 3, 4, 5, 6}, {3});
  every_other.strides = {2};
  const std::vector<NamedArray> arrays = {
      {"u8", Array<uint8_t>(ElementType::kUint8, {0, 255}, {2})},
      {"raw", Array<uint8_t>(ElementType::kRaw, {7}, {1})},
      {"i8", Array<int8_t>(ElementType::kInt8, {-128, 127}, {2})},
      {"fortran", fortran},
      {"i32", Array<int32_t>(ElementType::kInt32, {kNaInteger, 5}, {2})},
      {"i64", Array<int64_t>(ElementType::kInt64, {-1}, {})},
      {"f16", Array<uint16_t>(ElementType::kFloat16, {0x3C00}, {1, 1})},
      {"every_other", every_other},
      {"f64", Array<double>(ElementType::kFloat64, {}, {0, 4})},
      {"c128", Array<double>(ElementType::kComplex128, {1, -1}, {1})},
      {"mask", Array<int32_t>(ElementType::kLogical, {1, 0, 0}, {3})},
      {"dir/nested", Array<int32_t>(ElementType::kInt32, {42}, {1})},
  };
  for (bool compressed : {false, true}) {
    SCOPED_TRACE(compressed ? "compressed" : "stored");
    const std::string archive = WriteArchive(arrays, compressed);
    // numpy.savez stores the npy bytes as they are; savez_compressed deflates them.
    EXPECT_EQ(archive.find(NpyBytes(arrays[4].array)) != std::string::npos, !compressed);
    const std::vector<NamedArray> back = ReadArchive(archive);
    ASSERT_EQ(back.size(), arrays.size());
    for (size_t i = 0; i < back.size(); ++i) EXPECT_EQ(back[i].name, arrays[i].name);
    EXPECT_EQ(back[0].array.dtype, ElementType::kUint8);
    EXPECT_EQ(Values<uint8_t>(back[0].array), (std::vector<uint8_t>{0, 255}));
    EXPECT_EQ(back[1].array.dtype, ElementType::kUint8);  // numpy has no raw type
    EXPECT_EQ(Values<int8_t>(back[2].array), (std::vector<int8_t>{-128, 127}));
    EXPECT_EQ(back[3].array.strides, (std::vector<int64_t>{1, 2}));  // kept in Fortran order
    EXPECT_EQ(Values<int16_t>(back[3].array), (std::vector<int16_t>{1, 3, 5, 2, 4, 6}));
    EXPECT_EQ(Values<int32_t>(back[4].array), (std::vector<int32_t>{kNaInteger, 5}));
    EXPECT_TRUE(back[5].array.shape.empty());
    EXPECT_EQ(Values<int64_t>(back[5].array), (std::vector<int64_t>{-1}));
    EXPECT_EQ(back[6].array.dtype, ElementType::kFloat16);
    EXPECT_EQ(Values<uint16_t>(back[6].array), (std::vector<uint16_t>{0x3C00}));
    EXPECT_EQ(Values<float>(back[7].array), (std::vector<float>{1, 3, 5}));
    EXPECT_EQ(back[8].array.shape, (std::vector<int64_t>{0, 4}));
    EXPECT_EQ(back[8].array.dtype, ElementType::kFloat64);
    EXPECT_EQ(back[9].array.dtype, ElementType::kComplex128);
    EXPECT_EQ(Values<double>(back[9].array), (std::vector<double>{1, -1}));
    EXPECT_EQ(back[10].array.dtype, ElementType::kLogical);
    EXPECT_EQ(Values<int32_t>(back[10].array), (std::vector<int32_t>{1, 0, 0}));
    EXPECT_EQ(Values<int32_t>(back[11].array), (std::vector<int32_t>{42}));
  }
}

TEST(NpzTest, CompressesAndWritesTheSameBytesEveryTime) {
  const std::vector<NamedArray> arrays = {
      {"zeros", Array<double>(ElementType::kFloat64, std::vector<double>(10000, 0.0), {10000})}};
  const std::string stored = WriteArchive(arrays, false);
  const std::string compressed = WriteArchive(arrays, true);
  EXPECT_GT(stored.size(), 80000u);
  EXPECT_LT(compressed.size(), 1000u);
  EXPECT_EQ(WriteArchive(arrays, true), compressed);  // a fixed timestamp: reproducible output
  EXPECT_EQ(WriteArchive(arrays, false), stored);
  // numpy's timestamp, 1980-01-01 00:00 (DOS time and date at bytes 10-13 of a local header).
  const std::string numpy_time = std::string(kNumpySavez, sizeof kNumpySavez - 1).substr(10, 4);
  EXPECT_EQ(numpy_time, std::string("\0\0\x21\0", 4));
  EXPECT_EQ(stored.substr(10, 4), numpy_time);
  EXPECT_EQ(compressed.substr(10, 4), numpy_time);
}

TEST(NpzTest, WritesAnEmptyArchiveForNoArrays) {
  const std::string archive = WriteArchive({}, false);
  EXPECT_EQ(archive, std::string("PK\x05\x06", 4) + std::string(18, '\0'));
  EXPECT_TRUE(LooksLikeNpz(Buffer::Copy(archive)));
  EXPECT_TRUE(ReadArchive(archive).empty());
}

TEST(NpzTest, RecognisesNpzButNotOtherZips) {
  EXPECT_TRUE(LooksLikeNpz(Bytes(kNumpySavez)));
  EXPECT_TRUE(LooksLikeNpz(Bytes(kNumpySavezCompressed)));
  EXPECT_TRUE(LooksLikeNpz(
      Buffer::Copy(WriteArchive({{"x", Array<float>(ElementType::kFloat32, {1}, {1})}}, true))));
  EXPECT_FALSE(LooksLikeNpz(Bytes(kPyTorchLikeZip)));
  EXPECT_FALSE(LooksLikeNpz(Buffer::Copy(std::string("PK\x03\x04 not really a zip", 22))));
  EXPECT_FALSE(LooksLikeNpz(Buffer::Copy(NpyBytes(Array<float>(ElementType::kFloat32, {1}, {1})))));
  EXPECT_FALSE(LooksLikeNpz(Buffer()));
}

TEST(NpzTest, RefusesArchivesWithEntriesThatAreNotNpy) {
  absl::Status status = ReadNpz(Bytes(kPyTorchLikeZip), {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      std::string(status.message()),
      "npz: entry 'archive/data.pkl' is not an .npy file (an npz holds only those) at byte 0");
  EXPECT_EQ(InputErrorFormat(status), "npz");
}

TEST(NpzTest, RefusesADeclaredSizeOverTheLimitBeforeExtracting) {
  // A stored archive of a 16-byte array whose headers claim 4 GiB: refused on the claim, before
  // a byte is extracted.
  std::string archive =
      WriteArchive({{"a", Array<double>(ElementType::kFloat64, {1, 2}, {2})}}, false);
  DeclareUncompressedSize(archive, 0xFFFFFFF0u);
  absl::Status status =
      ReadNpz(Buffer::Copy(archive), {.max_decompressed_bytes = 1u << 30}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(std::string(status.message()),
            "npz: entry 'a.npy' declares 4294967280 bytes, which with the 0 bytes of the entries "
            "before it exceeds 1073741824 bytes (ArrayReadLimits::max_decompressed_bytes)");
  EXPECT_EQ(LimitName(status), "max-decompressed-bytes");
}

TEST(NpzTest, RefusesADeflateBombOverTheLimit) {
  // 16 MiB of zeros deflate to about 16 KiB.
  const std::vector<NamedArray> arrays = {
      {"bomb", Array<uint8_t>(ElementType::kUint8, std::vector<uint8_t>(16 << 20, 0), {16 << 20})}};
  const std::string archive = WriteArchive(arrays, true);
  ASSERT_LT(archive.size(), 100000u);
  absl::Status status =
      ReadNpz(Buffer::Copy(archive), {.max_decompressed_bytes = 1 << 20}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("npz: entry 'bomb.npy' declares 16777344 bytes"));
  // Under a limit that allows it, the same archive reads.
  EXPECT_EQ(ReadArchive(archive, {.max_decompressed_bytes = 32 << 20})[0].array.length,
            uint64_t{16} << 20);
}

TEST(NpzTest, TheLimitCountsAllEntriesTogether) {
  const data::NdArray kilobyte =
      Array<uint8_t>(ElementType::kUint8, std::vector<uint8_t>(1000, 1), {1000});
  const std::string archive = WriteArchive({{"a", kilobyte}, {"b", kilobyte}}, false);
  // Each entry is 1128 bytes (a 128-byte npy header): one fits under 2000, two do not.
  absl::Status status = ReadNpz(Buffer::Copy(archive), {.max_decompressed_bytes = 2000}).status();
  EXPECT_EQ(
      std::string(status.message()),
      "npz: entry 'b.npy' declares 1128 bytes, which with the 1128 bytes of the entries before "
      "it exceeds 2000 bytes (ArrayReadLimits::max_decompressed_bytes)");
  EXPECT_EQ(ReadArchive(archive, {.max_decompressed_bytes = 2256}).size(), 2u);
}

TEST(NpzTest, RefusesAnEntryThatExtractsToMoreThanItDeclares) {
  std::string archive = WriteArchive(
      {{"a", Array<uint8_t>(ElementType::kUint8, std::vector<uint8_t>(5000, 0), {5000})}}, true);
  DeclareUncompressedSize(archive, 100);
  absl::Status status = ReadNpz(Buffer::Copy(archive), {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()),
            "npz: entry 'a.npy' extracts to more than its declared 100 bytes at byte 0");
}

TEST(NpzTest, RefusesAnEntryThatExtractsToLessThanItDeclares) {
  std::string archive = WriteArchive(
      {{"a", Array<uint8_t>(ElementType::kUint8, std::vector<uint8_t>(5000, 0), {5000})}}, true);
  DeclareUncompressedSize(archive, 6000);
  absl::Status status = ReadNpz(Buffer::Copy(archive), {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()),
            "npz: entry 'a.npy' extracts to 5128 bytes, not its declared 6000 at byte 0");
}

TEST(NpzTest, RefusesCorruptArchivesWithLibzipsMessage) {
  const std::string archive =
      WriteArchive({{"a", Array<int32_t>(ElementType::kInt32, {1, 2, 3}, {3})}}, false);
  absl::Status truncated = ReadNpz(Buffer::Copy(archive.substr(0, 100)), {}).status();
  EXPECT_EQ(truncated.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(truncated.message()),
            "npz: not a readable ZIP archive (Not a zip archive) at byte 0");

  std::string flipped = archive;
  const size_t data = flipped.find(std::string("\x01\x00\x00\x00\x02\x00\x00\x00", 8));
  ASSERT_NE(data, std::string::npos);
  flipped[data] = 9;  // the stored element 1 becomes 9; the CRC no longer matches
  absl::Status crc = ReadNpz(Buffer::Copy(flipped), {}).status();
  EXPECT_EQ(std::string(crc.message()), "npz: entry 'a.npy' is corrupt (CRC error) at byte 0");

  EXPECT_EQ(std::string(ReadNpz(Buffer(), {}).status().message()),
            "npz: not a ZIP archive (the input is empty) at byte 0");
}

TEST(NpzTest, RefusesTwoEntriesOfOneName) {
  std::string archive = WriteArchive({{"a", Array<int32_t>(ElementType::kInt32, {1}, {1})},
                                      {"b", Array<int32_t>(ElementType::kInt32, {2}, {1})}},
                                     false);
  // Rename b.npy to a.npy in its local header and its central directory entry.
  for (size_t at = 0; (at = archive.find("b.npy", at)) != std::string::npos;) archive[at] = 'a';
  absl::Status status = ReadNpz(Buffer::Copy(archive), {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()),
            "npz: not a readable ZIP archive (two entries have one name) at byte 0");
}

TEST(NpzTest, ReportsAnEntrysNpyProblemWithTheArrayName) {
  absl::Status status = ReadNpz(Bytes(kNumpySavezUint16), {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()),
            "npy: array 'counts': unsupported dtype '<u2' (uint16) at byte 20");
  EXPECT_EQ(InputErrorOffset(status), 20u);  // inside the entry
}

TEST(NpzTest, WriteRefusesDuplicateNamesAndWhatNpyRefuses) {
  ByteWriter out;
  const data::NdArray one = Array<int32_t>(ElementType::kInt32, {1}, {1});
  absl::Status duplicate = WriteNpz({{"x", one}, {"y", one}, {"x", one}}, {}, out);
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(duplicate.message()), "npz: two arrays are named 'x'");
  absl::Status na =
      WriteNpz({{"mask", Array<int32_t>(ElementType::kLogical, {0, kNaInteger}, {2})}},
               {.compressed = true}, out);
  EXPECT_EQ(na.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(na.message()), "array 'mask': element [1] is NA; numpy bool has no NA");
  // A NUL byte would cut the entry name in libzip and in Python's zipfile ("a\0b.npy" -> "a").
  absl::Status nul = WriteNpz({{"ok", one}, {std::string("a\0b", 3), one}}, {}, out);
  EXPECT_EQ(nul.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(nul.message()),
            "npz: the array name 'a\\000b' holds a NUL byte, which a ZIP entry name cannot hold");
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  EXPECT_EQ(chain.size(), 0u);  // nothing was written
}

// Large arrays for the archive tests below: float32 little-endian, float64 kept big-endian as an
// XDR vector is (swapped as libzip reads it), logicals (written as bools), and a transposed int32
// view (gathered); 300,000 elements pass several of EntrySource's 1 MiB steps.
std::vector<NamedArray> LargeArrays() {
  constexpr uint64_t kCount = 300000;
  std::vector<float> floats(kCount);
  std::vector<double> doubles(kCount);
  std::vector<int32_t> logicals(kCount);
  std::vector<int32_t> ints(kCount);
  for (uint64_t i = 0; i < kCount; ++i) {
    floats[i] = static_cast<float>(i) / 7;
    doubles[i] = static_cast<double>(i) * 0.5 - 3;
    logicals[i] = i % 3 == 0;
    ints[i] = static_cast<int32_t>(i) - 1000;
  }
  data::NdArray big_endian = Array<double>(ElementType::kFloat64, doubles, {kCount});
  auto [swapped, bytes] = Buffer::Allocate(big_endian.data.size());
  SwapCopy(big_endian.data.data(), bytes, kCount, 8);
  big_endian.data = swapped;
  big_endian.big_endian = true;
  data::NdArray transposed = Array<int32_t>(ElementType::kInt32, ints, {500, 600});
  transposed.shape = {600, 500};
  transposed.strides = {1, 600};
  return {{"floats", Array<float>(ElementType::kFloat32, floats, {kCount})},
          {"doubles", big_endian},
          {"mask", Array<int32_t>(ElementType::kLogical, logicals, {kCount})},
          {"transposed", transposed}};
}

TEST(NpzTest, ASpilledArchiveIsTheBytesOfOneBuiltInMemory) {
  // Put together in a spill file (above 0 bytes: always), the archive is the same bytes as in
  // memory, stored or compressed, and goes to the output as the file's mapping.
  const std::vector<NamedArray> arrays = LargeArrays();
  for (bool compressed : {false, true}) {
    SCOPED_TRACE(compressed ? "compressed" : "stored");
    const std::string in_memory = WriteArchive(arrays, compressed);
    ByteWriter out;
    absl::Status status = WriteNpz(
        arrays, {.compressed = compressed, .spill_dir = ::testing::TempDir(), .spill_above = 0},
        out);
    ASSERT_TRUE(status.ok()) << status;
    BufferChain chain;
    ASSERT_TRUE(out.Finish(&chain).ok());
    EXPECT_TRUE(chain.ToString() == in_memory);
    bool mapped = false;
    for (const Buffer& piece : chain.pieces()) mapped = mapped || piece.file_region().has_value();
    EXPECT_TRUE(mapped);
    // The big-endian array reads back with its values.
    absl::StatusOr<std::vector<NamedArray>> read =
        ReadNpz(Buffer::FromString(chain.ToString()), {});
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_EQ(read->size(), 4u);
    double v;
    std::memcpy(&v, (*read)[1].array.data.data() + 8 * 123457, 8);
    EXPECT_EQ(v, 123457 * 0.5 - 3);
  }
  // Small entries: their local headers are written again while still among the bytes gathered
  // for the file, not yet in it.
  const std::vector<NamedArray> small = {
      {"a", Array<int32_t>(ElementType::kInt32, {1, 2, 3}, {3})},
      {"b", Array<double>(ElementType::kFloat64, {0.5, -1}, {2})},
      {"c", Array<int32_t>(ElementType::kLogical, {1, 0}, {2})}};
  for (bool compressed : {false, true}) {
    ByteWriter out;
    ASSERT_TRUE(
        WriteNpz(small,
                 {.compressed = compressed, .spill_dir = ::testing::TempDir(), .spill_above = 0},
                 out)
            .ok());
    BufferChain chain;
    ASSERT_TRUE(out.Finish(&chain).ok());
    EXPECT_TRUE(chain.ToString() == WriteArchive(small, compressed));
  }
  // Without arrays: numpy's lone end record, from the file as from memory.
  ByteWriter out;
  ASSERT_TRUE(WriteNpz({}, {.spill_dir = ::testing::TempDir(), .spill_above = 0}, out).ok());
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  EXPECT_EQ(chain.ToString(), WriteArchive({}, false));
}

TEST(NpzTest, WritingFailsWithTheSpillDirectorysOrTheInputsOwnError) {
  ByteWriter out;
  absl::Status no_directory =
      WriteNpz(LargeArrays(), {.spill_dir = "/nonexistent/spill", .spill_above = 0}, out);
  EXPECT_FALSE(no_directory.ok());
  EXPECT_THAT(no_directory.message(), HasSubstr("/nonexistent/spill"));

  // The spill file's bytes are reserved before they are written: a refused reservation stops
  // the archive with the reservation's own error, and one granted covers the whole archive.
  uint64_t granted = 0;
  auto reserve_up_to = [&granted](uint64_t limit) {
    return [&granted, limit](uint64_t bytes) -> absl::Status {
      if (granted + bytes > limit) return absl::ResourceExhaustedError("no more spill space");
      granted += bytes;
      return absl::OkStatus();
    };
  };
  absl::Status refused = WriteNpz(LargeArrays(),
                                  {.spill_dir = ::testing::TempDir(),
                                   .spill_above = 0,
                                   .reserve_spill = reserve_up_to(1 << 20)},
                                  out);
  EXPECT_EQ(refused, absl::ResourceExhaustedError("no more spill space"));
  granted = 0;
  ByteWriter spilled;
  ASSERT_TRUE(WriteNpz(LargeArrays(),
                       {.spill_dir = ::testing::TempDir(),
                        .spill_above = 0,
                        .reserve_spill = reserve_up_to(uint64_t{1} << 30)},
                       spilled)
                  .ok());
  EXPECT_GE(granted, spilled.size());
  EXPECT_LT(granted, spilled.size() + (2 << 20));

  // A mapped input cut short after it was mapped: libzip reads the entry from the file, and the
  // error says where the file ended, not libzip's "Read error".
  const std::string path = ::testing::TempDir() + "/npz_cut_input";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  const std::vector<char> zeros(size_t{4} << 20, 0);
  ASSERT_EQ(::write(fd, zeros.data(), zeros.size()), static_cast<ssize_t>(zeros.size()));
  absl::StatusOr<Buffer> mapped = MapDescriptor(fd, zeros.size(), path);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  ASSERT_EQ(::ftruncate(fd, 1 << 20), 0);
  ::close(fd);
  ::unlink(path.c_str());
  for (bool spilled : {false, true}) {
    NpzWriteOptions options;
    if (spilled) options = {.spill_dir = ::testing::TempDir(), .spill_above = 0};
    absl::Status cut = WriteNpz(
        {{"x", data::NdArray::Vector(ElementType::kUint8, mapped->size(), *mapped)}}, options, out);
    EXPECT_FALSE(cut.ok());
    EXPECT_THAT(cut.message(), HasSubstr("ends early"));
  }
}

}  // namespace
}  // namespace seriald::arrays
