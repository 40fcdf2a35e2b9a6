// The service's formats and options mean the same thing as the core's: names map both ways,
// options survive the trip through their messages, and out-of-range values are refused.
#include "proto/service_options.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/rds/refhook.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald {
namespace {

using ::testing::HasSubstr;

TEST(ServiceOptionsTest, EveryCoreFormatHasAnEnumValueAndBack) {
  CodecRegistry registry = CoreCodecs();
  for (const Codec* codec : registry.codecs()) {
    std::optional<v1::Format> format = FormatFromName(codec->name());
    ASSERT_TRUE(format.has_value()) << codec->name();
    EXPECT_EQ(FormatName(*format), codec->name());
  }
  EXPECT_EQ(FormatFromName("json"), v1::FORMAT_JSON);
  EXPECT_EQ(FormatName(v1::FORMAT_UNSPECIFIED), "");
  EXPECT_EQ(FormatFromName("t8"), std::nullopt);
  EXPECT_EQ(FormatName(static_cast<v1::Format>(99)), "");
}

TEST(ServiceOptionsTest, WriteOptionsSurviveTheirMessage) {
  WriteOptions options;
  options.torch7_long_size = 4;
  options.torch7_big_endian = true;
  options.torch7_referenced = false;
  options.r_version = 2;
  options.r_compression = RCompression::kXz;
  options.json_pretty = true;
  v1::WriteOptions message;
  WriteOptionsToProto(options, "t7-ascii", &message);
  EXPECT_EQ(message.format(), v1::FORMAT_T7_ASCII);
  absl::StatusOr<WriteOptions> back = WriteOptionsFromProto(message);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->torch7_long_size, 4);
  EXPECT_EQ(back->torch7_big_endian, true);
  EXPECT_FALSE(back->torch7_referenced);
  EXPECT_EQ(back->r_version, 2);
  EXPECT_EQ(back->r_compression, RCompression::kXz);
  EXPECT_TRUE(back->json_pretty);

  // Unset stays unset: the writer then keeps the source's properties.
  v1::WriteOptions empty;
  absl::StatusOr<WriteOptions> defaults = WriteOptionsFromProto(empty);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->torch7_long_size, std::nullopt);
  EXPECT_EQ(defaults->torch7_big_endian, std::nullopt);
  EXPECT_EQ(defaults->r_version, std::nullopt);
  EXPECT_EQ(defaults->r_compression, std::nullopt);
  EXPECT_TRUE(defaults->torch7_referenced);
}

TEST(ServiceOptionsTest, ReadOptionsSurviveTheirMessageAndTakeTheServerDepth) {
  ReadOptions options;
  options.torch7_long_size = 8;
  options.torch7_big_endian = false;
  options.max_depth = 77;
  v1::ReadOptions message;
  ReadOptionsToProto(options, "", &message);
  EXPECT_EQ(message.format(), v1::FORMAT_UNSPECIFIED);
  absl::StatusOr<ReadOptions> back = ReadOptionsFromProto(message, 1000);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->torch7_long_size, 8);
  EXPECT_EQ(back->torch7_big_endian, false);
  EXPECT_EQ(back->max_depth, 77u);

  v1::ReadOptions no_depth;
  EXPECT_EQ(ReadOptionsFromProto(no_depth, 1234)->max_depth, 1234u);
}

TEST(ServiceOptionsTest, OutOfRangeValuesAreRefused) {
  v1::WriteOptions write;
  write.set_torch7_long_size(6);
  EXPECT_THAT(std::string(WriteOptionsFromProto(write).status().message()),
              HasSubstr("torch7_long_size must be 0, 4 or 8, not 6"));
  write.Clear();
  write.set_r_version(4);
  EXPECT_THAT(std::string(WriteOptionsFromProto(write).status().message()),
              HasSubstr("r_version must be 0, 2 or 3, not 4"));
  write.Clear();
  write.set_torch7_byte_order(static_cast<v1::ByteOrder>(7));
  EXPECT_EQ(WriteOptionsFromProto(write).status().code(), absl::StatusCode::kInvalidArgument);
  write.Clear();
  write.set_r_compression(static_cast<v1::RCompression>(9));
  EXPECT_THAT(std::string(WriteOptionsFromProto(write).status().message()),
              HasSubstr("unknown r_compression 9"));

  v1::ReadOptions read;
  read.set_format(static_cast<v1::Format>(42));
  EXPECT_THAT(std::string(ReadOptionsFromProto(read, 10).status().message()),
              HasSubstr("unknown input format 42"));
  read.Clear();
  read.set_torch7_long_size(2);
  EXPECT_EQ(ReadOptionsFromProto(read, 10).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ServiceOptionsTest, ReferenceBindingsAndPersistentReferencesApplyToTheValue) {
  // list(<persistent reference "myenv">, <environment>)
  Value value;
  const NodeId reference = value.Add(PersistentReference{PersistentNamesFromUtf8({"myenv"})});
  const NodeId global = value.Add(Special{SpecialKind::kGlobalEnv});
  const NodeId environment = value.Add(Environment{false, global, kNoNode, kNoNode});
  value.roots().push_back(value.Add(List{false, {reference, environment}}));

  // "X\n", version 3 of R 4.2.2, then NULL: serialize(NULL, NULL).
  const std::string null_stream("X\n\0\0\0\3\0\4\2\2\0\3\5\0\0\0\0\5UTF-8\0\0\0\xfe", 27);
  v1::ReadOptions read;
  v1::ReferenceBinding* binding = read.add_reference_bindings();
  binding->add_names("myenv");
  binding->set_data(null_stream);
  ASSERT_TRUE(ApplyReferenceBindings(read, ReadOptions{}, value).ok());
  EXPECT_EQ(value.node(reference).kind(), NodeKind::kNil);

  binding->set_data("not R");
  absl::Status unreadable = ApplyReferenceBindings(read, ReadOptions{}, value);
  EXPECT_EQ(unreadable.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unreadable.message(), HasSubstr("reference_bindings[0] (names \"myenv\"): its data"));

  v1::WriteOptions write;
  (*write.mutable_persistent_references())[environment].add_names("e");
  ASSERT_TRUE(ApplyPersistentReferences(write, value).ok());
  EXPECT_EQ(value.Get<PersistentReference>(environment).names, PersistentNamesFromUtf8({"e"}));
  (*write.mutable_persistent_references())[global].add_names("g");
  EXPECT_THAT(ApplyPersistentReferences(write, value).message(),
              HasSubstr(absl::StrCat("node ", global, " (special): only environments")));
}

}  // namespace
}  // namespace seriald
