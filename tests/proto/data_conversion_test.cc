// seriald.v1.Data <-> plain data: a faithful mirror both ways, and hostile messages refused by
// name.
#include "proto/data_conversion.h"

#include <cstring>
#include <string>
#include <vector>

#include "core/io/input_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald {
namespace {

using ::testing::HasSubstr;
namespace pb = ::seriald::v1;

data::Data Sample() {
  data::Data plain;
  const double x[3] = {1, 2, 3};
  data::NdArray array = data::NdArray::Vector(ElementType::kFloat64, 3, Buffer::Copy(x, 24));
  array.temporal = data::Temporal::kDateTime;
  array.timezone = "UTC";
  array.na_present = true;
  const ItemId column = plain.Add(array);
  data::Strings levels;
  levels.values.Append("a", StringEncoding::kUtf8);
  levels.values.AppendNa();
  const ItemId level_item = plain.Add(levels);
  const int32_t codes[3] = {1, kNaInteger, 1};
  const ItemId code_item =
      plain.Add(data::NdArray::Vector(ElementType::kInt32, 3, Buffer::Copy(codes, 12)));
  const ItemId factor = plain.Add(data::Factor{code_item, level_item, true});
  const ItemId frame = plain.Add(data::DataFrame{{"t", "f"}, {column, factor}, 3, kNoItem});
  plain.mutable_item(frame).classes = {"tbl_df", "tbl", "data.frame"};
  data::Map map;
  const ItemId key = plain.Add(data::String{"frame"});
  map.entries = {{key, frame}};
  const ItemId root = plain.Add(map);
  plain.Get<data::Map>(root).entries.emplace_back(plain.Add(data::Integer{-7}), root);  // a cycle
  plain.mutable_item(root).attributes = {
      {"comment", plain.Add(data::Binary{Buffer::Copy("\x01", 1)})}};
  plain.roots().push_back(root);
  return plain;
}

TEST(DataConversionTest, RoundTripsEveryField) {
  data::Data plain = Sample();
  ASSERT_TRUE(plain.Validate().ok());
  pb::Data message;
  ASSERT_TRUE(DataToProto(plain, &message).ok());
  pb::Data wire;
  ASSERT_TRUE(wire.ParseFromString(message.SerializeAsString()));
  absl::StatusOr<data::Data> back = DataFromProto(std::move(wire));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, plain);
}

TEST(DataConversionTest, LargeArraysAreLeftOutForStreaming) {
  data::Data plain = Sample();
  ToProtoOptions options{.max_inline_array_bytes = 20};
  EXPECT_EQ(DataArraysLeftOut(plain, options), (std::vector<ItemId>{0}));  // 24 bytes; codes: 12
  pb::Data message;
  ASSERT_TRUE(DataToProto(plain, &message, options).ok());
  EXPECT_TRUE(message.items(0).array().data().empty());
  EXPECT_EQ(message.items(0).array().length(), 3u);
  EXPECT_EQ(message.items(2).array().data().size(), 12u);
}

TEST(DataConversionTest, BigEndianArraysGoInlineLittleEndian) {
  data::Data plain;
  // 1.5 and -2 as big-endian doubles, and complex 1+2i: each half swapped on its own.
  std::string doubles, complex;
  for (double value : {1.5, -2.0}) {
    uint64_t bits;
    std::memcpy(&bits, &value, 8);
    bits = __builtin_bswap64(bits);
    doubles.append(reinterpret_cast<const char*>(&bits), 8);
  }
  for (double value : {1.0, 2.0}) {
    uint64_t bits;
    std::memcpy(&bits, &value, 8);
    bits = __builtin_bswap64(bits);
    complex.append(reinterpret_cast<const char*>(&bits), 8);
  }
  data::NdArray array = data::NdArray::Vector(ElementType::kFloat64, 2, Buffer::Copy(doubles));
  array.big_endian = true;
  plain.Add(array);
  data::NdArray number = data::NdArray::Vector(ElementType::kComplex128, 1, Buffer::Copy(complex));
  number.big_endian = true;
  plain.roots() = {0, plain.Add(number)};
  pb::Data message;
  ASSERT_TRUE(DataToProto(plain, &message).ok());
  double values[2];
  ASSERT_EQ(message.items(0).array().data().size(), 16u);
  std::memcpy(values, message.items(0).array().data().data(), 16);
  EXPECT_EQ(values[0], 1.5);
  EXPECT_EQ(values[1], -2.0);
  ASSERT_EQ(message.items(1).array().data().size(), 16u);
  std::memcpy(values, message.items(1).array().data().data(), 16);
  EXPECT_EQ(values[0], 1.0);
  EXPECT_EQ(values[1], 2.0);
  // Left out for streaming, the data is for the sender to swap (wire::SendArrayChunks).
  message.Clear();
  ASSERT_TRUE(DataToProto(plain, &message, ToProtoOptions{.max_inline_array_bytes = 8}).ok());
  EXPECT_TRUE(message.items(0).array().data().empty());
}

TEST(DataConversionTest, StreamedArrayDataIsTakenAsItIsAndChecked) {
  const data::Data plain = Sample();
  const ToProtoOptions streaming{.max_inline_array_bytes = 20};
  pb::Data message;
  ASSERT_TRUE(DataToProto(plain, &message, streaming).ok());
  const Buffer data = Buffer::Copy(plain.GetIf<data::NdArray>(0)->data.view());
  {
    pb::Data copy = message;
    absl::StatusOr<data::Data> back = DataFromProto(std::move(copy), {{0, data}});
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->GetIf<data::NdArray>(0)->data.data(), data.data()) << "copied";
    EXPECT_EQ(back->GetIf<data::NdArray>(0)->data.view(),
              plain.GetIf<data::NdArray>(0)->data.view());
  }
  {
    pb::Data copy = message;
    EXPECT_FALSE(DataFromProto(std::move(copy), {{0, data.Slice(0, 8)}}).ok()) << "too short";
  }
  {
    pb::Data copy = message;
    absl::Status status = DataFromProto(std::move(copy), {{0, data}, {1, data}}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("streamed data for item 1, which is not an array item"));
  }
  {
    pb::Data copy = message;
    absl::Status status = DataFromProto(std::move(copy), {{2, data}}).status();
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("item 2 has data both in its message and streamed"));
  }
}

TEST(DataConversionTest, RefusesHostileMessages) {
  auto refused = [](pb::Data message) {
    absl::StatusOr<data::Data> plain = DataFromProto(std::move(message));
    EXPECT_EQ(plain.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(plain.status().message());
  };
  pb::Data no_kind;
  no_kind.add_items();
  EXPECT_THAT(refused(no_kind), HasSubstr("item 0: no kind is set"));

  pb::Data bad_reference;
  bad_reference.add_items()->mutable_list()->add_items(5);
  EXPECT_THAT(refused(bad_reference),
              HasSubstr("item 0 (list): an element refers to item 5, but there are 1 items"));

  pb::Data outside;
  pb::NdArray* array = outside.add_items()->mutable_array();
  array->set_dtype(pb::ELEMENT_TYPE_FLOAT64);
  array->add_shape(4);
  array->add_strides(1);
  array->set_length(2);
  array->set_data(std::string(16, '\0'));
  EXPECT_THAT(refused(outside), HasSubstr("reaches elements 0 to 3, outside the 2 elements"));

  pb::Data short_data = outside;
  short_data.mutable_items(0)->mutable_array()->set_length(4);
  EXPECT_THAT(refused(short_data), HasSubstr("data holds 16 bytes, but length 4"));

  pb::Data bad_dtype = outside;
  bad_dtype.mutable_items(0)->mutable_array()->set_dtype(static_cast<pb::ElementType>(77));
  EXPECT_THAT(refused(bad_dtype), HasSubstr("undeclared dtype 77"));

  pb::Data bad_na;
  pb::StringArray* strings = bad_na.add_items()->mutable_strings();
  strings->add_values("a");
  strings->add_na(3);
  EXPECT_THAT(refused(bad_na), HasSubstr("NA indices must be increasing and within the values"));

  pb::Data wrong_kind;
  wrong_kind.add_items()->mutable_factor()->set_codes(1);
  wrong_kind.add_items()->mutable_null();
  EXPECT_THAT(refused(wrong_kind), HasSubstr("codes must be a array item, but item 1 is a null"));

  pb::Data bad_root;
  bad_root.add_items()->mutable_null();
  bad_root.add_roots(9);
  EXPECT_THAT(refused(bad_root), HasSubstr("root refers to item 9"));
}

// A string array item of `values` ("" for NA where `na` says so).
data::Data StringsOf(const std::vector<std::string>& values, const std::vector<bool>& na = {}) {
  data::Data plain;
  data::Strings strings;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i < na.size() && na[i]) {
      strings.values.AppendNa();
    } else {
      strings.values.Append(values[i], StringEncoding::kUtf8);
    }
  }
  plain.roots().push_back(plain.Add(std::move(strings)));
  return plain;
}

std::vector<int32_t> CodesOf(const pb::CodedStrings& message) {
  std::vector<int32_t> codes(message.codes().size() / 4);
  std::memcpy(codes.data(), message.codes().data(), message.codes().size());
  return codes;
}

TEST(DataConversionTest, RepeatingStringsGoInDictionaryFormWhenAsked) {
  // 20 elements, 3 distinct, NA at 1 and 19: dictionary form, values in order of first use.
  std::vector<std::string> values;
  std::vector<bool> na;
  for (int i = 0; i < 20; ++i) {
    values.push_back(i % 3 == 0 ? "alpha" : i % 3 == 1 ? "b\xe9ta" : "");
    na.push_back(i == 1 || i == 19);
  }
  data::Data plain = StringsOf(values, na);
  pb::Data message;
  ASSERT_TRUE(DataToProto(plain, &message, {.string_codes = true}).ok());
  ASSERT_TRUE(message.items(0).has_coded_strings());
  const pb::CodedStrings& coded = message.items(0).coded_strings();
  EXPECT_THAT(coded.values(), ::testing::ElementsAre("alpha", "", "b\xe9ta"));
  EXPECT_EQ(CodesOf(coded),
            (std::vector<int32_t>{0, -1, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, -1}));
  // Read back: the same elements, NA included.
  pb::Data wire;
  ASSERT_TRUE(wire.ParseFromString(message.SerializeAsString()));
  absl::StatusOr<data::Data> back = DataFromProto(std::move(wire));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, plain);

  // Not asked: a StringArray.
  ASSERT_TRUE(DataToProto(plain, &message).ok());
  ASSERT_TRUE(message.items(0).has_strings());
  EXPECT_EQ(message.items(0).strings().values_size(), 20);
  EXPECT_THAT(message.items(0).strings().na(), ::testing::ElementsAre(1, 19));
}

TEST(DataConversionTest, MostlyDistinctOrShortStringArraysStayPlain) {
  std::vector<std::string> distinct;
  for (int i = 0; i < 20; ++i) distinct.push_back(i < 11 ? std::to_string(i) : "x");  // 12 of 20
  std::vector<std::string> half;
  for (int i = 0; i < 20; ++i) half.push_back(i < 9 ? std::to_string(i) : "x");  // 10 of 20
  const std::vector<std::string> shorter(15, "same");  // below 16 elements
  for (const auto& [values, coded] : {std::pair{distinct, false}, {half, true}, {shorter, false}}) {
    data::Data plain = StringsOf(values);
    pb::Data message;
    ASSERT_TRUE(DataToProto(plain, &message, {.string_codes = true}).ok());
    EXPECT_EQ(message.items(0).has_coded_strings(), coded) << values.size() << " " << values[0];
    EXPECT_EQ(coded ? message.items(0).coded_strings().values_size()
                    : message.items(0).strings().values_size(),
              coded ? 10 : static_cast<int>(values.size()));
    absl::StatusOr<data::Data> back = DataFromProto(std::move(message));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, plain);
  }
}

TEST(DataConversionTest, DictionaryFormFromClientsIsCheckedAndBounded) {
  auto coded = [](std::vector<std::string> values, std::vector<int32_t> codes) {
    pb::Data message;
    pb::CodedStrings* strings = message.add_items()->mutable_coded_strings();
    for (const std::string& value : values) strings->add_values(value);
    std::string bytes(4 * codes.size(), '\0');
    std::memcpy(bytes.data(), codes.data(), bytes.size());
    strings->set_codes(bytes);
    message.add_roots(0);
    return message;
  };
  // A value may repeat in a client's dictionary; -1 is NA.
  absl::StatusOr<data::Data> read = DataFromProto(coded({"a", "b", "a"}, {2, -1, 1, 0}));
  ASSERT_TRUE(read.ok()) << read.status();
  const StringVector& values = read->Get<data::Strings>(0).values;
  ASSERT_EQ(values.size(), 4u);
  EXPECT_EQ(values.Get(0).bytes, "a");
  EXPECT_TRUE(values.Get(1).is_na);
  EXPECT_EQ(values.Get(2).bytes, "b");
  EXPECT_EQ(values.Get(3).bytes, "a");

  auto refused = [](pb::Data message, const DataFromProtoLimits& limits = {}) {
    absl::StatusOr<data::Data> plain = DataFromProto(std::move(message), limits);
    EXPECT_FALSE(plain.ok());
    return plain.status();
  };
  EXPECT_THAT(refused(coded({"a"}, {0, 1})).message(),
              HasSubstr("item 0: element 1 has code 1, outside -1 .. 0"));
  EXPECT_THAT(refused(coded({"a"}, {-2})).message(), HasSubstr("element 0 has code -2"));
  pb::Data ragged = coded({"a"}, {0});
  ragged.mutable_items(0)->mutable_coded_strings()->mutable_codes()->push_back('\0');
  EXPECT_THAT(refused(ragged).message(),
              HasSubstr("item 0: codes hold 5 bytes, not a whole number of int32s"));
  // A matrix's shape is checked as a StringArray's is.
  pb::Data misshapen = coded({"a"}, {0, 0, 0});
  misshapen.mutable_items(0)->mutable_coded_strings()->add_shape(2);
  misshapen.mutable_items(0)->mutable_coded_strings()->add_shape(2);
  EXPECT_THAT(refused(misshapen).message(), HasSubstr("item 0 (strings): shape holds 4 elements"));

  // Amplification: 1,000 codes for one 1,000-byte value are 1,000,000 bytes, counted over the
  // whole message before anything is built.
  pb::Data amplified = coded({std::string(1000, 'z')}, std::vector<int32_t>(1000, 0));
  *amplified.add_items() = amplified.items(0);
  const DataFromProtoLimits limits{.max_coded_string_bytes = 1'500'000,
                                   .limit_name = "max-request-bytes"};
  const absl::Status too_much = refused(amplified, limits);
  EXPECT_EQ(too_much.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(LimitName(too_much), "max-request-bytes");
  EXPECT_THAT(too_much.message(),
              HasSubstr("item 1: coded strings expand to 1000000 bytes, past the 500000 left of "
                        "the limit of 1500000 bytes for coded strings (max-request-bytes)"));
  amplified.mutable_items()->RemoveLast();
  EXPECT_TRUE(DataFromProto(std::move(amplified), limits).ok());
}

}  // namespace
}  // namespace seriald
