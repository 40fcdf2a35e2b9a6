// Tests of strings: encodings, NA, and the compact StringVector.
#include "core/model/strings.h"

#include <string>

#include "gtest/gtest.h"

namespace seriald {
namespace {

TEST(StringEncodingTest, NamesRoundTrip) {
  const std::pair<StringEncoding, const char*> names[] = {{StringEncoding::kNative, "native"},
                                                          {StringEncoding::kUtf8, "utf8"},
                                                          {StringEncoding::kLatin1, "latin1"},
                                                          {StringEncoding::kBytes, "bytes"},
                                                          {StringEncoding::kAscii, "ascii"}};
  for (const auto& [encoding, name] : names) {
    EXPECT_EQ(StringEncodingName(encoding), name);
    EXPECT_EQ(StringEncodingFromName(name), encoding);
  }
  EXPECT_EQ(StringEncodingFromName("UTF-8"), std::nullopt);
}

TEST(StringValueTest, NaIsEmptyNativeAndDistinctFromTheEmptyString) {
  StringValue na = StringValue::Na();
  EXPECT_TRUE(na.is_na);
  EXPECT_TRUE(na.bytes.empty());
  EXPECT_EQ(na.encoding, StringEncoding::kNative);
  EXPECT_FALSE(na == StringValue{});
  EXPECT_FALSE((StringValue{"a", StringEncoding::kUtf8, false} ==
                StringValue{"a", StringEncoding::kLatin1, false}));
  EXPECT_TRUE((StringValue{"a", StringEncoding::kUtf8, false} ==
               StringValue{"a", StringEncoding::kUtf8, false}));
}

TEST(StringVectorTest, KeepsBytesEncodingsAndNaPerElement) {
  StringVector v;
  EXPECT_TRUE(v.empty());
  v.Reserve(4, 16);
  v.Append("caf\xc3\xa9", StringEncoding::kUtf8);
  v.AppendNa();
  v.Append("", StringEncoding::kNative);
  v.Append(StringValue{"\xe9t\xe9", StringEncoding::kLatin1, false});
  v.Append(StringValue::Na());
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v.byte_size(), 8u);

  StringVector::Element first = v.Get(0);
  EXPECT_EQ(first.bytes, "caf\xc3\xa9");
  EXPECT_EQ(first.encoding, StringEncoding::kUtf8);
  EXPECT_FALSE(first.is_na);
  EXPECT_TRUE(v.Get(1).is_na);
  EXPECT_TRUE(v.Get(1).bytes.empty());
  EXPECT_FALSE(v.Get(2).is_na);  // the empty string is not NA
  EXPECT_EQ(v.Get(2).bytes, "");
  EXPECT_EQ(v.GetValue(3), (StringValue{"\xe9t\xe9", StringEncoding::kLatin1, false}));
  EXPECT_EQ(v.GetValue(4), StringValue::Na());
}

TEST(StringVectorTest, EqualityComparesEveryElement) {
  StringVector a, b;
  a.Append("x", StringEncoding::kUtf8);
  b.Append("x", StringEncoding::kUtf8);
  EXPECT_TRUE(a == b);
  b.AppendNa();
  EXPECT_FALSE(a == b);
  StringVector c;
  c.Append("x", StringEncoding::kLatin1);
  EXPECT_FALSE(a == c);
  // Same concatenated bytes, different split.
  StringVector d, e;
  d.Append("ab");
  d.Append("c");
  e.Append("a");
  e.Append("bc");
  EXPECT_FALSE(d == e);
}

}  // namespace
}  // namespace seriald
