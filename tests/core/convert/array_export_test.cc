// Exports to and imports from array files through ConvertInput: names by path, skipped leaves
// noted (or refused with --strict), shared arrays written once, R matrices in numpy's order,
// and imports as a flat table of tensors / named list of arrays.
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/arrays/npz.h"
#include "core/arrays/safetensors.h"
#include "core/data/mapping.h"
#include "core/data/ndarray.h"
#include "core/model/element_type.h"
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
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ReadPlain;
using ::testing::UnorderedElementsAre;
using testing::WrittenAs;

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
  EXPECT_THAT(Names(*named),
              UnorderedElementsAre("model.weight", "model.bias", "model.gradWeight",
                                   "model.gradBias", "model.output", "model.gradInput", "losses"));
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

// Arrays for a family's big-endian and little-endian twins: small ones, which the conversion
// swaps as it reads them, and large ones (more than 1 MiB), which the array writers swap as they
// write them; vectors, a matrix (column-major for R, row-major for Torch7), a transposed view
// (gathered by safetensors and, for Torch7, by npy), logicals, complex numbers (R), raw bytes.
data::Data ArraysForTwins(DataFamily family) {
  data::Data plain;
  data::Map root;
  auto add = [&](const std::string& name, data::NdArray array) {
    const ItemId key = plain.Add(data::String{name});
    root.entries.emplace_back(key, plain.Add(std::move(array)));
  };
  auto vector_of = [](ElementType type, uint64_t count, auto element) {
    using T = decltype(element(0));
    std::vector<T> values;
    for (uint64_t i = 0; i < count; ++i) values.push_back(element(i));
    return data::NdArray::Vector(type, count, Buffer::Copy(values.data(), count * sizeof(T)));
  };
  auto doubles = [](uint64_t i) { return static_cast<double>(i) * 0.25 - 7; };
  auto ints = [](uint64_t i) { return static_cast<int32_t>(i * 7919) - 100000; };
  for (uint64_t count : {uint64_t{37}, uint64_t{300000}}) {
    const std::string size = count > 1000 ? "large" : "small";
    add(size + "_doubles", vector_of(ElementType::kFloat64, count, doubles));
    const bool r = family == DataFamily::kR;
    if (r) {
      add(size + "_ints", vector_of(ElementType::kInt32, count, ints));
    } else {
      add(size + "_ints", vector_of(ElementType::kInt64, count,
                                    [&](uint64_t i) { return static_cast<int64_t>(ints(i)); }));
    }
    if (r) {
      add(size + "_logicals",
          vector_of(ElementType::kLogical, count, [](uint64_t i) { return int32_t(i % 3 == 0); }));
      data::NdArray halves = vector_of(ElementType::kFloat64, 2 * count, doubles);
      add(size + "_complex", data::NdArray::Vector(ElementType::kComplex128, count, halves.data));
    } else {
      add(size + "_floats", vector_of(ElementType::kFloat32, count,
                                      [](uint64_t i) { return static_cast<float>(i) / 3; }));
      add(size + "_shorts", vector_of(ElementType::kInt16, count,
                                      [](uint64_t i) { return static_cast<int16_t>(i * 31); }));
    }
    add(size + "_bytes", vector_of(ElementType::kUint8, count,
                                   [](uint64_t i) { return static_cast<uint8_t>(i * 7); }));
    // A matrix in the family's own order, and the same numbers viewed the other way.
    const int64_t rows = count > 1000 ? 500 : 4;
    const int64_t cols = static_cast<int64_t>(count) / rows;
    const data::Order own = r ? data::Order::kColumnMajor : data::Order::kRowMajor;
    data::NdArray matrix = vector_of(ElementType::kFloat64, rows * cols, doubles);
    matrix.shape = {rows, cols};
    matrix.strides = data::ContiguousStrides(matrix.shape, own);
    add(size + "_matrix", matrix);
    if (!r) {
      data::NdArray transposed = matrix;
      transposed.shape = {cols, rows};
      transposed.strides = {1, cols};
      add(size + "_transposed", transposed);
    }
  }
  plain.roots().push_back(plain.Add(std::move(root)));
  return plain;
}

TEST(ArrayExportTest, BigEndianInputsExportAsTheirLittleEndianTwinsDo) {
  // The little-endian twin's arrays are never swapped: its export is the oracle for every byte,
  // large arrays (swapped as written, not as read) and the gathered transposed view included.
  WriteOptions big_endian;
  big_endian.torch7_big_endian = true;
  const struct {
    DataFamily family;
    Buffer big, little;
    std::string_view big_format, little_format;
  } twins[] = {
      {DataFamily::kR, WrittenAs(ArraysForTwins(DataFamily::kR), DataFamily::kR, "rds", {}),
       WrittenAs(ArraysForTwins(DataFamily::kR), DataFamily::kR, "rds-native", {}), "rds",
       "rds-native"},
      {DataFamily::kTorch7,
       WrittenAs(ArraysForTwins(DataFamily::kTorch7), DataFamily::kTorch7, "t7", big_endian),
       WrittenAs(ArraysForTwins(DataFamily::kTorch7), DataFamily::kTorch7, "t7", {}), "t7", "t7"},
  };
  for (const auto& twin : twins) {
    ASSERT_NE(twin.big.view(), twin.little.view());
    for (const char* format : {"npz", "npz-compressed", "safetensors"}) {
      SCOPED_TRACE(absl::StrCat(AsAbsl(twin.big_format), " to ", format));
      WriteOptions options;
      if (twin.family == DataFamily::kR && std::string_view(format) == "safetensors") {
        // safetensors has no complex type: the R twins are refused alike, naming the array.
        absl::StatusOr<testing::Converted> big = ConvertBytes(twin.big, twin.big_format, format);
        absl::StatusOr<testing::Converted> little =
            ConvertBytes(twin.little, twin.little_format, format);
        ASSERT_FALSE(big.ok());
        EXPECT_EQ(big.status(), little.status());
        EXPECT_THAT(big.status().message(), HasSubstr("has no complex type"));
        continue;
      }
      absl::StatusOr<testing::Converted> big = ConvertBytes(twin.big, twin.big_format, format);
      absl::StatusOr<testing::Converted> little =
          ConvertBytes(twin.little, twin.little_format, format);
      ASSERT_TRUE(big.ok()) << big.status();
      ASSERT_TRUE(little.ok()) << little.status();
      EXPECT_TRUE(big->bytes.view() == little->bytes.view());
      EXPECT_EQ(big->notes, little->notes);
    }
  }
}

// One array of `plain`'s root map, as the root of plain data of its own.
data::Data OneArray(const data::Data& plain, const std::string& name) {
  const auto& root = std::get<data::Map>(plain.item(plain.roots()[0]).data);
  for (const auto& [key, item] : root.entries) {
    if (std::get<data::String>(plain.item(key).data).bytes != name) continue;
    data::Data one;
    one.roots().push_back(one.Add(std::get<data::NdArray>(plain.item(item).data)));
    return one;
  }
  ADD_FAILURE() << "no array " << name;
  return {};
}

TEST(ArrayExportTest, ABigEndianArrayAloneExportsToNpyAsItsTwinDoes) {
  WriteOptions big_endian;
  big_endian.torch7_big_endian = true;
  const data::Data r = ArraysForTwins(DataFamily::kR);
  const data::Data torch7 = ArraysForTwins(DataFamily::kTorch7);
  // R's column-major matrix is written in Fortran order, Torch7's transposed view gathered into
  // C order; both large, so swapped as written.
  for (const auto& [family, plain, name] :
       {std::tuple{DataFamily::kR, &r, "large_matrix"},
        std::tuple{DataFamily::kR, &r, "large_logicals"},
        std::tuple{DataFamily::kR, &r, "small_logicals"},
        std::tuple{DataFamily::kR, &r, "large_complex"},
        std::tuple{DataFamily::kTorch7, &torch7, "large_transposed"},
        std::tuple{DataFamily::kTorch7, &torch7, "large_shorts"}}) {
    SCOPED_TRACE(name);
    const data::Data one = OneArray(*plain, name);
    const bool is_r = family == DataFamily::kR;
    const Buffer big = WrittenAs(one, family, is_r ? "rds" : "t7", big_endian);
    const Buffer little = WrittenAs(one, family, is_r ? "rds-native" : "t7", {});
    absl::StatusOr<testing::Converted> from_big = ConvertBytes(big, is_r ? "rds" : "t7", "npy");
    absl::StatusOr<testing::Converted> from_little =
        ConvertBytes(little, is_r ? "rds-native" : "t7", "npy");
    ASSERT_TRUE(from_big.ok()) << from_big.status();
    ASSERT_TRUE(from_little.ok()) << from_little.status();
    EXPECT_TRUE(from_big->bytes.view() == from_little->bytes.view());
  }

  // A logical NA has no numpy bool: refused alike from either byte order, naming the element.
  data::Data with_na = OneArray(r, "large_logicals");
  data::NdArray& logicals = std::get<data::NdArray>(with_na.mutable_item(with_na.roots()[0]).data);
  auto [bytes, writable] = Buffer::Allocate(logicals.data.size());
  std::memcpy(writable, logicals.data.data(), logicals.data.size());
  std::memcpy(writable + 4 * 150001, &kNaInteger, 4);
  logicals.data = bytes;
  absl::StatusOr<testing::Converted> from_big =
      ConvertBytes(WrittenAs(with_na, DataFamily::kR, "rds", {}), "rds", "npy");
  absl::StatusOr<testing::Converted> from_little =
      ConvertBytes(WrittenAs(with_na, DataFamily::kR, "rds-native", {}), "rds-native", "npy");
  ASSERT_FALSE(from_big.ok());
  EXPECT_EQ(from_big.status(), from_little.status());
  EXPECT_THAT(from_big.status().message(),
              HasSubstr("element [150001] is NA; numpy bool has no NA"));
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
