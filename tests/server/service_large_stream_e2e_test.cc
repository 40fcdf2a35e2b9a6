// A tensor larger than 1 GiB through a real seriald: ConvertStream (driven by `serialctl --server`)
// gives exactly the bytes of a local `serialctl convert`, and DeserializeStream gives back the
// tensor's data. The input is a 1.5 GiB torch.FloatTensor written directly to a scratch
// directory.
//
// ConvertStream of Torch7 to Torch7 converts as the chunks arrive: the server holds a few chunks
// (peak resident set under 256 MiB; about 70 to 140 MB measured, mostly gRPC's buffers and the
// heap's slack) whether streamed inputs are held in memory or spilled; a client that sends all
// its input before it reads any output gets its output too (the server keeps receiving into a
// spill file meanwhile, so neither side waits for the other), the server holding as little. DeserializeStream
// reads the whole input first: with the input held in memory (--spill-dir ""), the server holds
// at most one copy of the data (peak under 1.4 times the payload); spilled (the default), a few
// chunks of it (peak under 256 MiB).
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/testing/service_e2e.h"
#include "tests/testing/process_memory.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald {
namespace {

using ::seriald::testing::RunProgram;
using ::seriald::testing::RunResult;
using ::seriald::testing::ScratchDir;
using ::seriald::testing::SerialdProcess;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kElements = uint64_t{3} << 27;  // 402,653,184 floats
constexpr uint64_t kPayloadBytes = 4 * kElements;  // 1.5 GiB
constexpr double kMaxPeakRatio = 1.4;
constexpr uint64_t kMaxSpilledPeakBytes = uint64_t{256} << 20;
constexpr size_t kChunkBytes = size_t{1} << 20;

// Sends the file at `path` in chunks, each in `request`'s chunk (`data_of` gives its bytes field),
// then ends the sending; false if the stream broke.
template <typename Stream, typename Request, typename DataOf>
bool SendFile(Stream& stream, Request& request, const std::string& path, DataOf data_of) {
  std::ifstream file(path, std::ios::binary);
  std::string chunk(kChunkBytes, '\0');
  while (file.read(chunk.data(), kChunkBytes).gcount() > 0) {
    data_of(request)->assign(chunk.data(), static_cast<size_t>(file.gcount()));
    if (!stream.Write(request)) return false;
  }
  return stream.WritesDone();
}

// Compares what arrives, a piece at a time, with a file's bytes from an offset on.
class FileComparison {
 public:
  FileComparison(const std::string& path, uint64_t offset) : file_(path, std::ios::binary) {
    file_.seekg(static_cast<std::streamoff>(offset));
  }
  void Add(const std::string& data) {
    buffer_.resize(data.size());
    file_.read(buffer_.data(), static_cast<std::streamsize>(data.size()));
    same_ = same_ && static_cast<size_t>(file_.gcount()) == data.size() && data == buffer_;
    received_ += data.size();
  }
  bool same() const { return same_; }
  uint64_t received() const { return received_; }

 private:
  std::ifstream file_;
  std::string buffer_;
  bool same_ = true;
  uint64_t received_ = 0;
};

class LargeStreamE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    input_ = dir_.File("large.t7");
    absl::Status written = testing::WriteFloatTensorFile(input_, kElements);
    ASSERT_TRUE(written.ok()) << written;
    header_bytes_ = testing::FloatTensorHeader(kElements).size();
  }

  // Starts the server holding streamed inputs in memory or spilling them to the scratch
  // directory.
  void StartServer(bool spill) {
    auto server = SerialdProcess::Start(
        {"--spill-dir", spill ? dir_.path() : "", "--spill-above", "64MiB"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    // Measure from here: start-up is not what is bounded.
    ASSERT_TRUE(testing::ResetPeakRss(server_->pid()).ok());
  }

  // Expects the server's peak resident set since StartServer to lie in [min_bytes, max_bytes),
  // and reports it.
  void ExpectPeakRss(const std::string& what, uint64_t min_bytes, uint64_t max_bytes) {
    absl::StatusOr<uint64_t> peak = testing::PeakRssBytes(server_->pid());
    ASSERT_TRUE(peak.ok()) << peak.status();
    double ratio = static_cast<double>(*peak) / static_cast<double>(kPayloadBytes);
    std::cout << absl::StrFormat("%s: server peak RSS %d bytes = %.3f x the %d-byte payload\n",
                                 what, *peak, ratio, kPayloadBytes);
    RecordProperty("server_peak_rss_bytes", absl::StrCat(*peak));
    RecordProperty("server_peak_rss_ratio", absl::StrFormat("%.3f", ratio));
    EXPECT_LT(*peak, max_bytes) << what;
    EXPECT_GE(*peak, min_bytes) << what;
  }
  // In memory: one copy of the data, and the data itself (the measurement is not of some other
  // process).
  void ExpectOneCopyOfThePayload(const std::string& what) {
    ExpectPeakRss(what, static_cast<uint64_t>(0.9 * kPayloadBytes),
                  static_cast<uint64_t>(kMaxPeakRatio * kPayloadBytes));
  }
  void ExpectAFewChunks(const std::string& what) {
    ExpectPeakRss(what, 0, kMaxSpilledPeakBytes);
  }

  // The local conversion to big-endian, the reference for the service's.
  std::string LocalBigEndian() {
    const std::string local = dir_.File("local.t7");
    RunResult reference = RunProgram(
        {testing::SerialctlBinary(), "convert", "--to", "t7", "--big-endian", input_, local}, "",
        absl::Seconds(600));
    EXPECT_EQ(reference.exit_code, 0) << reference.err;
    return local;
  }

  void ConvertToBigEndianGivesTheLocalBytes() {
    // Big-endian output: every element is byte-swapped, so nothing can pass through unconverted.
    const std::string remote = dir_.File("remote.t7");
    RunResult converted =
        RunProgram({testing::SerialctlBinary(), "--server", server_->address(), "--timeout",
                    "600", "convert", "--to", "t7", "--big-endian", input_, remote},
                   "", absl::Seconds(600));
    ASSERT_EQ(converted.exit_code, 0) << converted.err;
    const std::string local = LocalBigEndian();
    std::string difference;
    EXPECT_TRUE(testing::SameFileContents(local, remote, &difference)) << difference;

    std::optional<std::string> line = server_->WaitForCallLogLine({"method=ConvertStream "});
    ASSERT_TRUE(line.has_value()) << server_->Log();
    EXPECT_THAT(*line, HasSubstr(" in=t7 out=t7 "));
    EXPECT_THAT(*line, HasSubstr(" as_received=1 "));
    EXPECT_THAT(*line,
                HasSubstr(absl::StrCat(" bytes_out=", header_bytes_ + kPayloadBytes, " ")));
    EXPECT_THAT(*line, HasSubstr(" status=OK"));
  }

  // ConvertStream to big-endian from a client that sends the whole input before it reads: the
  // output is the local conversion's, compared as it arrives.
  void ConvertSendingEverythingFirst() {
    const std::string local = LocalBigEndian();
    auto stub = testing::RawStub(server_->address());
    grpc::ClientContext context;
    context.set_deadline(testing::DeadlineIn(absl::Seconds(600)));
    auto stream = stub->ConvertStream(&context);
    v1::ConvertStreamRequest request;
    *request.mutable_options() = testing::ConvertTo(v1::FORMAT_T7, /*big_endian=*/true);
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(SendFile(*stream, request, input_, [](v1::ConvertStreamRequest& r) {
      return r.mutable_chunk()->mutable_data();
    }));
    FileComparison expected(local, 0);
    v1::ConvertStreamResponse response;
    while (stream->Read(&response)) {
      if (response.has_chunk()) expected.Add(response.chunk().data());
    }
    grpc::Status status = stream->Finish();
    ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    EXPECT_EQ(expected.received(), header_bytes_ + kPayloadBytes);
    EXPECT_TRUE(expected.same()) << "the output differs from the local conversion's";
    // While the client sent and did not read, what waited went to the spill file.
    std::optional<std::string> line = server_->WaitForCallLogLine({"method=ConvertStream "});
    ASSERT_TRUE(line.has_value()) << server_->Log();
    EXPECT_THAT(*line, HasSubstr(" as_received=1 "));
    EXPECT_THAT(*line, Not(HasSubstr(" spilled=0")));
  }

  void DeserializeGivesBackTheData() {
    auto stub = testing::RawStub(server_->address());
    grpc::ClientContext context;
    context.set_deadline(testing::DeadlineIn(absl::Seconds(600)));
    auto stream = stub->DeserializeStream(&context);
    v1::DeserializeStreamRequest request;
    request.mutable_options()->set_input_size(header_bytes_ + kPayloadBytes);
    ASSERT_TRUE(stream->Write(request));
    // The file goes up in chunks, read from disk as it is sent.
    ASSERT_TRUE(SendFile(*stream, request, input_, [](v1::DeserializeStreamRequest& r) {
      return r.mutable_chunk()->mutable_data();
    }));

    // The header names the storage's array node; its data comes back in order and is compared
    // with the file's data as it arrives (nothing is kept).
    v1::DeserializeStreamResponse response;
    ASSERT_TRUE(stream->Read(&response));
    ASSERT_TRUE(response.has_header());
    ASSERT_EQ(response.header().streamed_arrays_size(), 1);
    const uint32_t node = response.header().streamed_arrays(0);
    ASSERT_LT(node, static_cast<uint32_t>(response.header().value().nodes_size()));
    const v1::Array& array = response.header().value().nodes(static_cast<int>(node)).array();
    EXPECT_EQ(array.length(), kElements);
    EXPECT_TRUE(array.data().empty());
    FileComparison expected(input_, header_bytes_);
    while (stream->Read(&response)) {
      ASSERT_TRUE(response.has_array_chunk());
      ASSERT_EQ(response.array_chunk().node(), node);
      ASSERT_EQ(response.array_chunk().offset(), expected.received());
      expected.Add(response.array_chunk().data());
    }
    grpc::Status status = stream->Finish();
    ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    EXPECT_EQ(expected.received(), kPayloadBytes);
    EXPECT_TRUE(expected.same()) << "the data that came back differs from the tensor's";
  }

  ScratchDir dir_;
  std::string input_;
  size_t header_bytes_ = 0;
  std::unique_ptr<SerialdProcess> server_;
};

TEST_F(LargeStreamE2eTest, ConvertStreamHoldsAFewChunksWithInputsInMemory) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*spill=*/false));
  ASSERT_NO_FATAL_FAILURE(ConvertToBigEndianGivesTheLocalBytes());
  ASSERT_NO_FATAL_FAILURE(ExpectAFewChunks("ConvertStream t7 -> t7 big-endian"));
  EXPECT_EQ(server_->Stop(), 0);
}

TEST_F(LargeStreamE2eTest, ConvertStreamHoldsAFewChunksWithInputsSpilled) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*spill=*/true));
  ASSERT_NO_FATAL_FAILURE(ConvertToBigEndianGivesTheLocalBytes());
  ASSERT_NO_FATAL_FAILURE(
      ExpectAFewChunks("ConvertStream t7 -> t7 big-endian, spilled"));
  EXPECT_EQ(server_->Stop(), 0);
}

TEST_F(LargeStreamE2eTest, ConvertStreamFinishesForAClientThatSendsEverythingFirst) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*spill=*/true));
  ASSERT_NO_FATAL_FAILURE(ConvertSendingEverythingFirst());
  ASSERT_NO_FATAL_FAILURE(
      ExpectAFewChunks("ConvertStream t7 -> t7 big-endian, the client sending everything first"));
  EXPECT_EQ(server_->Stop(), 0);
}

TEST_F(LargeStreamE2eTest, DeserializeStreamGivesBackTheDataHoldingOneCopy) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*spill=*/false));
  ASSERT_NO_FATAL_FAILURE(DeserializeGivesBackTheData());
  ASSERT_NO_FATAL_FAILURE(ExpectOneCopyOfThePayload("DeserializeStream t7"));
  EXPECT_EQ(server_->Stop(), 0);
}

TEST_F(LargeStreamE2eTest, DeserializeStreamOfASpilledInputHoldsAFewChunks) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*spill=*/true));
  ASSERT_NO_FATAL_FAILURE(DeserializeGivesBackTheData());
  ASSERT_NO_FATAL_FAILURE(ExpectAFewChunks("DeserializeStream t7, spilled"));
  EXPECT_EQ(server_->Stop(), 0);
}

}  // namespace
}  // namespace seriald
