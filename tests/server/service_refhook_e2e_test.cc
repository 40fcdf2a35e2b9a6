// R's refhook through a real seriald, called through the generated stubs: ReadOptions.
// reference_bindings resolving persistent references in every reading call (unary and streamed,
// Value and plain data), WriteOptions.persistent_references writing environments as persistent
// references (Serialize, Convert and their streams), plain data carrying the names both ways, and
// what the server refuses with INVALID_ARGUMENT naming the node or binding. The streams are R
// 4.2.2's bytes (tests/interop/rds_refhook_test.cc has R itself judge the same conversions).
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/testing/service_e2e.h"

namespace seriald {
namespace {

using ::seriald::testing::DeadlineIn;
using ::seriald::testing::SerialdProcess;
using ::testing::HasSubstr;

// e <- new.env(); h <- function(x) if (identical(x, e)) "myenv" else NULL
// serialize(list(a = 1, e = e), NULL, refhook = h)
constexpr char kListWithReference[] =
    "580a000000030004020200030500000000055554462d3800000213000000020000000e000000013ff00000000000"
    "00000000f7000000000000000100040009000000056d79656e760000040200000001000400090000000"
    "56e616d65730000001000000002000400090000000161000400090000000165000000fe";
// serialize(list(k = 42), NULL)
constexpr char kBoundList[] =
    "580a000000030004020200030500000000055554462d3800000213000000010000000e0000000140450000000000"
    "0000000402000000010004000900000005"
    "6e616d6573000000100000000100040009000000016b000000fe";
// serialize(list(a = 1, e = list(k = 42)), NULL)
constexpr char kListWithBoundList[] =
    "580a000000030004020200030500000000055554462d3800000213000000020000000e000000013ff00000000000"
    "0000000213000000010000000e000000014045000000000000000004020000000100040009000000056e616d6573"
    "000000100000000100040009000000016b000000fe00000402000001ff000000100000000200040009000000016100"
    "0400090000000165000000fe";
// e <- new.env(); serialize(list(a = 1, e = e), NULL)
constexpr char kListWithEnvironment[] =
    "580a000000030004020200030500000000055554462d3800000213000000020000000e000000013ff00000000000"
    "000000000400000000000000fd000000fe000000130000001d000000fe000000fe000000fe000000fe000000fe00"
    "0000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000"
    "fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe00"
    "0000fe000000fe000004020000000100040009000000056e616d6573000000100000000200040009000000016100"
    "0400090000000165000000fe";

std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

v1::ReadOptions BindMyenv(const std::string& data) {
  v1::ReadOptions options;
  v1::ReferenceBinding* binding = options.add_reference_bindings();
  binding->add_names("myenv");
  binding->set_data(data);
  return options;
}

// WriteOptions writing R XDR with node `id` as the persistent reference "myenv".
v1::WriteOptions RdsWithMyenv(uint32_t id) {
  v1::WriteOptions options;
  options.set_format(v1::FORMAT_RDS);
  (*options.mutable_persistent_references())[id].add_names("myenv");
  return options;
}

class ServiceRefhookE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = SerialdProcess::Start({});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = testing::RawStub(server_->address());
  }

  grpc::Status Deserialize(const std::string& input, const v1::ReadOptions& options,
                           v1::DeserializeResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::DeserializeRequest request;
    request.set_data(input);
    *request.mutable_options() = options;
    return stub_->Deserialize(&context, request, response);
  }

  grpc::Status Convert(const std::string& input, const v1::ReadOptions& read,
                       const v1::WriteOptions& write, std::string* output) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::ConvertRequest request;
    request.set_data(input);
    *request.mutable_input() = read;
    *request.mutable_output() = write;
    v1::ConvertResponse response;
    grpc::Status status = stub_->Convert(&context, request, &response);
    *output = response.data();
    return status;
  }

  grpc::Status Serialize(const v1::SerializeRequest& request, std::string* output) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::SerializeResponse response;
    grpc::Status status = stub_->Serialize(&context, request, &response);
    *output = response.data();
    return status;
  }

  // The Value of `input`, read with `options`; fails the test when the call fails.
  v1::Value ValueOf(const std::string& input, const v1::ReadOptions& options = {}) {
    v1::DeserializeResponse response;
    grpc::Status status = Deserialize(input, options, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.value();
  }

  std::unique_ptr<SerialdProcess> server_;
  std::unique_ptr<v1::Serializer::Stub> stub_;
};

TEST_F(ServiceRefhookE2eTest, BindingsReplaceTheReferenceInEveryReadingCall) {
  const std::string input = Hex(kListWithReference);
  const v1::ReadOptions bind = BindMyenv(Hex(kBoundList));

  // Deserialize: the reference's node now holds the bound list (with its names attribute).
  v1::Value unbound = ValueOf(input);
  const uint32_t reference = unbound.nodes(static_cast<int>(unbound.roots(0))).list().items(1);
  EXPECT_TRUE(unbound.nodes(static_cast<int>(reference)).has_persistent_reference());
  v1::Value bound = ValueOf(input, bind);
  EXPECT_EQ(bound.nodes(static_cast<int>(bound.roots(0))).list().items(1), reference);
  EXPECT_TRUE(bound.nodes(static_cast<int>(reference)).has_list());
  EXPECT_TRUE(bound.nodes(static_cast<int>(reference)).has_attributes());

  // Convert and ConvertStream: the bytes R writes for list(a = 1, e = list(k = 42)).
  v1::WriteOptions rds;
  rds.set_format(v1::FORMAT_RDS);
  std::string output;
  grpc::Status status = Convert(input, bind, rds, &output);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(output, Hex(kListWithBoundList));
  v1::ConvertStreamOptions stream_options;
  *stream_options.mutable_input() = bind;
  *stream_options.mutable_output() = rds;
  testing::StreamResult streamed =
      testing::ConvertStream(*stub_, input, stream_options, 16, absl::Seconds(60));
  ASSERT_TRUE(streamed.status.ok()) << streamed.status.error_message();
  EXPECT_EQ(streamed.output, Hex(kListWithBoundList));

  // DeserializeStream with plain data: the bound list is a list named "k".
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(60)));
  auto stream = stub_->DeserializeStream(&context);
  v1::DeserializeStreamRequest first;
  *first.mutable_options() = bind;
  first.mutable_options()->set_view(v1::VIEW_DATA);
  ASSERT_TRUE(stream->Write(first));
  v1::DeserializeStreamRequest chunk;
  chunk.mutable_chunk()->set_data(input);
  ASSERT_TRUE(stream->Write(chunk));
  ASSERT_TRUE(stream->WritesDone());
  v1::DeserializeStreamResponse header;
  ASSERT_TRUE(stream->Read(&header));
  v1::DeserializeStreamResponse array_chunk;  // none: every array is small
  while (stream->Read(&array_chunk)) {
  }
  status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::Data& data = header.header().data();
  const v1::DataItem& e =
      data.items(static_cast<int>(data.items(static_cast<int>(data.roots(0))).list().items(1)));
  ASSERT_TRUE(e.has_list());
  EXPECT_EQ(data.items(static_cast<int>(e.names())).strings().values(0), "k");

  // Inspect: the printed tree shows the bound list.
  grpc::ClientContext inspect_context;
  v1::InspectRequest inspect;
  inspect.set_data(input);
  *inspect.mutable_options() = bind;
  v1::InspectResponse inspected;
  status = stub_->Inspect(&inspect_context, inspect, &inspected);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(inspected.summary(), HasSubstr("$k"));
  EXPECT_THAT(inspected.summary(), ::testing::Not(HasSubstr("persistent reference")));
}

TEST_F(ServiceRefhookE2eTest, PlainDataCarriesTheNamesAndWritesTheReferenceBack) {
  const std::string input = Hex(kListWithReference);
  v1::ReadOptions data_view;
  data_view.set_view(v1::VIEW_DATA);
  v1::DeserializeResponse response;
  grpc::Status status = Deserialize(input, data_view, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::Data& data = response.data();
  const v1::DataItem& e =
      data.items(static_cast<int>(data.items(static_cast<int>(data.roots(0))).list().items(1)));
  ASSERT_TRUE(e.has_opaque());
  EXPECT_EQ(e.opaque().type(), "persistent reference");
  EXPECT_EQ(e.opaque().description(), "myenv");
  ASSERT_TRUE(e.has_names());
  EXPECT_EQ(data.items(static_cast<int>(e.names())).strings().values(0), "myenv");

  v1::SerializeRequest request;
  *request.mutable_data() = data;
  request.mutable_options()->set_format(v1::FORMAT_RDS);
  std::string output;
  status = Serialize(request, &output);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(output, input);
}

TEST_F(ServiceRefhookE2eTest, PersistentReferencesAreWrittenAsRsSerializeWritesThem) {
  const std::string input = Hex(kListWithEnvironment);
  v1::Value value = ValueOf(input);
  const uint32_t environment = value.nodes(static_cast<int>(value.roots(0))).list().items(1);
  ASSERT_TRUE(value.nodes(static_cast<int>(environment)).has_environment());
  const std::string expected = Hex(kListWithReference);

  // Serialize.
  v1::SerializeRequest request;
  *request.mutable_value() = value;
  *request.mutable_options() = RdsWithMyenv(environment);
  std::string output;
  grpc::Status status = Serialize(request, &output);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(output, expected);

  // Convert and ConvertStream.
  status = Convert(input, {}, RdsWithMyenv(environment), &output);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(output, expected);
  v1::ConvertStreamOptions stream_options;
  *stream_options.mutable_output() = RdsWithMyenv(environment);
  testing::StreamResult streamed =
      testing::ConvertStream(*stub_, input, stream_options, 64, absl::Seconds(60));
  ASSERT_TRUE(streamed.status.ok()) << streamed.status.error_message();
  EXPECT_EQ(streamed.output, expected);

  // SerializeStream.
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(60)));
  auto writer = stub_->SerializeStream(&context);
  v1::SerializeStreamRequest head;
  *head.mutable_header()->mutable_value() = value;
  *head.mutable_header()->mutable_options() = RdsWithMyenv(environment);
  ASSERT_TRUE(writer->Write(head));
  ASSERT_TRUE(writer->WritesDone());
  std::string joined;
  v1::BytesChunk bytes;
  while (writer->Read(&bytes)) joined += bytes.data();
  status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(joined, expected);
}

TEST_F(ServiceRefhookE2eTest, RefusesNamingTheNodeOrBinding) {
  const std::string input = Hex(kListWithEnvironment);
  v1::Value value = ValueOf(input);
  const uint32_t environment = value.nodes(static_cast<int>(value.roots(0))).list().items(1);
  std::string output;
  // Not an environment, external pointer or weak reference: the list itself.
  grpc::Status status = Convert(input, {}, RdsWithMyenv(0), &output);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("node 0 (list): only environments"));
  status = Convert(input, {}, RdsWithMyenv(1000000), &output);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("node 1000000 cannot be a persistent reference"));
  v1::WriteOptions no_names = RdsWithMyenv(environment);
  (*no_names.mutable_persistent_references())[environment].clear_names();
  status = Convert(input, {}, no_names, &output);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("needs one or more names"));

  // A binding whose data is not R, named with the node it was for.
  v1::WriteOptions rds;
  rds.set_format(v1::FORMAT_RDS);
  status = Convert(Hex(kListWithReference), BindMyenv("not R"), rds, &output);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("reference_bindings[0] (names \"myenv\", for node 2): its data does not "
                        "read as R"));
  // The byte offset in the error details would be the binding's: there is none.
  std::optional<v1::ErrorInfo> info = testing::ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->has_byte_offset());
  v1::ReadOptions twice = BindMyenv(Hex(kBoundList));
  *twice.add_reference_bindings() = twice.reference_bindings(0);
  status = Convert(Hex(kListWithReference), twice, rds, &output);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("have the same names"));

  // Plain data has no node ids.
  v1::SerializeRequest request;
  request.mutable_data()->add_items()->mutable_null();
  request.mutable_data()->add_roots(0);
  *request.mutable_options() = RdsWithMyenv(0);
  status = Serialize(request, &output);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("plain data has none"));
}

}  // namespace
}  // namespace seriald
