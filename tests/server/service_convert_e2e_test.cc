// Conversions between families and to array files through a real seriald (Convert and
// ConvertStream over the generated stubs): Torch7 -> R and R -> Torch7 bytes that read back as
// the mapping says, array exports with their notes (unary and after the last chunk of a stream),
// the format the input was read as in a stream's header, and refusals as INVALID_ARGUMENT naming
// the item's path and the option that allows it; a Torch7 stream whose first chunks cannot
// settle its long size, converted as received and checked at its end as ReadTorch7 decides.
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/arrays/safetensors.h"
#include "core/data/mapping.h"
#include "core/rds/reader.h"
#include "core/torch7/reader.h"
#include "core/torch7/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/torch7/testing/corpus.h"
#include "tests/server/testing/service_e2e.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald {
namespace {

using ::seriald::testing::CorpusFile;
using ::seriald::testing::DeadlineIn;
using ::seriald::testing::SerialdProcess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ServiceConvertE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = SerialdProcess::Start({});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = testing::RawStub(server_->address());
  }

  grpc::Status Convert(const std::string& input, v1::Format to, v1::ConvertResponse* response,
                       bool drop = false, bool strict = false) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    v1::ConvertRequest request;
    request.set_data(input);
    request.mutable_output()->set_format(to);
    request.mutable_output()->set_drop_unconvertible(drop);
    request.mutable_output()->set_strict_arrays(strict);
    return stub_->Convert(&context, request, response);
  }

  std::unique_ptr<SerialdProcess> server_;
  std::unique_ptr<v1::Serializer::Stub> stub_;
};

std::string Corpus(const char* path) { return std::string(CorpusFile(path).view()); }

TEST_F(ServiceConvertE2eTest, Torch7ModelBecomesAnRObjectAndBack) {
  v1::ConvertResponse rds;
  grpc::Status status = Convert(Corpus("generated/nn_linear.bin.t7"), v1::FORMAT_RDS, &rds);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(rds.input_format(), v1::FORMAT_T7);
  EXPECT_THAT(rds.notes(), ::testing::IsEmpty());
  absl::StatusOr<Value> r = ReadR(Buffer::FromString(rds.data()));
  ASSERT_TRUE(r.ok()) << r.status();
  absl::StatusOr<data::Data> plain = ToData(*r);
  ASSERT_TRUE(plain.ok());
  const data::Item& root = plain->item(plain->roots()[0]);
  EXPECT_THAT(root.classes, ElementsAre("nn.Linear", "torch7_object"));

  v1::ConvertResponse back;
  status = Convert(rds.data(), v1::FORMAT_T7, &back);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(back.input_format(), v1::FORMAT_RDS);
  absl::StatusOr<Value> t7 = ReadTorch7(Buffer::FromString(back.data()));
  ASSERT_TRUE(t7.ok()) << t7.status();
  EXPECT_EQ(std::get<TorchObject>(t7->node(t7->roots()[0]).data).class_name, "nn.Linear");
}

TEST_F(ServiceConvertE2eTest, ExportsCarryTheirNotesAndStrictRefuses) {
  v1::ConvertResponse out;
  grpc::Status status =
      Convert(Corpus("generated/checkpoint_like.bin.t7"), v1::FORMAT_SAFETENSORS, &out);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(out.notes(), ::testing::Contains("skipped epoch (a number): not an array"));
  absl::StatusOr<arrays::SafetensorsFile> file =
      arrays::ReadSafetensors(Buffer::FromString(out.data()));
  ASSERT_TRUE(file.ok()) << file.status();
  std::vector<std::string> names;
  for (const auto& array : file->arrays) names.push_back(array.name);
  EXPECT_THAT(names, ::testing::Contains("model.weight"));

  status = Convert(Corpus("generated/checkpoint_like.bin.t7"), v1::FORMAT_SAFETENSORS, &out, false,
                   /*strict=*/true);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("is not an array, and --strict"));
}

TEST_F(ServiceConvertE2eTest, UnconvertibleItemsAreRefusedByPathUnlessDropped) {
  v1::ConvertResponse out;
  grpc::Status status = Convert(Corpus("generated/function_plain.bin.t7"), v1::FORMAT_RDS, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("the root is a Lua function"));
  status = Convert(Corpus("generated/table_cycle.bin.t7"), v1::FORMAT_RDS, &out, /*drop=*/true);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(out.notes_size(), 1);
  EXPECT_THAT(out.notes(0), HasSubstr("a cycle R cannot hold; NULL in its place"));
}

TEST_F(ServiceConvertE2eTest, StreamedConversionSendsHeaderChunksAndNotes) {
  // A 12 MiB FloatTensor exported to safetensors through ConvertStream, from a file whose one
  // other value (none) gives no notes; then an export with notes, to see them come last.
  const std::string tensor = testing::FloatTensorStream(3 << 20);
  for (const std::string& input : {tensor, Corpus("generated/checkpoint_like.bin.t7")}) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(120)));
    auto stream = stub_->ConvertStream(&context);
    v1::ConvertStreamRequest first;
    first.mutable_options()->mutable_output()->set_format(v1::FORMAT_SAFETENSORS);
    first.mutable_options()->mutable_input()->set_input_size(input.size());
    ASSERT_TRUE(stream->Write(first));
    for (size_t offset = 0; offset < input.size(); offset += 1 << 20) {
      v1::ConvertStreamRequest chunk;
      chunk.mutable_chunk()->set_data(input.substr(offset, 1 << 20));
      ASSERT_TRUE(stream->Write(chunk));
    }
    stream->WritesDone();
    v1::ConvertStreamResponse response;
    std::vector<std::string> kinds;
    std::string output;
    std::vector<std::string> notes;
    while (stream->Read(&response)) {
      if (response.has_input_format()) {
        kinds.push_back("format");
        EXPECT_EQ(response.input_format(), v1::FORMAT_T7);
      } else if (response.has_chunk()) {
        if (kinds.empty() || kinds.back() != "chunks") kinds.push_back("chunks");
        output += response.chunk().data();
      } else if (response.has_notes()) {
        kinds.push_back("notes");
        notes.assign(response.notes().notes().begin(), response.notes().notes().end());
      }
    }
    grpc::Status status = stream->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    absl::StatusOr<arrays::SafetensorsFile> file =
        arrays::ReadSafetensors(Buffer::FromString(output));
    ASSERT_TRUE(file.ok()) << file.status();
    if (input == tensor) {
      EXPECT_THAT(kinds, ElementsAre("format", "chunks"));
      ASSERT_EQ(file->arrays.size(), 1u);
      EXPECT_EQ(file->arrays[0].name, "arr_0");
      // The elements are the file's own bytes: the stream's last 12 MiB.
      EXPECT_TRUE(file->arrays[0].array.data.view() ==
                  std::string_view(tensor).substr(tensor.size() - (12u << 20)));
    } else {
      EXPECT_THAT(kinds, ElementsAre("format", "chunks", "notes"));
      EXPECT_THAT(notes, ::testing::Contains("skipped opt.name (a string): not an array"));
    }
  }
}

// A Torch7 stream of two objects, the first a 0-dimensional tensor over a 1 MiB storage, written
// with 8-byte longs. Its first chunks cannot settle the long size: read with 4-byte longs, the
// tensor ends early and more objects follow (tests/core/torch7/transcoder_test.cc). With
// `zero_tail` and a number after it, the whole stream reads with 4-byte longs too, as other
// objects: ReadTorch7 refuses such an input.
std::string TwoObjectsWithoutTheirLongSize(bool zero_tail) {
  constexpr int64_t kElements = 1 << 18;
  testing::StreamBytes bytes;
  bytes.TorchHeader(1, "torch.FloatTensor").Int(0).Long(1);
  bytes.TorchHeader(2, "torch.FloatStorage").Long(kElements);
  std::string data(kElements * 4, '\x01');
  if (zero_tail) data.replace(data.size() - 4, 4, 4, '\0');
  bytes.Raw(data);
  if (zero_tail) {
    bytes.Int(1).Double(2.5);
  } else {
    bytes.TorchHeader(3, "torch.FloatTensor").Int(0).Long(1);
    bytes.TorchHeader(4, "torch.FloatStorage").Long(2).Raw(std::string(8, '\x02'));
  }
  return bytes.str();
}

TEST_F(ServiceConvertE2eTest, Torch7StreamsThatTheirFirstChunksCannotSettleAreCheckedAtTheirEnd) {
  for (bool zero_tail : {false, true}) {
    const std::string input = TwoObjectsWithoutTheirLongSize(zero_tail);
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    auto stream = stub_->ConvertStream(&context);
    v1::ConvertStreamRequest first;
    first.mutable_options()->mutable_output()->set_format(v1::FORMAT_T7);
    first.mutable_options()->mutable_output()->set_torch7_byte_order(v1::BYTE_ORDER_BIG_ENDIAN);
    ASSERT_TRUE(stream->Write(first));
    for (size_t offset = 0; offset < input.size(); offset += 64 << 10) {
      v1::ConvertStreamRequest chunk;
      chunk.mutable_chunk()->set_data(input.substr(offset, 64 << 10));
      ASSERT_TRUE(stream->Write(chunk));
    }
    stream->WritesDone();
    v1::ConvertStreamResponse response;
    std::string output;
    while (stream->Read(&response)) output += response.chunk().data();
    const grpc::Status status = stream->Finish();
    std::optional<std::string> line = server_->WaitForCallLogLine({"method=ConvertStream "});
    ASSERT_TRUE(line.has_value()) << server_->Log();
    EXPECT_THAT(*line, HasSubstr(" as_received=1 "));
    if (zero_tail) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_EQ(status.error_message(),
                absl::StrCat("torch7: the input reads completely both with 8-byte and with 4-byte "
                             "longs, giving different objects; pass the long size it was "
                             "written with (torch7_long_size, like torch.load's 'b64' / 'b32') "
                             "at byte ",
                             input.size()));
      continue;
    }
    // What the object graph writes for the whole input, read as it reads it (8-byte longs).
    ASSERT_TRUE(status.ok()) << status.error_message();
    absl::StatusOr<Value> value = ReadTorch7(Buffer::FromString(input));
    ASSERT_TRUE(value.ok()) << value.status();
    ASSERT_EQ(value->roots().size(), 2u);
    ByteWriter expected;
    ASSERT_TRUE(WriteTorch7(*value, Torch7Layout{.big_endian = true}, expected).ok());
    BufferChain expected_bytes;
    ASSERT_TRUE(expected.Finish(&expected_bytes).ok());
    EXPECT_TRUE(output == expected_bytes.ToString());
    EXPECT_EQ(output.size(), expected_bytes.size());
  }
}

}  // namespace
}  // namespace seriald
