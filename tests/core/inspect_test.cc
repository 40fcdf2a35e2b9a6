// Inspect: Torch-style trees for Torch7 values, str()-like lines for R kinds, shared nodes and
// cycles printed once, bounded output for any Value.
#include "core/inspect.h"

#include <cstdint>
#include <string>
#include <vector>

#include "core/io/byte_order.h"
#include "core/io/file.h"
#include "core/torch7/reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Value ReadCorpus(const std::string& path) {
  absl::StatusOr<Buffer> bytes =
      ReadFile(std::string(SERIALD_SHARED_DIR) + "/corpus/torch7/" + path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  if (!bytes.ok()) return Value();
  absl::StatusOr<Value> value = ReadTorch7(*bytes);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *std::move(value) : Value();
}

TEST(InspectTest, TorchModule) {
  EXPECT_EQ(Inspect(ReadCorpus("generated/nn_linear.bin.t7")),
            "nn.Linear {\n"
            "  [weight] = DoubleTensor - size: 2x3\n"
            "  [output] = DoubleTensor - empty\n"
            "  [bias] = DoubleTensor - size: 2\n"
            "  [gradInput] = DoubleTensor - empty\n"
            "  [_type] = \"torch.DoubleTensor\"\n"
            "  [gradWeight] = DoubleTensor - size: 2x3\n"
            "  [gradBias] = DoubleTensor - size: 2\n"
            "}\n");
  EXPECT_THAT(Inspect(ReadCorpus("generated/nn_batchnorm.ascii.t7")),
              HasSubstr("nn.BatchNormalization (V 2) {\n  [momentum] = 0.1\n"));
}

TEST(InspectTest, TensorsStoragesAndScalars) {
  EXPECT_EQ(Inspect(ReadCorpus("generated/tensor_transposed.bin.t7")),
            "DoubleTensor - size: 3x2, stride: 1x3\n");
  EXPECT_EQ(Inspect(ReadCorpus("generated/tensor_narrow_offset.bin.t7")),
            "DoubleTensor - size: 2x2, stride: 3x1, storageOffset: 2\n");
  EXPECT_EQ(Inspect(ReadCorpus("generated/storage_half.bin.t7")), "HalfStorage - size: 3\n");
  EXPECT_EQ(Inspect(ReadCorpus("generated/string_binary.bin.t7")), "\"a\\0b\\nc\\r\\n\\255end\"\n");
  EXPECT_EQ(Inspect(ReadCorpus("generated/numbers_special.ascii.t7")),
            "{\n  [1] = inf\n  [2] = -inf\n  [3] = -nan\n  [4] = -0\n  [5] = 5e-324\n"
            "  [6] = 9007199254740992\n  [7] = 1e+308\n  [8] = 0.1\n  [9] = 0.3333333333333333\n"
            "}\n");
  std::string mixed = Inspect(ReadCorpus("generated/table_mixed_keys.bin.t7"));
  for (const char* key : {"[1] = ", "[2.5] = ", "[true] = ", "[false] = ", "[x] = "}) {
    EXPECT_THAT(mixed, HasSubstr(key));
  }
  EXPECT_EQ(Inspect(ReadCorpus("generated/generator.bin.t7")),
            "torch.Generator (5048 bytes of state)\n");
  EXPECT_EQ(Inspect(ReadCorpus("generated/nil.bin.t7")), "nil\n");
}

TEST(InspectTest, FunctionsNameTheirVm) {
  EXPECT_EQ(Inspect(ReadCorpus("python-torchfile/function.t7")),
            "function (tag 8, 218 bytes of LuaJIT 2.0 bytecode)\n");
  EXPECT_THAT(Inspect(ReadCorpus("generated/function_upvalues.bin.t7")),
              HasSubstr("function (tag 8, 100 bytes of LuaJIT 2.1 bytecode) {\n"
                        "  [upvalues] = {\n    [1] = {\n      [name] = \"up1\"\n"));
}

TEST(InspectTest, SharedNodesAndCyclesPrintOnce) {
  EXPECT_EQ(Inspect(ReadCorpus("generated/table_cycle.bin.t7")),
            "<node 0> {\n  [name] = \"cycle\"\n  [self] = <table node 0, see above>\n}\n");
  EXPECT_EQ(Inspect(ReadCorpus("generated/tensor_same_twice.bin.t7")),
            "{\n  [1] = FloatTensor - size: 2 <node 2>\n"
            "  [2] = <torch.FloatTensor node 2, see above>\n}\n");
  EXPECT_EQ(Inspect(ReadCorpus("generated/table_self_key_value.bin.t7")),
            "<node 0> {\n  [<table node 0>] = <table node 0, see above>\n}\n");
  EXPECT_EQ(Inspect(ReadCorpus("generated/multi_object.bin.t7")),
            "[root 1] = \"first\"\n[root 2] = {\n  [1] = 2\n}\n"
            "[root 3] = <node 4> {\n  [v] = 7\n}\n[root 4] = <table node 4, see above>\n");
  EXPECT_THAT(Inspect(ReadCorpus("python-torchfile/recursive_class.t7")),
              HasSubstr("[a] = <A node 0, see above>"));
}

TEST(InspectTest, EveryCorpusFilePrints) {
  for (const char* path :
       {"python-torchfile/gmodule_with_linear_identity.t7", "generated/checkpoint_like.bin.t7",
        "python-torchfile/tds_vec.t7", "char_gru/vocab.t7", "opencv_ascii/net_reshape_net.txt"}) {
    std::string text = Inspect(ReadCorpus(path));
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
  }
}

// Arrays left big-endian as read (ReadOptions::keep_array_byte_order) print the same elements:
// each shown element is loaded in its order, nothing is swapped first.
template <typename T>
void ExpectSameInEitherOrder(ElementType type, std::vector<T> elements, const std::string& shown) {
  const Buffer little = Buffer::Copy(elements.data(), elements.size() * sizeof(T));
  const size_t unit = SwapUnit(type);
  auto [big, bytes] = Buffer::Allocate(little.size());
  SwapCopy(little.data(), bytes, little.size() / unit, unit);
  const uint64_t length = little.size() / ElementSize(type);
  Value little_value, big_value;
  little_value.roots().push_back(little_value.Add(Array{type, length, little}));
  big_value.roots().push_back(big_value.Add(Array{type, length, big, /*big_endian=*/true}));
  const std::string text = Inspect(little_value);
  EXPECT_THAT(text, HasSubstr(shown));
  EXPECT_EQ(Inspect(big_value), text);
}

TEST(InspectTest, ArraysPrintTheSameInEitherByteOrder) {
  ExpectSameInEitherOrder<double>(ElementType::kFloat64, {1.5, -2.25, 1e10}, "1.5 -2.25 1e+10");
  ExpectSameInEitherOrder<int32_t>(ElementType::kInt32, {1, -300000, 70000}, "1 -300000 70000");
  ExpectSameInEitherOrder<int32_t>(ElementType::kLogical, {1, 0, 1}, "TRUE FALSE TRUE");
  ExpectSameInEitherOrder<double>(ElementType::kComplex128, {1.5, 2, -0.5, -1}, "1.5+2i -0.5-1i");
  ExpectSameInEitherOrder<float>(ElementType::kFloat32, {1.5f, -2.25f, 0.125f}, "1.5 -2.25 0.125");
  ExpectSameInEitherOrder<int16_t>(ElementType::kInt16, {1, -300, 7000}, "1 -300 7000");
  ExpectSameInEitherOrder<int64_t>(ElementType::kInt64, {1, -3000000000, 258}, "1 -3000000000 258");
}

TEST(InspectTest, LimitsBoundTheOutput) {
  Value wide;
  NodeId table = wide.Add(Table{});
  for (int i = 0; i < 150; ++i) {
    TableEntry entry{wide.AddNumber(i), wide.AddString("x")};  // Add first: it may reallocate
    wide.Get<Table>(table).entries.push_back(entry);
  }
  wide.roots().push_back(table);
  std::string text = Inspect(wide);
  EXPECT_THAT(text, HasSubstr("  [99] = \"x\"\n  ... (50 more)\n}\n"));
  EXPECT_THAT(text, Not(HasSubstr("[100]")));

  Value deep;
  NodeId outer = deep.Add(Table{});
  NodeId inner = outer;
  for (int i = 0; i < 200000; ++i) {
    NodeId next = deep.Add(Table{});
    TableEntry entry{deep.AddNumber(1), next};
    deep.Get<Table>(inner).entries.push_back(entry);
    inner = next;
  }
  deep.roots().push_back(outer);
  InspectOptions options;
  options.max_depth = 3;
  EXPECT_EQ(Inspect(deep, options), "{\n  [1] = {\n    [1] = {...}\n  }\n}\n");
  EXPECT_LT(Inspect(deep).size(), 1000u);

  InspectOptions short_strings;
  short_strings.max_string_bytes = 3;
  Value text_value;
  text_value.roots().push_back(text_value.AddString("abcdef"));
  EXPECT_EQ(Inspect(text_value, short_strings), "\"abc\"... (6 bytes)\n");
}

PairlistCell Cell(CellType type, NodeId tag, NodeId value) {
  PairlistCell cell;
  cell.type = type;
  cell.tag = tag;
  cell.value = value;
  return cell;
}

TEST(InspectTest, RKindsPrintLikeStr) {
  Value value;
  auto symbol = [&](const char* name) { return value.Add(Symbol{StringValue{name}}); };
  auto int32s = [&](std::vector<int32_t> v) {
    return value.Add(
        Array{ElementType::kInt32, v.size(), Buffer::Copy(v.data(), v.size() * sizeof(int32_t))});
  };
  StringVector names;
  names.Append("a");
  names.Append("b");
  names.AppendNa();
  NodeId names_node = value.Add(names);
  double doubles[3] = {1.5, 0, 0};
  uint64_t na = kNaRealBits;
  std::memcpy(&doubles[1], &na, 8);
  doubles[2] = -INFINITY;
  NodeId numbers = value.Add(Array{ElementType::kFloat64, 3, Buffer::Copy(doubles, 24)});
  int32_t logicals[3] = {1, 0, kNaInteger};
  NodeId logical = value.Add(Array{ElementType::kLogical, 3, Buffer::Copy(logicals, 12)});
  double complex[2] = {1, -2};
  NodeId complex_node = value.Add(Array{ElementType::kComplex128, 1, Buffer::Copy(complex, 16)});
  NodeId raw = value.Add(Array{ElementType::kRaw, 2, Buffer::Copy("\x01\xff", 2)});
  NodeId list_names = value.Add(Pairlist{});
  NodeId list = value.Add(
      List{false, {int32s({1, 2, kNaInteger}), numbers, logical, complex_node, raw, names_node}});
  StringVector list_labels;
  for (const char* label : {"i", "d", "l", "c", "r", ""}) list_labels.Append(label);
  PairlistCell names_cell =
      Cell(CellType::kList, symbol("names"), value.Add(std::move(list_labels)));
  value.Get<Pairlist>(list_names).cells.push_back(names_cell);
  value.mutable_node(list).attributes = list_names;

  NodeId call = value.Add(Pairlist{});
  std::vector<PairlistCell> call_cells = {Cell(CellType::kLanguage, kNoNode, symbol("sum")),
                                          Cell(CellType::kList, symbol("x"), int32s({1}))};
  value.Get<Pairlist>(call).cells = std::move(call_cells);
  NodeId global = value.Add(Special{SpecialKind::kGlobalEnv});
  NodeId frame = value.Add(Pairlist{});
  std::vector<PairlistCell> frame_cells = {Cell(CellType::kList, symbol("v"), int32s({7}))};
  value.Get<Pairlist>(frame).cells = std::move(frame_cells);
  NodeId environment = value.Add(Environment{false, global, frame, kNoNode});
  StringVector stats;
  stats.Append("stats");
  stats.Append("4.2.2");
  NodeId closure = value.Add(Closure{environment, kNoNode, call});
  NodeId top = value.Add(
      List{false,
           {list, call, environment, value.Add(Namespace{stats}), value.Add(Builtin{false, "sum"}),
            closure, value.Add(Promise{kNoNode, int32s({1}), call}),
            value.Add(Special{SpecialKind::kMissingArg}), value.Add(Bytecode{int32s({12}), {call}}),
            value.Add(ExternalPointer{}), value.Add(WeakReference{}), value.Add(S4Object{}),
            value.Add(Altrep{"compact_intseq", "base", 13, int32s({3, 1, 1})}),
            value.Add(Opaque{Buffer::Copy("xyz", 3)}), 999999}});
  value.roots().push_back(top);
  std::string text = Inspect(value);
  for (const char* line : {
           "List of 15 {\n",
           "  [[1]] = List of 6 {\n",
           "    $i = int [1:3] 1 2 NA\n",
           "    $d = num [1:3] 1.5 NA -Inf\n",
           "    $l = logi [1:3] TRUE FALSE NA\n",
           "    $c = cplx 1-2i\n",
           "    $r = raw [1:2] 01 ff\n",
           "    [[6]] = chr [1:3] \"a\" \"b\" NA\n",
           "    attr(\"names\") = chr [1:6] \"i\" \"d\" \"l\" \"c\" \"r\" \"\"\n",
           "  [[2]] = language call of 2 <node ",
           "    [[1]] = symbol sum\n",
           "    $x = int 1\n",
           "  [[3]] = <environment> <node ",
           "    $v = int 7\n",
           "    [enclosure] = <environment: R_GlobalEnv>\n",
           "  [[4]] = <environment: namespace:stats 4.2.2>\n",
           "  [[5]] = .Primitive(\"sum\")\n",
           "  [[6]] = function {\n",
           "    [body] = <pairlist node ",
           "    [environment] = <environment node ",
           "  [[7]] = <promise> {\n",
           "  [[8]] = <missing argument>\n",
           "  [[9]] = <bytecode: 1 constants> {\n",
           "  [[10]] = <pointer>\n",
           "  [[11]] = <weak reference>\n",
           "  [[12]] = <S4 object>\n",
           "  [[13]] = altrep compact_intseq (package base, type 13) {\n",
           "    [state] = int [1:3] 3 1 1\n",
           "  [[14]] = opaque (3 bytes)\n",
           "  [[15]] = <missing node 999999>\n",
       }) {
    EXPECT_THAT(text, HasSubstr(line));
  }
}

// Torch7's element types in a bare array print Torch's numbers; R attributes, which any node may
// carry, follow a Lua table's entries and count towards max_entries like them.
TEST(InspectTest, BareArraysAndAttributesOfAnyKind) {
  Value value;
  uint16_t halves[3] = {0x3c00, 0xfc00, 0x8000};  // 1, -inf, -0
  int64_t longs[2] = {INT64_MIN, 42};
  NodeId table = value.Add(Table{});
  TableEntry half{value.AddNumber(1),
                  value.Add(Array{ElementType::kFloat16, 3, Buffer::Copy(halves, 6)})};
  TableEntry wide{value.AddNumber(2),
                  value.Add(Array{ElementType::kInt64, 2, Buffer::Copy(longs, 16)})};
  value.Get<Table>(table).entries = {half, wide};
  PairlistCell comment =
      Cell(CellType::kList, value.Add(Symbol{StringValue{"comment"}}), value.AddString("t"));
  NodeId attributes = value.Add(Pairlist{{comment}, kNoNode});
  value.mutable_node(table).attributes = attributes;
  value.roots().push_back(table);
  EXPECT_EQ(Inspect(value),
            "{\n  [1] = float16 [1:3] 1 -inf -0\n  [2] = int64 [1:2] -9223372036854775808 42\n"
            "  attr(\"comment\") = \"t\"\n}\n");
  InspectOptions one;
  one.max_entries = 1;
  EXPECT_EQ(Inspect(value, one), "{\n  [1] = float16 [1:3] 1 -inf -0\n  ... (2 more)\n}\n");
}

}  // namespace
}  // namespace seriald
