// What ReadTorch7 makes of real Torch7 files: class names, shapes, offsets, element values,
// shared nodes and cycles, layouts, and that storage data is not copied.
#include "core/torch7/reader.h"

#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/torch7/testing/corpus.h"
#include "tests/core/torch7/testing/lookup.h"

namespace seriald {
namespace {

using ::seriald::testing::ArrayOf;
using ::seriald::testing::CorpusFile;
using ::seriald::testing::Elements;
using ::seriald::testing::Field;
using ::seriald::testing::Item;
using ::seriald::testing::StorageOf;
using ::seriald::testing::TensorOf;
using ::testing::ElementsAre;

class Torch7ReaderTest : public ::testing::Test {
 protected:
  // Reads a corpus file; the input stays alive in `input_` for zero-copy checks.
  Value Load(std::string_view path) {
    input_ = CorpusFile(path);
    absl::StatusOr<Value> value = ReadTorch7(input_);
    EXPECT_TRUE(value.ok()) << path << ": " << value.status();
    if (!value.ok()) return Value();
    EXPECT_EQ(value->roots().size(), 1u) << path;
    return *std::move(value);
  }
  NodeId Root(const Value& value) { return value.roots().at(0); }
  bool InsideInput(const Buffer& data) const {
    return data.data() >= input_.data() &&
           data.data() + data.size() <= input_.data() + input_.size();
  }

  Buffer input_;
};

TEST_F(Torch7ReaderTest, DoubleTensor) {
  Value value = Load("python-torchfile/doubletensor.t7");
  const auto& tensor_object = value.Get<TorchObject>(Root(value));
  EXPECT_EQ(tensor_object.class_name, "torch.DoubleTensor");
  EXPECT_EQ(tensor_object.version, "1");
  const Tensor& tensor = TensorOf(value, Root(value));
  EXPECT_THAT(tensor.sizes, ElementsAre(2, 3));
  EXPECT_THAT(tensor.strides, ElementsAre(3, 1));
  EXPECT_EQ(tensor.storage_offset, 0);  // written 1-based as 1
  const auto& storage = value.Get<TorchObject>(tensor.storage);
  EXPECT_EQ(storage.class_name, "torch.DoubleStorage");
  EXPECT_EQ(ArrayOf(value, tensor.storage).type, ElementType::kFloat64);
  EXPECT_THAT(Elements<double>(value, tensor.storage), ElementsAre(1, 2, 3, 4, 5, 6.9));
  EXPECT_EQ(value.source().torch7, (Torch7Layout{.ascii = false, .long_size = 8}));
}

TEST_F(Torch7ReaderTest, LittleEndianStorageDataIsASliceOfTheInput) {
  Value value = Load("python-torchfile/floattensor.t7");
  const Array& array = ArrayOf(value, StorageOf(value, Root(value)));
  EXPECT_EQ(array.length, 24u);
  EXPECT_TRUE(InsideInput(array.data));
  std::vector<float> floats = Elements<float>(value, StorageOf(value, Root(value)));
  EXPECT_NEAR(std::accumulate(floats.begin(), floats.end(), 0.0), 12.97241666913, 1e-5);
  EXPECT_THAT(TensorOf(value, Root(value)).sizes, ElementsAre(2, 3, 4));
}

TEST_F(Torch7ReaderTest, BigEndianStorageDataIsConvertedOnce) {
  Value value = Load("generated/tensor_double_2x3.bigendian.bin.t7");
  EXPECT_TRUE(value.source().torch7->big_endian);
  NodeId t = Field(value, Root(value), "t");
  EXPECT_FALSE(InsideInput(ArrayOf(value, StorageOf(value, t)).data));
  EXPECT_THAT(Elements<double>(value, StorageOf(value, t)), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_THAT(TensorOf(value, t).sizes, ElementsAre(2, 3));
  NodeId i = Field(value, Root(value), "i");
  EXPECT_THAT(Elements<int32_t>(value, StorageOf(value, i)), ElementsAre(1, 2));
  EXPECT_EQ(value.Get<StringValue>(Field(value, Root(value), "name")).bytes, "be");
}

TEST_F(Torch7ReaderTest, LongSizeTwinsReadIdentically) {
  Value long8 = Load("generated/tensor_double_2x3.bin.t7");
  Value long4 = Load("generated/tensor_double_2x3.long4.bin.t7");
  Value explicit8 = Load("generated/tensor_double_2x3.long8.bin.t7");
  EXPECT_EQ(long4.source().torch7->long_size, 4);
  EXPECT_EQ(long8.source().torch7->long_size, 8);
  EXPECT_EQ(long4.nodes(), long8.nodes());
  EXPECT_EQ(explicit8.nodes(), long8.nodes());
  EXPECT_EQ(long4.roots(), long8.roots());
}

TEST_F(Torch7ReaderTest, LongStorageWithFourByteLongsIsSignExtended) {
  Value value = Load("generated/tensor_long_2x3.long4.bin.t7");
  EXPECT_EQ(value.source().torch7->long_size, 4);
  NodeId storage = StorageOf(value, Root(value));
  EXPECT_EQ(ArrayOf(value, storage).type, ElementType::kInt64);
  EXPECT_THAT(Elements<int64_t>(value, storage), ElementsAre(1, -2, 3, 4, 5, 6));
}

TEST_F(Torch7ReaderTest, ElementTypesAndValues) {
  struct Case {
    const char* path;
    const char* storage_class;
    ElementType type;
  };
  for (const Case& c :
       {Case{"generated/tensor_byte_2x3.bin.t7", "torch.ByteStorage", ElementType::kUint8},
        Case{"generated/tensor_char_2x3.ascii.t7", "torch.CharStorage", ElementType::kInt8},
        Case{"generated/tensor_short_2x3.bin.t7", "torch.ShortStorage", ElementType::kInt16},
        Case{"generated/tensor_int_2x3.ascii.t7", "torch.IntStorage", ElementType::kInt32},
        Case{"generated/tensor_long_2x3.bin.t7", "torch.LongStorage", ElementType::kInt64},
        Case{"generated/tensor_half_2x3.ascii.t7", "torch.HalfStorage", ElementType::kFloat16}}) {
    SCOPED_TRACE(c.path);
    Value value = Load(c.path);
    NodeId storage = StorageOf(value, Root(value));
    EXPECT_EQ(value.Get<TorchObject>(storage).class_name, c.storage_class);
    EXPECT_EQ(ArrayOf(value, storage).type, c.type);
    EXPECT_EQ(ArrayOf(value, storage).length, 6u);
  }
  Value bytes = Load("generated/tensor_byte_2x3.bin.t7");
  EXPECT_THAT(Elements<uint8_t>(bytes, StorageOf(bytes, Root(bytes))),
              ElementsAre(1, 2, 3, 4, 5, 6));
  Value chars = Load("generated/tensor_char_2x3.ascii.t7");
  EXPECT_THAT(Elements<int8_t>(chars, StorageOf(chars, Root(chars))),
              ElementsAre(-1, 2, -3, 4, -5, 6));
  Value shorts = Load("generated/tensor_short_2x3.ascii.t7");
  EXPECT_THAT(Elements<int16_t>(shorts, StorageOf(shorts, Root(shorts))),
              ElementsAre(-1000, 2, 3, 4, 5, 32767));
  Value ints = Load("generated/tensor_int_2x3.bin.t7");
  EXPECT_THAT(Elements<int32_t>(ints, StorageOf(ints, Root(ints))),
              ElementsAre(-100000, 2, 3, 4, 5, 2147483647));
  Value longs = Load("generated/tensor_long_2x3.ascii.t7");
  EXPECT_THAT(Elements<int64_t>(longs, StorageOf(longs, Root(longs))),
              ElementsAre(-5000000000, 2, 3, 4, 5, 9007199254740992));
  Value halves = Load("generated/tensor_half_2x3.bin.t7");
  EXPECT_THAT(Elements<uint16_t>(halves, StorageOf(halves, Root(halves))),
              ElementsAre(0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600));
  Value floats = Load("generated/tensor_float_3d.ascii.t7");
  std::vector<float> one_to_24(24);
  std::iota(one_to_24.begin(), one_to_24.end(), 1.0f);
  EXPECT_EQ(Elements<float>(floats, StorageOf(floats, Root(floats))), one_to_24);
  Value reshape = Load("opencv_ascii/net_reshape_net.txt");
  NodeId reshape_module = Item(reshape, Field(reshape, Root(reshape), "modules"), 1);
  EXPECT_THAT(Elements<int64_t>(reshape, Field(reshape, reshape_module, "batchsize")),
              ElementsAre(139687622421368, 5, 4, 3, 2));
}

TEST_F(Torch7ReaderTest, ViewsKeepStridesAndOffsets) {
  Value transposed = Load("generated/tensor_transposed.bin.t7");
  EXPECT_THAT(TensorOf(transposed, Root(transposed)).sizes, ElementsAre(3, 2));
  EXPECT_THAT(TensorOf(transposed, Root(transposed)).strides, ElementsAre(1, 3));
  Value narrow = Load("generated/tensor_narrow_offset.ascii.t7");
  EXPECT_EQ(TensorOf(narrow, Root(narrow)).storage_offset, 1);
  EXPECT_EQ(ArrayOf(narrow, StorageOf(narrow, Root(narrow))).length, 6u);
  Value row = Load("generated/tensor_select_1d.bin.t7");
  EXPECT_EQ(TensorOf(row, Root(row)).storage_offset, 3);
  EXPECT_THAT(TensorOf(row, Root(row)).strides, ElementsAre(1));
}

TEST_F(Torch7ReaderTest, EmptyTensorHasNoStorage) {
  for (const char* path : {"generated/tensor_empty.bin.t7", "generated/tensor_empty.ascii.t7",
                           "generated/tensor_float_empty.bin.t7"}) {
    SCOPED_TRACE(path);
    Value value = Load(path);
    EXPECT_TRUE(TensorOf(value, Root(value)).sizes.empty());
    EXPECT_EQ(TensorOf(value, Root(value)).storage_offset, 0);
    EXPECT_EQ(StorageOf(value, Root(value)), kNoNode);
    EXPECT_EQ(value.source().torch7->long_size, 8);
  }
  Value storage = Load("generated/storage_empty.bin.t7");
  EXPECT_EQ(ArrayOf(storage, Root(storage)).length, 0u);
}

TEST_F(Torch7ReaderTest, SharedStorageIsOneNode) {
  Value value = Load("generated/tensors_shared_storage.bin.t7");
  NodeId first = Item(value, Root(value), 1);
  NodeId second = Item(value, Root(value), 2);
  EXPECT_NE(first, second);
  EXPECT_EQ(StorageOf(value, first), StorageOf(value, second));
  EXPECT_EQ(TensorOf(value, first).storage_offset, 0);
  EXPECT_EQ(TensorOf(value, second).storage_offset, 2);
  EXPECT_THAT(Elements<double>(value, StorageOf(value, first)), ElementsAre(10, 20, 30, 40));
}

TEST_F(Torch7ReaderTest, SameTensorTwiceIsOneNode) {
  Value value = Load("generated/tensor_same_twice.ascii.t7");
  EXPECT_EQ(Item(value, Root(value), 1), Item(value, Root(value), 2));
  EXPECT_EQ(value.Get<TorchObject>(Item(value, Root(value), 1)).class_name, "torch.FloatTensor");
}

TEST_F(Torch7ReaderTest, CyclesAreSharedNodes) {
  Value cycle = Load("generated/table_cycle.bin.t7");
  EXPECT_EQ(Field(cycle, Root(cycle), "self"), Root(cycle));
  EXPECT_EQ(cycle.Get<StringValue>(Field(cycle, Root(cycle), "name")).bytes, "cycle");

  for (const char* path :
       {"generated/table_self_key_value.bin.t7", "python-torchfile/recursive_kv_table.t7"}) {
    SCOPED_TRACE(path);
    Value value = Load(path);
    const auto& table = value.Get<Table>(Root(value));
    ASSERT_EQ(table.entries.size(), 1u);
    EXPECT_EQ(table.entries[0].key, Root(value));
    EXPECT_EQ(table.entries[0].value, Root(value));
  }

  Value node = Load("generated/class_self_ref.ascii.t7");
  EXPECT_EQ(node.Get<TorchObject>(Root(node)).class_name, "test.Node");
  EXPECT_EQ(Field(node, Root(node), "me"), Root(node));
  Value a = Load("python-torchfile/recursive_class.t7");
  EXPECT_EQ(a.Get<TorchObject>(Root(a)).class_name, "A");
  EXPECT_EQ(Field(a, Root(a), "a"), Root(a));

  Value fact = Load("generated/function_recursive.bin.t7");
  const auto& function = fact.Get<LuaFunction>(Root(fact));
  NodeId upvalue = Item(fact, function.upvalues, 1);
  EXPECT_EQ(Field(fact, upvalue, "value"), Root(fact));
}

TEST_F(Torch7ReaderTest, TableKeysMayBeTables) {
  Value value = Load("generated/table_table_key.bin.t7");
  const auto& table = value.Get<Table>(Root(value));
  ASSERT_EQ(table.entries.size(), 2u);
  NodeId other = Field(value, Root(value), "other");
  EXPECT_EQ(table.entries[1].key, other);
  EXPECT_EQ(value.Get<StringValue>(table.entries[1].value).bytes, "value-for-table-key");
}

TEST_F(Torch7ReaderTest, OpenCvNetSharesTensorsByBackReference) {
  Value value = Load("opencv_ascii/net_softmax_net.txt");
  NodeId sequential = Root(value);
  EXPECT_EQ(value.Get<TorchObject>(sequential).class_name, "nn.Sequential");
  NodeId softmax = Item(value, Field(value, sequential, "modules"), 1);
  EXPECT_EQ(value.Get<TorchObject>(softmax).class_name, "nn.SoftMax");
  EXPECT_EQ(Field(value, sequential, "output"), Field(value, softmax, "output"));  // "4\n7\n"
  EXPECT_EQ(Field(value, sequential, "gradInput"), Field(value, softmax, "gradInput"));
  NodeId output = Field(value, softmax, "output");
  EXPECT_THAT(TensorOf(value, output).sizes, ElementsAre(1, 5, 1, 1));
  EXPECT_THAT(Elements<double>(value, StorageOf(value, output)),
              ElementsAre(0.25859632625604911, 0.26888007375292333, 0.21074137863541725,
                          0.10580419362413127, 0.15597802773147881));
}

TEST_F(Torch7ReaderTest, UnreferencedFileHasDistinctCopies) {
  Value value = Load("generated/unreferenced_shared.bin.t7");
  NodeId a = Field(value, Root(value), "a");
  NodeId b = Field(value, Root(value), "b");
  EXPECT_NE(a, b);  // written twice, under indices 2 and 3
  EXPECT_EQ(value.Get<Number>(Field(value, a, "v")).value, 7);
  EXPECT_EQ(value.Get<Number>(Field(value, b, "v")).value, 7);
  Value shared = Load("generated/table_shared_ref.bin.t7");
  EXPECT_EQ(Field(shared, Root(shared), "a"), Field(shared, Root(shared), "b"));
}

TEST_F(Torch7ReaderTest, MultiObjectStreamSharesIndicesAcrossRoots) {
  absl::StatusOr<Value> value = ReadTorch7(CorpusFile("generated/multi_object.bin.t7"));
  ASSERT_TRUE(value.ok()) << value.status();
  ASSERT_EQ(value->roots().size(), 4u);
  EXPECT_EQ(value->Get<StringValue>(value->roots()[0]).bytes, "first");
  EXPECT_EQ(value->Get<Number>(Item(*value, value->roots()[1], 1)).value, 2);
  EXPECT_EQ(value->Get<Number>(Field(*value, value->roots()[2], "v")).value, 7);
  EXPECT_EQ(value->roots()[3], value->roots()[2]);
}

TEST_F(Torch7ReaderTest, ScalarsAndStrings) {
  Value hello = Load("python-torchfile/hello=123.t7");
  EXPECT_EQ(hello.Get<Number>(Field(hello, Root(hello), "hello")).value, 123);
  Value binary = Load("generated/string_binary.ascii.t7");
  EXPECT_EQ(binary.Get<StringValue>(Root(binary)).bytes, std::string("a\0b\nc\r\n\377end", 11));
  Value empty = Load("generated/string_empty.ascii.t7");
  EXPECT_EQ(empty.Get<StringValue>(Root(empty)).bytes, "");
  Value nil = Load("generated/nil.ascii.t7");
  EXPECT_EQ(nil.node(Root(nil)).kind(), NodeKind::kNil);
  Value yes = Load("generated/bool_true.bin.t7");
  EXPECT_TRUE(yes.Get<Boolean>(Root(yes)).value);
  Value no = Load("generated/bool_false.ascii.t7");
  EXPECT_FALSE(no.Get<Boolean>(Root(no)).value);
  Value pi = Load("generated/number_frac.ascii.t7");
  EXPECT_EQ(pi.Get<Number>(Root(pi)).value, 3.141592653589793);
}

TEST_F(Torch7ReaderTest, SpecialNumbersKeepTheirBits) {
  for (const char* path :
       {"generated/numbers_special.bin.t7", "generated/numbers_special.ascii.t7"}) {
    SCOPED_TRACE(path);
    Value value = Load(path);
    auto number = [&](double key) {
      return value.Get<Number>(Item(value, Root(value), key)).value;
    };
    EXPECT_EQ(number(1), INFINITY);
    EXPECT_EQ(number(2), -INFINITY);
    EXPECT_TRUE(std::isnan(number(3)));
    EXPECT_TRUE(std::signbit(number(3)));  // 0/0 on x86 is a negative NaN, printed "-nan"
    EXPECT_EQ(number(4), 0.0);
    EXPECT_TRUE(std::signbit(number(4)));
    EXPECT_EQ(number(5), 4.9406564584124654e-324);
    EXPECT_EQ(number(6), 9007199254740992.0);
    EXPECT_EQ(number(7), 1e308);
    EXPECT_EQ(number(8), 0.1);
    EXPECT_EQ(number(9), 1.0 / 3);
  }
}

TEST_F(Torch7ReaderTest, ClassesAndVersions) {
  Value batchnorm = Load("generated/nn_batchnorm.bin.t7");
  EXPECT_EQ(batchnorm.Get<TorchObject>(Root(batchnorm)).class_name, "nn.BatchNormalization");
  EXPECT_EQ(batchnorm.Get<TorchObject>(Root(batchnorm)).version, "2");
  EXPECT_THAT(Elements<double>(batchnorm, StorageOf(batchnorm, Field(batchnorm, Root(batchnorm),
                                                                     "running_var"))),
              ElementsAre(2, 2));
  Value lookup = Load("generated/nn_lookuptable.ascii.t7");
  EXPECT_EQ(lookup.Get<TorchObject>(Root(lookup)).version, "4");
  Value versioned = Load("generated/class_versioned.bin.t7");
  EXPECT_EQ(versioned.Get<TorchObject>(Root(versioned)).class_name, "test.Versioned");
  EXPECT_EQ(versioned.Get<TorchObject>(Root(versioned)).version, "3");
  Value custom = Load("python-torchfile/custom_class.t7");
  EXPECT_EQ(custom.Get<TorchObject>(Root(custom)).class_name, "Blah");
  EXPECT_TRUE(custom.Get<Table>(custom.Get<TorchObject>(Root(custom)).payload).entries.empty());

  Value linear = Load("generated/nn_linear.bin.t7");
  NodeId weight = Field(linear, Root(linear), "weight");
  EXPECT_THAT(TensorOf(linear, weight).sizes, ElementsAre(2, 3));
  EXPECT_THAT(Elements<double>(linear, StorageOf(linear, weight)),
              ElementsAre(0.1, 0.2, 0.3, 0.4, 0.5, 0.6));
  EXPECT_THAT(Elements<double>(linear, StorageOf(linear, Field(linear, Root(linear), "bias"))),
              ElementsAre(-1, 1));
}

TEST_F(Torch7ReaderTest, NngraphModel) {
  Value value = Load("python-torchfile/gmodule_with_linear_identity.t7");
  EXPECT_EQ(value.Get<TorchObject>(Root(value)).class_name, "nn.gModule");
  NodeId modules = Field(value, Root(value), "modules");
  std::vector<std::string> classes;
  for (const TableEntry& entry : value.Get<Table>(modules).entries) {
    classes.push_back(value.Get<TorchObject>(entry.value).class_name);
  }
  EXPECT_THAT(classes, ::testing::UnorderedElementsAre("nn.Identity", "nn.Identity", "nn.Linear",
                                                       "nn.CAddTable"));
  for (const TableEntry& entry : value.Get<Table>(modules).entries) {
    if (value.Get<TorchObject>(entry.value).class_name != "nn.Linear") continue;
    NodeId weight = Field(value, entry.value, "weight");
    EXPECT_THAT(TensorOf(value, weight).sizes, ElementsAre(2, 1));
    std::vector<double> w = Elements<double>(value, StorageOf(value, weight));
    EXPECT_NEAR(w[0], -0.0248373, 1e-7);
    EXPECT_NEAR(w[1], 0.17503954, 1e-8);
  }
}

TEST_F(Torch7ReaderTest, FunctionsAreOpaqueBytecode) {
  Value value = Load("python-torchfile/function.t7");
  const auto& function = value.Get<LuaFunction>(Root(value));
  EXPECT_EQ(function.tag, 8);
  EXPECT_EQ(function.bytecode.size(), 218u);
  EXPECT_EQ(function.bytecode.view().substr(0, 4), "\x1bLJ\x01");
  EXPECT_TRUE(value.Get<Table>(function.upvalues).entries.empty());
  Value upvalues = Load("python-torchfile/function_upvals.t7");
  NodeId first = Item(upvalues, upvalues.Get<LuaFunction>(Root(upvalues)).upvalues, 1);
  EXPECT_EQ(upvalues.Get<StringValue>(Field(upvalues, first, "name")).bytes, "asdf");
  EXPECT_EQ(upvalues.Get<Number>(Field(upvalues, first, "value")).value, 123);
}

TEST_F(Torch7ReaderTest, TdsContainers) {
  Value hash = Load("python-torchfile/tds_hash.t7");
  const auto& object = hash.Get<TorchObject>(Root(hash));
  EXPECT_EQ(object.class_name, "tds.Hash");
  EXPECT_EQ(object.version, "0");
  const auto& entries = hash.Get<Table>(object.payload).entries;
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(hash.Get<Number>(Item(hash, Root(hash), 10)).value, 11);
  EXPECT_EQ(hash.Get<Number>(Item(hash, Root(hash), 1)).value, 2);
  Value vec = Load("python-torchfile/tds_vec.t7");
  const auto& items = vec.Get<List>(vec.Get<TorchObject>(Root(vec)).payload).items;
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(vec.Get<Number>(items[0]).value, 123);
  EXPECT_EQ(vec.Get<Number>(items[1]).value, 456);
}

TEST_F(Torch7ReaderTest, RealDatasets) {
  Value image = Load("tutorials/X.t7");
  EXPECT_THAT(TensorOf(image, Root(image)).sizes, ElementsAre(32, 32));
  std::vector<double> pixels = Elements<double>(image, StorageOf(image, Root(image)));
  EXPECT_EQ(std::accumulate(pixels.begin(), pixels.end(), 0.0), 769);
  Value data = Load("char_gru/data.t7");
  EXPECT_EQ(data.Get<TorchObject>(Root(data)).class_name, "torch.ByteTensor");
  std::vector<uint8_t> chars = Elements<uint8_t>(data, StorageOf(data, Root(data)));
  ASSERT_EQ(chars.size(), 41210u);
  EXPECT_EQ(std::accumulate(chars.begin(), chars.end(), uint64_t{0}), 682731u);
  EXPECT_THAT(std::vector<uint8_t>(chars.begin(), chars.begin() + 10),
              ElementsAre(1, 11, 23, 22, 28, 13, 22, 28, 27, 1));
  Value vocab = Load("char_gru/vocab.t7");
  EXPECT_EQ(vocab.Get<Table>(Root(vocab)).entries.size(), 34u);
  EXPECT_EQ(vocab.Get<Number>(Field(vocab, Root(vocab), "z")).value, 34);
}

TEST_F(Torch7ReaderTest, ForcedLayoutsAreUsed) {
  ReadOptions four;
  four.torch7_long_size = 4;
  absl::StatusOr<Value> value =
      ReadTorch7(CorpusFile("generated/tensor_double_2x3.long4.bin.t7"), four);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->source().torch7->long_size, 4);
  // The same file forced to 8-byte longs fails: its sizes run into the next fields.
  ReadOptions eight;
  eight.torch7_long_size = 8;
  EXPECT_FALSE(ReadTorch7(CorpusFile("generated/tensor_double_2x3.long4.bin.t7"), eight).ok());
  // Forcing the byte order of a little-endian file to big-endian fails on its first tag.
  ReadOptions big;
  big.torch7_big_endian = true;
  EXPECT_FALSE(ReadTorch7(CorpusFile("generated/tensor_double_2x3.bin.t7"), big).ok());
  ReadOptions bad;
  bad.torch7_long_size = 2;
  EXPECT_EQ(ReadTorch7(CorpusFile("generated/nil.bin.t7"), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Ascii files ignore the long size.
  absl::StatusOr<Value> ascii = ReadTorch7(CorpusFile("generated/tensor_long_2x3.ascii.t7"), four);
  ASSERT_TRUE(ascii.ok()) << ascii.status();
  EXPECT_TRUE(ascii->source().torch7->ascii);
  // Forcing binary on an ascii file fails cleanly.
  EXPECT_FALSE(
      ReadTorch7(CorpusFile("generated/tensor_long_2x3.ascii.t7"), {}, Torch7Mode::kBinary).ok());
}

}  // namespace
}  // namespace seriald
