// The ascii tokens of R streams (core/rds/primitives.h) as R reads them: doubles exactly as
// strtod (R's sscanf "%lg") reads them, on hundreds of thousands of numbers in every form R and
// people write; the form (token, decimal, hex) that decides asciihex; ints and raw bytes with
// their bounds; strings' escapes decoded the same whether the text comes whole or cut anywhere.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/model/value.h"
#include "core/rds/primitives.h"
#include "gtest/gtest.h"

namespace seriald::rds {
namespace {

uint64_t Bits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  return bits;
}

// The bits strtod gives for the whole of `word`, or nullopt when it does not read it whole.
std::optional<uint64_t> StrtodBits(const std::string& word) {
  char* end = nullptr;
  const double v = std::strtod(word.c_str(), &end);
  if (word.empty() || end != word.c_str() + word.size()) return std::nullopt;
  return Bits(v);
}

TEST(AsciiDoubleTest, ReadsEveryNumberAsStrtodDoes) {
  std::mt19937_64 random(7);
  std::vector<std::string> words = {"0",
                                    "-0",
                                    "1",
                                    "+1.5",
                                    "1e308",
                                    "1.7976931348623157e308",
                                    "1e309",
                                    "-1e309",
                                    "1e-320",
                                    "4.9e-324",
                                    "2e-324",
                                    "1e-400",
                                    "inf",
                                    "-infinity",
                                    "nan",
                                    "nan(12)",
                                    ".5",
                                    "5.",
                                    "1E5",
                                    "0x1.8p+0",
                                    "-0x1p-1074",
                                    "0X1.FFFFFFFFFFFFFP1023",
                                    "00012",
                                    "1e+0005",
                                    "123456789012345678901234567890",
                                    "2.2250738585072011e-308",
                                    "9007199254740993"};
  char buf[64];
  for (int i = 0; i < 300000; ++i) {
    uint64_t bits = random();
    double d;
    std::memcpy(&d, &bits, 8);
    if (!std::isfinite(d)) continue;
    static const char* const kFormats[] = {"%.16g", "%.17g", "%.15g", "%.3e", "%a", "%.20f"};
    std::snprintf(buf, sizeof buf, kFormats[i % 6], i % 6 == 5 ? std::fmod(d, 1e6) : d);
    words.push_back(buf);
    // Short decimals, as people write them.
    std::snprintf(buf, sizeof buf, "%d.%d", static_cast<int>(random() % 100000),
                  static_cast<int>(random() % 1000));
    words.push_back(buf);
  }
  int read = 0;
  for (const std::string& word : words) {
    AsciiDoubleForm form;
    const std::optional<double> v = ParseAsciiDouble(word, &form);
    const std::optional<uint64_t> expected = StrtodBits(word);
    ASSERT_EQ(v.has_value(), expected.has_value()) << word;
    if (!v.has_value()) continue;
    ASSERT_EQ(Bits(*v), *expected) << word;
    EXPECT_EQ(form, word.find_first_of("xX") != std::string::npos ? AsciiDoubleForm::kHex
                                                                  : AsciiDoubleForm::kDecimal)
        << word;
    ++read;
  }
  EXPECT_GT(read, 500000);
}

TEST(AsciiDoubleTest, RsFourTokensAndRefusals) {
  AsciiDoubleForm form;
  EXPECT_EQ(Bits(*ParseAsciiDouble("NA", &form)), kNaRealBits);
  EXPECT_EQ(form, AsciiDoubleForm::kToken);
  EXPECT_EQ(Bits(*ParseAsciiDouble("NaN", &form)), kRNaNBits);
  EXPECT_EQ(form, AsciiDoubleForm::kToken);
  EXPECT_EQ(*ParseAsciiDouble("Inf", &form), HUGE_VAL);
  EXPECT_EQ(*ParseAsciiDouble("-Inf", &form), -HUGE_VAL);
  EXPECT_EQ(form, AsciiDoubleForm::kToken);
  for (const char* bad : {"", "1.5x", "abc", "1 2", "--1", "0x"}) {
    EXPECT_FALSE(ParseAsciiDouble(bad, &form).has_value()) << bad;
  }
  EXPECT_FALSE(ParseAsciiDouble(std::string(128, '1'), &form).has_value());
}

TEST(AsciiIntTest, ReadsRsIntsWithinRange) {
  EXPECT_EQ(ParseAsciiInt("NA"), kNaInteger);
  EXPECT_EQ(ParseAsciiInt("+5"), 5);
  EXPECT_EQ(ParseAsciiInt("-2147483647"), -2147483647);
  EXPECT_EQ(ParseAsciiInt("2147483647"), 2147483647);
  for (const char* bad : {"2147483648", "-2147483649", "1.0", "", "x", "5 "}) {
    EXPECT_FALSE(ParseAsciiInt(bad).has_value()) << bad;
  }
  EXPECT_EQ(ParseAsciiByte("ff"), 0xFF);
  EXPECT_EQ(ParseAsciiByte("0"), 0);
  for (const char* bad : {"100", "g", "", "-1"}) {
    EXPECT_FALSE(ParseAsciiByte(bad).has_value()) << bad;
  }
}

TEST(AsciiStringTest, EscapesDecodeTheSameWholeOrCutAnywhere) {
  // Every escape OutString writes, octal ones of one to three digits, and unknown ones.
  const std::string text = "a\\n\\t\\v\\b\\r\\f\\a\\\\\\?\\'\\\"\\0\\12\\123\\1234\\q\\7z";
  const std::string expected =
      std::string("a\n\t\v\b\r\f\a\\?'\"") + '\0' + "\n" + "S" + "S4" + "q" + "\a" + "z";
  std::string whole;
  AsciiUnescaped done = UnescapeAscii(text, expected.size(), true, whole);
  EXPECT_EQ(whole, expected);
  EXPECT_EQ(done.used, text.size());
  EXPECT_FALSE(done.cut_escape);
  // Cut into two pieces anywhere: what is left of an escape comes back with the second.
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    std::string out;
    AsciiUnescaped first =
        UnescapeAscii(std::string_view(text).substr(0, cut), expected.size(), false, out);
    ASSERT_LE(first.used, cut);
    AsciiUnescaped second =
        UnescapeAscii(std::string_view(text).substr(first.used), expected.size(), true, out);
    EXPECT_EQ(out, expected) << "cut at " << cut;
    EXPECT_EQ(first.used + second.used, text.size()) << "cut at " << cut;
  }
  // No more than `length` bytes are decoded; a backslash the text ends in is cut.
  std::string three;
  EXPECT_EQ(UnescapeAscii("abcdef", 3, true, three).used, 3u);
  EXPECT_EQ(three, "abc");
  std::string cut;
  done = UnescapeAscii("ab\\", 5, true, cut);
  EXPECT_TRUE(done.cut_escape);
  EXPECT_EQ(done.used, 2u);
}

// The bytes WriteCharsxp gives, written the long way: the flags word, then -1 for NA or the
// length and the bytes, words in the stream's order.
std::string CharsxpTheLongWay(int32_t flags, const std::string& bytes, bool is_na, bool xdr) {
  auto word = [&](uint32_t w) {
    if (xdr) w = __builtin_bswap32(w);
    return std::string(reinterpret_cast<const char*>(&w), 4);
  };
  std::string out = word(static_cast<uint32_t>(flags));
  if (is_na) return out + word(0xFFFFFFFFu);
  return out + word(static_cast<uint32_t>(bytes.size())) + bytes;
}

TEST(OutputStreamTest, CharsxpsAreFlagsLengthAndBytesAcrossBlocksInEveryFormat) {
  // Lengths around the one-reservation bound (a 64 KiB block less the two words) and past a
  // whole block, NA, empty; then enough short strings to fill several blocks, each one starting
  // wherever the last ended.
  std::vector<std::pair<std::string, bool>> strings = {{"", false}, {"", true}, {"a", false}};
  for (size_t size : {65527, 65528, 65529, 65536, 200000}) {
    std::string bytes(size, 'x');
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + i % 26);
    strings.emplace_back(bytes, false);
  }
  for (int i = 0; i < 30000; ++i) strings.emplace_back(std::string(i % 37, 'q'), i % 101 == 0);
  for (RFormat format : {RFormat::kXdr, RFormat::kNative}) {
    ByteWriter out;
    OutputStream stream(out, format);
    std::string expected;
    int32_t flags = 0x40009;
    for (const auto& [bytes, is_na] : strings) {
      stream.WriteCharsxp(flags, bytes, is_na);
      expected += CharsxpTheLongWay(flags, bytes, is_na, format == RFormat::kXdr);
      flags ^= 0x8000;  // the flags word is written as given
    }
    BufferChain chain;
    ASSERT_TRUE(out.Finish(&chain).ok());
    const std::string written = chain.ToString();
    ASSERT_EQ(written.size(), expected.size());
    EXPECT_TRUE(written == expected) << "format " << static_cast<int>(format);
  }
  // Ascii: one token per line, the string escaped.
  ByteWriter out;
  OutputStream stream(out, RFormat::kAscii);
  stream.WriteCharsxp(0x40009, "a b\n", false);
  stream.WriteCharsxp(9, "", true);
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  EXPECT_EQ(chain.ToString(), "262153\n4\na\\040b\\n\n9\n-1\n");
}

}  // namespace
}  // namespace seriald::rds
