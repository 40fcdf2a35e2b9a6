// The seriald binary as users run it: starts on a free port, answers the standard health and
// reflection services, and stops cleanly with exit status 0 on SIGTERM and SIGINT.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace seriald {
namespace {

using ::seriald::testing::RunProgram;
using ::seriald::testing::Subprocess;
using ::testing::HasSubstr;

const char kSeriald[] = SERIALD_BINARY_DIR "/bin/seriald";

struct RunningServer {
  std::unique_ptr<Subprocess> process;
  std::string address;
};

RunningServer StartServer() {
  RunningServer server;
  auto process = Subprocess::Start({kSeriald, "--listen", "127.0.0.1:0", "--grace-seconds", "5"});
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return server;
  server.process = std::move(*process);
  std::optional<std::string> line =
      server.process->WaitForStdoutLine("listening on", absl::Seconds(20));
  EXPECT_TRUE(line.has_value()) << "stdout: " << server.process->stdout_text()
                                << "\nstderr: " << server.process->stderr_text();
  if (line) server.address = line->substr(line->rfind(' ') + 1);
  return server;
}

grpc::health::v1::HealthCheckResponse::ServingStatus CheckHealth(const std::string& address) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  context.set_wait_for_ready(true);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  return response.status();
}

TEST(ServerProcessTest, AnswersHealthCheckAndStopsOnSigterm) {
  RunningServer server = StartServer();
  ASSERT_THAT(server.address, HasSubstr("127.0.0.1:"));
  EXPECT_EQ(CheckHealth(server.address), grpc::health::v1::HealthCheckResponse::SERVING);

  server.process->Signal(SIGTERM);
  std::optional<int> exit_code = server.process->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.has_value()) << "seriald did not stop within 20 s of SIGTERM";
  EXPECT_EQ(*exit_code, 0) << server.process->stderr_text();
  EXPECT_THAT(server.process->stdout_text(), HasSubstr("SIGTERM received"));
  EXPECT_THAT(server.process->stdout_text(), HasSubstr("seriald: stopped"));
}

TEST(ServerProcessTest, StopsOnSigintWithStatusZero) {
  RunningServer server = StartServer();
  ASSERT_FALSE(server.address.empty());
  EXPECT_EQ(CheckHealth(server.address), grpc::health::v1::HealthCheckResponse::SERVING);
  server.process->Signal(SIGINT);
  std::optional<int> exit_code = server.process->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0);
  EXPECT_THAT(server.process->stdout_text(), HasSubstr("SIGINT received"));
}

TEST(ServerProcessTest, ServesReflectionListingItsServices) {
  RunningServer server = StartServer();
  ASSERT_FALSE(server.address.empty());
  std::vector<std::string> services;
  {
    auto channel = grpc::CreateChannel(server.address, grpc::InsecureChannelCredentials());
    auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub->ServerReflectionInfo(&context);
    grpc::reflection::v1alpha::ServerReflectionRequest request;
    request.set_list_services("*");
    ASSERT_TRUE(stream->Write(request));
    stream->WritesDone();
    grpc::reflection::v1alpha::ServerReflectionResponse response;
    ASSERT_TRUE(stream->Read(&response));
    for (const auto& service : response.list_services_response().service()) {
      services.push_back(service.name());
    }
    while (stream->Read(&response)) {
    }
    EXPECT_TRUE(stream->Finish().ok());
  }
  EXPECT_THAT(services, ::testing::Contains("grpc.health.v1.Health"));
  EXPECT_THAT(services, ::testing::Contains("grpc.reflection.v1alpha.ServerReflection"));
  server.process->Signal(SIGTERM);
  EXPECT_EQ(server.process->Wait(absl::Seconds(20)), 0);
}

TEST(ServerProcessTest, RefusesAnAddressItCannotBind) {
  // Occupy a port first, then ask a second server for the same one.
  RunningServer first = StartServer();
  ASSERT_FALSE(first.address.empty());
  testing::RunResult second =
      RunProgram({kSeriald, "--listen", first.address}, "", absl::Seconds(20));
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("cannot listen on " + first.address));
  first.process->Signal(SIGTERM);
  EXPECT_EQ(first.process->Wait(absl::Seconds(20)), 0);
}

TEST(ServerProcessTest, RejectsUnknownFlagsWithUsage) {
  testing::RunResult result = RunProgram({kSeriald, "--no-such-flag"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err + result.out, HasSubstr("--no-such-flag"));
}

TEST(ServerProcessTest, ASpillDirThatCannotTakeAFileStopsStartUpNamingIt) {
  testing::RunResult result =
      RunProgram({kSeriald, "--listen", "127.0.0.1:0", "--spill-dir", "/no/such/dir"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("seriald: --spill-dir: cannot create a spill file in "
                                    "/no/such/dir: No such file or directory"));
  EXPECT_THAT(result.err, HasSubstr("--spill-dir \"\" to keep streamed inputs in memory"));
}

}  // namespace
}  // namespace seriald
