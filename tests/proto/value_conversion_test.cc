// Tests of ToProto / FromProto: a lossless mirror of the model, and hostile messages rejected
// with a message naming the node.
#include "proto/value_conversion.h"

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/stubs/logging.h"
#include "gtest/gtest.h"
#include "tests/proto/sample_values.h"

namespace seriald {
namespace {

namespace pb = ::seriald::v1;
using ::seriald::testing::Chain;
using ::seriald::testing::DoubleFromBits;
using ::seriald::testing::EveryKind;
using ::seriald::testing::NetExample;
using ::testing::HasSubstr;

pb::Value MessageOf(const Value& value) {
  pb::Value message;
  absl::Status status = ToProto(value, &message);
  EXPECT_TRUE(status.ok()) << status;
  return message;
}

// The first node of `value` of kind T satisfying `match`.
template <typename T>
NodeId Find(
    const Value& value, std::function<bool(const T&)> match = [](const T&) { return true; }) {
  for (NodeId id = 0; id < value.size(); ++id) {
    if (const T* data = value.GetIf<T>(id); data != nullptr && match(*data)) return id;
  }
  ADD_FAILURE() << "no such node";
  return 0;
}

TEST(ValueConversionTest, EveryKindRoundTripsThroughTheMessageAndTheWire) {
  const Value original = EveryKind();
  ASSERT_TRUE(original.Validate().ok()) << original.Validate();
  pb::Value message = MessageOf(original);
  EXPECT_EQ(message.nodes_size(), static_cast<int>(original.size()));

  absl::StatusOr<Value> copied = FromProto(message);
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_TRUE(*copied == original);

  std::string wire;
  ASSERT_TRUE(message.SerializeToString(&wire));
  pb::Value received;
  ASSERT_TRUE(received.ParseFromString(wire));
  absl::StatusOr<Value> moved = FromProto(std::move(received));
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_TRUE(*moved == original);
}

TEST(ValueConversionTest, IdsAreKeptSoSharingAndCyclesSurvive) {
  const Value original = NetExample();
  pb::Value message = MessageOf(original);
  // Node 0 is the table; its third entry's value is node 0 again.
  ASSERT_EQ(message.nodes(0).kind_case(), pb::Node::kTable);
  const pb::Table& table = message.nodes(0).table();
  ASSERT_EQ(table.entries_size(), 3);
  EXPECT_EQ(table.entries(2).value(), 0u);
  EXPECT_EQ(message.roots_size(), 1);
  EXPECT_EQ(message.roots(0), 0u);
  const pb::Tensor& tensor =
      message.nodes(message.nodes(table.entries(1).value()).torch_object().payload()).tensor();
  EXPECT_TRUE(tensor.has_storage());
  EXPECT_EQ(message.nodes(tensor.storage()).torch_object().class_name(), "torch.FloatStorage");

  absl::StatusOr<Value> back = FromProto(message);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Get<Table>(0).entries[2].value, 0u);
  EXPECT_TRUE(*back == original);
}

TEST(ValueConversionTest, FieldsMapOneToOne) {
  const Value v = EveryKind();
  pb::Value message = MessageOf(v);

  // Strings: UTF-8 as text, anything else as raw, NA without content.
  const pb::String& utf8 =
      message
          .nodes(Find<StringValue>(
              v,
              [](const StringValue& s) { return s.encoding == StringEncoding::kUtf8 && !s.is_na; }))
          .string();
  EXPECT_EQ(utf8.content_case(), pb::String::kText);
  EXPECT_EQ(utf8.encoding(), pb::STRING_ENCODING_UTF8);
  const pb::String& latin1 =
      message
          .nodes(Find<StringValue>(
              v, [](const StringValue& s) { return s.encoding == StringEncoding::kLatin1; }))
          .string();
  EXPECT_EQ(latin1.content_case(), pb::String::kRaw);
  EXPECT_EQ(latin1.raw(), "caf\xe9");
  const pb::String& na =
      message.nodes(Find<StringValue>(v, [](const StringValue& s) { return s.is_na; })).string();
  EXPECT_TRUE(na.na());
  EXPECT_EQ(na.content_case(), pb::String::CONTENT_NOT_SET);
  const pb::String& empty =
      message
          .nodes(Find<StringValue>(
              v, [](const StringValue& s) { return s.bytes.empty() && !s.is_na; }))
          .string();
  EXPECT_EQ(empty.content_case(), pb::String::kText);  // present, even though empty

  // Array data: the same bytes, no per-element conversion.
  const NodeId na_real = Find<Array>(
      v, [](const Array& a) { return a.type == ElementType::kFloat64 && a.length == 5; });
  const pb::Array& array = message.nodes(na_real).array();
  EXPECT_EQ(array.type(), pb::ELEMENT_TYPE_FLOAT64);
  EXPECT_EQ(array.length(), 5u);
  EXPECT_EQ(array.data(), v.Get<Array>(na_real).data.view());
  EXPECT_EQ(array.data().substr(0, 8), std::string("\xa2\x07\0\0\0\0\xf0\x7f", 8));

  // Numbers: -0 and NaN payloads by their bits, the rest as doubles.
  auto number_node = [&](uint64_t bits) {
    return message.nodes(
        Find<Number>(v, [&](const Number& n) { return n == Number{DoubleFromBits(bits)}; }));
  };
  EXPECT_EQ(number_node(0x8000000000000000ULL).number_bits(), 0x8000000000000000ULL);
  EXPECT_EQ(number_node(0xFFF8000000000000ULL).number_bits(), 0xFFF8000000000000ULL);
  EXPECT_EQ(number_node(0x7FF0000000000001ULL).number_bits(), 0x7FF0000000000001ULL);
  EXPECT_EQ(number_node(0x7FF8000000000000ULL).kind_case(), pb::Node::kNumber);
  EXPECT_EQ(number_node(0x400921FB54442D18ULL).number(), 3.141592653589793);

  // Optional ids: absent exactly when the model holds kNoNode.
  const NodeId empty_tensor = Find<Tensor>(v, [](const Tensor& t) { return t.sizes.empty(); });
  EXPECT_FALSE(message.nodes(empty_tensor).tensor().has_storage());
  const NodeId legacy =
      Find<TorchObject>(v, [](const TorchObject& o) { return !o.version.has_value(); });
  EXPECT_FALSE(message.nodes(legacy).torch_object().has_version());
  EXPECT_TRUE(message.nodes(Find<TorchObject>(v)).torch_object().has_version());
  const NodeId dotted = Find<Pairlist>(v, [](const Pairlist& p) { return p.tail != kNoNode; });
  const pb::Pairlist& pairlist = message.nodes(dotted).pairlist();
  EXPECT_EQ(pairlist.tail(), v.Get<Pairlist>(dotted).tail);
  EXPECT_EQ(pairlist.cells(0).type(), pb::CELL_TYPE_DOTS);
  EXPECT_EQ(pairlist.cells(0).flags().levels(), 3u);
  EXPECT_FALSE(pairlist.cells(0).has_attributes());
  EXPECT_TRUE(pairlist.cells(0).has_tag());
  EXPECT_FALSE(message.nodes(Find<Promise>(v)).promise().has_environment());

  // Attributes and flags: set only where the node has them.
  const NodeId s4 = Find<S4Object>(v);
  EXPECT_TRUE(message.nodes(s4).has_attributes());
  EXPECT_EQ(message.nodes(s4).attributes(), v.node(s4).attributes);
  EXPECT_EQ(message.nodes(s4).r_flags().levels(), 16u);
  EXPECT_TRUE(message.nodes(s4).r_flags().object());
  EXPECT_FALSE(message.nodes(0).has_attributes());
  EXPECT_FALSE(message.nodes(0).has_r_flags());

  // Source facts.
  EXPECT_EQ(message.source().torch7().long_size(), 4u);
  EXPECT_TRUE(message.source().torch7().big_endian());
  EXPECT_EQ(message.source().r().format(), pb::R_FORMAT_ASCII_HEX);
  EXPECT_EQ(message.source().r().version(), 2);
  EXPECT_EQ(message.source().r().writer_version(), 0x00040300);
  EXPECT_EQ(message.source().r().native_encoding(), "latin1");
  EXPECT_EQ(message.source().r().compression(), pb::R_COMPRESSION_XZ);
  EXPECT_EQ(message.source().r().rdata_magic(), "RDX2");
  EXPECT_EQ(message.roots_size(), 3);

  // A value built by hand has no source message at all.
  Value bare;
  bare.roots().push_back(bare.Add(Nil{}));
  EXPECT_FALSE(MessageOf(bare).has_source());
}

TEST(ValueConversionTest, FromRvalueTakesTheBytesWithoutCopying) {
  pb::Value message = MessageOf(EveryKind());
  std::vector<std::pair<int, const char*>> arrays;
  for (int i = 0; i < message.nodes_size(); ++i) {
    if (message.nodes(i).kind_case() == pb::Node::kArray &&
        message.nodes(i).array().data().size() > 32) {
      arrays.emplace_back(i, message.nodes(i).array().data().data());
    }
  }
  ASSERT_FALSE(arrays.empty());
  absl::StatusOr<Value> value = FromProto(std::move(message));
  ASSERT_TRUE(value.ok()) << value.status();
  for (const auto& [id, bytes] : arrays) {
    EXPECT_EQ(reinterpret_cast<const char*>(value->Get<Array>(id).data.data()), bytes);
  }
}

TEST(ValueConversionTest, BigEndianArraysGoInlineLittleEndian) {
  // Big-endian int32s 1 and -2, as an XDR stream read with keep_array_byte_order leaves them.
  const uint32_t big_endian[2] = {__builtin_bswap32(1u),
                                  __builtin_bswap32(static_cast<uint32_t>(-2))};
  Value value;
  value.roots() = {value.Add(Array{ElementType::kInt32, 2, Buffer::Copy(big_endian, 8), true})};
  pb::Value message;
  ASSERT_TRUE(ToProto(value, &message).ok());
  const std::string& data = message.nodes(0).array().data();
  ASSERT_EQ(data.size(), 8u);
  int32_t values[2];
  std::memcpy(values, data.data(), 8);
  EXPECT_EQ(values[0], 1);
  EXPECT_EQ(values[1], -2);
}

TEST(ValueConversionTest, LargeArraysCanBeLeftForTheCallerToSend) {
  const Value original = EveryKind();
  pb::Value message;
  ASSERT_TRUE(ToProto(original, &message, ToProtoOptions{.max_inline_array_bytes = 32}).ok());
  std::vector<int> left_out;
  for (int i = 0; i < message.nodes_size(); ++i) {
    if (message.nodes(i).kind_case() != pb::Node::kArray) continue;
    const Array& array = original.Get<Array>(static_cast<NodeId>(i));
    const pb::Array& sent = message.nodes(i).array();
    EXPECT_EQ(sent.length(), array.length);
    if (array.data.size() > 32) {
      EXPECT_TRUE(sent.data().empty());
      left_out.push_back(i);
    } else {
      EXPECT_EQ(sent.data(), array.data.view());
    }
  }
  ASSERT_FALSE(left_out.empty());
  // ArraysLeftOut names exactly those, for the sender.
  const std::vector<NodeId> named =
      ArraysLeftOut(original, ToProtoOptions{.max_inline_array_bytes = 32});
  EXPECT_EQ(std::vector<int>(named.begin(), named.end()), left_out);
  // Incomplete until the data is put back.
  EXPECT_THAT(std::string(FromProto(message).status().message()),
              HasSubstr("bytes of data, but has 0"));
  for (int i : left_out) {
    message.mutable_nodes(i)->mutable_array()->mutable_data()->append(
        original.Get<Array>(static_cast<NodeId>(i)).data.view());
  }
  absl::StatusOr<Value> back = FromProto(std::move(message));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == original);
}

// A streaming receiver's arrays come back outside the message, used as they are (not copied),
// and checked like any array's data; streamed data for what is not a streamed array is refused.
TEST(ValueConversionTest, StreamedArrayDataIsTakenAsItIsAndChecked) {
  const Value original = EveryKind();
  const ToProtoOptions streaming{.max_inline_array_bytes = 32};
  pb::Value message;
  ASSERT_TRUE(ToProto(original, &message, streaming).ok());
  StreamedArrayData streamed;
  for (NodeId id : ArraysLeftOut(original, streaming)) {
    streamed[id] = Buffer::Copy(original.Get<Array>(id).data.view());
  }
  ASSERT_FALSE(streamed.empty());
  {
    pb::Value copy = message;
    absl::StatusOr<Value> back = FromProto(std::move(copy), streamed);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == original);
    for (const auto& [id, data] : streamed) {
      EXPECT_EQ(back->Get<Array>(id).data.data(), data.data()) << "node " << id << " was copied";
    }
  }
  const NodeId some_array = streamed.begin()->first;
  {
    // Too short for its length.
    StreamedArrayData wrong = streamed;
    wrong[some_array] = wrong[some_array].Slice(0, wrong[some_array].size() - 1);
    pb::Value copy = message;
    EXPECT_THAT(std::string(FromProto(std::move(copy), wrong).status().message()),
                HasSubstr("bytes of data, but has"));
  }
  {
    // A node that is not an array, and one past the end.
    for (uint32_t id : {original.roots()[0], static_cast<uint32_t>(message.nodes_size())}) {
      if (id < static_cast<uint32_t>(message.nodes_size()) &&
          message.nodes(static_cast<int>(id)).kind_case() == pb::Node::kArray) {
        continue;
      }
      StreamedArrayData wrong = streamed;
      wrong[id] = Buffer::Copy("abcd");
      pb::Value copy = message;
      absl::Status status = FromProto(std::move(copy), wrong).status();
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(
          std::string(status.message()),
          HasSubstr(absl::StrCat("streamed data for node ", id, ", which is not an array node")));
    }
  }
  {
    // Data both inline and streamed.
    pb::Value copy = message;
    copy.mutable_nodes(static_cast<int>(some_array))->mutable_array()->set_data("x");
    EXPECT_THAT(std::string(FromProto(std::move(copy), streamed).status().message()),
                HasSubstr("has data both in its message and streamed"));
  }
}

TEST(ValueConversionTest, FromConstMessageLeavesItIntact) {
  const pb::Value message = MessageOf(EveryKind());
  const std::string before = message.SerializeAsString();
  ASSERT_TRUE(FromProto(message).ok());
  EXPECT_EQ(message.SerializeAsString(), before);
}

TEST(ValueConversionTest, DeepChainConvertsWithoutRecursion) {
  const Value chain = Chain(200000);
  const auto start = std::chrono::steady_clock::now();
  pb::Value message = MessageOf(chain);
  std::string wire = message.SerializeAsString();
  pb::Value received;
  ASSERT_TRUE(received.ParseFromString(wire));
  absl::StatusOr<Value> back = FromProto(std::move(received));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == chain);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// ---------------------------------------------------------------------------------------------
// Values the schema cannot carry.

TEST(ValueConversionTest, ToProtoRefusesWhatTheSchemaCannotCarry) {
  struct Case {
    const char* name;
    std::function<void(Value&)> build;
    const char* message;
  };
  const Case cases[] = {
      {"class name not UTF-8",
       [](Value& v) {
         v.Add(TorchObject{"caf\xe9", "1", v.Add(Nil{})});
       },
       "node 1 (torch_object): class name is not valid UTF-8"},
      {"version not UTF-8",
       [](Value& v) {
         v.Add(TorchObject{"x", "\xff", v.Add(Nil{})});
       },
       "node 1 (torch_object): version is not valid UTF-8"},
      {"builtin name not UTF-8",
       [](Value& v) {
         v.Add(Builtin{false, "\xc3"});
       },
       "node 0 (builtin): name is not valid UTF-8"},
      {"altrep package not UTF-8",
       [](Value& v) {
         v.Add(Altrep{"c", "\xed\xa0\x80", 13, v.Add(Nil{})});
       },
       "node 1 (altrep): package is not valid UTF-8"},
      {"required reference missing",
       [](Value& v) {
         NodeId key = v.AddString("k");
         v.Add(Table{{{key, kNoNode}}});
       },
       "node 1 (table): entry 0 value is missing"},
      {"bytecode constant missing",
       [](Value& v) {
         v.Add(Bytecode{v.Add(Array{ElementType::kInt32, 0, {}}), {kNoNode}});
       },
       "node 1 (bytecode): constant 0 is missing"},
      {"NA string with bytes",
       [](Value& v) {
         v.Add(StringValue{"x", StringEncoding::kNative, true});
       },
       "node 0 (string): the string is NA but holds bytes"},
      {"undeclared element type",
       [](Value& v) {
         v.Add(Array{static_cast<ElementType>(40), 0, {}});
       },
       "node 0 (array): undeclared element type 40"},
      {"undeclared encoding",
       [](Value& v) {
         v.Add(StringValue{"x", static_cast<StringEncoding>(9), false});
       },
       "node 0 (string): the string has undeclared encoding 9"},
      {"long size",
       [](Value& v) {
         v.source().torch7 = Torch7Layout{false, 2, false};
       },
       "source.torch7.long_size is 2, not 4 or 8"},
      {"R version", [](Value& v) { v.source().r.emplace().version = 1; },
       "source.r.version is 1, not 2 or 3"},
      {"R header not UTF-8", [](Value& v) { v.source().r.emplace().native_encoding = "\xff"; },
       "source.r.native_encoding is not valid UTF-8"},
  };
  for (const Case& c : cases) {
    Value value;
    c.build(value);
    pb::Value message;
    absl::Status status = ToProto(value, &message);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message)) << c.name;
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile messages.

// A valid message to break: [0] table {[1] "k" = [2] storage object}, [3] array, [4] tensor.
pb::Value ValidMessage() {
  Value v;
  const NodeId table = v.Add(Table{});
  const NodeId key = v.AddString("k");
  const NodeId storage = v.Add(TorchObject{"torch.FloatStorage", "1", 3});
  v.Add(Array{ElementType::kFloat32, 2, Buffer::Copy(std::string(8, '\0'))});
  v.Add(Tensor{{2}, {1}, 0, storage});
  v.Get<Table>(table).entries = {{key, storage}};
  v.roots().push_back(table);
  EXPECT_TRUE(v.Validate().ok());
  return MessageOf(v);
}

TEST(ValueConversionTest, FromProtoRejectsHostileMessagesNamingTheNode) {
  struct Case {
    const char* name;
    std::function<void(pb::Value&)> corrupt;
    const char* message;
  };
  const Case cases[] = {
      {"root out of range", [](pb::Value& m) { m.set_roots(0, 99); },
       "root 0 refers to node 99, but there are only 5 nodes"},
      {"reference out of range",
       [](pb::Value& m) { m.mutable_nodes(0)->mutable_table()->mutable_entries(0)->set_value(5); },
       "node 0 (table): entry 0 value refers to node 5, but there are only 5 nodes"},
      {"reference that reads as kNoNode",
       [](pb::Value& m) {
         m.mutable_nodes(0)->mutable_table()->mutable_entries(0)->set_key(0xFFFFFFFFu);
       },
       "node 0 (table): entry 0 key refers to node 4294967295, but there are only 5 nodes"},
      {"required reference missing",
       [](pb::Value& m) { m.mutable_nodes(2)->mutable_torch_object()->clear_payload(); },
       "node 2 (torch_object): payload is missing"},
      {"required reference in a list of entries missing",
       [](pb::Value& m) { m.mutable_nodes(0)->mutable_table()->mutable_entries(0)->clear_key(); },
       "node 0 (table): entry 0 key is missing"},
      {"optional reference out of range",
       [](pb::Value& m) { m.mutable_nodes(4)->mutable_tensor()->set_storage(7); },
       "node 4 (tensor): storage refers to node 7"},
      {"attributes out of range", [](pb::Value& m) { m.mutable_nodes(1)->set_attributes(9); },
       "node 1 (string): attributes refers to node 9"},
      {"attributes of the wrong kind", [](pb::Value& m) { m.mutable_nodes(1)->set_attributes(0); },
       "node 1: attributes must be a pairlist node"},
      {"no kind", [](pb::Value& m) { m.mutable_nodes(1)->Clear(); }, "node 1 has no kind"},
      {"undeclared element type",
       [](pb::Value& m) {
         m.mutable_nodes(3)->mutable_array()->set_type(static_cast<pb::ElementType>(11));
       },
       "node 3 (array): undeclared element type 11"},
      {"array data shorter than its length",
       [](pb::Value& m) { m.mutable_nodes(3)->mutable_array()->set_length(3); },
       "node 3 (array): array of 3 float32 needs 3 x 4 bytes of data, but has 8"},
      {"array data not a whole number of elements",
       [](pb::Value& m) { m.mutable_nodes(3)->mutable_array()->mutable_data()->push_back('x'); },
       "node 3 (array): array of 2 float32 needs 2 x 4 bytes of data, but has 9"},
      {"array length that overflows",
       [](pb::Value& m) { m.mutable_nodes(3)->mutable_array()->set_length(uint64_t{1} << 62); },
       "needs 4611686018427387904 x 4 bytes of data, but has 8"},
      {"tensor sizes and strides",
       [](pb::Value& m) { m.mutable_nodes(4)->mutable_tensor()->add_sizes(3); },
       "node 4: tensor has 2 sizes but 1 strides"},
      {"tensor storage of the wrong kind",
       [](pb::Value& m) { m.mutable_nodes(4)->mutable_tensor()->set_storage(3); },
       "node 4: tensor storage must be a torch object node"},
      {"undeclared string encoding",
       [](pb::Value& m) {
         m.mutable_nodes(1)->mutable_string()->set_encoding(static_cast<pb::StringEncoding>(9));
       },
       "node 1 (string): the string has undeclared encoding 9"},
      {"NA string with content",
       [](pb::Value& m) { m.mutable_nodes(1)->mutable_string()->set_na(true); },
       "node 1 (string): the string is NA but has text or raw bytes"},
      {"NA vector element with an encoding",
       [](pb::Value& m) {
         pb::String* e = m.mutable_nodes(1)->mutable_string_vector()->add_elements();
         e->set_na(true);
         e->set_encoding(pb::STRING_ENCODING_UTF8);
       },
       "node 1 (string_vector): element 0 is NA but declares encoding utf8"},
      {"flags beyond 16 bits",
       [](pb::Value& m) { m.mutable_nodes(1)->mutable_r_flags()->set_levels(70000); },
       "node 1 (string): r_flags levels 70000 exceed 16 bits"},
      {"lua function tag that would truncate to 8",
       [](pb::Value& m) {
         pb::LuaFunction* f = m.mutable_nodes(1)->mutable_lua_function();
         f->set_tag(264);
         f->set_upvalues(0);
       },
       "node 1 (lua_function): lua function tag 264 is not 6, 7 or 8"},
      {"undeclared cell type",
       [](pb::Value& m) {
         pb::Pairlist::Cell* c = m.mutable_nodes(1)->mutable_pairlist()->add_cells();
         c->set_type(static_cast<pb::CellType>(5));
       },
       "node 1 (pairlist): cell 0 has undeclared type 5"},
      {"pairlist cell value out of range",
       [](pb::Value& m) { m.mutable_nodes(1)->mutable_pairlist()->add_cells()->set_value(50); },
       "node 1 (pairlist): cell 0 value refers to node 50"},
      {"undeclared special",
       [](pb::Value& m) {
         m.mutable_nodes(1)->mutable_special()->set_kind(static_cast<pb::Special::Kind>(6));
       },
       "node 1 (special): undeclared special kind 6"},
      {"bytecode constant out of range",
       [](pb::Value& m) {
         pb::Bytecode* b = m.mutable_nodes(1)->mutable_bytecode();
         b->set_code(3);
         b->add_constants(8);
       },
       "node 1 (bytecode): constant 0 refers to node 8"},
      {"long size",
       [](pb::Value& m) { m.mutable_source()->mutable_torch7()->set_long_size(0xFFFFFFFCu); },
       "source.torch7.long_size is 4294967292, not 4 or 8"},
      {"R version", [](pb::Value& m) { m.mutable_source()->mutable_r()->set_version(4); },
       "source.r.version is 4, not 2 or 3"},
      {"R format",
       [](pb::Value& m) {
         m.mutable_source()->mutable_r()->set_version(3);
         m.mutable_source()->mutable_r()->set_format(static_cast<pb::RFormat>(4));
       },
       "source.r.format 4 is undeclared"},
      {"R compression",
       [](pb::Value& m) {
         m.mutable_source()->mutable_r()->set_version(3);
         m.mutable_source()->mutable_r()->set_compression(static_cast<pb::RCompression>(9));
       },
       "source.r.compression 9 is undeclared"},
  };
  ASSERT_TRUE(FromProto(ValidMessage()).ok());
  for (const Case& c : cases) {
    pb::Value message = ValidMessage();
    c.corrupt(message);
    absl::StatusOr<Value> value = FromProto(message);
    EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(value.status().message()), HasSubstr(c.message)) << c.name;
    // The rvalue form checks the same things.
    absl::StatusOr<Value> moved = FromProto(std::move(message));
    EXPECT_EQ(moved.status(), value.status()) << c.name;
  }
}

TEST(ValueConversionTest, MutatedWireMessagesAreRejectedOrRoundTrip) {
  const std::string wire = MessageOf(EveryKind()).SerializeAsString();
  // protobuf logs each string field it rejects as not UTF-8; those rejections are expected here.
  google::protobuf::LogSilencer quiet;
  std::mt19937 random(20240601);
  int accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string mutated = wire;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < flips; ++i) {
      mutated[random() % mutated.size()] = static_cast<char>(random());
    }
    if (random() % 8 == 0) mutated.resize(random() % mutated.size());
    pb::Value message;
    if (!message.ParseFromString(mutated)) continue;
    absl::StatusOr<Value> value = FromProto(message);
    if (!value.ok()) {
      EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
      continue;
    }
    ++accepted;
    ASSERT_TRUE(value->Validate().ok());
    pb::Value again;
    ASSERT_TRUE(ToProto(*value, &again).ok()) << round;
    absl::StatusOr<Value> back = FromProto(again);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == *value) << round;
  }
  EXPECT_GT(accepted, 0);  // some mutations (a changed number, a string byte) are still valid
}

}  // namespace
}  // namespace seriald
