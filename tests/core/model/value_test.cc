// Tests of the object model: building graphs with shared nodes and cycles, Validate, and
// ForEachReference.
#include "core/model/value.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A pairlist cell without flags.
PairlistCell Cell(CellType type, NodeId tag, NodeId value, NodeId attributes = kNoNode) {
  return PairlistCell{type, tag, value, attributes, RFlags{}};
}

Buffer FloatBytes(std::vector<float> values) {
  return Buffer::Copy(values.data(), values.size() * sizeof(float));
}

// {name = "net", weights = <FloatTensor 2x2>, bias = <FloatTensor 2 sharing the storage>,
//  self = <the table>}
struct Network {
  Value value;
  NodeId table, storage, weights, bias;
};

Network BuildNetwork() {
  Network n;
  Value& v = n.value;
  n.storage =
      v.Add(TorchObject{"torch.FloatStorage", "1",
                        v.Add(Array{ElementType::kFloat32, 6, FloatBytes({1, 2, 3, 4, 5, 6})})});
  n.weights =
      v.Add(TorchObject{"torch.FloatTensor", "1", v.Add(Tensor{{2, 2}, {2, 1}, 0, n.storage})});
  n.bias = v.Add(TorchObject{"torch.FloatTensor", "1", v.Add(Tensor{{2}, {1}, 4, n.storage})});
  n.table = v.Add(Table{});
  v.Get<Table>(n.table).entries = {{v.AddString("name"), v.AddString("net")},
                                   {v.AddString("weights"), n.weights},
                                   {v.AddString("bias"), n.bias},
                                   {v.AddString("self"), n.table}};
  v.roots().push_back(n.table);
  return n;
}

TEST(ValueTest, AddReturnsConsecutiveIdsAndGetReturnsTheData) {
  Value value;
  EXPECT_EQ(value.Add(Nil{}), 0u);
  EXPECT_EQ(value.AddNumber(2.5), 1u);
  EXPECT_EQ(value.AddString("caf\xc3\xa9", StringEncoding::kUtf8), 2u);
  EXPECT_EQ(value.size(), 3u);
  EXPECT_EQ(value.node(0).kind(), NodeKind::kNil);
  EXPECT_EQ(value.Get<Number>(1).value, 2.5);
  EXPECT_EQ(value.Get<StringValue>(2).bytes, "caf\xc3\xa9");
  EXPECT_EQ(value.Get<StringValue>(2).encoding, StringEncoding::kUtf8);
  EXPECT_FALSE(value.Get<StringValue>(2).is_na);
  EXPECT_TRUE(value.Contains(2));
  EXPECT_FALSE(value.Contains(3));
  EXPECT_EQ(value.GetIf<Number>(0), nullptr);
  EXPECT_EQ(value.GetIf<Number>(7), nullptr);
  ASSERT_NE(value.GetIf<Number>(1), nullptr);
  EXPECT_EQ(value.GetIf<Number>(1)->value, 2.5);
}

TEST(ValueTest, SharedStorageAndSelfReferenceAreRepeatedIds) {
  Network n = BuildNetwork();
  const Value& v = n.value;
  ASSERT_TRUE(v.Validate().ok()) << v.Validate();
  const Table& table = v.Get<Table>(n.table);
  ASSERT_EQ(table.entries.size(), 4u);
  EXPECT_EQ(table.entries[3].value, n.table);  // the cycle
  const Tensor& weights = v.Get<Tensor>(v.Get<TorchObject>(n.weights).payload);
  const Tensor& bias = v.Get<Tensor>(v.Get<TorchObject>(n.bias).payload);
  EXPECT_EQ(weights.storage, n.storage);  // one storage, two views
  EXPECT_EQ(bias.storage, n.storage);
  EXPECT_EQ(bias.storage_offset, 4);
  const Array& data = v.Get<Array>(v.Get<TorchObject>(n.storage).payload);
  EXPECT_EQ(data.length, 6u);
  float third;
  std::memcpy(&third, data.data.data() + 8, 4);
  EXPECT_EQ(third, 3.0f);
  EXPECT_EQ(NodeKindName(v.node(n.table).kind()), "table");
  EXPECT_EQ(NodeKindName(v.node(n.storage).kind()), "torch_object");
}

TEST(ValueTest, EqualityComparesStructureIdsAndBytes) {
  Network a = BuildNetwork();
  Network b = BuildNetwork();
  EXPECT_EQ(a.value, b.value);
  // Same bytes in a different buffer are still equal.
  b.value.Get<Array>(b.value.Get<TorchObject>(b.storage).payload).data =
      FloatBytes({1, 2, 3, 4, 5, 6});
  EXPECT_EQ(a.value, b.value);
  b.value.Get<Array>(b.value.Get<TorchObject>(b.storage).payload).data =
      FloatBytes({1, 2, 3, 4, 5, 7});
  EXPECT_NE(a.value, b.value);

  Network c = BuildNetwork();
  c.value.Get<Table>(c.table).entries[3].value = c.weights;  // no longer a cycle
  EXPECT_NE(a.value, c.value);

  Network d = BuildNetwork();
  d.value.source().torch7 = Torch7Layout{false, 4, false};
  EXPECT_NE(a.value, d.value);
}

TEST(ValueTest, NumbersCompareBitwise) {
  double nan_a = std::numeric_limits<double>::quiet_NaN();
  double nan_b;
  uint64_t bits = 0x7FF8000000000001ULL;
  std::memcpy(&nan_b, &bits, 8);
  EXPECT_EQ(Number{nan_a}, Number{nan_a});  // NaN == NaN when the bits agree
  EXPECT_NE(Number{nan_a}, Number{nan_b});  // payloads differ
  EXPECT_NE(Number{0.0}, Number{-0.0});
  EXPECT_EQ(Number{1.5}, Number{1.5});
}

TEST(ValueTest, AttributesAndFlagsTakePartInEquality) {
  Value a;
  NodeId names = a.Add(StringVector{});
  NodeId tag = a.Add(Symbol{StringValue{"names", StringEncoding::kNative, false}});
  NodeId attributes = a.Add(Pairlist{{Cell(CellType::kList, tag, names)}});
  Node vector(Array{ElementType::kInt32, 0, Buffer()});
  vector.attributes = attributes;
  vector.r_flags = RFlags{0, true};
  NodeId id = a.Add(vector);
  a.roots().push_back(id);
  ASSERT_TRUE(a.Validate().ok()) << a.Validate();
  Value b = a;
  EXPECT_EQ(a, b);
  b.mutable_node(id).r_flags.object = false;
  EXPECT_NE(a, b);
  b = a;
  b.mutable_node(id).attributes = kNoNode;
  EXPECT_NE(a, b);
}

TEST(ElementTypeTest, SizesAndNamesOfEveryType) {
  struct Expected {
    ElementType type;
    size_t size;
    const char* name;
  };
  const Expected expected[] = {
      {ElementType::kUint8, 1, "uint8"},
      {ElementType::kInt8, 1, "int8"},
      {ElementType::kInt16, 2, "int16"},
      {ElementType::kInt32, 4, "int32"},
      {ElementType::kInt64, 8, "int64"},
      {ElementType::kFloat16, 2, "float16"},
      {ElementType::kFloat32, 4, "float32"},
      {ElementType::kFloat64, 8, "float64"},
      {ElementType::kComplex128, 16, "complex128"},
      {ElementType::kLogical, 4, "logical"},
      {ElementType::kRaw, 1, "raw"},
  };
  ASSERT_EQ(std::size(expected), static_cast<size_t>(kElementTypeCount));
  for (const Expected& e : expected) {
    EXPECT_EQ(ElementSize(e.type), e.size) << e.name;
    EXPECT_EQ(ElementTypeName(e.type), e.name);
    EXPECT_EQ(ElementTypeFromName(e.name), e.type);
  }
  EXPECT_EQ(ElementTypeFromName("float"), std::nullopt);
  EXPECT_EQ(ElementTypeFromName(""), std::nullopt);
}

TEST(ElementTypeTest, RMissingValues) {
  double na;
  std::memcpy(&na, &kNaRealBits, 8);
  EXPECT_TRUE(std::isnan(na));
  EXPECT_EQ(kNaRealBits & 0xFFFFFFFFu, 1954u);
  EXPECT_EQ(kNaInteger, std::numeric_limits<int32_t>::min());
}

// ---------------------------------------------------------------------------------------------
// Validate.

TEST(ValidateTest, AcceptsAnEmptyValueAndAValueOfEveryKind) {
  EXPECT_TRUE(Value().Validate().ok());

  Value v;
  NodeId nil = v.Add(Nil{});
  NodeId symbol = v.Add(Symbol{StringValue{"x", StringEncoding::kNative, false}});
  NodeId global = v.Add(Special{SpecialKind::kGlobalEnv});
  NodeId code = v.Add(Array{ElementType::kInt32, 1, Buffer::Copy("\x0c\0\0\0", 4)});
  NodeId cells = v.Add(Pairlist{{Cell(CellType::kList, symbol, nil)}, kNoNode});
  NodeId env = v.Add(Environment{false, global, cells, kNoNode});
  NodeId body = v.Add(Pairlist{{Cell(CellType::kLanguage, kNoNode, symbol)}, kNoNode});
  NodeId closure = v.Add(Closure{env, cells, body});
  NodeId promise = v.Add(Promise{kNoNode, nil, body});
  NodeId bytecode = v.Add(Bytecode{code, {body}});
  NodeId pointer = v.Add(ExternalPointer{nil, kNoNode});
  NodeId altrep = v.Add(Altrep{"compact_intseq", "base", 13, code});
  NodeId storage =
      v.Add(TorchObject{"torch.DoubleStorage", "1", v.Add(Array{ElementType::kFloat64, 0, {}})});
  NodeId tensor =
      v.Add(TorchObject{"torch.DoubleTensor", std::nullopt, v.Add(Tensor{{0}, {1}, 0, storage})});
  NodeId empty_tensor = v.Add(Tensor{{}, {}, 0, kNoNode});
  NodeId function = v.Add(LuaFunction{8, Buffer::Copy("\x1bLJ", 3), v.Add(Table{})});
  NodeId list = v.Add(List{false,
                           {nil,
                            closure,
                            promise,
                            bytecode,
                            pointer,
                            altrep,
                            tensor,
                            empty_tensor,
                            function,
                            v.Add(WeakReference{}),
                            v.Add(S4Object{}),
                            v.Add(Opaque{Buffer::Copy("abc", 3)}),
                            v.Add(Boolean{true}),
                            v.Add(Builtin{false, "sum"}),
                            v.AddNumber(1),
                            v.AddString("s"),
                            v.Add(StringVector{}),
                            v.Add(Namespace{}),
                            v.Add(PackageEnvironment{}),
                            v.Add(PersistentReference{})}});
  v.roots().push_back(list);
  EXPECT_TRUE(v.Validate().ok()) << v.Validate();
}

struct BadValue {
  const char* name;
  Value value;
  const char* message;
};

std::vector<BadValue> BadValues() {
  std::vector<BadValue> bad;
  auto add = [&](const char* name, const char* message, auto build) {
    BadValue b{name, Value(), message};
    build(b.value);
    bad.push_back(std::move(b));
  };
  add("root out of range", "root 0 refers to node 5, but there are only 1 nodes", [](Value& v) {
    v.Add(Nil{});
    v.roots().push_back(5);
  });
  add("table value out of range", "node 1: refers to node 9, but there are only 2 nodes",
      [](Value& v) {
        NodeId key = v.AddString("k");
        v.Add(Table{{{key, 9}}});
      });
  add("attributes of the wrong kind", "node 1: attributes must be a pairlist node", [](Value& v) {
    NodeId attributes = v.Add(Nil{});
    Node node(Nil{});
    node.attributes = attributes;
    v.Add(node);
  });
  add("array size", "node 0: array of 3 float64 holds 16 bytes", [](Value& v) {
    v.Add(Array{ElementType::kFloat64, 3, Buffer::Copy(std::string(16, '\0'))});
  });
  add("array length beyond its bytes", "node 0: array of 4611686018427387904 int32 holds 0 bytes",
      [](Value& v) {
        v.Add(Array{ElementType::kInt32, uint64_t{1} << 62, Buffer()});
      });
  add("table entry without value", "node 1: table entry without key or value", [](Value& v) {
    NodeId key = v.AddString("k");
    v.Add(Table{{{key, kNoNode}}});
  });
  add("torch object without payload", "node 0: torch object without payload", [](Value& v) {
    v.Add(TorchObject{"nn.Linear", "1", kNoNode});
  });
  add("tensor sizes and strides", "node 0: tensor has 2 sizes but 1 strides", [](Value& v) {
    v.Add(Tensor{{2, 2}, {1}, 0, kNoNode});
  });
  add("tensor storage of the wrong kind",
      "node 1: tensor storage must be a torch object node (a storage)", [](Value& v) {
        NodeId array = v.Add(Array{ElementType::kFloat32, 0, {}});
        v.Add(Tensor{{0}, {1}, 0, array});
      });
  add("lua function tag", "node 1: lua function tag 5 is not 6, 7 or 8", [](Value& v) {
    NodeId upvalues = v.Add(Table{});
    v.Add(LuaFunction{5, {}, upvalues});
  });
  add("lua function without upvalues", "node 0: lua function without upvalues", [](Value& v) {
    v.Add(LuaFunction{8, {}, kNoNode});
  });
  add("list item", "node 0: list item without a node", [](Value& v) {
    v.Add(List{false, {kNoNode}});
  });
  add("pairlist node attributes", "node 2: a pairlist keeps its attributes and flags in its cells",
      [](Value& v) {
        NodeId nil = v.Add(Nil{});
        NodeId attributes = v.Add(Pairlist{{Cell(CellType::kList, kNoNode, nil)}});
        Node node(Pairlist{{Cell(CellType::kList, kNoNode, nil)}});
        node.attributes = attributes;
        v.Add(node);
      });
  add("pairlist node flags", "node 1: a pairlist keeps its attributes and flags in its cells",
      [](Value& v) {
        NodeId nil = v.Add(Nil{});
        Node node(Pairlist{{Cell(CellType::kList, kNoNode, nil)}});
        node.r_flags.levels = 1;
        v.Add(node);
      });
  add("pairlist cell without value", "node 0: pairlist cell without a value",
      [](Value& v) { v.Add(Pairlist{{PairlistCell{}}}); });
  add("pairlist cell attributes", "node 1: pairlist cell attributes must be a pairlist node",
      [](Value& v) {
        NodeId nil = v.Add(Nil{});
        v.Add(Pairlist{{Cell(CellType::kList, kNoNode, nil, nil)}});
      });
  add("closure without body", "node 1: closure without body", [](Value& v) {
    NodeId env = v.Add(Special{SpecialKind::kGlobalEnv});
    v.Add(Closure{env, kNoNode, kNoNode});
  });
  add("promise without code", "node 1: promise without value or code", [](Value& v) {
    NodeId nil = v.Add(Nil{});
    v.Add(Promise{kNoNode, nil, kNoNode});
  });
  add("bytecode code of the wrong kind", "node 1: bytecode code must be an int32 array node",
      [](Value& v) {
        NodeId nil = v.Add(Nil{});
        v.Add(Bytecode{nil, {}});
      });
  add("altrep without state", "node 0: altrep without state", [](Value& v) {
    v.Add(Altrep{"compact_intseq", "base", 13, kNoNode});
  });
  return bad;
}

TEST(ValidateTest, RejectsEachKindOfInconsistency) {
  for (BadValue& bad : BadValues()) {
    absl::Status status = bad.value.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad.name;
    EXPECT_THAT(std::string(status.message()), HasSubstr(bad.message)) << bad.name;
  }
}

// ---------------------------------------------------------------------------------------------
// ForEachReference.

std::vector<NodeId> References(const Node& node) {
  std::vector<NodeId> ids;
  ForEachReference(node, [&](NodeId id) { ids.push_back(id); });
  return ids;
}

TEST(ForEachReferenceTest, VisitsInWriterOrderAndSkipsAbsentReferences) {
  EXPECT_THAT(References(Node(Table{{{1, 2}, {3, 4}}})), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(References(Node(TorchObject{"x", "1", 7})), ElementsAre(7));
  EXPECT_THAT(References(Node(Tensor{{1}, {1}, 0, 3})), ElementsAre(3));
  EXPECT_THAT(References(Node(Tensor{{}, {}, 0, kNoNode})), ElementsAre());
  EXPECT_THAT(References(Node(LuaFunction{8, {}, 5})), ElementsAre(5));
  EXPECT_THAT(References(Node(List{false, {9, 8, 9}})), ElementsAre(9, 8, 9));
  // Per cell: attributes, tag, value; then the tail.
  EXPECT_THAT(
      References(Node(Pairlist{
          {Cell(CellType::kList, 1, 2, 3), Cell(CellType::kList, kNoNode, 4, kNoNode)}, 5})),
      ElementsAre(3, 1, 2, 4, 5));
  EXPECT_THAT(References(Node(Environment{false, 1, 2, 3})), ElementsAre(1, 2, 3));
  EXPECT_THAT(References(Node(Environment{false, 1, kNoNode, 3})), ElementsAre(1, 3));
  EXPECT_THAT(References(Node(Closure{1, 2, 3})), ElementsAre(1, 2, 3));
  EXPECT_THAT(References(Node(Promise{1, 2, 3})), ElementsAre(1, 2, 3));
  EXPECT_THAT(References(Node(Bytecode{1, {2, 3}})), ElementsAre(1, 2, 3));
  EXPECT_THAT(References(Node(ExternalPointer{1, 2})), ElementsAre(1, 2));
  EXPECT_THAT(References(Node(Altrep{"c", "base", 13, 6})), ElementsAre(6));
  EXPECT_THAT(References(Node(Nil{})), ElementsAre());
  EXPECT_THAT(References(Node(Array{})), ElementsAre());
  // The node's own attributes come last.
  Node with_attributes(List{false, {1, 2}});
  with_attributes.attributes = 9;
  EXPECT_THAT(References(with_attributes), ElementsAre(1, 2, 9));
}

// Big-endian arrays up to the size become little-endian copies; larger ones stay as written.
TEST(ValueTest, MakeArraysLittleEndianSwapsArraysUpToTheSize) {
  auto big_endian_doubles = [](std::vector<double> values) {
    for (double& v : values) {
      uint64_t bits;
      std::memcpy(&bits, &v, 8);
      bits = __builtin_bswap64(bits);
      std::memcpy(&v, &bits, 8);
    }
    return Buffer::Copy(values.data(), values.size() * 8);
  };
  Value value;
  const NodeId small = value.Add(Array{ElementType::kFloat64, 2, big_endian_doubles({1, 2}), true});
  const NodeId complex =
      value.Add(Array{ElementType::kComplex128, 1, big_endian_doubles({3, 4}), true});
  const NodeId large =
      value.Add(Array{ElementType::kFloat64, 3, big_endian_doubles({5, 6, 7}), true});
  const uint8_t* large_bytes = value.Get<Array>(large).data.data();
  MakeArraysLittleEndian(value, 16);
  for (NodeId id : {small, complex}) {
    const Array& array = value.Get<Array>(id);
    EXPECT_FALSE(array.big_endian);
    double d[2];
    std::memcpy(d, array.data.data(), 16);
    EXPECT_EQ(d[0], id == small ? 1 : 3);
    EXPECT_EQ(d[1], id == small ? 2 : 4);
  }
  EXPECT_TRUE(value.Get<Array>(large).big_endian);
  EXPECT_EQ(value.Get<Array>(large).data.data(), large_bytes);
  EXPECT_EQ(LoadElement<double>(value.Get<Array>(large), 2), 7);
}

}  // namespace
}  // namespace seriald
