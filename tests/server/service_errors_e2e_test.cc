// How a real seriald refuses what it must refuse, called through the generated stubs directly (no
// client library in between): unary payloads over --max-message-bytes, streams over
// --max-request-bytes, malformed input (with its byte offset), calls over --max-concurrent-calls,
// client deadlines in the middle of a stream; each time with the typed ErrorInfo detail, one log
// line, and a server that goes on serving; unary requests that are not their message.
#include <grpcpp/create_channel.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/security/credentials.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/testing/service_e2e.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald {
namespace {

using ::seriald::testing::ConvertTo;
using ::seriald::testing::DeadlineIn;
using ::seriald::testing::ErrorInfoOf;
using ::seriald::testing::HeldStream;
using ::seriald::testing::SerialdProcess;
using ::seriald::testing::StreamResult;
using ::testing::EndsWith;
using ::testing::HasSubstr;

std::unique_ptr<SerialdProcess> StartServer(const std::vector<std::string>& flags = {}) {
  auto server = SerialdProcess::Start(flags);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// A unary Convert; the response's data in `*output`.
grpc::Status Convert(v1::Serializer::Stub& stub, const std::string& input, v1::Format to,
                     std::string* output = nullptr) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(60)));
  v1::ConvertRequest request;
  request.set_data(input);
  request.mutable_output()->set_format(to);
  v1::ConvertResponse response;
  grpc::Status status = stub.Convert(&context, request, &response);
  if (output != nullptr) *output = response.data();
  return status;
}

// Expects a call that works after an error: the server is still serving.
void ExpectStillServing(v1::Serializer::Stub& stub) {
  std::string input = testing::FloatTensorStream(1000);
  std::string output;
  grpc::Status status = Convert(stub, input, v1::FORMAT_T7, &output);
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_TRUE(output == input) << "t7 to t7 must give back the same bytes";
}

// The fields of a logfmt line: key=value, values in double quotes with C escapes when needed.
std::map<std::string, std::string> LogFields(const std::string& line) {
  std::map<std::string, std::string> fields;
  size_t i = 0;
  while (i < line.size()) {
    size_t equals = line.find('=', i);
    size_t space = line.find(' ', i);
    if (equals == std::string::npos || (space != std::string::npos && space < equals)) {
      i = space == std::string::npos ? line.size() : space + 1;  // a bare word
      continue;
    }
    std::string key = line.substr(i, equals - i);
    std::string value;
    i = equals + 1;
    if (i < line.size() && line[i] == '"') {
      for (++i; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) ++i;
        value.push_back(line[i]);
      }
      i += 2;  // the closing quote and the space
    } else {
      size_t end = line.find(' ', i);
      if (end == std::string::npos) end = line.size();
      value = line.substr(i, end - i);
      i = end + 1;
    }
    fields[key] = value;
  }
  return fields;
}

// The unary methods the server reads from gRPC's bytes itself (wire/unary_wire.h) refuse a
// request that is not their message, by name: here one whose first field claims 256 MiB and
// holds 5 bytes.
TEST(ServiceErrorsE2eTest, UnaryRequestsThatAreNotTheirMessageAreRefusedByName) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  const std::string garbage(
      "\x0a\xff\xff\xff\x7f"
      "short",
      10);
  for (const auto& [method, type] :
       std::vector<std::pair<std::string, std::string>>{{"Serialize", "SerializeRequest"},
                                                        {"Deserialize", "DeserializeRequest"},
                                                        {"Convert", "ConvertRequest"}}) {
    const std::string path = "/seriald.v1.Serializer/" + method;
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    grpc::Slice slice(garbage);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status = grpc::internal::BlockingUnaryCall(
        channel.get(),
        grpc::internal::RpcMethod(path.c_str(), grpc::internal::RpcMethod::NORMAL_RPC, channel),
        &context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method;
    EXPECT_THAT(status.error_message(), HasSubstr("not a valid seriald.v1." + type)) << method;
  }
  // And goes on serving.
  auto stub = testing::RawStub(server->address());
  EXPECT_TRUE(Convert(*stub, testing::FloatTensorStream(4), v1::FORMAT_T7).ok());
}

TEST(ServiceErrorsE2eTest, UnaryRequestOverTheMessageCapIsToldToStream) {
  auto server = StartServer({"--max-message-bytes", "65536"});
  ASSERT_NE(server, nullptr);
  auto stub = testing::RawStub(server->address());
  std::string input = testing::FloatTensorStream(32 * 1024);  // 128 KiB of data
  ASSERT_GT(input.size(), 65536u);

  grpc::Status status = Convert(*stub, input, v1::FORMAT_T7);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("a request of ", input.size(),
                         " bytes exceeds the server's unary limit of 65536 bytes "
                         "(--max-message-bytes); use ConvertStream, which sends the data in "
                         "chunks"));
  std::optional<v1::ErrorInfo> info = ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value()) << "no ErrorInfo in the status details";
  EXPECT_EQ(info->limit(), "max-message-bytes");
  EXPECT_EQ(info->problem(), status.error_message());
  EXPECT_FALSE(info->has_byte_offset());

  {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::DeserializeRequest request;
    request.set_data(input);
    v1::DeserializeResponse response;
    status = stub->Deserialize(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(status.error_message(), HasSubstr("use DeserializeStream"));
    ASSERT_TRUE(ErrorInfoOf(status).has_value());
    EXPECT_EQ(ErrorInfoOf(status)->limit(), "max-message-bytes");
  }
  {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::InspectRequest request;
    request.set_data(input);
    v1::InspectResponse response;
    status = stub->Inspect(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(status.error_message(), HasSubstr("use InspectStream"));
    ASSERT_TRUE(ErrorInfoOf(status).has_value());
    EXPECT_EQ(ErrorInfoOf(status)->limit(), "max-message-bytes");
  }
  {
    // InspectStream takes the same bytes in chunks; its answer is the local inspection's.
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::InspectResponse response;
    auto writer = stub->InspectStream(&context, &response);
    v1::InspectStreamRequest message;
    message.mutable_options()->set_input_size(input.size());
    ASSERT_TRUE(writer->Write(message));
    for (size_t offset = 0; offset < input.size(); offset += 16 * 1024) {
      message.mutable_chunk()->set_data(input.substr(offset, 16 * 1024));
      ASSERT_TRUE(writer->Write(message));
    }
    ASSERT_TRUE(writer->WritesDone());
    status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.format(), v1::FORMAT_T7);
    EXPECT_EQ(response.node_count(), 4u);
    EXPECT_EQ(response.summary(), "FloatTensor - size: 32768\n");
  }
  {
    // Its first message must hold the options.
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::InspectResponse response;
    auto writer = stub->InspectStream(&context, &response);
    v1::InspectStreamRequest message;
    message.mutable_chunk()->set_data(input.substr(0, 1024));
    writer->Write(message);
    writer->WritesDone();
    status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), "the first message must hold the options");
  }

  // What the message advises works: the same bytes stream through.
  StreamResult streamed =
      testing::ConvertStream(*stub, input, ConvertTo(v1::FORMAT_T7), 16 * 1024, absl::Seconds(60));
  EXPECT_TRUE(streamed.status.ok()) << streamed.status.error_message();
  EXPECT_TRUE(streamed.output == input);
  EXPECT_EQ(streamed.input_format, v1::FORMAT_T7);

  std::optional<std::string> line =
      server->WaitForCallLogLine({"method=Convert ", "status=RESOURCE_EXHAUSTED"});
  ASSERT_TRUE(line.has_value()) << server->Log();
  EXPECT_EQ(LogFields(*line)["bytes_in"], absl::StrCat(input.size()));
  EXPECT_EQ(server->Stop(), 0);
}

TEST(ServiceErrorsE2eTest, UnaryResponseOverTheMessageCapIsToldToStream) {
  auto server = StartServer({"--max-message-bytes", "65536"});
  ASSERT_NE(server, nullptr);
  auto stub = testing::RawStub(server->address());
  // 40 KiB of binary floats fit; as text they are several times larger.
  std::string input = testing::FloatTensorStream(10 * 1024);
  ASSERT_LT(input.size(), 65536u);
  grpc::Status status = Convert(*stub, input, v1::FORMAT_T7_ASCII);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("the output of "));
  EXPECT_THAT(status.error_message(), HasSubstr("use ConvertStream"));
  ASSERT_TRUE(ErrorInfoOf(status).has_value());
  EXPECT_EQ(ErrorInfoOf(status)->limit(), "max-message-bytes");
  ExpectStillServing(*stub);
  EXPECT_EQ(server->Stop(), 0);
}

TEST(ServiceErrorsE2eTest, StreamOverTheRequestCapIsRefused) {
  auto server = StartServer({"--max-request-bytes", "1048576"});
  ASSERT_NE(server, nullptr);
  auto stub = testing::RawStub(server->address());
  std::string input = testing::FloatTensorStream(512 * 1024);  // 2 MiB of data
  const std::string expected_message =
      "request exceeds the server's limit of 1048576 bytes per call (--max-request-bytes)";

  // Without a size hint the server counts the chunks as they arrive.
  StreamResult counted =
      testing::ConvertStream(*stub, input, ConvertTo(v1::FORMAT_T7), 64 * 1024, absl::Seconds(60));
  EXPECT_EQ(counted.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(counted.status.error_message(), expected_message);
  ASSERT_TRUE(ErrorInfoOf(counted.status).has_value());
  EXPECT_EQ(ErrorInfoOf(counted.status)->limit(), "max-request-bytes");
  // Torch7 to Torch7 converts as the chunks arrive: what came before the limit may have been
  // sent back (the input's own bytes here), and the status says the output is incomplete.
  EXPECT_LT(counted.output.size(), input.size());
  EXPECT_EQ(counted.output, input.substr(0, counted.output.size()));

  // With the size announced, it refuses before reading any chunk.
  v1::ConvertStreamOptions announced = ConvertTo(v1::FORMAT_T7);
  announced.mutable_input()->set_input_size(input.size());
  StreamResult hinted =
      testing::ConvertStream(*stub, input, announced, 64 * 1024, absl::Seconds(60));
  EXPECT_EQ(hinted.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(hinted.status.error_message(), expected_message);
  ASSERT_TRUE(ErrorInfoOf(hinted.status).has_value());
  EXPECT_EQ(ErrorInfoOf(hinted.status)->limit(), "max-request-bytes");

  // InspectStream receives its input the same way: counted, and refused up front when announced.
  auto inspect_stream = [&](const std::string& bytes, uint64_t announced_size) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::InspectResponse response;
    auto writer = stub->InspectStream(&context, &response);
    v1::InspectStreamRequest message;
    message.mutable_options()->set_input_size(announced_size);
    bool sending = writer->Write(message);
    for (size_t offset = 0; sending && offset < bytes.size(); offset += 64 * 1024) {
      message.mutable_chunk()->set_data(bytes.substr(offset, 64 * 1024));
      sending = writer->Write(message);
    }
    if (sending) writer->WritesDone();
    return writer->Finish();
  };
  for (uint64_t announced_size : {uint64_t{0}, uint64_t{input.size()}}) {
    const grpc::Status inspected = inspect_stream(input, announced_size);
    EXPECT_EQ(inspected.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << announced_size;
    EXPECT_EQ(inspected.error_message(), expected_message) << announced_size;
    ASSERT_TRUE(ErrorInfoOf(inspected).has_value());
    EXPECT_EQ(ErrorInfoOf(inspected)->limit(), "max-request-bytes");
  }
  // Within the limit but cut short, it names the byte where the input ended.
  const std::string cut = testing::FloatTensorStream(1024).substr(0, 2000);
  const grpc::Status truncated = inspect_stream(cut, cut.size());
  EXPECT_EQ(truncated.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(ErrorInfoOf(truncated).has_value()) << truncated.error_message();
  EXPECT_TRUE(ErrorInfoOf(truncated)->has_byte_offset()) << truncated.error_message();

  // A stream under the limit goes through.
  std::string small = testing::FloatTensorStream(128 * 1024);  // 512 KiB
  StreamResult fits =
      testing::ConvertStream(*stub, small, ConvertTo(v1::FORMAT_T7), 64 * 1024, absl::Seconds(60));
  EXPECT_TRUE(fits.status.ok()) << fits.status.error_message();
  EXPECT_TRUE(fits.output == small);
  EXPECT_EQ(server->Stop(), 0);
}

TEST(ServiceErrorsE2eTest, MalformedInputGivesItsByteOffsetAndTheServerKeepsServing) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto stub = testing::RawStub(server->address());
  // {alpha=1, beta='two', gamma=false} with the type tag of gamma's value (at byte 25) made 99.
  std::string input = testing::ReadBytes(testing::CorpusPath("generated/table_map.bin.t7"));
  ASSERT_EQ(input.size(), 81u);
  ASSERT_EQ(input[25], 5) << "the boolean's type tag";
  input[25] = 99;

  auto expect_malformed = [](const grpc::Status& status) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("unknown type tag 99"));
    EXPECT_THAT(status.error_message(), EndsWith(" at byte 25"));
    std::optional<v1::ErrorInfo> info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value()) << "no ErrorInfo in the status details";
    ASSERT_TRUE(info->has_byte_offset());
    EXPECT_EQ(info->byte_offset(), 25u);
    EXPECT_EQ(info->format(), "torch7");
    EXPECT_EQ(info->problem(), status.error_message());
    EXPECT_EQ(info->limit(), "");
  };

  expect_malformed(Convert(*stub, input, v1::FORMAT_JSON));
  ExpectStillServing(*stub);
  {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::DeserializeRequest request;
    request.set_data(input);
    v1::DeserializeResponse response;
    expect_malformed(stub->Deserialize(&context, request, &response));
  }
  StreamResult streamed =
      testing::ConvertStream(*stub, input, ConvertTo(v1::FORMAT_JSON), 16, absl::Seconds(60));
  expect_malformed(streamed.status);
  ExpectStillServing(*stub);

  std::optional<std::string> line =
      server->WaitForCallLogLine({"method=Convert ", "status=INVALID_ARGUMENT"});
  ASSERT_TRUE(line.has_value()) << server->Log();
  EXPECT_THAT(LogFields(*line)["error"], EndsWith("at byte 25"));
  EXPECT_EQ(server->Stop(), 0);
}

TEST(ServiceErrorsE2eTest, CallsOverTheConcurrencyLimitAreRefusedNamingIt) {
  auto server = StartServer({"--max-concurrent-calls", "2"});
  ASSERT_NE(server, nullptr);
  auto stub = testing::RawStub(server->address());
  std::string input = testing::FloatTensorStream(64 * 1024);
  // Three streams that stay open until released: two get the server's slots, whichever comes
  // third is refused at once.
  std::vector<std::unique_ptr<HeldStream>> streams;
  for (int i = 0; i < 3; ++i)
    streams.push_back(std::make_unique<HeldStream>(*stub, input, ConvertTo(v1::FORMAT_T7), 1024));
  HeldStream* refused = nullptr;
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (refused == nullptr && absl::Now() < deadline) {
    for (auto& stream : streams) {
      if (stream->WaitUntilDone(absl::Milliseconds(10))) refused = stream.get();
    }
  }
  ASSERT_NE(refused, nullptr) << "no stream was refused";
  grpc::Status status = refused->status();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "server is running its maximum of 2 concurrent calls (--max-concurrent-calls); retry "
            "later");
  ASSERT_TRUE(ErrorInfoOf(status).has_value());
  EXPECT_EQ(ErrorInfoOf(status)->limit(), "max-concurrent-calls");

  // The two others were held, not refused, and complete once released.
  int held = 0;
  for (auto& stream : streams) {
    if (stream.get() == refused) continue;
    EXPECT_FALSE(stream->done()) << stream->status().error_message();
    stream->Release(input.size(), absl::ZeroDuration());
    ASSERT_TRUE(stream->WaitUntilDone(absl::Seconds(60)));
    EXPECT_TRUE(stream->status().ok()) << stream->status().error_message();
    EXPECT_TRUE(stream->output() == input);
    ++held;
  }
  EXPECT_EQ(held, 2);
  // Their slots are free again.
  ExpectStillServing(*stub);
  std::optional<std::string> line =
      server->WaitForCallLogLine({"method=ConvertStream ", "status=RESOURCE_EXHAUSTED"});
  ASSERT_TRUE(line.has_value()) << server->Log();
  EXPECT_THAT(LogFields(*line)["error"], HasSubstr("--max-concurrent-calls"));
  EXPECT_EQ(server->Stop(), 0);
}

TEST(ServiceErrorsE2eTest, ClientDeadlineInTheMiddleOfAStreamIsLoggedAndServingGoesOn) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto stub = testing::RawStub(server->address());
  std::string input = testing::FloatTensorStream(64 * 1024);
  // Half the input, then nothing more until the deadline passes.
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(3)));
  auto stream = stub->ConvertStream(&context);
  v1::ConvertStreamRequest request;
  *request.mutable_options() = ConvertTo(v1::FORMAT_T7);
  const size_t options_bytes = request.ByteSizeLong();
  ASSERT_TRUE(stream->Write(request));
  request.mutable_chunk()->set_data(input.substr(0, input.size() / 2));
  ASSERT_TRUE(stream->Write(request));
  // The half is converted as it arrives (its output read and dropped here); the call then waits
  // for more until the deadline ends it.
  v1::ConvertStreamResponse response;
  uint64_t output_bytes = 0;
  while (stream->Read(&response)) output_bytes += response.chunk().data().size();
  EXPECT_LE(output_bytes, input.size() / 2);
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);

  std::optional<std::string> line = server->WaitForCallLogLine({"method=ConvertStream "});
  ASSERT_TRUE(line.has_value()) << server->Log();
  std::map<std::string, std::string> fields = LogFields(*line);
  EXPECT_EQ(fields["status"], "DEADLINE_EXCEEDED") << *line;
  // What arrived before the deadline: the options message and the half sent.
  EXPECT_EQ(fields["bytes_in"], absl::StrCat(options_bytes + input.size() / 2)) << *line;
  ExpectStillServing(*stub);
  EXPECT_EQ(server->Stop(), 0);
}

TEST(ServiceErrorsE2eTest, LogLineNamesMethodFormatsSizesAndStatus) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto stub = testing::RawStub(server->address());
  std::string input = testing::ReadBytes(testing::CorpusPath("generated/nn_linear.bin.t7"));
  ASSERT_EQ(input.size(), 880u);
  std::string output;
  grpc::Status status = Convert(*stub, input, v1::FORMAT_T7_ASCII, &output);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(output.empty());

  std::optional<std::string> line = server->WaitForCallLogLine({"method=Convert "});
  ASSERT_TRUE(line.has_value()) << server->Log();
  EXPECT_THAT(*line, ::testing::StartsWith("seriald call method=Convert "));
  std::map<std::string, std::string> fields = LogFields(*line);
  EXPECT_EQ(fields["method"], "Convert");
  EXPECT_THAT(fields["peer"], ::testing::StartsWith("ipv4:127.0.0.1:"));
  EXPECT_EQ(fields["in"], "t7");
  EXPECT_EQ(fields["out"], "t7-ascii");
  EXPECT_EQ(fields["bytes_in"], "880");
  EXPECT_EQ(fields["bytes_out"], absl::StrCat(output.size()));
  EXPECT_EQ(fields["status"], "OK");
  double ms = -1;
  EXPECT_TRUE(absl::SimpleAtod(fields["ms"], &ms) && ms >= 0) << fields["ms"];
  EXPECT_EQ(fields.count("error"), 0u);

  // A refused call: no output format.
  status = Convert(*stub, input, v1::FORMAT_UNSPECIFIED);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  line = server->WaitForCallLogLine({"method=Convert ", "status=INVALID_ARGUMENT"});
  ASSERT_TRUE(line.has_value()) << server->Log();
  fields = LogFields(*line);
  EXPECT_EQ(fields["in"], "t7");
  EXPECT_EQ(fields["out"], "-");
  EXPECT_EQ(fields["error"], status.error_message());
  EXPECT_EQ(fields["error"], "the output format is required (WriteOptions.format)");

  // A stream: sizes count the chunks' bytes.
  StreamResult streamed =
      testing::ConvertStream(*stub, input, ConvertTo(v1::FORMAT_JSON), 100, absl::Seconds(60));
  ASSERT_TRUE(streamed.status.ok()) << streamed.status.error_message();
  line = server->WaitForCallLogLine({"method=ConvertStream "});
  ASSERT_TRUE(line.has_value()) << server->Log();
  fields = LogFields(*line);
  EXPECT_EQ(fields["in"], "t7");
  EXPECT_EQ(fields["out"], "json");
  EXPECT_EQ(fields["bytes_out"], absl::StrCat(streamed.output.size()));
  uint64_t bytes_in = 0;
  ASSERT_TRUE(absl::SimpleAtoi(fields["bytes_in"], &bytes_in)) << *line;
  EXPECT_GE(bytes_in, input.size());  // the data, and the options message
  EXPECT_LT(bytes_in, input.size() + 64);
  EXPECT_EQ(fields["status"], "OK");
  EXPECT_EQ(server->CallLogLines().size(), 3u);
  EXPECT_EQ(server->Stop(), 0);
}

// The spill directory is the server's: when it goes away after start-up, a stream that would
// spill fails with INTERNAL naming it (not NOT_FOUND, which would blame the caller), and the
// server goes on serving what it can hold in memory.
TEST(ServiceErrorsE2eTest, ASpillDirRemovedAfterStartUpIsAnInternalErrorNamingIt) {
  testing::ScratchDir scratch;
  const std::string spill_dir = scratch.File("spill");
  ASSERT_EQ(::mkdir(spill_dir.c_str(), 0700), 0);
  auto server = SerialdProcess::Start({"--spill-dir", spill_dir, "--spill-above", "1MiB"});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_EQ(::rmdir(spill_dir.c_str()), 0);
  auto stub = testing::RawStub((*server)->address());

  // 4 MiB, collected whole before it is converted (unreferenced output needs the object graph):
  // it spills.
  const std::string large = testing::FloatTensorStream(1 << 20);
  v1::ConvertStreamOptions collected = ConvertTo(v1::FORMAT_T7);
  collected.mutable_output()->set_torch7_unreferenced(true);
  StreamResult failed = testing::ConvertStream(*stub, large, collected, 1 << 20, absl::Seconds(60));
  EXPECT_EQ(failed.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(failed.status.error_message(),
              HasSubstr("cannot create a spill file in " + spill_dir + ": No such file"));

  const std::string small = testing::FloatTensorStream(1000);
  StreamResult converted =
      testing::ConvertStream(*stub, small, ConvertTo(v1::FORMAT_T7), 1 << 16, absl::Seconds(60));
  ASSERT_TRUE(converted.status.ok()) << converted.status.error_message();
  EXPECT_TRUE(converted.output == small);
}

}  // namespace
}  // namespace seriald
