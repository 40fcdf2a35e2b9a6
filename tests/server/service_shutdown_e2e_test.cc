// Graceful shutdown of a real seriald with a stream in flight: on SIGTERM the server stops taking
// calls (health NOT_SERVING, new calls UNAVAILABLE) but lets the stream finish with the right
// bytes, then exits with status 0; a stream still running when the grace period ends is
// cancelled, and the server exits 0 all the same.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/testing/service_e2e.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald {
namespace {

using ::seriald::testing::ConvertTo;
using ::seriald::testing::DeadlineIn;
using ::seriald::testing::HeldStream;
using ::seriald::testing::SerialdProcess;
using ::testing::HasSubstr;

constexpr size_t kChunkBytes = 256 * 1024;

// Opens two streams on a server that runs one call at a time: one of them is refused, so the
// other provably holds the server's only slot (its call is running in the server). Returns that
// one.
std::unique_ptr<HeldStream> StartRunningStream(v1::Serializer::Stub& stub,
                                               const std::string& input) {
  std::vector<std::unique_ptr<HeldStream>> streams;
  for (int i = 0; i < 2; ++i) {
    streams.push_back(std::make_unique<HeldStream>(
        stub, input, ConvertTo(v1::FORMAT_T7, /*big_endian=*/true), kChunkBytes));
  }
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    for (int i = 0; i < 2; ++i) {
      if (!streams[i]->WaitUntilDone(absl::Milliseconds(10))) continue;
      EXPECT_EQ(streams[i]->status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << streams[i]->status().error_message();
      EXPECT_FALSE(streams[1 - i]->done()) << "both streams ended";
      return std::move(streams[1 - i]);
    }
  }
  ADD_FAILURE() << "neither stream was refused";
  return nullptr;
}

TEST(ServiceShutdownE2eTest, SigtermInTheMiddleOfAStreamLetsItFinishThenExitsZero) {
  auto server = SerialdProcess::Start({"--max-concurrent-calls", "1", "--grace-seconds", "120"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = testing::RawStub((*server)->address());
  const uint64_t count = 2 << 20;  // 8 MiB of floats, 32 chunks
  const std::string input = testing::FloatTensorStream(count);
  const std::string expected = testing::FloatTensorStream(count, /*big_endian=*/true);

  std::unique_ptr<HeldStream> stream = StartRunningStream(*stub, input);
  ASSERT_NE(stream, nullptr);

  (*server)->process().Signal(SIGTERM);
  ASSERT_TRUE((*server)->process().WaitForStdoutLine("SIGTERM received", absl::Seconds(60)));
  // Draining: health says so, and a new call is refused.
  absl::StatusOr<std::string> health = testing::HealthStatus((*server)->address());
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, "NOT_SERVING");
  {
    auto late = testing::RawStub((*server)->address());
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    v1::ConvertRequest request;
    request.set_data(testing::FloatTensorStream(4));
    request.mutable_output()->set_format(v1::FORMAT_T7);
    v1::ConvertResponse response;
    grpc::Status status = late->Convert(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  }
  EXPECT_FALSE(stream->done()) << "the stream ended before the rest of its input was sent";

  // The rest of the input, slowly: the server waits for it.
  ASSERT_TRUE(stream->Release(kChunkBytes, absl::Milliseconds(20)));
  ASSERT_TRUE(stream->WaitUntilDone(absl::Seconds(60)));
  EXPECT_TRUE(stream->status().ok())
      << stream->status().error_code() << " " << stream->status().error_message();
  EXPECT_TRUE(stream->output() == expected)
      << "converted stream differs (" << stream->output().size() << " bytes, expected "
      << expected.size() << ")";

  std::optional<int> exit_code = (*server)->process().Wait(absl::Seconds(60));
  ASSERT_TRUE(exit_code.has_value()) << "seriald did not exit after its last call";
  EXPECT_EQ(*exit_code, 0);
  EXPECT_THAT((*server)->process().stdout_text(), HasSubstr("seriald: stopped"));
  std::string log = (*server)->Log();
  EXPECT_THAT(log, HasSubstr("status=UNAVAILABLE error=\"server is shutting down"));
  std::optional<std::string> line =
      (*server)->WaitForCallLogLine({"method=ConvertStream ", "status=OK"}, absl::ZeroDuration());
  ASSERT_TRUE(line.has_value()) << log;
  EXPECT_THAT(*line, HasSubstr(absl::StrCat("bytes_out=", expected.size())));
}

TEST(ServiceShutdownE2eTest, StreamStillRunningAfterTheGracePeriodIsCancelled) {
  auto server = SerialdProcess::Start({"--max-concurrent-calls", "1", "--grace-seconds", "1"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = testing::RawStub((*server)->address());
  std::unique_ptr<HeldStream> stream =
      StartRunningStream(*stub, testing::FloatTensorStream(1 << 20));
  ASSERT_NE(stream, nullptr);

  absl::Time signalled = absl::Now();
  (*server)->process().Signal(SIGTERM);
  // Never released: the grace period ends with the call still waiting for input.
  ASSERT_TRUE(stream->WaitUntilDone(absl::Seconds(60)));
  EXPECT_GE(absl::Now() - signalled, absl::Seconds(1));
  EXPECT_NE(stream->status().error_code(), grpc::StatusCode::OK);
  EXPECT_TRUE(stream->output().empty());
  std::optional<int> exit_code = (*server)->process().Wait(absl::Seconds(60));
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0);
}

// After a response large enough to fill the socket, gRPC 1.51 keeps a TCP backup poller in a
// 10 s epoll_wait on one of its executor threads, which its teardown joins: the server took up to
// 10 s to exit after "seriald: stopped". It exits once its calls are done.
TEST(ServiceShutdownE2eTest, ExitsPromptlyAfterALargeResponse) {
  auto server = SerialdProcess::Start({});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = testing::RawStub((*server)->address());
  const std::string input = testing::FloatTensorStream(uint64_t{5} << 19);  // 10 MiB
  {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(120)));
    v1::ConvertRequest request;
    request.set_data(input);
    request.mutable_output()->set_format(v1::FORMAT_T7);
    request.mutable_output()->set_torch7_byte_order(v1::BYTE_ORDER_BIG_ENDIAN);
    v1::ConvertResponse response;
    const grpc::Status status = stub->Convert(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.data() == testing::FloatTensorStream(uint64_t{5} << 19, true));
  }
  const absl::Time signalled = absl::Now();
  (*server)->process().Signal(SIGTERM);
  // The drain itself takes half a second (server.cc's kStatusFlushTime); the backup poller took
  // 9-10 s more. 5 s leaves a loaded machine room.
  std::optional<int> exit_code = (*server)->process().Wait(absl::Seconds(5));
  ASSERT_TRUE(exit_code.has_value())
      << "seriald had not exited " << absl::Now() - signalled << " after SIGTERM";
  EXPECT_EQ(*exit_code, 0);
  EXPECT_THAT((*server)->process().stdout_text(), HasSubstr("seriald: stopped"));
}

}  // namespace
}  // namespace seriald
