// The C++ client takes nothing a server sends on trust: a fake server answers DeserializeStream
// with headers and chunks no real seriald sends (an undeclared element type, a length whose bytes
// overflow, chunks out of place, past their array or for arrays never announced, a stream that
// ends early), and the client refuses each with INTERNAL naming the problem, instead of reading
// past a table or allocating what the server claims. A unary Deserialize, Convert or Serialize
// answered with a message that is not its response is refused the same way, and a unary
// Deserialize's arrays are checked as the streamed ones are.
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "client/seriald_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "seriald/v1/serializer.grpc.pb.h"

namespace seriald {
namespace {

using ::testing::HasSubstr;

// Answers every DeserializeStream with the messages `script` writes, after reading the request.
class FakeSerializer final : public v1::Serializer::Service {
 public:
  using Script = std::function<void(
      grpc::ServerReaderWriter<v1::DeserializeStreamResponse, v1::DeserializeStreamRequest>*)>;
  explicit FakeSerializer(Script script) : script_(std::move(script)) {}

  grpc::Status DeserializeStream(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::DeserializeStreamResponse, v1::DeserializeStreamRequest>* stream)
      override {
    v1::DeserializeStreamRequest request;
    while (stream->Read(&request)) {
    }
    script_(stream);
    return grpc::Status::OK;
  }

 private:
  Script script_;
};

// Serves `service` on a free local port; `options` get its address and a deadline.
std::unique_ptr<grpc::Server> Serve(grpc::Service* service, ClientOptions* options) {
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  options->target = "127.0.0.1:" + std::to_string(port);
  options->timeout = absl::Seconds(30);
  return server;
}

// The client's Deserialize against a fake server running `script`, streaming every input.
absl::Status DeserializeFrom(FakeSerializer::Script script) {
  FakeSerializer service(std::move(script));
  ClientOptions options;
  options.stream_threshold_bytes = 0;
  std::unique_ptr<grpc::Server> server = Serve(&service, &options);
  absl::StatusOr<std::unique_ptr<SerialdClient>> client = SerialdClient::Connect(options);
  if (!client.ok()) return client.status();
  std::string format;
  absl::StatusOr<Value> value = (*client)->Deserialize(Buffer::Copy("input"), &format);
  server->Shutdown();
  return value.status();
}

// A header whose node 0 is an array of `type` and `length`, streamed.
v1::DeserializeStreamResponse Header(int type, uint64_t length) {
  v1::DeserializeStreamResponse response;
  v1::Value* value = response.mutable_header()->mutable_value();
  v1::Array* array = value->add_nodes()->mutable_array();
  array->set_type(static_cast<v1::ElementType>(type));
  array->set_length(length);
  value->add_roots(0);
  response.mutable_header()->add_streamed_arrays(0);
  return response;
}

v1::DeserializeStreamResponse Chunk(uint32_t node, uint64_t offset, std::string data) {
  v1::DeserializeStreamResponse response;
  response.mutable_array_chunk()->set_node(node);
  response.mutable_array_chunk()->set_offset(offset);
  response.mutable_array_chunk()->set_data(std::move(data));
  return response;
}

void ExpectRefused(const absl::Status& status, const std::string& problem) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_THAT(status.message(), HasSubstr(problem));
}

TEST(SerialdClientValidationTest, AWellFormedStreamIsAccepted) {
  absl::Status status = DeserializeFrom([](auto* stream) {
    stream->Write(Header(v1::ELEMENT_TYPE_FLOAT32, 2));
    stream->Write(Chunk(0, 0, std::string(4, '\0')));
    stream->Write(Chunk(0, 4, std::string(4, '\0')));
  });
  EXPECT_TRUE(status.ok()) << status;
}

TEST(SerialdClientValidationTest, AValueThatDoesNotHoldTogetherIsRefused) {
  ExpectRefused(
      DeserializeFrom([](auto* stream) {
        v1::DeserializeStreamResponse header = Header(v1::ELEMENT_TYPE_FLOAT32, 2);
        header.mutable_header()->mutable_value()->add_roots(7);
        stream->Write(header);
        stream->Write(Chunk(0, 0, std::string(8, '\0')));
      }),
      "server sent an invalid value: root 1 refers to node 7, but there are only 1 nodes");
}

TEST(SerialdClientValidationTest, AnUndeclaredElementTypeIsRefused) {
  ExpectRefused(DeserializeFrom([](auto* stream) { stream->Write(Header(99, 2)); }),
                "server sent node 0 with undeclared element type 99");
}

TEST(SerialdClientValidationTest, ALengthWhoseBytesOverflowIsRefusedWithoutAllocating) {
  ExpectRefused(DeserializeFrom([](auto* stream) {
                  stream->Write(Header(v1::ELEMENT_TYPE_FLOAT64, uint64_t{1} << 62));
                }),
                "with an impossible length 4611686018427387904");
}

TEST(SerialdClientValidationTest, ChunksOutOfPlaceOrPastTheirArrayAreRefused) {
  ExpectRefused(DeserializeFrom([](auto* stream) {
                  stream->Write(Header(v1::ELEMENT_TYPE_UINT8, 4));
                  stream->Write(Chunk(0, 2, "ab"));
                }),
                "a chunk for node 0 at offset 2 of 2 bytes, where 0 of 4 bytes had arrived");
  ExpectRefused(DeserializeFrom([](auto* stream) {
                  stream->Write(Header(v1::ELEMENT_TYPE_UINT8, 4));
                  stream->Write(Chunk(0, 0, "abcdef"));
                }),
                "a chunk for node 0 at offset 0 of 6 bytes, where 0 of 4 bytes had arrived");
  ExpectRefused(DeserializeFrom([](auto* stream) {
                  stream->Write(Header(v1::ELEMENT_TYPE_UINT8, 4));
                  stream->Write(Chunk(7, 0, "ab"));
                }),
                "server sent a chunk for node 7, which is not listed in streamed_arrays");
}

TEST(SerialdClientValidationTest, AChunkBeforeTheHeaderOrASecondHeaderIsRefused) {
  ExpectRefused(DeserializeFrom([](auto* stream) { stream->Write(Chunk(0, 0, "ab")); }),
                "server sent a chunk for node 0 before the header");
  ExpectRefused(DeserializeFrom([](auto* stream) {
                  stream->Write(Header(v1::ELEMENT_TYPE_UINT8, 0));
                  stream->Write(Header(v1::ELEMENT_TYPE_UINT8, 0));
                }),
                "server sent a second header");
}

TEST(SerialdClientValidationTest, AStreamEndingBeforeItsArraysAreCompleteIsRefused) {
  ExpectRefused(DeserializeFrom([](auto* stream) {
                  stream->Write(Header(v1::ELEMENT_TYPE_UINT8, 4));
                  stream->Write(Chunk(0, 0, "ab"));
                }),
                "server's stream: the stream ended with node 0 at 2 of 4 bytes");
}

// Answers the unary Deserialize, Convert and Serialize with `reply`'s bytes as the response
// message, whatever they are.
class FakeUnaryOutput final
    : public v1::Serializer::WithRawCallbackMethod_Deserialize<
          v1::Serializer::WithRawCallbackMethod_Convert<
              v1::Serializer::WithRawCallbackMethod_Serialize<v1::Serializer::Service>>> {
 public:
  explicit FakeUnaryOutput(std::string reply) : reply_(std::move(reply)) {}

  grpc::ServerUnaryReactor* Deserialize(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer*,
                                        grpc::ByteBuffer* response) override {
    return Reply(context, response);
  }

  grpc::ServerUnaryReactor* Convert(grpc::CallbackServerContext* context, const grpc::ByteBuffer*,
                                    grpc::ByteBuffer* response) override {
    return Reply(context, response);
  }
  grpc::ServerUnaryReactor* Serialize(grpc::CallbackServerContext* context, const grpc::ByteBuffer*,
                                      grpc::ByteBuffer* response) override {
    return Reply(context, response);
  }

 private:
  grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context,
                                  grpc::ByteBuffer* response) {
    grpc::Slice slice(reply_);
    *response = grpc::ByteBuffer(&slice, 1);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::string reply_;
};

// The client's unary Deserialize, Convert and Serialize (inputs under the stream threshold),
// against a server
// answering `reply`: their statuses, and the output the callbacks were given.
struct UnaryOutcome {
  absl::StatusOr<Value> deserialize;
  absl::Status convert;
  absl::Status serialize;
  std::string convert_output;
};

UnaryOutcome UnaryOutputFrom(const std::string& reply) {
  FakeUnaryOutput service(reply);
  ClientOptions options;
  std::unique_ptr<grpc::Server> server = Serve(&service, &options);
  UnaryOutcome outcome;
  absl::StatusOr<std::unique_ptr<SerialdClient>> client = SerialdClient::Connect(options);
  if (!client.ok()) {
    outcome.deserialize = outcome.convert = outcome.serialize = client.status();
    return outcome;
  }
  std::string format;
  outcome.deserialize = (*client)->Deserialize(Buffer::Copy("input"), &format);
  ConvertSpec spec;
  spec.output_format = "t7";
  outcome.convert = (*client)
                        ->Convert(Buffer::Copy("input"), spec,
                                  [&](std::string_view piece) {
                                    outcome.convert_output.append(piece);
                                    return absl::OkStatus();
                                  })
                        .status();
  Value value;
  outcome.serialize = (*client)->Serialize(value, "t7", WriteOptions{},
                                           [](std::string_view) { return absl::OkStatus(); });
  server->Shutdown();
  return outcome;
}

TEST(SerialdClientValidationTest, AUnaryOutputThatIsNotTheResponseIsRefused) {
  // A data field whose length runs past the message: neither a ConvertResponse nor a
  // SerializeResponse, nor a DeserializeResponse.
  UnaryOutcome outcome = UnaryOutputFrom(std::string("\x0a\x10short", 7));
  ExpectRefused(outcome.deserialize.status(), "server sent");
  EXPECT_THAT(outcome.deserialize.status().message(),
              HasSubstr("not a valid seriald.v1.DeserializeResponse"));
  ExpectRefused(outcome.convert, "server sent");
  EXPECT_THAT(outcome.convert.message(), HasSubstr("not a valid seriald.v1.ConvertResponse"));
  EXPECT_TRUE(outcome.convert_output.empty());
  ExpectRefused(outcome.serialize, "server sent");
  EXPECT_THAT(outcome.serialize.message(), HasSubstr("not a valid seriald.v1.SerializeResponse"));
  // A well-formed one is handed over.
  v1::ConvertResponse response;
  response.set_data("converted");
  outcome = UnaryOutputFrom(response.SerializeAsString());
  EXPECT_TRUE(outcome.convert.ok()) << outcome.convert;
  EXPECT_EQ(outcome.convert_output, "converted");
}

// A unary Deserialize's large array, taken from the received slices, is checked like any other:
// data that does not fill the declared length is the server's fault, named with the node.
TEST(SerialdClientValidationTest, ALargeArrayOfAUnaryDeserializeIsChecked) {
  v1::DeserializeResponse response;
  response.set_format(v1::FORMAT_T7);
  v1::Array* array = response.mutable_value()->add_nodes()->mutable_array();
  array->set_type(v1::ELEMENT_TYPE_FLOAT64);
  array->set_length(5000);
  array->set_data(std::string(40000, 'd'));
  response.mutable_value()->add_roots(0);
  UnaryOutcome outcome = UnaryOutputFrom(response.SerializeAsString());
  ASSERT_TRUE(outcome.deserialize.ok()) << outcome.deserialize.status();
  EXPECT_EQ(outcome.deserialize->Get<Array>(0).data.view(), std::string(40000, 'd'));

  array->set_length(5001);
  outcome = UnaryOutputFrom(response.SerializeAsString());
  ExpectRefused(outcome.deserialize.status(),
                "server sent an invalid value: node 0 (array): array of 5001 float64 needs 5001 x "
                "8 bytes of data, but has 40000");
}

TEST(SerialdClientValidationTest, AZeroChunkSizeIsRefusedAtConnect) {
  ClientOptions options;
  options.chunk_bytes = 0;
  absl::StatusOr<std::unique_ptr<SerialdClient>> client = SerialdClient::Connect(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(), HasSubstr("chunk_bytes must be at least 1"));
}

}  // namespace
}  // namespace seriald
