// seriald.v1.Data <-> plain data: a faithful mirror both ways, and hostile messages refused by
// name.
#include "proto/data_conversion.h"

#include <string>

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

}  // namespace
}  // namespace seriald
