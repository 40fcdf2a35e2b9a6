// The unary calls' bulk bytes without protobuf strings (wire/unary_wire.h): a request's data is
// taken from the slices it arrived in (over the slice itself when it lies in one), whatever the
// fields' order, and a form the fast reading does not expect is parsed as protobuf parses it; a
// response's arrays (Deserialize) and output (Convert, Serialize) are sent as slices over their own
// Buffers,
// and what is sent parses to the very message protobuf would have sent.
#include "wire/unary_wire.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/value_conversion.h"
#include "tests/wire/testing/byte_buffers.h"
#include "wire/wire_format.h"

namespace seriald::wire {
namespace {

using testing::Flatten;
using testing::Received;

v1::DeserializeRequest Request(const std::string& data) {
  v1::DeserializeRequest request;
  request.set_data(data);
  request.mutable_options()->set_view(v1::VIEW_DATA);
  request.mutable_options()->set_string_codes(true);
  request.mutable_options()->set_max_depth(7);
  return request;
}

TEST(UnaryWireTest, RequestDataComesOutWholeAndTheOptionsParsed) {
  const std::string data(100000, 'd');
  const std::string bytes = Request(data).SerializeAsString();
  for (const std::vector<size_t>& cuts :
       {std::vector<size_t>{}, {1}, {3, 50000, 99999}, {bytes.size() - 9}}) {
    grpc::ByteBuffer message = Received(bytes, cuts);
    v1::DeserializeRequest rest;
    absl::StatusOr<Buffer> taken = TakeRequestData(message, &rest);
    ASSERT_TRUE(taken.ok()) << taken.status();
    EXPECT_EQ(taken->view(), data) << cuts.size();
    EXPECT_TRUE(rest.data().empty());
    EXPECT_EQ(rest.options().view(), v1::VIEW_DATA);
    EXPECT_TRUE(rest.options().string_codes());
    EXPECT_EQ(rest.options().max_depth(), 7u);
  }
}

TEST(UnaryWireTest, DataInOneSliceIsThatSliceNotACopy) {
  const std::string bytes = Request(std::string(5000, 'x')).SerializeAsString();
  grpc::ByteBuffer message = Received(bytes);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(message.Dump(&slices).ok());
  const uint8_t* begin = slices[0].begin();
  v1::DeserializeRequest rest;
  absl::StatusOr<Buffer> taken = TakeRequestData(message, &rest);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_GE(taken->data(), begin);
  EXPECT_LE(taken->data() + taken->size(), begin + slices[0].size());
  message.Clear();
  slices.clear();
  EXPECT_EQ(taken->view(), std::string(5000, 'x'));  // the Buffer keeps the slice alive
}

// Received slices that say when gRPC's last reference to them goes.
class TrackedSlices {
 public:
  // `bytes` cut every `step` bytes, each piece in memory of its own.
  TrackedSlices(const std::string& bytes, size_t step) {
    for (size_t begin = 0; begin < bytes.size(); begin += step) {
      const size_t size = std::min(step, bytes.size() - begin);
      auto* piece = new Piece{this, std::unique_ptr<char[]>(new char[size])};
      std::memcpy(piece->bytes.get(), bytes.data() + begin, size);
      slices_.emplace_back(piece->bytes.get(), size, &Release, piece);
      ++held_;
    }
  }
  grpc::ByteBuffer Message() {
    grpc::ByteBuffer message(slices_.data(), slices_.size());
    slices_.clear();
    return message;
  }
  size_t held() const { return held_; }

 private:
  struct Piece {
    TrackedSlices* owner;
    std::unique_ptr<char[]> bytes;
  };
  static void Release(void* user_data) {
    auto* piece = static_cast<Piece*>(user_data);
    --piece->owner->held_;
    delete piece;
  }
  std::vector<grpc::Slice> slices_;
  size_t held_ = 0;
};

// Data gathered from several slices is the only copy left once it is taken: the message's slices
// are all released (a large request's as each is copied), though the caller still has the
// message. Data in one slice keeps that slice, and only while the Buffer over it lives.
TEST(UnaryWireTest, TakenDataIsTheOnlyCopyLeftOfTheRequest) {
  for (size_t data_bytes : {size_t{100000}, kHugePageThreshold + 12345}) {
    std::string data(data_bytes, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 1000);
    TrackedSlices received(Request(data).SerializeAsString(), data_bytes / 5 + 1);
    ASSERT_GT(received.held(), 1u);
    grpc::ByteBuffer message = received.Message();
    v1::DeserializeRequest rest;
    absl::StatusOr<Buffer> taken = TakeRequestData(message, &rest);
    ASSERT_TRUE(taken.ok()) << taken.status();
    EXPECT_EQ(received.held(), 0u) << data_bytes;
    EXPECT_EQ(message.Length(), 0u);
    EXPECT_EQ(taken->view(), data) << data_bytes;
    EXPECT_EQ(rest.options().max_depth(), 7u);
  }
  TrackedSlices received(Request(std::string(5000, 'x')).SerializeAsString(), 1 << 20);
  ASSERT_EQ(received.held(), 1u);
  grpc::ByteBuffer message = received.Message();
  v1::DeserializeRequest rest;
  absl::StatusOr<Buffer> taken = TakeRequestData(message, &rest);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(received.held(), 1u);
  EXPECT_EQ(taken->view(), std::string(5000, 'x'));
  *taken = Buffer();
  EXPECT_EQ(received.held(), 0u);
}

TEST(UnaryWireTest, OtherFormsAreReadAsProtobufReadsThem) {
  v1::DeserializeRequest request = Request("first");
  // Options before the data, an unknown field, and the data twice (the last one counts).
  v1::ReadOptions options = request.options();
  std::string bytes;
  bytes +=
      std::string("\x12") + static_cast<char>(options.ByteSizeLong()) + options.SerializeAsString();
  bytes += std::string("\x0a\x05") + "first";
  bytes += std::string("\x78\x01");  // field 15, varint 1: unknown
  bytes += std::string("\x0a\x06") + "second";
  v1::DeserializeRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  ASSERT_EQ(parsed.data(), "second");
  grpc::ByteBuffer message = Received(bytes, {4, 9});
  v1::DeserializeRequest rest;
  absl::StatusOr<Buffer> taken = TakeRequestData(message, &rest);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->view(), "second");
  EXPECT_EQ(rest.options().max_depth(), 7u);

  // Options after the data, and no data at all.
  v1::DeserializeRequest no_data = Request("");
  grpc::ByteBuffer empty = Received(no_data.SerializeAsString());
  taken = TakeRequestData(empty, &rest);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->size(), 0u);
}

TEST(UnaryWireTest, WhatIsNotADeserializeRequestIsRefused) {
  for (const std::string& bytes : {std::string("\x0a\x09short"), std::string("\x12\x03\xff\xff"),
                                   std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")}) {
    grpc::ByteBuffer message = Received(bytes);
    v1::DeserializeRequest rest;
    absl::StatusOr<Buffer> taken = TakeRequestData(message, &rest);
    EXPECT_EQ(taken.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(taken.status().message()),
                ::testing::HasSubstr("not a valid seriald.v1.DeserializeRequest"));
  }
}

// Tags and lengths in more bytes than protobuf writes: it reads a tag of up to five bytes
// (keeping the low 32 bits of a larger value) and a length of up to five, and refuses six.
TEST(UnaryWireTest, TagsAndLengthsInLongerFormsAreReadAsProtobufReadsThem) {
  struct Form {
    std::string bytes;
    bool parses;
  };
  const std::vector<Form> forms = {
      {std::string("\x8a\x80\x80\x80\x00\x05", 6) + "first", true},       // tag in five bytes
      {std::string("\x8a\x80\x80\x80\x80\x00\x05", 7) + "first", false},  // in six
      {std::string("\x8a\x80\x80\x80\x10\x05", 6) + "first", true},       // 10 + 2^32 in five
      {std::string("\x0a\x85\x80\x80\x80\x00", 6) + "first", true},       // length in five
      {std::string("\x0a\x85\x80\x80\x80\x80\x00", 7) + "first", false},  // in six
      // Another field's tag and length.
      {std::string("\x0a\x05", 2) + "first" + std::string("\xfa\x80\x80\x80\x00\x00", 6), true},
      {std::string("\x0a\x05", 2) + "first" + std::string("\xfa\x80\x80\x80\x80\x00\x00", 7),
       false},
      {std::string("\x0a\x05", 2) + "first" + std::string("\x7a\x81\x80\x80\x80\x80\x00", 7) + "x",
       false},
      // What a fuzzer found: a six-byte tag past 32 bits, then a zero.
      {std::string("\xc0\xc0\xc0\xc0\xc0\x00\x00", 7), false},
  };
  for (size_t i = 0; i < forms.size(); ++i) {
    v1::DeserializeRequest expected;
    ASSERT_EQ(expected.ParseFromString(forms[i].bytes), forms[i].parses) << i;
    grpc::ByteBuffer message = Received(forms[i].bytes, {3});
    v1::DeserializeRequest rest;
    absl::StatusOr<Buffer> taken = TakeRequestData(message, &rest);
    ASSERT_EQ(taken.ok(), forms[i].parses) << i << ": " << taken.status();
    if (!forms[i].parses) {
      EXPECT_EQ(taken.status().code(), absl::StatusCode::kInvalidArgument) << i;
      continue;
    }
    EXPECT_EQ(taken->view(), "first") << i;
  }
}

// Whether one of `message`'s slices is the memory of `data`.
bool SentFrom(const grpc::ByteBuffer& message, const Buffer& data) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(message.Dump(&slices).ok());
  for (const grpc::Slice& slice : slices) {
    if (slice.begin() == data.data() && slice.size() == data.size()) return true;
  }
  return false;
}

TEST(UnaryWireTest, DataArraysAreSentFromTheirBuffersAndParseToTheWholeMessage) {
  const Buffer big = Buffer::Copy(std::string(300000, 'b'));
  v1::DeserializeResponse expected;
  expected.set_format(v1::FORMAT_RDS);
  v1::Data* data = expected.mutable_data();
  v1::DataItem* strings = data->add_items();  // 0: not an array
  strings->mutable_strings()->add_values("s");
  v1::DataItem* spliced = data->add_items();  // 1: its data sent from `big`
  spliced->add_classes("myclass");
  spliced->set_names(0);
  v1::NdArray* array = spliced->mutable_array();
  array->set_dtype(v1::ELEMENT_TYPE_UINT8);
  array->add_shape(300000);
  array->add_strides(1);
  array->set_length(300000);
  array->set_na_present(true);
  data->add_items()->mutable_array()->set_data("inline");  // 2: small, inline
  data->add_roots(1);
  data->add_roots(2);

  v1::DeserializeResponse header = expected;
  expected.mutable_data()->mutable_items(1)->mutable_array()->set_data(std::string(big.view()));
  grpc::ByteBuffer message = EncodeDeserializeResponse(std::move(header), {{1, big}});
  EXPECT_TRUE(SentFrom(message, big));
  EXPECT_EQ(message.Length(), expected.ByteSizeLong());
  v1::DeserializeResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(Flatten(message)));
  EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString());
}

TEST(UnaryWireTest, ValueArraysAreSentFromTheirBuffersAndParseToTheWholeMessage) {
  const Buffer big = Buffer::Copy(std::string(200000, 'v'));
  v1::DeserializeResponse expected;
  expected.set_format(v1::FORMAT_T7);
  v1::Value* value = expected.mutable_value();
  value->add_nodes()->mutable_nil();
  v1::Array* array = value->add_nodes()->mutable_array();
  array->set_type(v1::ELEMENT_TYPE_FLOAT32);
  array->set_length(50000);
  v1::Array* empty = value->add_nodes()->mutable_array();  // spliced with no bytes at all
  empty->set_type(v1::ELEMENT_TYPE_FLOAT64);
  value->add_roots(1);

  v1::DeserializeResponse header = expected;
  expected.mutable_value()->mutable_nodes(1)->mutable_array()->set_data(std::string(big.view()));
  grpc::ByteBuffer message =
      EncodeDeserializeResponse(std::move(header), {{1, big}, {2, Buffer()}});
  EXPECT_TRUE(SentFrom(message, big));
  v1::DeserializeResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(Flatten(message)));
  EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString());
}

TEST(UnaryWireTest, ManyNodesAroundSplicedArraysGoOutInAFewSlices) {
  // 3,000 small nodes with two large arrays among them: the nodes in between are encoded
  // together, so the message is the two arrays' slices and the encoded runs around them.
  const Buffer first = Buffer::Copy(std::string(100000, 'f'));
  const Buffer second = Buffer::Copy(std::string(100000, 's'));
  v1::DeserializeResponse expected;
  v1::Value* value = expected.mutable_value();
  for (int i = 0; i < 3000; ++i) {
    if (i == 1000 || i == 2000) {
      value->add_nodes()->mutable_array()->set_type(v1::ELEMENT_TYPE_UINT8);
    } else {
      value->add_nodes()->set_number(i);
    }
  }
  value->add_roots(2999);
  v1::DeserializeResponse header = expected;
  expected.mutable_value()->mutable_nodes(1000)->mutable_array()->set_data(
      std::string(first.view()));
  expected.mutable_value()->mutable_nodes(2000)->mutable_array()->set_data(
      std::string(second.view()));
  grpc::ByteBuffer message =
      EncodeDeserializeResponse(std::move(header), {{1000, first}, {2000, second}});
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(message.Dump(&slices).ok());
  EXPECT_EQ(slices.size(), 5u);
  EXPECT_TRUE(SentFrom(message, first));
  EXPECT_TRUE(SentFrom(message, second));
  v1::DeserializeResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(Flatten(message)));
  EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString());
}

TEST(UnaryWireTest, AResponseWithNothingToSpliceIsProtobufsOwnBytes) {
  v1::DeserializeResponse response;
  response.set_format(v1::FORMAT_T7);
  response.mutable_data()->add_items()->mutable_array()->set_data("small");
  response.mutable_data()->add_roots(0);
  const std::string expected = response.SerializeAsString();
  EXPECT_EQ(Flatten(EncodeDeserializeResponse(std::move(response), {})), expected);
}

TEST(UnaryWireTest, ConvertRequestsAndResponsesToo) {
  v1::ConvertRequest request;
  request.set_data(std::string(70000, 'c'));
  request.mutable_input()->set_format(v1::FORMAT_T7);
  request.mutable_output()->set_format(v1::FORMAT_RDS);
  request.mutable_output()->set_r_version(2);
  const std::string bytes = request.SerializeAsString();
  grpc::ByteBuffer message = Received(bytes, {2, 40000});
  v1::ConvertRequest rest;
  absl::StatusOr<Buffer> taken = TakeRequestData(message, &rest);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->view(), request.data());
  EXPECT_TRUE(rest.data().empty());
  EXPECT_EQ(rest.input().format(), v1::FORMAT_T7);
  EXPECT_EQ(rest.output().r_version(), 2u);
  grpc::ByteBuffer bad = Received("\x0a\x10short");
  EXPECT_THAT(std::string(TakeRequestData(bad, &rest).status().message()),
              ::testing::HasSubstr("not a valid seriald.v1.ConvertRequest"));

  // The output's pieces are sent from their buffers; the whole parses to protobuf's message.
  BufferChain output;
  const Buffer first = Buffer::Copy(std::string(100000, '1'));
  const Buffer second = Buffer::Copy(std::string("22"));
  output.Append(first);
  output.Append(second);
  v1::ConvertResponse expected;
  expected.set_input_format(v1::FORMAT_T7);
  expected.add_notes("skipped x");
  v1::ConvertResponse header = expected;
  expected.set_data(std::string(first.view()) + std::string(second.view()));
  grpc::ByteBuffer encoded = EncodeConvertResponse(std::move(header), output);
  EXPECT_TRUE(SentFrom(encoded, first));
  v1::ConvertResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(Flatten(encoded)));
  EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString());
  // No output: no data field at all, as protobuf leaves an empty one out.
  v1::ConvertResponse empty;
  empty.add_notes("n");
  EXPECT_EQ(Flatten(EncodeConvertResponse(v1::ConvertResponse(empty), BufferChain())),
            empty.SerializeAsString());
}

// What the C++ client sends: the data from its Buffer, then the other fields; protobuf parses it
// to the request it would have sent, and the server's reading takes the data back out.
TEST(UnaryWireTest, RequestsAreSentWithTheirDataFromItsBuffer) {
  const Buffer data = Buffer::Copy(std::string(80000, 'r'));
  v1::InspectRequest rest;
  rest.mutable_options()->set_format(v1::FORMAT_RDS);
  rest.mutable_options()->set_max_depth(9);
  grpc::ByteBuffer encoded = EncodeRequest(data, rest);
  EXPECT_TRUE(SentFrom(encoded, data));
  v1::InspectRequest expected = rest;
  expected.set_data(std::string(data.view()));
  EXPECT_EQ(Flatten(encoded), expected.SerializeAsString());
  v1::InspectRequest taken_rest;
  absl::StatusOr<Buffer> taken = TakeRequestData(encoded, &taken_rest);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->view(), data.view());
  EXPECT_EQ(taken_rest.options().max_depth(), 9u);
  // No data: the other fields alone, as protobuf leaves an empty bytes field out.
  EXPECT_EQ(Flatten(EncodeRequest(Buffer(), rest)), rest.SerializeAsString());
}

TEST(UnaryWireTest, SerializeResponsesAreTheirOutput) {
  BufferChain output;
  const Buffer piece = Buffer::Copy(std::string(90000, 's'));
  output.Append(piece);
  grpc::ByteBuffer encoded = EncodeSerializeResponse(output);
  EXPECT_TRUE(SentFrom(encoded, piece));
  v1::SerializeResponse expected;
  expected.set_data(std::string(piece.view()));
  EXPECT_EQ(Flatten(encoded), expected.SerializeAsString());
  EXPECT_EQ(Flatten(EncodeSerializeResponse(BufferChain())), "");
}

// What the C++ client receives: a unary response's output comes out as Buffers over the slices
// it arrived in, whatever the cuts between them, and the other fields parsed.
TEST(UnaryWireTest, ResponseDataComesOutAsThePiecesItArrivedIn) {
  v1::ConvertResponse response;
  response.set_data(std::string(100000, 'o'));
  response.set_input_format(v1::FORMAT_RDS);
  response.add_notes("kept as doubles");
  const std::string bytes = response.SerializeAsString();
  for (const std::vector<size_t>& cuts :
       {std::vector<size_t>{}, {1}, {3, 50000, 99999}, {bytes.size() - 9}}) {
    SCOPED_TRACE(cuts.size());
    grpc::ByteBuffer message = Received(bytes, cuts);
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(message.Dump(&slices).ok());
    v1::ConvertResponse rest;
    absl::StatusOr<BufferChain> taken = TakeResponseData(message, &rest);
    ASSERT_TRUE(taken.ok()) << taken.status();
    EXPECT_EQ(taken->ToString(), response.data());
    EXPECT_TRUE(rest.data().empty());
    EXPECT_EQ(rest.input_format(), v1::FORMAT_RDS);
    EXPECT_THAT(rest.notes(), ::testing::ElementsAre("kept as doubles"));
    // Each piece lies in one of the received slices: nothing was copied.
    for (const Buffer& piece : taken->pieces()) {
      EXPECT_TRUE(std::any_of(slices.begin(), slices.end(), [&](const grpc::Slice& slice) {
        return piece.data() >= slice.begin() && piece.data() + piece.size() <= slice.end();
      }));
    }
  }

  // The server's encoding of a chain of output pieces, taken apart again: the pieces are the
  // server's own Buffers' memory, end to end.
  BufferChain output;
  const Buffer first = Buffer::Copy(std::string(70000, '1'));
  const Buffer second = Buffer::Copy(std::string(30000, '2'));
  output.Append(first);
  output.Append(second);
  v1::ConvertResponse header;
  header.set_input_format(v1::FORMAT_T7);
  grpc::ByteBuffer encoded = EncodeConvertResponse(std::move(header), output);
  v1::ConvertResponse rest;
  absl::StatusOr<BufferChain> taken = TakeResponseData(encoded, &rest);
  ASSERT_TRUE(taken.ok()) << taken.status();
  ASSERT_EQ(taken->pieces().size(), 2u);
  EXPECT_EQ(taken->pieces()[0].data(), first.data());
  EXPECT_EQ(taken->pieces()[1].data(), second.data());
  EXPECT_EQ(taken->ToString(), std::string(first.view()) + std::string(second.view()));
  EXPECT_EQ(rest.input_format(), v1::FORMAT_T7);

  // A SerializeResponse the same; no output is an empty chain.
  const Buffer serialized = Buffer::Copy(std::string(90000, 's'));
  BufferChain serialized_output;
  serialized_output.Append(serialized);
  grpc::ByteBuffer serialize_message = EncodeSerializeResponse(serialized_output);
  v1::SerializeResponse serialize_rest;
  taken = TakeResponseData(serialize_message, &serialize_rest);
  ASSERT_TRUE(taken.ok()) << taken.status();
  ASSERT_EQ(taken->pieces().size(), 1u);
  EXPECT_EQ(taken->pieces()[0].data(), serialized.data());
  grpc::ByteBuffer empty = EncodeSerializeResponse(BufferChain());
  taken = TakeResponseData(empty, &serialize_rest);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->size(), 0u);

  // A data field twice is left to protobuf, which keeps the last; what is not a response of the
  // type is refused.
  v1::ConvertResponse twice_first;
  twice_first.set_data("old");
  v1::ConvertResponse twice_second;
  twice_second.set_data("new");
  grpc::ByteBuffer twice =
      Received(twice_first.SerializeAsString() + twice_second.SerializeAsString());
  taken = TakeResponseData(twice, &rest);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->ToString(), "new");
  grpc::ByteBuffer bad = Received("\x0a\x10short");
  EXPECT_THAT(std::string(TakeResponseData(bad, &rest).status().message()),
              ::testing::HasSubstr("not a valid seriald.v1.ConvertResponse"));
}

// A DeserializeResponse as any gRPC server sends it: nodes 1 and 4 hold large arrays, node 2 a
// small one, node 4 R attributes and flags besides.
v1::DeserializeResponse ResponseWithArrays() {
  v1::DeserializeResponse response;
  response.set_format(v1::FORMAT_RDS);
  v1::Value* value = response.mutable_value();
  value->add_nodes()->mutable_nil();
  v1::Array* floats = value->add_nodes()->mutable_array();
  floats->set_type(v1::ELEMENT_TYPE_FLOAT32);
  floats->set_length(50000);
  std::string float_bytes(200000, '\0');
  for (size_t i = 0; i < float_bytes.size(); ++i) float_bytes[i] = static_cast<char>(i * 13 + 1);
  floats->set_data(float_bytes);
  v1::Array* small = value->add_nodes()->mutable_array();
  small->set_type(v1::ELEMENT_TYPE_UINT8);
  small->set_length(100);
  small->set_data(std::string(100, 's'));
  value->add_nodes()->set_number(2.5);
  v1::Node* bytes_node = value->add_nodes();
  v1::Array* bytes = bytes_node->mutable_array();
  bytes->set_type(v1::ELEMENT_TYPE_UINT8);
  bytes->set_length(100000);
  bytes->set_data(std::string(100000, 'b'));
  bytes_node->set_attributes(5);
  bytes_node->mutable_r_flags()->set_object(true);
  v1::Pairlist* attributes = value->add_nodes()->mutable_pairlist();
  v1::Pairlist::Cell* cell = attributes->add_cells();
  cell->set_tag(6);
  cell->set_value(3);
  value->add_nodes()->mutable_symbol()->mutable_name()->set_text("dim");
  value->add_roots(4);
  return response;
}

// What the C++ client receives from a unary Deserialize: the large arrays' data comes out as
// Buffers over the slices it arrived in (or gathered, when cut), whatever the cuts, and the
// rest parses to the same Value.
TEST(UnaryWireTest, ResponseArraysComeOutOfTheSlicesTheyArrivedIn) {
  const v1::DeserializeResponse response = ResponseWithArrays();
  absl::StatusOr<Value> expected = FromProto(response.value());
  ASSERT_TRUE(expected.ok()) << expected.status();
  const std::string bytes = response.SerializeAsString();
  const size_t floats_at = bytes.find(response.value().nodes(1).array().data());
  for (const std::vector<size_t>& cuts :
       {std::vector<size_t>{}, {1}, {floats_at + 3, floats_at + 150000}, {bytes.size() - 9}}) {
    SCOPED_TRACE(cuts.size());
    grpc::ByteBuffer message = Received(bytes, cuts);
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(message.Dump(&slices).ok());
    v1::DeserializeResponse rest;
    auto arrays = TakeResponseArrays(message, &rest);
    ASSERT_TRUE(arrays.ok()) << arrays.status();
    ASSERT_EQ(arrays->size(), 2u);
    EXPECT_EQ(arrays->at(1).view(), response.value().nodes(1).array().data());
    EXPECT_EQ(arrays->at(4).view(), response.value().nodes(4).array().data());
    const bool floats_cut = cuts.size() == 2;
    const auto in_a_slice = [&](const Buffer& data) {
      return std::any_of(slices.begin(), slices.end(), [&](const grpc::Slice& slice) {
        return data.data() >= slice.begin() && data.data() + data.size() <= slice.end();
      });
    };
    EXPECT_EQ(in_a_slice(arrays->at(1)), !floats_cut);
    EXPECT_TRUE(in_a_slice(arrays->at(4)));
    EXPECT_EQ(rest.format(), v1::FORMAT_RDS);
    EXPECT_TRUE(rest.value().nodes(1).array().data().empty());
    EXPECT_TRUE(rest.value().nodes(4).array().data().empty());
    EXPECT_EQ(rest.value().nodes(2).array().data(), std::string(100, 's'));
    EXPECT_EQ(rest.value().nodes(4).attributes(), 5u);
    EXPECT_TRUE(rest.value().nodes(4).r_flags().object());
    absl::StatusOr<Value> value = FromProto(std::move(*rest.mutable_value()), *arrays);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_TRUE(*value == *expected);
  }

  // The server's encoding taken apart: the array is the server's own Buffer, end to end.
  const Buffer big = Buffer::Copy(response.value().nodes(1).array().data());
  v1::DeserializeResponse header = response;
  header.mutable_value()->mutable_nodes(1)->mutable_array()->clear_data();
  grpc::ByteBuffer encoded = EncodeDeserializeResponse(std::move(header), {{1, big}});
  v1::DeserializeResponse rest;
  auto arrays = TakeResponseArrays(encoded, &rest);
  ASSERT_TRUE(arrays.ok()) << arrays.status();
  EXPECT_EQ(arrays->at(1).data(), big.data());
  absl::StatusOr<Value> value = FromProto(std::move(*rest.mutable_value()), *arrays);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_TRUE(*value == *expected);
}

// Once taken, the arrays are the only copy left: gathered ones release every slice they came
// from, one in a single slice keeps that slice alone, while its Buffer lives.
TEST(UnaryWireTest, TakenArraysAreTheOnlyCopyLeftOfTheResponse) {
  v1::DeserializeResponse response = ResponseWithArrays();
  std::string large(kHugePageThreshold + 12345, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 7 + i / 1000);
  response.mutable_value()->mutable_nodes(1)->mutable_array()->set_length(large.size() / 4);
  response.mutable_value()->mutable_nodes(1)->mutable_array()->set_data(large);
  response.mutable_value()->mutable_nodes(4)->mutable_array()->clear_data();
  response.mutable_value()->mutable_nodes(4)->mutable_array()->set_length(0);
  TrackedSlices received(response.SerializeAsString(), large.size() / 5 + 1);
  ASSERT_GT(received.held(), 1u);
  grpc::ByteBuffer message = received.Message();
  v1::DeserializeResponse rest;
  auto arrays = TakeResponseArrays(message, &rest);
  ASSERT_TRUE(arrays.ok()) << arrays.status();
  EXPECT_EQ(received.held(), 0u);
  EXPECT_EQ(message.Length(), 0u);
  EXPECT_EQ(arrays->at(1).view(), large);
  EXPECT_FALSE(arrays->contains(4));  // no data to take

  TrackedSlices whole(ResponseWithArrays().SerializeAsString(), 1 << 20);
  ASSERT_EQ(whole.held(), 1u);
  grpc::ByteBuffer one = whole.Message();
  arrays = TakeResponseArrays(one, &rest);
  ASSERT_TRUE(arrays.ok()) << arrays.status();
  EXPECT_EQ(whole.held(), 1u);
  EXPECT_EQ(arrays->at(4).view(), std::string(100000, 'b'));
  arrays->erase(1);
  EXPECT_EQ(whole.held(), 1u);
  arrays->clear();
  EXPECT_EQ(whole.held(), 0u);
}

// Forms the fast reading leaves to protobuf give what protobuf gives, every array's data in the
// message; what is not a DeserializeResponse, whole, is refused.
TEST(UnaryWireTest, ResponseArraysInOtherFormsAreReadAsProtobufReadsThem) {
  const v1::DeserializeResponse response = ResponseWithArrays();
  // The value twice (protobuf merges the two: the nodes of both); an array's data twice (the
  // last counts); a kind after a large node's array (the node is that kind).
  v1::DeserializeResponse twice_data = response;
  twice_data.mutable_value()->mutable_nodes(4)->mutable_array()->clear_data();
  std::string data_twice = twice_data.value().nodes(4).array().SerializeAsString();
  for (const char* data : {"first", "second"}) {
    v1::Array part;
    part.set_data(std::string(40000, data[0]));
    data_twice += part.SerializeAsString();
  }
  const std::string array_then_number =
      response.value().nodes(1).SerializeAsString() + "\x19" + std::string(8, '\0');
  const std::vector<std::string> forms = {
      response.SerializeAsString() + response.SerializeAsString(),
      // Node 4 rebuilt with the array's data twice.
      [&] {
        v1::DeserializeResponse rebuilt = response;
        rebuilt.mutable_value()->mutable_nodes(4)->clear_kind();
        std::string node = rebuilt.value().nodes(4).SerializeAsString();
        HeaderBytes prefix;
        prefix.LengthPrefix(v1::Node::kArrayFieldNumber, data_twice.size());
        node += std::string(prefix.view()) + data_twice;
        rebuilt.mutable_value()->mutable_nodes()->RemoveLast();
        rebuilt.mutable_value()->mutable_nodes()->RemoveLast();
        rebuilt.mutable_value()->mutable_nodes()->RemoveLast();
        std::string value = rebuilt.value().SerializeAsString();
        HeaderBytes node_prefix;
        node_prefix.LengthPrefix(v1::Value::kNodesFieldNumber, node.size());
        value += std::string(node_prefix.view()) + node;
        HeaderBytes value_prefix;
        value_prefix.LengthPrefix(v1::DeserializeResponse::kValueFieldNumber, value.size());
        return std::string(value_prefix.view()) + value;
      }(),
      // A value whose only node is an array and then a number.
      [&] {
        HeaderBytes node_prefix;
        node_prefix.LengthPrefix(v1::Value::kNodesFieldNumber, array_then_number.size());
        const std::string value = std::string(node_prefix.view()) + array_then_number;
        HeaderBytes value_prefix;
        value_prefix.LengthPrefix(v1::DeserializeResponse::kValueFieldNumber, value.size());
        return std::string(value_prefix.view()) + value;
      }(),
  };
  for (size_t i = 0; i < forms.size(); ++i) {
    SCOPED_TRACE(i);
    v1::DeserializeResponse expected;
    ASSERT_TRUE(expected.ParseFromString(forms[i]));
    grpc::ByteBuffer message = Received(forms[i], {7, forms[i].size() / 2});
    v1::DeserializeResponse rest;
    auto arrays = TakeResponseArrays(message, &rest);
    ASSERT_TRUE(arrays.ok()) << arrays.status();
    EXPECT_TRUE(arrays->empty());
    EXPECT_EQ(rest.SerializeAsString(), expected.SerializeAsString());
  }
  // Not a DeserializeResponse; one cut short inside a large array, or right after a node's length.
  const std::string whole = response.SerializeAsString();
  const size_t floats_at = whole.find(response.value().nodes(1).array().data());
  for (const std::string& bad : {std::string("\x0a\x10short"), whole.substr(0, floats_at + 1000),
                                 whole.substr(0, floats_at - 3)}) {
    grpc::ByteBuffer message = Received(bad, {bad.size() / 2});
    v1::DeserializeResponse rest;
    absl::StatusOr<absl::flat_hash_map<uint32_t, Buffer>> arrays =
        TakeResponseArrays(message, &rest);
    EXPECT_EQ(arrays.status().code(), absl::StatusCode::kInvalidArgument) << bad.size();
    EXPECT_THAT(std::string(arrays.status().message()),
                ::testing::HasSubstr("not a valid seriald.v1.DeserializeResponse"));
  }
}

TEST(UnaryWireTest, SplicedMessagesNest) {
  SplicedMessage inner;
  inner.Append(std::string("ab"));
  inner.Append(Buffer::Copy(std::string("cde")));
  inner.WrapAsField(3);
  SplicedMessage outer;
  outer.Append(std::string("\x08\x01"));
  outer.Append(std::move(inner));
  outer.WrapAsField(1);
  EXPECT_EQ(outer.size(), 11u);
  EXPECT_EQ(Flatten(std::move(outer).Finish()), std::string("\x0a\x09\x08\x01\x1a\x05"
                                                            "abcde"));
}

}  // namespace
}  // namespace seriald::wire
