// WriteTorch7: index numbering and back-references, referenced = false, layouts (byte order,
// 4-byte longs truncating like torch7, ascii), zero-copy storage data, and refusals that name the
// node Torch7 cannot hold.
#include "core/torch7/writer.h"

#include <cstring>
#include <string>
#include <vector>

#include "core/torch7/reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/torch7/testing/corpus.h"
#include "tests/core/torch7/testing/lookup.h"

namespace seriald {
namespace {

using ::seriald::testing::CorpusFile;
using ::seriald::testing::Elements;
using ::seriald::testing::Field;
using ::seriald::testing::StreamBytes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<std::string> Write(const Value& value, const Torch7Layout& layout = {},
                                  bool referenced = true) {
  ByteWriter out;
  absl::Status status = WriteTorch7(value, layout, out, referenced);
  if (!status.ok()) return status;
  BufferChain bytes;
  status = out.Finish(&bytes);
  if (!status.ok()) return status;
  return bytes.ToString();
}

Value ReadCorpus(std::string_view path) {
  absl::StatusOr<Value> value = ReadTorch7(CorpusFile(path));
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *std::move(value) : Value();
}

// A storage object of `type` holding `bytes`.
NodeId AddStorage(Value& value, std::string class_name, ElementType type, std::string bytes) {
  uint64_t length = bytes.size() / ElementSize(type);
  NodeId array = value.Add(Array{type, length, Buffer::FromString(std::move(bytes))});
  return value.Add(TorchObject{std::move(class_name), "1", array});
}

std::string Floats(std::vector<float> values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

void ExpectRefused(const Value& value, std::string_view words, const Torch7Layout& layout = {},
                   bool referenced = true) {
  absl::StatusOr<std::string> bytes = Write(value, layout, referenced);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bytes.status().message()), HasSubstr(words));
}

TEST(Torch7WriterTest, HandBuiltValueMatchesTorchLayout) {
  // The example of core/model/value.h: {name = "net", weights = FloatTensor 2x2, self = itself}.
  Value value;
  NodeId storage =
      AddStorage(value, "torch.FloatStorage", ElementType::kFloat32, Floats({1, 2, 3, 4}));
  NodeId tensor = value.Add(
      TorchObject{"torch.FloatTensor", "1", value.Add(Tensor{{2, 2}, {2, 1}, 0, storage})});
  NodeId table = value.Add(Table{});
  value.Get<Table>(table).entries = {{value.AddString("name"), value.AddString("net")},
                                     {value.AddString("weights"), tensor},
                                     {value.AddString("self"), table}};
  value.roots().push_back(table);

  absl::StatusOr<std::string> bytes = Write(value);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  std::string expected = StreamBytes()
                             .Int(3)
                             .Int(1)
                             .Int(3)
                             .Int(2)
                             .String("name")
                             .Int(2)
                             .String("net")
                             .Int(2)
                             .String("weights")
                             .TorchHeader(2, "torch.FloatTensor")
                             .Int(2)
                             .Long(2)
                             .Long(2)
                             .Long(2)
                             .Long(1)
                             .Long(1)
                             .TorchHeader(3, "torch.FloatStorage")
                             .Long(4)
                             .Raw(Floats({1, 2, 3, 4}))
                             .Int(2)
                             .String("self")
                             .Int(3)
                             .Int(1)
                             .str();
  EXPECT_TRUE(*bytes == expected);

  absl::StatusOr<std::string> ascii = Write(value, {.ascii = true});
  ASSERT_TRUE(ascii.ok()) << ascii.status();
  EXPECT_EQ(*ascii,
            "3\n1\n3\n2\n4\nname\n2\n3\nnet\n2\n7\nweights\n4\n2\n3\nV 1\n17\ntorch.FloatTensor\n"
            "2\n2 2\n2 1\n1\n4\n3\n3\nV 1\n18\ntorch.FloatStorage\n4\n1 2 3 4\n2\n4\nself\n3\n1\n");

  absl::StatusOr<Value> back = ReadTorch7(Buffer::Copy(*bytes));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Field(*back, back->roots()[0], "self"), back->roots()[0]);
}

TEST(Torch7WriterTest, UnreferencedWritesSharedObjectsOnceEach) {
  // table_shared_ref ({a = S, b = S}) written with referenced = false is exactly what torch7
  // wrote for torch.save(..., referenced = false).
  Value shared = ReadCorpus("generated/table_shared_ref.bin.t7");
  absl::StatusOr<std::string> bytes = Write(shared, {}, /*referenced=*/false);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(*bytes == CorpusFile("generated/unreferenced_shared.bin.t7").view());
  absl::StatusOr<std::string> ascii = Write(shared, {.ascii = true}, /*referenced=*/false);
  ASSERT_TRUE(ascii.ok());
  EXPECT_TRUE(*ascii == CorpusFile("generated/unreferenced_shared.ascii.t7").view());

  // A cycle cannot be written that way.
  Value cycle = ReadCorpus("generated/table_cycle.bin.t7");
  ExpectRefused(cycle, "node 0 is part of a cycle, which cannot be written with referenced = false",
                {}, false);
  EXPECT_TRUE(Write(cycle, {}, true).ok());
}

TEST(Torch7WriterTest, IndicesContinueAcrossRoots) {
  Value value;
  NodeId shared = value.Add(Table{});
  value.Get<Table>(shared).entries = {{value.AddString("v"), value.AddNumber(7)}};
  value.roots() = {value.AddString("first"), shared, shared};
  absl::StatusOr<std::string> bytes = Write(value);
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(*bytes == StreamBytes()
                            .Int(2)
                            .String("first")
                            .Int(3)
                            .Int(1)
                            .Int(1)
                            .Int(2)
                            .String("v")
                            .Int(1)
                            .Double(7)
                            .Int(3)
                            .Int(1)
                            .str());
}

TEST(Torch7WriterTest, LittleEndianStorageDataIsReferencedNotCopied) {
  Value value;
  std::vector<float> floats(100000, 1.5f);
  NodeId storage = AddStorage(value, "torch.FloatStorage", ElementType::kFloat32, Floats(floats));
  value.roots().push_back(storage);
  ByteWriter out;
  ASSERT_TRUE(WriteTorch7(value, {}, out).ok());
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  const Buffer& data = value.Get<Array>(value.Get<TorchObject>(storage).payload).data;
  bool referenced = false;
  for (const Buffer& piece : chain.pieces()) referenced |= piece.data() == data.data();
  EXPECT_TRUE(referenced);
  EXPECT_EQ(chain.size(), 4 + 4 + 4 + 3 + 4 + 18 + 8 + data.size());
}

TEST(Torch7WriterTest, BigEndianSwapsEveryMultiByteValue) {
  Value value;
  std::string doubles(16, '\0');
  double d[2] = {1.0, -2.5};
  std::memcpy(doubles.data(), d, 16);
  NodeId storage = AddStorage(value, "torch.DoubleStorage", ElementType::kFloat64, doubles);
  NodeId tensor =
      value.Add(TorchObject{"torch.DoubleTensor", "1", value.Add(Tensor{{2}, {1}, 0, storage})});
  value.roots().push_back(tensor);
  absl::StatusOr<std::string> bytes = Write(value, {.big_endian = true});
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(*bytes == StreamBytes(8, /*big_endian=*/true)
                            .TorchHeader(1, "torch.DoubleTensor")
                            .Int(1)
                            .Long(2)
                            .Long(1)
                            .Long(1)
                            .TorchHeader(2, "torch.DoubleStorage")
                            .Long(2)
                            .Double(1)
                            .Double(-2.5)
                            .str());
  absl::StatusOr<Value> back = ReadTorch7(Buffer::Copy(*bytes));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->source().torch7->big_endian);
  EXPECT_THAT(Elements<double>(*back, testing::StorageOf(*back, back->roots()[0])),
              ElementsAre(1.0, -2.5));
}

TEST(Torch7WriterTest, FourByteLongsKeepTheLowHalf) {
  Value value;
  std::string longs(16, '\0');
  int64_t l[2] = {(int64_t{1} << 33) + 5, -3};
  std::memcpy(longs.data(), l, 16);
  value.roots().push_back(AddStorage(value, "torch.LongStorage", ElementType::kInt64, longs));
  absl::StatusOr<std::string> bytes = Write(value, {.long_size = 4});
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(*bytes ==
              StreamBytes(4).TorchHeader(1, "torch.LongStorage").Long(2).Int(5).Int(-3).str());
  ReadOptions four;
  four.torch7_long_size = 4;
  absl::StatusOr<Value> back = ReadTorch7(Buffer::Copy(*bytes), four);
  ASSERT_TRUE(back.ok());
  EXPECT_THAT(Elements<int64_t>(*back, back->roots()[0]), ElementsAre(5, -3));
}

TEST(Torch7WriterTest, LegacyObjectsHaveNoVersionString) {
  Value value;
  NodeId fields = value.Add(Table{});
  value.roots().push_back(value.Add(TorchObject{"Old", std::nullopt, fields}));
  absl::StatusOr<std::string> bytes = Write(value);
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(*bytes == StreamBytes().Int(4).Int(1).String("Old").Int(3).Int(2).Int(0).str());
}

TEST(Torch7WriterTest, RefusesWhatTorch7CannotHold) {
  {
    Value value;
    NodeId environment_enclosure = value.Add(Special{SpecialKind::kGlobalEnv});
    value.roots().push_back(value.Add(Environment{false, environment_enclosure}));
    ExpectRefused(value, "node 1 is an R environment, which Torch7 cannot hold");
  }
  {
    Value value;
    StringVector strings;
    strings.Append("a");
    NodeId table = value.Add(Table{});
    value.Get<Table>(table).entries = {{value.AddNumber(1), value.Add(std::move(strings))}};
    value.roots().push_back(table);
    ExpectRefused(value, "node 2 is an R string_vector, which Torch7 cannot hold");
  }
  {
    Value value;
    NodeId names = value.Add(Pairlist{});
    Node number(Number{1});
    number.attributes = names;
    value.roots().push_back(value.Add(std::move(number)));
    ExpectRefused(value, "node 1 has R attributes or flags, which Torch7 cannot hold");
  }
  {
    Value value;
    value.roots().push_back(value.Add(StringValue::Na()));
    ExpectRefused(value, "node 0 is R's NA string");
  }
  {
    Value value;  // a FloatStorage holding doubles
    value.roots().push_back(
        AddStorage(value, "torch.FloatStorage", ElementType::kFloat64, std::string(16, '\0')));
    ExpectRefused(value,
                  "node 1 is a torch.FloatStorage, which holds float32 elements, but its payload "
                  "(node 0) is a float64 array");
  }
  {
    Value value;  // a Tensor under a class that is not a tensor class
    value.roots().push_back(value.Add(TorchObject{"nn.Linear", "1", value.Add(Tensor{})}));
    ExpectRefused(value,
                  "node 1 is a nn.Linear, a class whose payload is one object, but its "
                  "payload (node 0) is a tensor");
  }
  {
    Value value;  // a tensor class holding a table
    value.roots().push_back(value.Add(TorchObject{"torch.IntTensor", "1", value.Add(Table{})}));
    ExpectRefused(value,
                  "node 1 is a torch.IntTensor, which needs a tensor payload, but its "
                  "payload (node 0) is a table");
  }
  {
    Value value;  // an IntTensor over a FloatStorage
    NodeId storage = AddStorage(value, "torch.FloatStorage", ElementType::kFloat32, Floats({1}));
    value.roots().push_back(
        value.Add(TorchObject{"torch.IntTensor", "1", value.Add(Tensor{{1}, {1}, 0, storage})}));
    ExpectRefused(value,
                  "node 3 is a torch.IntTensor whose storage (node 1) is a "
                  "torch.FloatStorage object, not its own storage class");
  }
  {
    Value value;  // a version Lua's tonumber refuses: Torch7 would take "V \x05" for the class
    value.roots().push_back(
        value.Add(TorchObject{"nn.Module", "\x05", value.Add(Table{})}));
    ExpectRefused(value,
                  "node 1 has version \"\\x05\", which is not a number; Torch7 would read "
                  "\"V \\x05\" as its class name");
  }
  {
    Value value;  // a legacy (unversioned) object whose class name reads as a version
    value.roots().push_back(
        value.Add(TorchObject{"V 1", std::nullopt, value.Add(Table{})}));
    ExpectRefused(value, "node 1 has no version and the class name \"V 1\", which Torch7 would "
                         "read as a version string");
  }
  {
    Value value;  // a generator state of neither size
    value.roots().push_back(value.Add(TorchObject{
        "torch.Generator", "1", value.Add(Opaque{Buffer::FromString(std::string(5047, 'x'))})}));
    ExpectRefused(value,
                  "node 1 is a torch.Generator whose state has 5047 bytes; it must have 5048 "
                  "(8-byte longs) or 2544 (4-byte longs)");
  }
  {
    Value value;  // an LP64 state whose seed does not fit in a 4-byte long
    value.roots().push_back(value.Add(TorchObject{
        "torch.Generator", "1", value.Add(Opaque{Buffer::FromString(std::string(5048, 'x'))})}));
    EXPECT_TRUE(Write(value).ok());
    ExpectRefused(value,
                  "node 1 is a torch.Generator whose the_initial_seed (8680820740569200760) "
                  "does not fit in a 4-byte long",
                  {.long_size = 4});
  }
  {
    Value value;  // the same with a small seed: the first state word is the one too large
    std::string state(5048, '\0');
    state[0] = 7;
    state[24 + 8 * 3 + 4] = 1;  // state[3] = 2^32
    value.roots().push_back(value.Add(TorchObject{
        "torch.Generator", "1", value.Add(Opaque{Buffer::FromString(std::move(state))})}));
    ExpectRefused(value,
                  "node 1 is a torch.Generator whose state[3] (4294967296) does not fit in a "
                  "4-byte long",
                  {.long_size = 4});
  }
  {
    Value value;
    value.roots().push_back(value.Add(TorchObject{
        "tds.AtomicCounter", "0",
        value.Add(Array{ElementType::kInt32, 1, Buffer::FromString(std::string(4, '\0'))})}));
    ExpectRefused(value, "needs one int64 as payload, but node 0 has 1 int32");
  }
  {
    Value value;
    NodeId nil = value.Add(Nil{});
    value.roots().push_back(
        value.Add(TorchObject{"nn.GPU", "1", value.Add(List{false, {nil, nil, nil}})}));
    ExpectRefused(value, "needs a list of two objects (header, fields), but node 1 has 3");
  }
  {
    Value value;  // typed data outside any torch object
    value.roots().push_back(
        value.Add(Array{ElementType::kFloat32, 1, Buffer::FromString(std::string(4, '\0'))}));
    ExpectRefused(value,
                  "node 0 is a float32 array, which Torch7 holds only as the payload of a "
                  "torch object of a matching class");
  }
  {
    Value value;  // a tag 6 function (no index) inside its own upvalues
    NodeId upvalues = value.Add(Table{});
    NodeId function = value.Add(LuaFunction{6, Buffer::FromString("code"), upvalues});
    value.Get<Table>(upvalues).entries = {{value.AddNumber(1), function}};
    value.roots().push_back(function);
    ExpectRefused(value, "node 1 is a tag 6 function inside its own upvalues");
  }
  {
    Value value;
    ExpectRefused(value, "the value has no objects");
    value.roots().push_back(value.Add(Nil{}));
    ExpectRefused(value, "long size must be 4 or 8, not 2", {.long_size = 2});
  }
  {
    Value value;  // Value::Validate runs first
    value.roots().push_back(7);
    ExpectRefused(value, "root 0 refers to node 7");
  }
}

}  // namespace
}  // namespace seriald
