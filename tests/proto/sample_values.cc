#include "tests/proto/sample_values.h"

#include <cstring>
#include <limits>
#include <vector>

namespace seriald::testing {
namespace {

// Little-endian bytes of the given values.
template <typename T>
Buffer Bytes(std::vector<T> values) {
  return Buffer::Copy(values.data(), values.size() * sizeof(T));
}

NodeId AddArray(Value& v, ElementType type, Buffer data) {
  const uint64_t length = data.size() / ElementSize(type);
  return v.Add(Array{type, length, std::move(data)});
}

// A pairlist cell without flags.
PairlistCell Cell(CellType type, NodeId tag, NodeId value, NodeId attributes = kNoNode) {
  return PairlistCell{type, tag, value, attributes, RFlags{}};
}

Symbol MakeSymbol(std::string name, StringEncoding encoding = StringEncoding::kNative) {
  return Symbol{StringValue{std::move(name), encoding, false}};
}

}  // namespace

double DoubleFromBits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

Value EveryKind() {
  Value v;
  // Node 0: a Torch7 table, filled below; it contains itself.
  const NodeId table = v.Add(Table{});

  // Common kinds.
  const NodeId nil = v.Add(Nil{});
  const NodeId yes = v.Add(Boolean{true});
  const NodeId no = v.Add(Boolean{false});
  const NodeId pi = v.AddNumber(3.141592653589793);
  const NodeId negative_zero = v.AddNumber(-0.0);
  const NodeId x86_nan = v.AddNumber(DoubleFromBits(0xFFF8000000000000ULL));  // Lua's 0/0
  const NodeId payload_nan = v.AddNumber(DoubleFromBits(0x7FF0000000000001ULL));
  const NodeId canonical_nan = v.AddNumber(std::numeric_limits<double>::quiet_NaN());
  const NodeId infinity = v.AddNumber(-std::numeric_limits<double>::infinity());
  const NodeId tiny = v.AddNumber(std::numeric_limits<double>::denorm_min());
  const NodeId utf8 =
      v.AddString("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d", StringEncoding::kUtf8);
  const NodeId latin1 = v.AddString("caf\xe9", StringEncoding::kLatin1);
  const NodeId raw_bytes = v.AddString(std::string("\x00\xff\xc3(\x80", 5), StringEncoding::kBytes);
  const NodeId empty = v.AddString("");
  static constexpr char kControl[] = "tab\tnul\0quote\"back\\\x7f\n\xe2\x80\xa8";
  const NodeId control = v.AddString(std::string(kControl, sizeof kControl - 1));
  const NodeId na = v.Add(StringValue::Na());
  const NodeId na_utf8 = v.Add(StringValue{"", StringEncoding::kUtf8, true});
  const NodeId opaque = v.Add(Opaque{Buffer::Copy(std::string("\x00\x01\xfe\xff generator", 14))});
  const NodeId empty_opaque = v.Add(Opaque{});

  // One array of every element type, with edge bit patterns.
  std::vector<NodeId> arrays;
  arrays.push_back(AddArray(v, ElementType::kUint8, Bytes<uint8_t>({0, 1, 127, 128, 255})));
  arrays.push_back(AddArray(v, ElementType::kInt8, Bytes<int8_t>({-128, -1, 0, 127})));
  arrays.push_back(AddArray(v, ElementType::kInt16, Bytes<int16_t>({-32768, -1, 32767})));
  arrays.push_back(
      AddArray(v, ElementType::kInt32,
               Bytes<int32_t>({kNaInteger, -1, 0, std::numeric_limits<int32_t>::max()})));
  arrays.push_back(AddArray(v, ElementType::kInt64,
                            Bytes<int64_t>({std::numeric_limits<int64_t>::min(), -1,
                                            std::numeric_limits<int64_t>::max()})));
  // binary16: a NaN with a payload, -0, +inf, the smallest subnormal.
  arrays.push_back(
      AddArray(v, ElementType::kFloat16, Bytes<uint16_t>({0x7E01, 0x8000, 0x7C00, 1})));
  // binary32: a NaN with a payload, -0, a subnormal, 1.0.
  arrays.push_back(AddArray(v, ElementType::kFloat32,
                            Bytes<uint32_t>({0x7FC00001u, 0x80000000u, 1u, 0x3F800000u})));
  // binary64: R's NA_real_, a signalling NaN, x86's negative NaN, -0, 0.1.
  arrays.push_back(
      AddArray(v, ElementType::kFloat64,
               Bytes<uint64_t>({kNaRealBits, 0x7FF0000000000001ULL, 0xFFF8000000000000ULL,
                                0x8000000000000000ULL, 0x3FB999999999999AULL})));
  arrays.push_back(
      AddArray(v, ElementType::kComplex128, Bytes<uint64_t>({kNaRealBits, 0x8000000000000000ULL})));
  arrays.push_back(AddArray(v, ElementType::kLogical, Bytes<int32_t>({0, 1, kNaInteger})));
  std::vector<uint8_t> all_bytes(256);
  for (int i = 0; i < 256; ++i) all_bytes[i] = static_cast<uint8_t>(i);
  arrays.push_back(AddArray(v, ElementType::kRaw, Bytes(all_bytes)));
  arrays.push_back(AddArray(v, ElementType::kFloat64, Buffer()));  // empty

  StringVector strings;
  strings.Append("a", StringEncoding::kUtf8);
  strings.AppendNa();
  strings.Append(std::string("\xff\xfe", 2), StringEncoding::kBytes);
  strings.Append("", StringEncoding::kNative);
  strings.Append("\xe9t\xe9", StringEncoding::kLatin1);
  strings.Append("x", StringEncoding::kAscii);
  const NodeId string_vector = v.Add(strings);

  // Torch7: one storage shared by two tensors, an empty tensor, a legacy object, a function.
  const NodeId storage =
      v.Add(TorchObject{"torch.FloatStorage", "1",
                        AddArray(v, ElementType::kFloat32, Bytes<float>({1, 2, 3, 4, 5, 6}))});
  const NodeId weights =
      v.Add(TorchObject{"torch.FloatTensor", "1", v.Add(Tensor{{2, 3}, {3, 1}, 0, storage})});
  const NodeId column =
      v.Add(TorchObject{"torch.FloatTensor", "1", v.Add(Tensor{{2}, {3}, 1, storage})});
  const NodeId empty_tensor =
      v.Add(TorchObject{"torch.DoubleTensor", "1", v.Add(Tensor{{}, {}, 0, kNoNode})});
  const NodeId legacy = v.Add(TorchObject{"nn.Module", std::nullopt, v.Add(Table{})});
  const NodeId upvalues = v.Add(Table{});
  const NodeId function =
      v.Add(LuaFunction{8, Buffer::Copy(std::string("\x1bLJ\x02\x00\x80\xff", 7)), upvalues});
  v.Get<Table>(upvalues).entries = {{v.AddNumber(1), function}};  // a recursive closure

  // R: symbols, attributes, a pairlist with tags, attributes, flags and a dotted tail.
  const NodeId names_symbol = v.Add(MakeSymbol("names"));
  const NodeId class_symbol = v.Add(MakeSymbol("class"));
  const NodeId latin1_symbol = v.Add(MakeSymbol("\xe9l\xe8ve", StringEncoding::kLatin1));
  StringVector class_names;
  class_names.Append("data.frame");
  const NodeId class_vector = v.Add(class_names);
  const NodeId cell_attributes =
      v.Add(Pairlist{{Cell(CellType::kList, class_symbol, class_vector)}});
  const NodeId attributes = v.Add(Pairlist{{
      PairlistCell{CellType::kList, names_symbol, string_vector, kNoNode, RFlags{}},
      PairlistCell{CellType::kList, class_symbol, class_vector, cell_attributes,
                   RFlags{1 << 14, true}},
  }});
  Node classed(Array{ElementType::kInt32, 2, Bytes<int32_t>({7, kNaInteger})});
  classed.attributes = attributes;
  classed.r_flags = RFlags{0, true};
  const NodeId classed_vector = v.Add(classed);
  const NodeId call = v.Add(Pairlist{
      {Cell(CellType::kLanguage, kNoNode, latin1_symbol), Cell(CellType::kList, names_symbol, pi)},
      kNoNode});
  const NodeId dotted = v.Add(
      Pairlist{{PairlistCell{CellType::kDots, latin1_symbol, yes, kNoNode, RFlags{3, false}}}, pi});

  // An environment whose frame binds `self` to the environment itself.
  const NodeId global = v.Add(Special{SpecialKind::kGlobalEnv});
  const NodeId environment = v.Add(Environment{true, global, kNoNode, kNoNode});
  const NodeId self_symbol = v.Add(MakeSymbol("self"));
  const NodeId frame = v.Add(Pairlist{
      {PairlistCell{CellType::kList, self_symbol, environment, kNoNode, RFlags{1 << 14, false}}}});
  const NodeId buckets = v.Add(List{false, {nil, frame}});
  v.Get<Environment>(environment).frame = frame;
  v.Get<Environment>(environment).hash_table = buckets;

  StringVector namespace_info;
  namespace_info.Append("stats");
  namespace_info.Append("4.2.2");
  StringVector package_info;
  package_info.Append("package:stats");
  StringVector persistent_names;
  persistent_names.Append("ref", StringEncoding::kUtf8);
  persistent_names.AppendNa();
  const NodeId r_namespace = v.Add(Namespace{namespace_info});
  const NodeId package = v.Add(PackageEnvironment{package_info});
  const NodeId persistent = v.Add(PersistentReference{persistent_names});
  const NodeId missing = v.Add(Special{SpecialKind::kMissingArg});
  const NodeId unbound = v.Add(Special{SpecialKind::kUnboundValue});
  const NodeId formals = v.Add(Pairlist{{Cell(CellType::kList, names_symbol, missing)}});
  const NodeId closure = v.Add(Closure{environment, formals, call});
  const NodeId closure_without_formals = v.Add(Closure{global, kNoNode, pi});
  const NodeId forced = v.Add(Promise{kNoNode, pi, call});
  const NodeId unforced = v.Add(Promise{environment, unbound, call});
  const NodeId builtin = v.Add(Builtin{false, "sum"});
  const NodeId special = v.Add(Builtin{true, "if"});
  const NodeId code = AddArray(v, ElementType::kInt32, Bytes<int32_t>({12, 1, 0}));
  const NodeId bytecode = v.Add(Bytecode{code, {call, call, pi}});
  const NodeId pointer = v.Add(ExternalPointer{classed_vector, kNoNode});
  const NodeId bare_pointer = v.Add(ExternalPointer{});
  const NodeId weak = v.Add(WeakReference{});
  Node s4(S4Object{});
  s4.attributes = attributes;
  s4.r_flags = RFlags{16, true};
  const NodeId s4_object = v.Add(s4);
  const NodeId altrep = v.Add(Altrep{
      "compact_intseq", "base", 13, AddArray(v, ElementType::kFloat64, Bytes<double>({10, 1, 1}))});

  std::vector<NodeId> everything = {nil,
                                    yes,
                                    no,
                                    pi,
                                    negative_zero,
                                    x86_nan,
                                    payload_nan,
                                    canonical_nan,
                                    infinity,
                                    tiny,
                                    utf8,
                                    latin1,
                                    raw_bytes,
                                    empty,
                                    control,
                                    na,
                                    na_utf8,
                                    opaque,
                                    empty_opaque,
                                    string_vector,
                                    weights,
                                    column,
                                    empty_tensor,
                                    legacy,
                                    function,
                                    classed_vector,
                                    call,
                                    dotted,
                                    environment,
                                    r_namespace,
                                    package,
                                    persistent,
                                    closure,
                                    closure_without_formals,
                                    forced,
                                    unforced,
                                    builtin,
                                    special,
                                    bytecode,
                                    pointer,
                                    bare_pointer,
                                    weak,
                                    s4_object,
                                    altrep};
  everything.insert(everything.end(), arrays.begin(), arrays.end());
  const NodeId list = v.Add(List{false, everything});
  const NodeId expression = v.Add(List{true, {call, latin1_symbol}});

  v.Get<Table>(table).entries = {
      {v.AddString("name"), v.AddString("net")},
      {v.AddString("weights"), weights},
      {v.AddString("column"), column},
      {v.AddString("everything"), list},
      {v.AddString("self"), table},  // a cycle
      {table, yes},                  // the table as its own key
      {v.AddNumber(1), storage},     // the shared storage once more
  };
  v.roots() = {table, expression, table};
  v.source().torch7 = Torch7Layout{false, 4, true};
  v.source().r = RStreamInfo{RFormat::kAsciiHex, 2,     0x00040300, 0x00020300, "latin1",
                             RCompression::kXz,  "RDX2"};
  return v;
}

Value NetExample() {
  // Nodes in the order a Torch7 reader creates them: each object before what it contains.
  Value v;
  const NodeId table = v.Add(Table{});
  const NodeId name = v.AddString("name");
  const NodeId net = v.AddString("net");
  const NodeId t = v.AddString("t");
  const NodeId tensor_object = v.Add(TorchObject{"torch.FloatTensor", "1", kNoNode});
  const NodeId tensor = v.Add(Tensor{{2}, {1}, 0, kNoNode});
  const NodeId storage_object = v.Add(TorchObject{"torch.FloatStorage", "1", kNoNode});
  const float data[2] = {0.5f, -2.0f};
  const NodeId storage = v.Add(Array{ElementType::kFloat32, 2, Buffer::Copy(data, 8)});
  const NodeId self = v.AddString("self");
  v.Get<Table>(table).entries = {{name, net}, {t, tensor_object}, {self, table}};
  v.Get<TorchObject>(tensor_object).payload = tensor;
  v.Get<Tensor>(tensor).storage = storage_object;
  v.Get<TorchObject>(storage_object).payload = storage;
  v.roots().push_back(table);
  v.source().torch7 = Torch7Layout{false, 8, false};
  return v;
}

const char kNetExampleJson[] = R"json({
 "nodes": [
  {
   "table": {
    "entries": [
     {
      "key": 1,
      "value": 2
     },
     {
      "key": 3,
      "value": 4
     },
     {
      "key": 8,
      "value": 0
     }
    ]
   }
  },
  {
   "string": {
    "text": "name"
   }
  },
  {
   "string": {
    "text": "net"
   }
  },
  {
   "string": {
    "text": "t"
   }
  },
  {
   "torchObject": {
    "className": "torch.FloatTensor",
    "version": "1",
    "payload": 5
   }
  },
  {
   "tensor": {
    "sizes": [
     "2"
    ],
    "strides": [
     "1"
    ],
    "storage": 6
   }
  },
  {
   "torchObject": {
    "className": "torch.FloatStorage",
    "version": "1",
    "payload": 7
   }
  },
  {
   "array": {
    "type": "ELEMENT_TYPE_FLOAT32",
    "length": "2",
    "data": "AAAAPwAAAMA="
   }
  },
  {
   "string": {
    "text": "self"
   }
  }
 ],
 "roots": [
  0
 ],
 "source": {
  "torch7": {
   "longSize": 8
  }
 }
}
)json";

Value Chain(uint32_t depth) {
  Value v;
  v.Reserve(2 * static_cast<size_t>(depth) + 1);
  const NodeId key = v.AddString("next");
  NodeId previous = kNoNode;
  for (uint32_t i = 0; i < depth; ++i) {
    const NodeId table = v.Add(Table{});
    if (previous == kNoNode) {
      v.roots().push_back(table);
    } else {
      v.Get<Table>(previous).entries.push_back({key, table});
    }
    previous = table;
  }
  return v;
}

}  // namespace seriald::testing
