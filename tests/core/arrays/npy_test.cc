// numpy .npy: byte-exact output against np.save, every dtype both ways, views, and hostile
// headers with their exact messages and offsets.
#include "core/arrays/npy.h"

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

using ::testing::HasSubstr;

// Literals written by numpy 1.24.2 (Debian 12's python3-numpy): for each, the expression in the
// comment was saved with `f = io.BytesIO(); np.save(f, a); f.getvalue()` (or the write_array call
// shown) and printed as a C string, printable ASCII as itself.

// np.arange(6, dtype='<f4').reshape(2, 3): 152 bytes
constexpr char kFloat32Matrix[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }     "
    "                                                     \x0a\x00\x00\x00\x00\x00\x00\x80"
    "\?\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@";
// np.array(3.5): 136 bytes
constexpr char kFloat64Scalar[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (), }         "
    "                                                     \x0a\x00\x00\x00\x00\x00\x00\x0c@";
// np.zeros((0,), dtype='<i8'): 128 bytes
constexpr char kInt64Empty[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (0,), }       "
    "                                                     \x0a";
// np.zeros((2, 0), dtype='<i4'): 128 bytes
constexpr char kInt32EmptyRows[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': False, 'shape': (2, 0), }     "
    "                                                     \x0a";
// np.array([True, False, True]): 131 bytes
constexpr char kBoolVector[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }       "
    "                                                     \x0a\x01\x00\x01";
// np.asfortranarray(np.arange(6, dtype='<i2').reshape(2, 3)): 140 bytes
constexpr char kInt16Fortran[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }      "
    "                                                     \x0a\x00\x00\x03\x00\x01\x00\x04"
    "\x00\x02\x00\x05\x00";
// np.array([0, 1, 254, 255], dtype='u1'): 132 bytes
constexpr char kUint8Vector[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }       "
    "                                                     \x0a\x00\x01\xfe\xff";
// np.array([-1, 0, 1], dtype='i1'): 131 bytes
constexpr char kInt8Vector[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }       "
    "                                                     \x0a\xff\x00\x01";
// np.array([1.0, -2.0], dtype='<f2'): 132 bytes
constexpr char kFloat16Vector[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }       "
    "                                                     \x0a\x00<\x00\xc0";
// np.array([1+2j, -3.5+0j]): 160 bytes
constexpr char kComplex128Vector[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }      "
    "                                                     \x0a\x00\x00\x00\x00\x00\x00\xf0"
    "\?\x00\x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x0c\xc0\x00\x00\x00\x00\x00"
    "\x00\x00\x00";
// np.arange(4, dtype='<i8').reshape(2, 2, 1): 160 bytes
constexpr char kInt64Cube[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2, 1), }  "
    "                                                     \x0a\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00"
    "\x00\x00\x00\x00";
// np.array([1.5, -2.0, 1e300], dtype='>f8'): 152 bytes
constexpr char kBigEndianFloat64[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }       "
    "                                                     \x0a\?\xf8\x00\x00\x00\x00\x00"
    "\x00\xc0\x00\x00\x00\x00\x00\x00\x00~7\xe4<\x88\x00u\x9c";
// np.array([[1, -2], [3, 400000]], dtype='>i4'): 144 bytes
constexpr char kBigEndianInt32Matrix[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '>i4', 'fortran_order': False, 'shape': (2, 2), }     "
    "                                                     \x0a\x00\x00\x00\x01\xff\xff\xff"
    "\xfe\x00\x00\x00\x03\x00\x06\x1a\x80";
// np.array([1, -2, 300], dtype='>i2'): 134 bytes
constexpr char kBigEndianInt16[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '>i2', 'fortran_order': False, 'shape': (3,), }       "
    "                                                     \x0a\x00\x01\xff\xfe\x01,";
// np.array([1.0, -0.5], dtype='>f2'): 132 bytes
constexpr char kBigEndianFloat16[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '>f2', 'fortran_order': False, 'shape': (2,), }       "
    "                                                     \x0a<\x00\xb8\x00";
// np.array([1+2j, -3.5-1j], dtype='>c16'): 160 bytes
constexpr char kBigEndianComplex128[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '>c16', 'fortran_order': False, 'shape': (2,), }      "
    "                                                     \x0a\?\xf0\x00\x00\x00\x00\x00"
    "\x00@\x00\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x00\x00\x00\x00\x00\xbf\xf0\x00\x00\x00"
    "\x00\x00\x00";
// np.lib.format.write_array(f, np.array([7, 8, 9], dtype='<i4'), version=(2, 0)): 140 bytes
constexpr char kInt32Version2[] =
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<i4', 'fortran_order': False, 'shape': (3,), "
    "}                                                          \x0a\x07\x00\x00\x00\x08"
    "\x00\x00\x00\x09\x00\x00\x00";
// np.lib.format.write_array(f, np.array([7, 8, 9], dtype='<i4'), version=(3, 0)): 140 bytes
constexpr char kInt32Version3[] =
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<i4', 'fortran_order': False, 'shape': (3,), "
    "}                                                          \x0a\x07\x00\x00\x00\x08"
    "\x00\x00\x00\x09\x00\x00\x00";

template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

std::string Write(const data::NdArray& array) {
  ByteWriter out;
  absl::Status status = WriteNpy(array, out);
  EXPECT_TRUE(status.ok()) << status;
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return chain.ToString();
}

data::NdArray Read(const std::string& bytes) {
  absl::StatusOr<data::NdArray> array = ReadNpy(Buffer::Copy(bytes));
  EXPECT_TRUE(array.ok()) << array.status();
  if (!array.ok()) return {};
  EXPECT_TRUE(data::CheckView(*array, "read").ok());
  return *std::move(array);
}

// An npy file with a hand-written header (version 1.0, no padding) and data.
std::string WithHeader(std::string_view dict, std::string_view data = "") {
  std::string out("\x93NUMPY\x01\x00", 8);
  const size_t size = dict.size() + 1;
  out.push_back(static_cast<char>(size & 0xFF));
  out.push_back(static_cast<char>(size >> 8));
  out.append(dict);
  out.push_back('\n');
  out.append(data);
  return out;
}

absl::Status ReadError(const std::string& bytes) { return ReadNpy(Buffer::Copy(bytes)).status(); }

// The message and the offset attached to it.
void ExpectError(const absl::Status& status, std::string_view message, uint64_t offset) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()), message);
  EXPECT_EQ(InputErrorOffset(status), offset) << status;
  EXPECT_EQ(InputErrorFormat(status), "npy");
}

TEST(NpyTest, WritesWhatNpSaveWrites) {
  EXPECT_EQ(Write(Array<float>(ElementType::kFloat32, {0, 1, 2, 3, 4, 5}, {2, 3})),
            Bytes(kFloat32Matrix));
  EXPECT_EQ(Write(Array<double>(ElementType::kFloat64, {3.5}, {})), Bytes(kFloat64Scalar));
  EXPECT_EQ(Write(Array<int64_t>(ElementType::kInt64, {}, {0})), Bytes(kInt64Empty));
  EXPECT_EQ(Write(Array<int32_t>(ElementType::kInt32, {}, {2, 0})), Bytes(kInt32EmptyRows));
  EXPECT_EQ(Write(Array<int32_t>(ElementType::kLogical, {1, 0, 1}, {3})), Bytes(kBoolVector));
  EXPECT_EQ(Write(Array<uint8_t>(ElementType::kUint8, {0, 1, 254, 255}, {4})), Bytes(kUint8Vector));
  // R raw vectors have no numpy type of their own: they are bytes.
  EXPECT_EQ(Write(Array<uint8_t>(ElementType::kRaw, {0, 1, 254, 255}, {4})), Bytes(kUint8Vector));
  EXPECT_EQ(Write(Array<int8_t>(ElementType::kInt8, {-1, 0, 1}, {3})), Bytes(kInt8Vector));
  EXPECT_EQ(Write(Array<uint16_t>(ElementType::kFloat16, {0x3C00, 0xC000}, {2})),
            Bytes(kFloat16Vector));
  EXPECT_EQ(Write(Array<double>(ElementType::kComplex128, {1, 2, -3.5, 0}, {2})),
            Bytes(kComplex128Vector));
  EXPECT_EQ(Write(Array<int64_t>(ElementType::kInt64, {0, 1, 2, 3}, {2, 2, 1})), Bytes(kInt64Cube));
}

TEST(NpyTest, WritesAColumnMajorViewInFortranOrderAsNumpyDoes) {
  // np.asfortranarray(np.arange(6).reshape(2, 3)) holds 0 3 1 4 2 5: R's matrix layout.
  data::NdArray matrix = Array<int16_t>(ElementType::kInt16, {0, 3, 1, 4, 2, 5}, {2, 3});
  matrix.strides = data::ContiguousStrides(matrix.shape, data::Order::kColumnMajor);
  EXPECT_EQ(Write(matrix), Bytes(kInt16Fortran));
}

TEST(NpyTest, ReadsEveryDtypeNumpyWritesAndWritesItBackIdentically) {
  const std::string literals[] = {
      Bytes(kFloat32Matrix), Bytes(kFloat64Scalar),    Bytes(kInt64Empty),  Bytes(kInt32EmptyRows),
      Bytes(kBoolVector),    Bytes(kInt16Fortran),     Bytes(kUint8Vector), Bytes(kInt8Vector),
      Bytes(kFloat16Vector), Bytes(kComplex128Vector), Bytes(kInt64Cube),
  };
  for (const std::string& literal : literals) EXPECT_EQ(Write(Read(literal)), literal);

  data::NdArray matrix = Read(Bytes(kFloat32Matrix));
  EXPECT_EQ(matrix.dtype, ElementType::kFloat32);
  EXPECT_EQ(matrix.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(matrix.strides, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(Values<float>(matrix), (std::vector<float>{0, 1, 2, 3, 4, 5}));

  data::NdArray scalar = Read(Bytes(kFloat64Scalar));
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.length, 1u);
  EXPECT_EQ(Values<double>(scalar), (std::vector<double>{3.5}));

  data::NdArray empty = Read(Bytes(kInt32EmptyRows));
  EXPECT_EQ(empty.dtype, ElementType::kInt32);
  EXPECT_EQ(empty.shape, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(empty.length, 0u);

  data::NdArray mask = Read(Bytes(kBoolVector));
  EXPECT_EQ(mask.dtype, ElementType::kLogical);
  EXPECT_EQ(Values<int32_t>(mask), (std::vector<int32_t>{1, 0, 1}));

  data::NdArray fortran = Read(Bytes(kInt16Fortran));
  EXPECT_EQ(fortran.strides, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(Values<int16_t>(fortran), (std::vector<int16_t>{0, 1, 2, 3, 4, 5}));

  EXPECT_EQ(Read(Bytes(kUint8Vector)).dtype, ElementType::kUint8);
  EXPECT_EQ(Values<int8_t>(Read(Bytes(kInt8Vector))), (std::vector<int8_t>{-1, 0, 1}));
  EXPECT_EQ(Values<uint16_t>(Read(Bytes(kFloat16Vector))), (std::vector<uint16_t>{0x3C00, 0xC000}));
  EXPECT_EQ(Values<double>(Read(Bytes(kComplex128Vector))), (std::vector<double>{1, 2, -3.5, 0}));
  EXPECT_EQ(Read(Bytes(kInt64Cube)).shape, (std::vector<int64_t>{2, 2, 1}));
}

TEST(NpyTest, LittleEndianDataIsASliceOfTheInput) {
  Buffer input = Buffer::Copy(Bytes(kFloat32Matrix));
  absl::StatusOr<data::NdArray> array = ReadNpy(input);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->data.data(), input.data() + 128);  // numpy's data starts at byte 128 here
  EXPECT_EQ(array->data.size(), 24u);
}

TEST(NpyTest, ReadsBigEndianDataSwappedIntoANewBuffer) {
  Buffer input = Buffer::Copy(Bytes(kBigEndianFloat64));
  absl::StatusOr<data::NdArray> doubles = ReadNpy(input);
  ASSERT_TRUE(doubles.ok()) << doubles.status();
  EXPECT_EQ(doubles->dtype, ElementType::kFloat64);
  EXPECT_EQ(Values<double>(*doubles), (std::vector<double>{1.5, -2.0, 1e300}));
  EXPECT_FALSE(doubles->data.data() >= input.data() &&
               doubles->data.data() < input.data() + input.size());

  data::NdArray ints = Read(Bytes(kBigEndianInt32Matrix));
  EXPECT_EQ(ints.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(Values<int32_t>(ints), (std::vector<int32_t>{1, -2, 3, 400000}));
  EXPECT_EQ(Values<int16_t>(Read(Bytes(kBigEndianInt16))), (std::vector<int16_t>{1, -2, 300}));
  EXPECT_EQ(Values<uint16_t>(Read(Bytes(kBigEndianFloat16))),
            (std::vector<uint16_t>{0x3C00, 0xB800}));  // 1.0, -0.5
  EXPECT_EQ(Values<double>(Read(Bytes(kBigEndianComplex128))),
            (std::vector<double>{1, 2, -3.5, -1}));
  // Written back, the data is little-endian: the bytes np.save writes for the same values.
  EXPECT_EQ(Write(Read(Bytes(kBigEndianComplex128))).substr(128),
            Write(Array<double>(ElementType::kComplex128, {1, 2, -3.5, -1}, {2})).substr(128));
}

TEST(NpyTest, ReadsVersions2And3) {
  for (const std::string& literal : {Bytes(kInt32Version2), Bytes(kInt32Version3)}) {
    data::NdArray array = Read(literal);
    EXPECT_EQ(array.dtype, ElementType::kInt32);
    EXPECT_EQ(Values<int32_t>(array), (std::vector<int32_t>{7, 8, 9}));
  }
}

TEST(NpyTest, AcceptsTheHeaderVariantsOtherWritersUse) {
  // Keys in another order, double quotes, no trailing comma, no spaces, native byte order, a
  // Python 2 long suffix.
  data::NdArray array =
      Read(WithHeader("{\"shape\":(2L,),\"fortran_order\":False,\"descr\":\"=i2\"}",
                      std::string("\x01\x00\x02\x00", 4)));
  EXPECT_EQ(array.dtype, ElementType::kInt16);
  EXPECT_EQ(Values<int16_t>(array), (std::vector<int16_t>{1, 2}));
}

TEST(NpyTest, GathersViewsThatAreNeitherCNorFortranOrder) {
  // Every other column of a 2x4 row-major matrix, read from the right: [[3, 1], [7, 5]].
  data::NdArray source = Array<int32_t>(ElementType::kInt32, {0, 1, 2, 3, 4, 5, 6, 7}, {2, 4});
  data::NdArray view = source;
  view.shape = {2, 2};
  view.strides = {4, -2};
  view.offset = 3;
  ASSERT_TRUE(data::CheckView(view, "view").ok());
  EXPECT_EQ(Write(view), Write(Array<int32_t>(ElementType::kInt32, {3, 1, 7, 5}, {2, 2})));
}

TEST(NpyTest, WritesContiguousViewsByReference) {
  // Large enough for ByteWriter to append it by reference (kShareThreshold).
  std::vector<double> values(2048);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i);
  for (data::Order order : {data::Order::kRowMajor, data::Order::kColumnMajor}) {
    data::NdArray matrix = Array<double>(ElementType::kFloat64, values, {32, 64});
    matrix.strides = data::ContiguousStrides(matrix.shape, order);
    std::vector<Buffer> pieces;
    ByteWriter out([&](Buffer piece) {
      pieces.push_back(piece);
      return absl::OkStatus();
    });
    ASSERT_TRUE(WriteNpy(matrix, out).ok());
    ASSERT_TRUE(out.Finish().ok());
    ASSERT_EQ(pieces.size(), 2u);  // the header, then the array's own buffer
    EXPECT_EQ(pieces[1].data(), matrix.data.data());
    EXPECT_EQ(pieces[1].size(), values.size() * 8);
    EXPECT_THAT(std::string(pieces[0].view()),
                HasSubstr(order == data::Order::kRowMajor ? "'fortran_order': False"
                                                          : "'fortran_order': True"));
  }
}

TEST(NpyTest, UsesVersion2WhenTheHeaderOutgrowsVersion1) {
  // 30000 dimensions of size 1: a header of about 90 KB, more than version 1.0's u16 length.
  std::vector<int64_t> shape(30000, 1);
  std::string bytes = Write(Array<float>(ElementType::kFloat32, {2.5f}, shape));
  ASSERT_GT(bytes.size(), 12u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x02\x00", 8));
  uint32_t header_size;
  std::memcpy(&header_size, bytes.data() + 8, 4);
  EXPECT_GT(header_size, 65535u);
  EXPECT_EQ((12 + header_size) % 64, 0u);
  EXPECT_EQ(bytes[12 + header_size - 1], '\n');
  EXPECT_EQ(bytes.size(), 12 + header_size + 4);
  data::NdArray back = Read(bytes);
  EXPECT_EQ(back.shape, shape);
  EXPECT_EQ(Values<float>(back), (std::vector<float>{2.5f}));
}

TEST(NpyTest, RefusesToWriteAnRLogicalNa) {
  // A 2x2 column-major logical matrix whose element [1, 0] is NA.
  data::NdArray mask = Array<int32_t>(ElementType::kLogical, {1, kNaInteger, 0, 1}, {2, 2});
  mask.strides = data::ContiguousStrides(mask.shape, data::Order::kColumnMajor);
  ByteWriter out;
  absl::Status status = WriteNpy(mask, "mask", out);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()),
            "array 'mask': element [1, 0] is NA; numpy bool has no NA");
  mask.strides = data::ContiguousStrides(mask.shape, data::Order::kRowMajor);
  EXPECT_EQ(std::string(WriteNpy(mask, out).message()),
            "array: element [0, 1] is NA; numpy bool has no NA");
}

TEST(NpyTest, RefusesToWriteAViewOutsideItsData) {
  data::NdArray array = Array<float>(ElementType::kFloat32, {1, 2, 3}, {3});
  array.offset = 1;
  ByteWriter out;
  absl::Status status = WriteNpy(array, "w", out);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("array 'w': the view (offset 1, shape and strides)"));
}

TEST(NpyTest, RefusesTruncatedInput) {
  ExpectError(ReadError(""),
              "npy: not a numpy file (it does not start with \"\\x93NUMPY\") at byte 0", 0);
  ExpectError(ReadError(std::string("\x93NUMPY\x01", 7)),
              "npy: input ends inside the version (needs 2 bytes) at byte 7", 7);
  ExpectError(ReadError(std::string("\x93NUMPY\x04\x00\x10\x00", 10)),
              "npy: unsupported format version 4.0 (1.0, 2.0 and 3.0 are known) at byte 6", 6);
  ExpectError(ReadError(std::string("\x93NUMPY\x01\x00\x76", 9)),
              "npy: input ends inside the header length (needs 2 bytes) at byte 9", 9);
  ExpectError(ReadError(Bytes(kFloat32Matrix).substr(0, 100)),
              "npy: header length 118 runs past the end of the input (90 bytes follow the "
              "length) at byte 8",
              8);
  ExpectError(ReadError(std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12)),
              "npy: header length 4294967295 exceeds the limit of 100000000 bytes at byte 8", 8);
  ExpectError(ReadError(Bytes(kFloat32Matrix).substr(0, 148)),
              "npy: data of 6 elements of 4 bytes runs past the end of the input (20 bytes "
              "remain) at byte 128",
              128);
  ExpectError(ReadError(Bytes(kFloat32Matrix) + "xy"),
              "npy: 2 bytes follow the array data at byte 152", 152);
}

TEST(NpyTest, RefusesShapesWhoseElementCountOverflows) {
  // 2^32 * 2^32 elements: the product overflows 64 bits; the check must not.
  ExpectError(ReadError(WithHeader(
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }")),
              "npy: shape (4294967296, 4294967296) has more than 2^62 elements at byte 60", 60);
  ExpectError(ReadError(WithHeader(
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }")),
              "npy: header: a size in shape does not fit in 64 bits at byte 61", 61);
  // A count that fits but whose bytes the input cannot hold is refused before any allocation.
  ExpectError(ReadError(WithHeader(
                  "{'descr': '<c16', 'fortran_order': False, 'shape': (4611686018427387904,), }")),
              "npy: data of 4611686018427387904 elements of 16 bytes runs past the end of the "
              "input (0 bytes remain) at byte 87",
              87);
}

TEST(NpyTest, RefusesMalformedHeaders) {
  struct Case {
    std::string dict;
    std::string message;
    uint64_t offset;
  };
  const Case cases[] = {
      {"'descr': '<f4'", "npy: header: expected '{' starting the dict at byte 10", 10},
      {"{'descr': '<f4', 'fortran_order': False}",
       "npy: header: the dict has no 'shape' key at byte 10", 10},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
       "npy: header: key 'descr' appears twice at byte 27", 27},
      {"{'descr': '<f4', 'order': 'C', 'fortran_order': False, 'shape': (1,)}",
       "npy: header: unknown key 'order' (descr, fortran_order and shape are known) at byte 27",
       27},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
       "npy: header: fortran_order is neither True nor False at byte 44", 44},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3)}",
       "npy: header: shape is a parenthesised number, not a tuple (a 1-tuple is \"(3,)\") at "
       "byte 60",
       60},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [3]}",
       "npy: header: shape is not a tuple at byte 60", 60},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
       "npy: header: shape has a negative size at byte 61", 61},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x",
       "npy: header: unexpected text after the dict at byte 66", 66},
      {"{'descr: '<f4', 'fortran_order': False, 'shape': (1,)}",
       "npy: header: expected ':' after key 'descr: ' at byte 20", 20},
      {"{'descr': '<f4\\n', 'fortran_order': False, 'shape': (1,)}",
       "npy: header: escapes and line breaks are not allowed in descr at byte 24", 24},
      {"{'descr': '<f4', 'fortran_order': False 'shape': (1,)}",
       "npy: header: expected ',' or '}' after a value at byte 50", 50},
  };
  for (const Case& c : cases)
    ExpectError(ReadError(WithHeader(c.dict, "xxxx")), c.message, c.offset);
}

TEST(NpyTest, RefusesDtypesItCannotRepresentNamingThem) {
  struct Case {
    std::string descr;
    std::string message;
  };
  const Case cases[] = {
      {"'|O'",
       "npy: unsupported dtype '|O' (Python objects, which seriald never unpickles) at "
       "byte 20"},
      {"'<U5'", "npy: unsupported dtype '<U5' (unicode strings) at byte 20"},
      {"'|S3'", "npy: unsupported dtype '|S3' (byte strings) at byte 20"},
      {"'<u2'", "npy: unsupported dtype '<u2' (uint16) at byte 20"},
      {"'<u4'", "npy: unsupported dtype '<u4' (uint32) at byte 20"},
      {"'<u8'", "npy: unsupported dtype '<u8' (uint64) at byte 20"},
      {"'<c8'", "npy: unsupported dtype '<c8' (complex64) at byte 20"},
      {"'<M8[ns]'", "npy: unsupported dtype '<M8[ns]' (datetime64) at byte 20"},
      {"'|V8'", "npy: unsupported dtype '|V8' (raw records) at byte 20"},
      {"'<f4 '", "npy: unsupported dtype '<f4 ' at byte 20"},
      {"[('x', '<f4'), ('y', '<f4')]",
       "npy: header: descr [('x', '<f4'), ('y', '<f4')], 'fortran_o... is a structured "
       "(record) dtype, which is not supported at byte 20"},
  };
  for (const Case& c : cases) {
    ExpectError(
        ReadError(WithHeader("{'descr': " + c.descr + ", 'fortran_order': False, 'shape': (1,), }",
                             std::string(16, '\0'))),
        c.message, 20);
  }
  // With the array's name, as npz reads its entries.
  absl::Status named =
      ReadNpy(Buffer::Copy(WithHeader("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }")),
              "labels")
          .status();
  EXPECT_EQ(std::string(named.message()),
            "npy: array 'labels': unsupported dtype '|O' (Python objects, which seriald never "
            "unpickles) at byte 20");
}

TEST(NpyTest, RefusesBoolBytesOtherThanZeroAndOne) {
  std::string bytes = Bytes(kBoolVector);
  bytes[129] = 2;  // element [1]
  ExpectError(ReadError(bytes), "npy: bool element [1] is byte 2, not 0 or 1 at byte 129", 129);
}

TEST(NpyTest, RecognisesTheMagic) {
  EXPECT_TRUE(LooksLikeNpy(Buffer::Copy(Bytes(kFloat32Matrix))));
  EXPECT_TRUE(LooksLikeNpy(Buffer::Copy(std::string("\x93NUMPY", 6))));
  EXPECT_FALSE(LooksLikeNpy(Buffer::Copy(std::string("\x93NUMP", 5))));
  EXPECT_FALSE(LooksLikeNpy(Buffer::Copy(std::string("PK\x03\x04", 4))));
  EXPECT_FALSE(LooksLikeNpy(Buffer()));
}

}  // namespace
}  // namespace seriald::arrays
