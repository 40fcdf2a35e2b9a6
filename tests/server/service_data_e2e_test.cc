// Plain data through a real seriald, called through the generated stubs: Deserialize and
// DeserializeStream with VIEW_DATA, Serialize and SerializeStream taking Data, string arrays in
// dictionary form (CodedStrings) both ways, and what the server refuses (a Data in JSON, Value
// and Data together, malformed Data, streamed arrays that are not array items, coded strings
// expanding past --max-request-bytes), each with its status and a message naming the item.
#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/testing/service_e2e.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald {
namespace {

using ::seriald::testing::DeadlineIn;
using ::seriald::testing::SerialdProcess;
using ::testing::HasSubstr;

class ServiceDataE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = SerialdProcess::Start({});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = testing::RawStub(server_->address());
  }

  // Deserialize with VIEW_DATA; `string_codes` asks for repeated strings as CodedStrings.
  grpc::Status Deserialize(const std::string& input, v1::DeserializeResponse* response,
                           bool string_codes = false) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::DeserializeRequest request;
    request.set_data(input);
    request.mutable_options()->set_view(v1::VIEW_DATA);
    request.mutable_options()->set_string_codes(string_codes);
    return stub_->Deserialize(&context, request, response);
  }

  // DeserializeStream of `input`, sent in 1 MiB chunks, with `view`: the header (which must list
  // one streamed array) and that array's data joined from its chunks, each checked to name the
  // array, to start where the last ended and to hold whole elements of `element_bytes`.
  void StreamOneArray(const std::string& input, v1::View view,
                      v1::DeserializeStreamResponse* header, std::string* joined,
                      size_t element_bytes = 1) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(120)));
    auto stream = stub_->DeserializeStream(&context);
    v1::DeserializeStreamRequest first;
    first.mutable_options()->set_view(view);
    ASSERT_TRUE(stream->Write(first));
    v1::DeserializeStreamRequest chunk;
    for (size_t offset = 0; offset < input.size(); offset += 1 << 20) {
      chunk.mutable_chunk()->set_data(input.substr(offset, 1 << 20));
      ASSERT_TRUE(stream->Write(chunk));
    }
    ASSERT_TRUE(stream->WritesDone());
    ASSERT_TRUE(stream->Read(header));
    ASSERT_TRUE(header->has_header());
    ASSERT_EQ(header->header().streamed_arrays_size(), 1);
    const uint32_t id = header->header().streamed_arrays(0);
    joined->clear();
    v1::DeserializeStreamResponse response;
    while (stream->Read(&response)) {
      ASSERT_TRUE(response.has_array_chunk());
      EXPECT_EQ(response.array_chunk().node(), id);
      EXPECT_EQ(response.array_chunk().offset(), joined->size());
      EXPECT_EQ(response.array_chunk().data().size() % element_bytes, 0u);
      *joined += response.array_chunk().data();
    }
    grpc::Status status = stream->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  grpc::Status Serialize(const v1::SerializeRequest& request, std::string* output) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::SerializeResponse response;
    grpc::Status status = stub_->Serialize(&context, request, &response);
    *output = response.data();
    return status;
  }

  std::unique_ptr<SerialdProcess> server_;
  std::unique_ptr<v1::Serializer::Stub> stub_;
};

TEST_F(ServiceDataE2eTest, UnaryDataOfATensorAndBackToTheSameBytes) {
  const std::string input = testing::FloatTensorStream(1000);
  v1::DeserializeResponse response;
  grpc::Status status = Deserialize(input, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.has_value());
  EXPECT_EQ(response.format(), v1::FORMAT_T7);
  ASSERT_EQ(response.data().roots_size(), 1);
  const v1::NdArray& array = response.data().items(response.data().roots(0)).array();
  EXPECT_EQ(array.dtype(), v1::ELEMENT_TYPE_FLOAT32);
  EXPECT_EQ(std::vector<int64_t>(array.shape().begin(), array.shape().end()),
            std::vector<int64_t>{1000});
  EXPECT_EQ(array.data().size(), 4000u);
  // The elements are the file's own bytes: the stream's last 4000 bytes.
  EXPECT_EQ(array.data(), input.substr(input.size() - 4000));

  v1::SerializeRequest request;
  *request.mutable_data() = response.data();
  request.mutable_options()->set_format(v1::FORMAT_T7);
  std::string output;
  status = Serialize(request, &output);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(output == input);
}

TEST_F(ServiceDataE2eTest, StreamedDataCarriesLargeArraysInChunksNamingTheirItem) {
  const std::string input = testing::FloatTensorStream(3 << 20);  // 12 MiB of floats
  v1::DeserializeStreamResponse header;
  std::string joined;
  ASSERT_NO_FATAL_FAILURE(StreamOneArray(input, v1::VIEW_DATA, &header, &joined));
  ASSERT_TRUE(header.header().has_data());
  EXPECT_FALSE(header.header().has_value());
  const uint32_t id = header.header().streamed_arrays(0);
  EXPECT_TRUE(header.header().data().items(id).array().data().empty());
  EXPECT_EQ(header.header().data().items(id).array().length(), 3u << 20);
  EXPECT_TRUE(joined == input.substr(input.size() - (12u << 20)));

  // And back through SerializeStream, the array's bytes again in chunks.
  grpc::ClientContext write_context;
  write_context.set_deadline(DeadlineIn(absl::Seconds(120)));
  auto writer = stub_->SerializeStream(&write_context);
  v1::SerializeStreamRequest head;
  *head.mutable_header()->mutable_data() = header.header().data();
  head.mutable_header()->add_streamed_arrays(id);
  head.mutable_header()->mutable_options()->set_format(v1::FORMAT_T7);
  ASSERT_TRUE(writer->Write(head));
  v1::SerializeStreamRequest piece;
  for (size_t offset = 0; offset < joined.size(); offset += 1 << 20) {
    piece.mutable_array_chunk()->set_node(id);
    piece.mutable_array_chunk()->set_offset(offset);
    piece.mutable_array_chunk()->set_data(joined.substr(offset, 1 << 20));
    ASSERT_TRUE(writer->Write(piece));
  }
  ASSERT_TRUE(writer->WritesDone());
  std::string output;
  v1::BytesChunk bytes;
  while (writer->Read(&bytes)) output += bytes.data();
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(output == input);
}

// A data frame of `rows` rows: a string column cycling through "alpha", "beta", NA; a number
// column.
v1::Data FrameWithRepeatedStrings(int rows) {
  v1::Data data;
  v1::StringArray* strings = data.add_items()->mutable_strings();  // item 0
  for (int i = 0; i < rows; ++i) {
    strings->add_values(i % 3 == 0 ? "alpha" : i % 3 == 1 ? "beta" : "");
    if (i % 3 == 2) strings->add_na(i);
  }
  v1::NdArray* numbers = data.add_items()->mutable_array();  // item 1
  numbers->set_dtype(v1::ELEMENT_TYPE_FLOAT64);
  numbers->add_shape(rows);
  numbers->add_strides(1);
  numbers->set_length(rows);
  std::vector<double> values(rows);
  for (int i = 0; i < rows; ++i) values[i] = i * 0.5;
  numbers->set_data(std::string(reinterpret_cast<const char*>(values.data()), 8 * rows));
  v1::DataFrame* frame = data.add_items()->mutable_data_frame();  // item 2
  frame->add_column_names("s");
  frame->add_column_names("x");
  frame->add_columns(0);
  frame->add_columns(1);
  frame->set_row_count(rows);
  data.add_roots(2);
  return data;
}

// A big-endian tensor (its storage kept as written by the server, each chunk swapped as it is
// sent) comes back as the little-endian one does, in both views.
TEST_F(ServiceDataE2eTest, ABigEndianTensorStreamsBackLittleEndianInBothViews) {
  constexpr uint64_t kFloats = 3 << 20;  // 12 MiB
  const std::string little = testing::FloatTensorStream(kFloats);
  const std::string big = testing::FloatTensorStream(kFloats, /*big_endian=*/true);
  const std::string expected = little.substr(little.size() - 4 * kFloats);
  ASSERT_NE(big.substr(big.size() - 4 * kFloats), expected);
  for (v1::View view : {v1::VIEW_DATA, v1::VIEW_VALUE}) {
    SCOPED_TRACE(v1::View_Name(view));
    v1::DeserializeStreamResponse header;
    std::string joined;
    ASSERT_NO_FATAL_FAILURE(StreamOneArray(big, view, &header, &joined, /*element_bytes=*/4));
    EXPECT_TRUE(joined == expected) << "the floats did not come back little-endian";
  }
}

TEST_F(ServiceDataE2eTest, RepeatedStringsComeCodedWhenAskedAndAreReadCoded) {
  v1::SerializeRequest write;
  *write.mutable_data() = FrameWithRepeatedStrings(3000);
  write.mutable_options()->set_format(v1::FORMAT_RDS);
  std::string rds;
  grpc::Status status = Serialize(write, &rds);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // Unary, asked: the column comes as CodedStrings, its values in order of first appearance.
  v1::DeserializeResponse response;
  status = Deserialize(rds, &response, /*string_codes=*/true);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::Data& data = response.data();
  const v1::DataItem& frame = data.items(data.roots(0));
  const v1::DataItem& column = data.items(frame.data_frame().columns(0));
  ASSERT_TRUE(column.has_coded_strings());
  EXPECT_THAT(column.coded_strings().values(), ::testing::ElementsAre("alpha", "beta"));
  ASSERT_EQ(column.coded_strings().codes().size(), 4u * 3000);
  std::vector<int32_t> codes(3000);
  std::memcpy(codes.data(), column.coded_strings().codes().data(), 4 * 3000);
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(codes[i], i % 3 == 2 ? -1 : i % 3) << i;
  // The column names (2, distinct) stay a plain list of strings in the frame.
  EXPECT_THAT(frame.data_frame().column_names(), ::testing::ElementsAre("s", "x"));

  // Not asked: a StringArray, as before.
  v1::DeserializeResponse plain;
  status = Deserialize(rds, &plain);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(plain.data()
                  .items(plain.data().items(plain.data().roots(0)).data_frame().columns(0))
                  .has_strings());

  // Written back from the coded form: the same R bytes.
  v1::SerializeRequest rewrite;
  *rewrite.mutable_data() = data;
  rewrite.mutable_options()->set_format(v1::FORMAT_RDS);
  std::string again;
  status = Serialize(rewrite, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again == rds);

  // Streamed, asked: the header's column is coded too.
  grpc::ClientContext stream_context;
  stream_context.set_deadline(DeadlineIn(absl::Seconds(60)));
  auto stream = stub_->DeserializeStream(&stream_context);
  v1::DeserializeStreamRequest first;
  first.mutable_options()->set_view(v1::VIEW_DATA);
  first.mutable_options()->set_string_codes(true);
  ASSERT_TRUE(stream->Write(first));
  v1::DeserializeStreamRequest chunk;
  chunk.mutable_chunk()->set_data(rds);
  ASSERT_TRUE(stream->Write(chunk));
  stream->WritesDone();
  v1::DeserializeStreamResponse streamed;
  ASSERT_TRUE(stream->Read(&streamed));
  ASSERT_TRUE(streamed.has_header());
  const v1::Data& header = streamed.header().data();
  EXPECT_TRUE(
      header.items(header.items(header.roots(0)).data_frame().columns(0)).has_coded_strings());
  EXPECT_EQ(header.SerializeAsString(), data.SerializeAsString());  // all of it inline here
  EXPECT_FALSE(stream->Read(&streamed));
  status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ServiceDataE2eTest, CodedStringsMayNotExpandPastTheRequestLimit) {
  auto server = SerialdProcess::Start({"--max-request-bytes", "1000000"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = testing::RawStub((*server)->address());
  // 2,000 codes (8,000 bytes) for one 1,000-byte string: 2,000,000 bytes of strings.
  v1::SerializeRequest request;
  v1::CodedStrings* coded = request.mutable_data()->add_items()->mutable_coded_strings();
  coded->add_values(std::string(1000, 'z'));
  coded->set_codes(std::string(8000, '\0'));
  request.mutable_data()->add_roots(0);
  request.mutable_options()->set_format(v1::FORMAT_RDS);
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(60)));
  v1::SerializeResponse response;
  grpc::Status status = stub->Serialize(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(),
              HasSubstr("item 0: coded strings expand to 2000000 bytes, past the 1000000 left of "
                        "the limit of 1000000 bytes for coded strings (max-request-bytes)"));
}

TEST_F(ServiceDataE2eTest, RefusesWhatCannotBeWrittenNamingTheItem) {
  auto refused = [&](const v1::SerializeRequest& request) {
    std::string output;
    grpc::Status status = Serialize(request, &output);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    return status.error_message();
  };
  v1::SerializeRequest json;
  json.mutable_data()->add_items()->mutable_null();
  json.mutable_data()->add_roots(0);
  json.mutable_options()->set_format(v1::FORMAT_JSON);
  EXPECT_THAT(refused(json),
              HasSubstr("plain data (Data) is written as a Torch7, R or array format"));

  v1::SerializeRequest both = json;
  both.mutable_options()->set_format(v1::FORMAT_RDS);
  both.mutable_value()->add_nodes()->mutable_nil();
  EXPECT_THAT(refused(both), HasSubstr("set either the value or the data, not both"));

  v1::SerializeRequest opaque;
  opaque.mutable_data()->add_items()->mutable_opaque()->set_type("closure");
  opaque.mutable_data()->add_roots(0);
  opaque.mutable_options()->set_format(v1::FORMAT_RDS);
  EXPECT_THAT(refused(opaque), HasSubstr("item 0 (opaque): an opaque closure"));

  v1::SerializeRequest outside;
  v1::NdArray* array = outside.mutable_data()->add_items()->mutable_array();
  array->set_dtype(v1::ELEMENT_TYPE_FLOAT64);
  array->add_shape(3);
  array->add_strides(1);
  array->set_length(1);
  array->set_data(std::string(8, '\0'));
  outside.mutable_data()->add_roots(0);
  outside.mutable_options()->set_format(v1::FORMAT_T7);
  EXPECT_THAT(refused(outside), HasSubstr("outside the 1 elements of its data"));

  // A streamed array that is not an array item.
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(60)));
  auto writer = stub_->SerializeStream(&context);
  v1::SerializeStreamRequest head;
  head.mutable_header()->mutable_data()->add_items()->mutable_null();
  head.mutable_header()->mutable_data()->add_roots(0);
  head.mutable_header()->add_streamed_arrays(0);
  head.mutable_header()->mutable_options()->set_format(v1::FORMAT_T7);
  writer->Write(head);
  writer->WritesDone();
  v1::BytesChunk ignored;
  while (writer->Read(&ignored)) {
  }
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("streamed_arrays names item 0, which is not an array item"));
}

}  // namespace
}  // namespace seriald
