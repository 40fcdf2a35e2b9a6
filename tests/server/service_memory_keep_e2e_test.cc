// Large buffers' memory kept between calls (--memory-keep, core/io/mapping_pool.h) on a real
// seriald: while calls keep coming, the mappings a finished call freed stay in the server, their
// pages marked lazily free (/proc/<pid>/smaps_rollup's LazyFree), for the next call to write
// over; once the server is idle they are unmapped. By default (--memory-keep 0) none is kept.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/server/testing/service_e2e.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald {
namespace {

using ::seriald::testing::HeldStream;
using ::seriald::testing::SerialdProcess;

constexpr uint64_t kElements = uint64_t{5} << 19;  // 10 MiB of floats
constexpr uint64_t kMiB = uint64_t{1} << 20;

// The server's lazily freed memory in bytes (smaps_rollup's "LazyFree:", in kB).
uint64_t LazyFreeBytes(pid_t pid) {
  std::ifstream rollup(absl::StrCat("/proc/", pid, "/smaps_rollup"));
  std::string line;
  while (std::getline(rollup, line)) {
    if (absl::StartsWith(line, "LazyFree:")) {
      std::istringstream fields(line.substr(9));
      uint64_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

// Waits until `done` holds of the server's LazyFree bytes; the last look.
template <typename Predicate>
uint64_t AwaitLazyFree(pid_t pid, Predicate done) {
  uint64_t bytes = LazyFreeBytes(pid);
  for (int i = 0; i < 200 && !done(bytes); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    bytes = LazyFreeBytes(pid);
  }
  return bytes;
}

class MemoryKeepE2eTest : public ::testing::Test {
 protected:
  void StartServer(const std::vector<std::string>& flags) {
    auto server = SerialdProcess::Start(flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = testing::RawStub(server_->address());
  }

  // A unary Convert of the 10 MiB tensor to big-endian: its output array is a 10 MiB buffer of
  // the server's, freed when the call ends. Checks the output's size and first float.
  void ConvertToBigEndian() {
    grpc::ClientContext context;
    context.set_deadline(testing::DeadlineIn(absl::Seconds(120)));
    v1::ConvertRequest request;
    request.set_data(input_);
    request.mutable_output()->set_format(v1::FORMAT_T7);
    request.mutable_output()->set_torch7_byte_order(v1::BYTE_ORDER_BIG_ENDIAN);
    v1::ConvertResponse response;
    const grpc::Status status = stub_->Convert(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.data().size(), input_.size());
    EXPECT_NE(response.data(), input_);
  }

  // A call that stays open until released, so that the server is never idle meanwhile.
  std::unique_ptr<HeldStream> HoldACall() {
    return std::make_unique<HeldStream>(*stub_, small_, testing::ConvertTo(v1::FORMAT_T7), 16);
  }

  void ReleaseHeldCall(HeldStream& held) {
    ASSERT_TRUE(held.Release(kMiB, absl::ZeroDuration()));
    ASSERT_TRUE(held.WaitUntilDone(absl::Seconds(60)));
    EXPECT_TRUE(held.status().ok()) << held.status().error_message();
  }

  const std::string input_ = testing::FloatTensorStream(kElements);
  const std::string small_ = testing::FloatTensorStream(16);
  std::unique_ptr<SerialdProcess> server_;
  std::unique_ptr<v1::Serializer::Stub> stub_;
};

TEST_F(MemoryKeepE2eTest, AFinishedCallsBuffersAreKeptForTheNextAndUnmappedWhenIdle) {
  ASSERT_NO_FATAL_FAILURE(StartServer({"--memory-keep", "256MiB"}));
  std::unique_ptr<HeldStream> held = HoldACall();
  ASSERT_NO_FATAL_FAILURE(ConvertToBigEndian());
  // At least the output array's 10 MiB, kept and lazily free.
  const uint64_t kept = AwaitLazyFree(server_->pid(), [](uint64_t b) { return b >= 10 * kMiB; });
  EXPECT_GE(kept, 10 * kMiB);
  EXPECT_LE(kept, 256 * kMiB);
  // The next call writes over them, then gives them back: no more kept than before.
  ASSERT_NO_FATAL_FAILURE(ConvertToBigEndian());
  EXPECT_LE(AwaitLazyFree(server_->pid(), [&](uint64_t b) { return b >= 10 * kMiB; }), kept);

  ASSERT_NO_FATAL_FAILURE(ReleaseHeldCall(*held));
  // Idle for a second, the server unmaps them.
  EXPECT_EQ(AwaitLazyFree(server_->pid(), [](uint64_t b) { return b == 0; }), 0u);
  EXPECT_EQ(server_->Stop(), 0);
}

TEST_F(MemoryKeepE2eTest, NothingIsKeptByDefault) {
  ASSERT_NO_FATAL_FAILURE(StartServer({}));
  std::unique_ptr<HeldStream> held = HoldACall();
  ASSERT_NO_FATAL_FAILURE(ConvertToBigEndian());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(LazyFreeBytes(server_->pid()), 0u);
  ASSERT_NO_FATAL_FAILURE(ReleaseHeldCall(*held));
  EXPECT_EQ(server_->Stop(), 0);
}

}  // namespace
}  // namespace seriald
