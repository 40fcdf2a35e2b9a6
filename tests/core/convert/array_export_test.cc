// Exports to and imports from array files through ConvertInput: names by path, skipped leaves
// noted (or refused with --strict), shared arrays written once, R matrices in numpy's order,
// and imports as a flat table of tensors / named list of arrays.
#include <map>
#include <string>
#include <vector>

#include "core/arrays/npz.h"
#include "core/arrays/safetensors.h"
#include "core/torch7/reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/convert/convert_testing.h"
#include "tests/core/torch7/testing/corpus.h"

namespace seriald {
namespace {

using testing::ArraysByPath;
using testing::ArrayValues;
using testing::ConvertBytes;
using testing::CorpusFile;
using testing::ReadPlain;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::vector<std::string> Names(const std::vector<arrays::NamedArray>& named) {
  std::vector<std::string> names;
  for (const auto& a : named) names.push_back(a.name);
  return names;
}

TEST(ArrayExportTest, AModelsArraysAreNamedByPathAndOtherLeavesAreNoted) {
  absl::StatusOr<testing::Converted> npz =
      ConvertBytes(CorpusFile("generated/checkpoint_like.bin.t7"), "t7", "npz");
  ASSERT_TRUE(npz.ok()) << npz.status();
  absl::StatusOr<std::vector<arrays::NamedArray>> named = arrays::ReadNpz(npz->bytes, {});
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_THAT(Names(*named), UnorderedElementsAre("model.weight", "model.bias",
                                                  "model.gradWeight", "model.gradBias",
                                                  "model.output", "model.gradInput", "losses"));
  EXPECT_THAT(npz->notes, ::testing::Contains("skipped epoch (a number): not an array"));
  EXPECT_THAT(npz->notes, ::testing::Contains("skipped opt.name (a string): not an array"));

  WriteOptions strict;
  strict.strict_arrays = true;
  absl::StatusOr<testing::Converted> refused =
      ConvertBytes(CorpusFile("generated/checkpoint_like.bin.t7"), "t7", "safetensors", strict);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("is not an array, and --strict"));
}

TEST(ArrayExportTest, ValuesAndShapesSurviveEveryArrayFormat) {
  const Buffer input = CorpusFile("generated/nn_linear.bin.t7");
  absl::StatusOr<Value> value = ReadTorch7(input);
  ASSERT_TRUE(value.ok());
  const std::map<std::string, ArrayValues> expected = ArraysByPath(*ToData(*value));
  for (const char* format : {"npz", "npz-compressed", "safetensors"}) {
    SCOPED_TRACE(format);
    absl::StatusOr<testing::Converted> out = ConvertBytes(input, "t7", format);
    ASSERT_TRUE(out.ok()) << out.status();
    // Import: a root map from name to array.
    const std::map<std::string, ArrayValues> got = ArraysByPath(ReadPlain(out->bytes, format));
    for (const auto& [name, array] : expected) {
      if (array.values.empty() && array.shape.empty()) continue;
      auto it = got.find(name);
      ASSERT_NE(it, got.end()) << name;
      EXPECT_EQ(it->second.dtype, array.dtype) << name;
      EXPECT_EQ(it->second.shape, array.shape) << name;
      EXPECT_EQ(it->second.values, array.values) << name;
    }
  }
}

TEST(ArrayExportTest, SharedTensorsAreWrittenOnce) {
  absl::StatusOr<testing::Converted> out =
      ConvertBytes(CorpusFile("generated/tensor_same_twice.bin.t7"), "t7", "safetensors");
  ASSERT_TRUE(out.ok()) << out.status();
  absl::StatusOr<arrays::SafetensorsFile> file = arrays::ReadSafetensors(out->bytes);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->arrays.size(), 1u);
  EXPECT_THAT(out->notes, ElementsAre(HasSubstr("is the same array as 1, written once")));
}

TEST(ArrayExportTest, NpyTakesExactlyOneArray) {
  absl::StatusOr<testing::Converted> one =
      ConvertBytes(CorpusFile("generated/tensor_double_2x3.bin.t7"), "t7", "npy");
  ASSERT_TRUE(one.ok()) << one.status();
  const data::Data back = ReadPlain(one->bytes, "npy");
  EXPECT_THAT(ArraysByPath(back).at("").shape, ElementsAre(2, 3));
  // And an npy file converts to a tensor, not a table holding one.
  absl::StatusOr<testing::Converted> t7 = ConvertBytes(one->bytes, "npy", "t7");
  ASSERT_TRUE(t7.ok()) << t7.status();
  EXPECT_THAT(ArraysByPath(ReadPlain(t7->bytes, "t7")).at("").values,
              ElementsAre(1, 2, 3, 4, 5, 6));

  absl::StatusOr<testing::Converted> many =
      ConvertBytes(CorpusFile("generated/nn_linear.bin.t7"), "t7", "npy");
  ASSERT_FALSE(many.ok());
  EXPECT_THAT(many.status().message(),
              HasSubstr("an npy file holds one array, but the input has 6 (weight, "));
}

TEST(ArrayExportTest, ArrayFilesImportAsTablesOfTensorsAndNamedListsOfArrays) {
  absl::StatusOr<testing::Converted> npz =
      ConvertBytes(CorpusFile("generated/nn_linear.bin.t7"), "t7", "npz");
  ASSERT_TRUE(npz.ok());
  absl::StatusOr<testing::Converted> t7 = ConvertBytes(npz->bytes, "npz", "t7");
  ASSERT_TRUE(t7.ok()) << t7.status();
  const data::Data table = ReadPlain(t7->bytes, "t7");
  ASSERT_NE(table.GetIf<data::Map>(table.roots()[0]), nullptr);
  EXPECT_THAT(ArraysByPath(table).at("weight").values, ElementsAre(.1, .2, .3, .4, .5, .6));

  absl::StatusOr<testing::Converted> rds = ConvertBytes(npz->bytes, "npz", "rds");
  ASSERT_TRUE(rds.ok()) << rds.status();
  const data::Data list = ReadPlain(rds->bytes, "rds");
  ASSERT_NE(list.GetIf<data::Sequence>(list.roots()[0]), nullptr);
  const ArrayValues weight = ArraysByPath(list).at("weight");
  EXPECT_EQ(weight.dtype, ElementType::kFloat64);
  EXPECT_THAT(weight.shape, ElementsAre(2, 3));
  EXPECT_THAT(weight.values, ElementsAre(.1, .2, .3, .4, .5, .6));
}

}  // namespace
}  // namespace seriald
