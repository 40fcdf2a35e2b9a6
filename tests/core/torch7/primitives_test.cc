// The primitive layer: half conversion as torch7's TH_float2halfbits, printf-identical number
// formatting, fscanf-like ascii numbers, byte order and long size conversions.
#include "core/torch7/primitives.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/io/byte_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald::torch7 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

float FloatFromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

TEST(Torch7PrimitivesTest, EveryHalfSurvivesFloatAndBack) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto half = static_cast<uint16_t>(bits);
    const float f = HalfToFloat(half);
    if ((half & 0x7c00) == 0x7c00 && (half & 0x3ff) != 0) {  // NaN: kept NaN, sign kept
      EXPECT_TRUE(std::isnan(f));
      EXPECT_EQ(FloatToHalf(f), (half & 0x8000) | 0x7fff);
    } else {
      ASSERT_EQ(FloatToHalf(f), half) << bits;
    }
  }
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
}

TEST(Torch7PrimitivesTest, FloatToHalfRoundsToNearestEven) {
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie: down to even
  EXPECT_EQ(FloatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie: up to even
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
  EXPECT_EQ(FloatToHalf(65519.0f), 0x7bff);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);  // rounds to infinity
  EXPECT_EQ(FloatToHalf(-1e10f), 0xfc00);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);  // tie with 0: even
  EXPECT_EQ(FloatToHalf(std::ldexp(1.1f, -25)), 0x0001);
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalf(std::nanf("")), 0x7fff);   // as TH_float2halfbits
  EXPECT_EQ(FloatToHalf(-std::nanf("")), 0xffff);  // except that the sign stays
  EXPECT_EQ(FloatToHalf(0.1f), 0x2e66);
}

TEST(Torch7PrimitivesTest, FormattingMatchesPrintf) {
  std::mt19937_64 random(1);
  char ours[kMaxNumberChars];
  char theirs[64];
  auto check_double = [&](double d) {
    std::snprintf(theirs, sizeof theirs, "%.17g", d);
    ASSERT_EQ(std::string(ours, FormatDouble(d, ours)), theirs);
  };
  auto check_float = [&](float f) {
    std::snprintf(theirs, sizeof theirs, "%.9g", static_cast<double>(f));
    ASSERT_EQ(std::string(ours, FormatFloat(f, ours)), theirs);
  };
  for (int i = 0; i < 200000; ++i) {
    uint64_t bits = random();
    double d;
    std::memcpy(&d, &bits, 8);
    check_double(d);
    check_float(FloatFromBits(static_cast<uint32_t>(bits)));
    check_double(static_cast<double>(static_cast<int64_t>(bits % 2000001) - 1000000) / 1000);
  }
  for (double d : {0.0, -0.0, double{INFINITY}, double{-INFINITY}, double{NAN}, double{-NAN}, 1e308,
                   4.9406564584124654e-324, 0.1, 1.0 / 3, 9007199254740992.0, 1e16, 1e17, 1e-5,
                   100000.0, 1e21}) {
    check_double(d);
    check_float(static_cast<float>(d));
  }
  EXPECT_EQ(std::string(ours, FormatDouble(-double{NAN}, ours)), "-nan");
  EXPECT_EQ(std::string(ours, FormatDouble(1e308, ours)), "1e+308");
  EXPECT_EQ(std::string(ours, FormatFloat(0.1f, ours)), "0.100000001");
  for (int64_t v : {int64_t{0}, int64_t{-1}, INT64_MIN, INT64_MAX}) {
    std::snprintf(theirs, sizeof theirs, "%ld", static_cast<long>(v));
    EXPECT_EQ(std::string(ours, FormatInteger(v, ours)), theirs);
  }
}

Buffer Text(std::string_view text) { return Buffer::Copy(text); }

TEST(Torch7PrimitivesTest, AsciiScalarsReadLikeFscanf) {
  PrimitiveReader in(Text("  +7\n-3\t\n-nan\ninf\n-0\n1e999\n1e-999\n0x10\n"), {.ascii = true});
  EXPECT_EQ(*in.ReadInt("a"), 7);
  EXPECT_EQ(*in.ReadLong("b"), -3);
  double nan = *in.ReadDouble("c");
  EXPECT_TRUE(std::isnan(nan));
  EXPECT_TRUE(std::signbit(nan));
  EXPECT_EQ(*in.ReadDouble("d"), INFINITY);
  double zero = *in.ReadDouble("e");
  EXPECT_EQ(zero, 0.0);
  EXPECT_TRUE(std::signbit(zero));
  EXPECT_EQ(*in.ReadDouble("f"), INFINITY);  // overflow: strtod's HUGE_VAL
  EXPECT_EQ(*in.ReadDouble("g"), 0.0);       // underflow
  EXPECT_EQ(*in.ReadInt("h"), 0);            // "%d" stops at 'x'
  absl::StatusOr<int32_t> x = in.ReadInt("next");
  ASSERT_FALSE(x.ok());
  EXPECT_THAT(std::string(x.status().message()),
              HasSubstr("expected next (an integer), found 'x'"));
  EXPECT_FALSE(in.AtEnd());
}

TEST(Torch7PrimitivesTest, AsciiArraysSwallowOneNewline) {
  // Elements separated by any whitespace; one '\n' after the array is consumed, not two.
  PrimitiveReader in(Text("1 2\n3\n\n7\n0.1 65520 -nan\nab\n\n"), {.ascii = true});
  absl::StatusOr<Buffer> ints = in.ReadElements(ElementType::kInt32, 3, "ints");
  ASSERT_TRUE(ints.ok());
  std::vector<int32_t> values(3);
  std::memcpy(values.data(), ints->data(), 12);
  EXPECT_THAT(values, ElementsAre(1, 2, 3));
  EXPECT_EQ(in.offset(), 6u);
  EXPECT_EQ(*in.ReadInt("seven"), 7);
  absl::StatusOr<Buffer> halves = in.ReadElements(ElementType::kFloat16, 3, "halves");
  ASSERT_TRUE(halves.ok());
  std::vector<uint16_t> half_bits(3);
  std::memcpy(half_bits.data(), halves->data(), 6);
  EXPECT_THAT(half_bits, ElementsAre(FloatToHalf(0.1f), 0x7c00, 0xffff));
  absl::StatusOr<Buffer> raw = in.ReadElements(ElementType::kUint8, 2, "bytes");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->view(), "ab");
  EXPECT_EQ(in.offset(), in.input().size() - 1);
  EXPECT_TRUE(in.AtEnd());  // only whitespace remains
}

TEST(Torch7PrimitivesTest, BinaryByteOrderAndLongSize) {
  const std::string bytes("\x00\x00\x00\x05\xff\xff\xff\xfe\x3f\xf0\x00\x00\x00\x00\x00\x00", 16);
  PrimitiveReader big(Text(bytes), {.long_size = 4, .big_endian = true});
  EXPECT_EQ(*big.ReadInt("int"), 5);
  EXPECT_EQ(*big.ReadLong("long"), -2);  // 4-byte longs are sign-extended
  EXPECT_EQ(*big.ReadDouble("double"), 1.0);
  EXPECT_TRUE(big.AtEnd());
  absl::StatusOr<int32_t> past = big.ReadInt("tag");
  ASSERT_FALSE(past.ok());
  EXPECT_THAT(std::string(past.status().message()),
              HasSubstr("input ends inside tag (needs 4 bytes, 0 remain) at byte 16"));

  // Element conversion: big-endian to little, 4-byte longs widened.
  Torch7Layout layout{.long_size = 4, .big_endian = true};
  EXPECT_TRUE(ElementsNeedConversion(layout, ElementType::kInt64));
  EXPECT_TRUE(ElementsNeedConversion(layout, ElementType::kFloat16));
  EXPECT_FALSE(ElementsNeedConversion(layout, ElementType::kUint8));
  EXPECT_FALSE(ElementsNeedConversion(Torch7Layout{}, ElementType::kInt64));
  Buffer longs = ConvertElements(layout, ElementType::kInt64, 2,
                                 Buffer::Copy(std::string("\xff\xff\xff\xfe\x00\x00\x00\x09", 8)));
  std::vector<int64_t> wide(2);
  std::memcpy(wide.data(), longs.data(), 16);
  EXPECT_THAT(wide, ElementsAre(-2, 9));
  Buffer shorts = ConvertElements(layout, ElementType::kInt16, 2,
                                  Buffer::Copy(std::string("\x01\x02\x03\x04", 4)));
  EXPECT_EQ(shorts.view(), std::string("\x02\x01\x04\x03", 4));
}

std::string Written(const Torch7Layout& layout, void (*write)(PrimitiveWriter&)) {
  ByteWriter bytes;
  PrimitiveWriter out(bytes, layout);
  write(out);
  BufferChain chain;
  EXPECT_TRUE(bytes.Finish(&chain).ok());
  return chain.ToString();
}

TEST(Torch7PrimitivesTest, AsciiWritingFollowsAutoSpacing) {
  EXPECT_EQ(Written({.ascii = true},
                    [](PrimitiveWriter& out) {
                      out.WriteInt(4);
                      out.WriteDouble(0.1);
                      out.WriteLongs(std::vector<int64_t>{2, 3});
                      out.WriteLongs(std::vector<int64_t>{});  // nothing at all
                      out.WriteRaw(std::string_view(""));      // nothing either
                      out.WriteRaw(std::string_view("a\nb"));
                      float f[2] = {0.1f, -2.5f};
                      out.WriteElements(ElementType::kFloat32, 2, Buffer::Copy(f, 8));
                      uint16_t h[1] = {0x3c00};
                      out.WriteElements(ElementType::kFloat16, 1, Buffer::Copy(h, 2));
                    }),
            "4\n0.10000000000000001\n2 3\na\nb\n0.100000001 -2.5\n1\n");
}

TEST(Torch7PrimitivesTest, BigEndianElementsSwapAcrossOutputBlocks) {
  // More than one 64 KiB block of doubles: every element swapped, none lost at block edges.
  std::vector<double> values(30000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i) + 0.5;
  Buffer data = Buffer::Copy(values.data(), values.size() * 8);
  ByteWriter bytes;
  PrimitiveWriter out(bytes, {.big_endian = true});
  out.WriteInt(1);  // misalign the block
  out.WriteElements(ElementType::kFloat64, values.size(), data);
  BufferChain chain;
  ASSERT_TRUE(bytes.Finish(&chain).ok());
  std::string written = chain.ToString();
  ASSERT_EQ(written.size(), 4 + values.size() * 8);
  PrimitiveReader in(Buffer::Copy(written), {.big_endian = true});
  EXPECT_EQ(*in.ReadInt("int"), 1);
  absl::StatusOr<Buffer> wire = in.ReadElements(ElementType::kFloat64, values.size(), "data");
  ASSERT_TRUE(wire.ok());
  Buffer back = ConvertElements(in.layout(), ElementType::kFloat64, values.size(), *wire);
  EXPECT_TRUE(back == data);
}

}  // namespace
}  // namespace seriald::torch7
