// Torch7 <-> plain data over the real Torch7 corpus: tensors become views over the very bytes that
// were read, tables become lists or maps by their keys, class objects keep their class, and
// mapping back writes the file that was read.
#include "core/data/torch7_mapping.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/data/ndarray.h"
#include "core/io/byte_writer.h"
#include "core/torch7/reader.h"
#include "core/torch7/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/torch7/testing/corpus.h"

namespace seriald {
namespace {

using testing::CorpusFile;
using testing::CorpusStreams;
using ::testing::HasSubstr;

data::Data Load(const Buffer& input) {
  absl::StatusOr<Value> value = ReadTorch7(input);
  EXPECT_TRUE(value.ok()) << value.status();
  if (!value.ok()) return {};
  absl::StatusOr<data::Data> plain = Torch7ToData(*value);
  EXPECT_TRUE(plain.ok()) << plain.status();
  return plain.ok() ? *std::move(plain) : data::Data();
}

std::string Write(const Value& value, const Torch7Layout& layout) {
  ByteWriter out;
  EXPECT_TRUE(WriteTorch7(value, layout, out).ok());
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return chain.ToString();
}

bool HasOpaque(const data::Data& plain) {
  for (const data::Item& item : plain.items()) {
    if (item.kind() == data::ItemKind::kOpaque) return true;
  }
  return false;
}

TEST(Torch7MappingTest, EveryCorpusFileMapsAndLittleEndianTensorsAreNotCopied) {
  int files = 0, arrays = 0, shared = 0;
  for (const std::string& path : CorpusStreams()) {
    Buffer input = CorpusFile(path);
    absl::StatusOr<Value> value = ReadTorch7(input);
    if (!value.ok()) continue;  // the opaque generator blob and the like: not object streams
    absl::StatusOr<data::Data> plain = Torch7ToData(*value);
    ASSERT_TRUE(plain.ok()) << path << ": " << plain.status();
    ++files;
    const bool sliced_input = !value->source().torch7->ascii && !value->source().torch7->big_endian;
    for (const data::Item& item : plain->items()) {
      const auto* array = std::get_if<data::NdArray>(&item.data);
      if (array == nullptr || array->length == 0) continue;
      ++arrays;
      EXPECT_TRUE(data::CheckView(*array, path).ok()) << path;
      // Longs of 4-byte-long files widen to int64: the one conversion a little-endian read makes.
      if (sliced_input &&
          !(value->source().torch7->long_size == 4 && array->dtype == ElementType::kInt64)) {
        EXPECT_GE(array->data.data(), input.data()) << path << " " << array->length;
        EXPECT_LE(array->data.data() + array->data.size(), input.data() + input.size()) << path;
        ++shared;
      }
    }
  }
  EXPECT_GE(files, 140);
  EXPECT_GE(arrays, 100);
  EXPECT_GE(shared, 50);
}

TEST(Torch7MappingTest, MappingBackWritesTheSameBytes) {
  int same = 0, with_opaque = 0;
  for (const std::string& path : CorpusStreams()) {
    Buffer input = CorpusFile(path);
    absl::StatusOr<Value> value = ReadTorch7(input);
    if (!value.ok()) continue;
    absl::StatusOr<data::Data> plain = Torch7ToData(*value);
    ASSERT_TRUE(plain.ok()) << path;
    absl::StatusOr<Value> back = DataToTorch7(*plain);
    if (HasOpaque(*plain)) {
      ++with_opaque;
      EXPECT_FALSE(back.ok()) << path;
      continue;
    }
    ASSERT_TRUE(back.ok()) << path << ": " << back.status();
    if (Write(*back, *value->source().torch7) == std::string(input.view())) {
      ++same;
    } else {
      ADD_FAILURE() << path << " does not come back byte for byte";
    }
  }
  EXPECT_GE(same, 100);
  RecordProperty("identical", same);
  RecordProperty("opaque", with_opaque);
}

TEST(Torch7MappingTest, TensorsAreViewsWithTheirSizesStridesAndOffset) {
  data::Data plain = Load(CorpusFile("python-torchfile/doubletensor.t7"));
  ASSERT_EQ(plain.roots().size(), 1u);
  const auto* array = plain.GetIf<data::NdArray>(plain.roots()[0]);
  ASSERT_NE(array, nullptr);
  EXPECT_EQ(array->dtype, ElementType::kFloat64);
  EXPECT_EQ(array->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(array->strides, (std::vector<int64_t>{3, 1}));
  Buffer row_major = data::Gather(*array, data::Order::kRowMajor);
  double values[6];
  std::memcpy(values, row_major.data(), sizeof values);
  EXPECT_EQ(values[2], 3.0);
  EXPECT_EQ(values[5], 6.9);
}

TEST(Torch7MappingTest, TablesBecomeListsOnlyForKeysOneToN) {
  data::Data list = Load(CorpusFile("python-torchfile/list_table.t7"));
  const auto* sequence = list.GetIf<data::Sequence>(list.roots()[0]);
  ASSERT_NE(sequence, nullptr);
  ASSERT_EQ(sequence->items.size(), 4u);
  EXPECT_EQ(list.GetIf<data::String>(sequence->items[2])->bytes, "third item");
  EXPECT_EQ(list.GetIf<data::Number>(sequence->items[3])->value, 123);

  data::Data map = Load(CorpusFile("python-torchfile/map_table1.t7"));  // key 0 as well
  const auto* entries = map.GetIf<data::Map>(map.roots()[0]);
  ASSERT_NE(entries, nullptr);
  EXPECT_EQ(entries->entries.size(), 5u);

  data::Data cyclic = Load(CorpusFile("python-torchfile/recursive_kv_table.t7"));
  const ItemId root = cyclic.roots()[0];
  const auto* self = cyclic.GetIf<data::Map>(root);
  ASSERT_NE(self, nullptr);
  ASSERT_EQ(self->entries.size(), 1u);
  EXPECT_EQ(self->entries[0].first, root);
  EXPECT_EQ(self->entries[0].second, root);
}

TEST(Torch7MappingTest, ClassObjectsKeepTheirClass) {
  data::Data blah = Load(CorpusFile("python-torchfile/custom_class.t7"));
  EXPECT_EQ(blah.item(blah.roots()[0]).classes, (std::vector<std::string>{"Blah"}));
  EXPECT_NE(blah.GetIf<data::Map>(blah.roots()[0]), nullptr);

  data::Data vec = Load(CorpusFile("python-torchfile/tds_vec.t7"));
  EXPECT_EQ(vec.item(vec.roots()[0]).classes, (std::vector<std::string>{"tds.Vec"}));
  EXPECT_EQ(vec.GetIf<data::Sequence>(vec.roots()[0])->items.size(), 2u);

  data::Data function = Load(CorpusFile("python-torchfile/function.t7"));
  const auto* opaque = function.GetIf<data::Opaque>(function.roots()[0]);
  ASSERT_NE(opaque, nullptr);
  EXPECT_EQ(opaque->type, "function");
}

TEST(Torch7MappingTest, ArraysBackToTensors) {
  // A transposed view keeps its strides and shares one storage with the original.
  const double elements[6] = {1, 2, 3, 4, 5, 6};
  data::Data plain;
  data::NdArray matrix =
      data::NdArray::Vector(ElementType::kFloat64, 6, Buffer::Copy(elements, 48));
  matrix.shape = {2, 3};
  matrix.strides = {3, 1};
  data::NdArray transposed = matrix;
  transposed.shape = {3, 2};
  transposed.strides = {1, 3};
  data::NdArray reversed = data::NdArray::Vector(ElementType::kFloat64, 6, matrix.data);
  reversed.strides = {-1};
  reversed.offset = 5;
  int32_t logical[2] = {1, INT32_MIN};
  data::Sequence list;
  list.items = {plain.Add(matrix), plain.Add(transposed), plain.Add(reversed)};
  plain.roots().push_back(plain.Add(list));
  absl::StatusOr<Value> value = DataToTorch7(plain);
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& table = std::get<Table>(value->node(value->roots()[0]).data);
  ASSERT_EQ(table.entries.size(), 3u);
  auto tensor_of = [&](int i) {
    const auto& object = std::get<TorchObject>(value->node(table.entries[i].value).data);
    EXPECT_EQ(object.class_name, "torch.DoubleTensor");
    return std::get<Tensor>(value->node(object.payload).data);
  };
  EXPECT_EQ(tensor_of(1).strides, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(tensor_of(0).storage, tensor_of(1).storage);
  // Torch7 has no negative strides: that view becomes a contiguous copy of its own.
  EXPECT_EQ(tensor_of(2).strides, (std::vector<int64_t>{1}));
  EXPECT_NE(tensor_of(2).storage, tensor_of(0).storage);

  data::Data with_na;
  data::NdArray na = data::NdArray::Vector(ElementType::kLogical, 2, Buffer::Copy(logical, 8));
  with_na.roots().push_back(with_na.Add(na));
  EXPECT_THAT(DataToTorch7(with_na).status().message(),
              HasSubstr("logical element 1 is NA, which a ByteTensor cannot hold"));
}

}  // namespace
}  // namespace seriald
