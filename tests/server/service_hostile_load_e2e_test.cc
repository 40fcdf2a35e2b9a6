// Hostile load on a real seriald: small inputs that stand for huge outputs are refused quickly,
// in little memory, naming the limit (--max-response-bytes, --max-decompression-ratio); and with
// a small --max-inflight-bytes, several large streams at once either succeed with the right bytes
// or get RESOURCE_EXHAUSTED naming max-inflight-bytes, while the server's peak resident set
// stays under the budget plus a stated overhead.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/testing/service_e2e.h"
#include "tests/testing/amplification_inputs.h"
#include "tests/testing/files.h"
#include "tests/testing/process_memory.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald {
namespace {

using ::seriald::testing::ErrorInfoOf;
using ::seriald::testing::HeldStream;
using ::seriald::testing::HexBytes;
using ::seriald::testing::SerialdProcess;
using ::seriald::testing::StreamResult;
using ::testing::HasSubstr;

// What the server holds beyond what its calls reserve: the binary and its libraries, gRPC's
// buffers and threads, the heap's slack.
constexpr uint64_t kServerOverheadBytes = uint64_t{160} << 20;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

StreamResult ConvertToRdsV2(v1::Serializer::Stub& stub, const std::string& input) {
  v1::ConvertStreamOptions options = testing::ConvertTo(v1::FORMAT_RDS);
  options.mutable_output()->set_r_version(2);
  options.mutable_input()->set_input_size(input.size());
  return testing::ConvertStream(stub, input, options, 1 << 20, absl::Seconds(60));
}

// ConvertStream to Torch7 with the input collected whole before it is converted: unreferenced
// output writes each occurrence of a shared object, which needs the object graph. (Referenced
// Torch7 to Torch7 converts as the chunks arrive and holds a few of them: the budgets for
// collected input, under test here, do not come into it.) A one-tensor stream comes back as it
// went in.
v1::ConvertStreamOptions CollectedToT7() {
  v1::ConvertStreamOptions options = testing::ConvertTo(v1::FORMAT_T7);
  options.mutable_output()->set_torch7_unreferenced(true);
  return options;
}

void ExpectLimit(const grpc::Status& status, const std::string& limit) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  std::optional<v1::ErrorInfo> info = ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value()) << status.error_message();
  EXPECT_EQ(info->limit(), limit) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("--" + limit));
}

TEST(HostileLoadE2eTest, AmplifyingInputsAreRefusedQuicklyInLittleMemory) {
  auto server = SerialdProcess::Start({"--max-response-bytes", "64MiB"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = testing::RawStub((*server)->address());
  ASSERT_TRUE(testing::ResetPeakRss((*server)->pid()).ok());

  // 134 bytes claiming 2^52 doubles: refused before anything is written.
  auto start = std::chrono::steady_clock::now();
  StreamResult real = ConvertToRdsV2(*stub, HexBytes(testing::kCompactRealSeqHex));
  ExpectLimit(real.status, "max-response-bytes");
  EXPECT_THAT(real.status.error_message(), HasSubstr("4503599627370496 elements"));
  EXPECT_TRUE(real.output.empty());
  EXPECT_LT(SecondsSince(start), 5);

  // 133 bytes that are 168 MB as version 2: stopped as the output passes 64 MiB.
  start = std::chrono::steady_clock::now();
  StreamResult ints = ConvertToRdsV2(*stub, HexBytes(testing::kCompactIntSeqHex));
  ExpectLimit(ints.status, "max-response-bytes");
  EXPECT_LE(ints.output.size(), uint64_t{64} << 20);
  EXPECT_LT(SecondsSince(start), 20);

  // 826 bytes of bzip2 holding 1 GiB: stopped at 64 MiB decompressed (4096 times is less).
  start = std::chrono::steady_clock::now();
  StreamResult bomb = ConvertToRdsV2(*stub, HexBytes(testing::kBzip2ZerosHex));
  ExpectLimit(bomb.status, "max-decompression-ratio");
  EXPECT_LT(SecondsSince(start), 20);

  // The plain-data view of the 2^52 sequence: refused, not materialised.
  grpc::ClientContext context;
  context.set_deadline(testing::DeadlineIn(absl::Seconds(30)));
  v1::DeserializeRequest request;
  request.set_data(HexBytes(testing::kCompactRealSeqHex));
  request.mutable_options()->set_view(v1::VIEW_DATA);
  v1::DeserializeResponse response;
  grpc::Status data = stub->Deserialize(&context, request, &response);
  ExpectLimit(data, "max-response-bytes");

  // None of it cost the server more than the 64 MiB it let through, plus its overhead.
  absl::StatusOr<uint64_t> peak = testing::PeakRssBytes((*server)->pid());
  ASSERT_TRUE(peak.ok());
  std::printf("server peak RSS during the amplification inputs: %llu bytes\n",
              static_cast<unsigned long long>(*peak));
  EXPECT_LT(*peak, (uint64_t{64} << 20) + kServerOverheadBytes);
}

TEST(HostileLoadE2eTest, ConcurrentLargeStreamsStayWithinTheMemoryBudget) {
  constexpr uint64_t kBudget = uint64_t{256} << 20;
  // Inputs held in memory (not spilled to a file).
  auto server = SerialdProcess::Start({"--max-inflight-bytes", "256MiB", "--spill-dir", ""});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = testing::RawStub((*server)->address());
  ASSERT_TRUE(testing::ResetPeakRss((*server)->pid()).ok());

  // Six 96 MiB tensors at once, each converted to its own format (the same bytes back): each
  // call reserves twice its input, so the budget admits one at a time.
  const std::string input = testing::FloatTensorStream(uint64_t{24} << 20);
  constexpr int kCalls = 6;
  std::vector<StreamResult> results(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      v1::ConvertStreamOptions options = CollectedToT7();
      options.mutable_input()->set_input_size(input.size());
      results[i] = testing::ConvertStream(*stub, input, options, 1 << 20, absl::Seconds(120));
    });
  }
  for (std::thread& t : threads) t.join();

  int succeeded = 0, refused = 0;
  for (const StreamResult& r : results) {
    if (r.status.ok()) {
      EXPECT_TRUE(r.output == input) << "a call succeeded with other bytes";
      ++succeeded;
    } else {
      ExpectLimit(r.status, "max-inflight-bytes");
      ++refused;
    }
  }
  absl::StatusOr<uint64_t> peak = testing::PeakRssBytes((*server)->pid());
  ASSERT_TRUE(peak.ok());
  std::printf("%d of %d concurrent 96 MiB streams succeeded, %d refused; server peak RSS %llu "
              "bytes (budget %llu + overhead %llu)\n",
              succeeded, kCalls, refused, static_cast<unsigned long long>(*peak),
              static_cast<unsigned long long>(kBudget),
              static_cast<unsigned long long>(kServerOverheadBytes));
  EXPECT_GE(succeeded, 1);
  EXPECT_LT(*peak, kBudget + kServerOverheadBytes);

  // A call that could never fit is refused at once, naming the limit.
  const std::string huge = testing::FloatTensorStream(uint64_t{40} << 20);  // 160 MiB: 320 reserved
  v1::ConvertStreamOptions options = CollectedToT7();
  options.mutable_input()->set_input_size(huge.size());
  StreamResult never = testing::ConvertStream(*stub, huge, options, 1 << 20, absl::Seconds(60));
  ExpectLimit(never.status, "max-inflight-bytes");
  EXPECT_THAT(never.status.error_message(), HasSubstr("more than the server's whole budget"));
}

TEST(HostileLoadE2eTest, SpilledStreamsReserveOnlyWhatDecodingMayCopy) {
  testing::ScratchDir spill_dir;
  auto server = SerialdProcess::Start({"--max-inflight-bytes", "256MiB", "--spill-dir",
                                       spill_dir.path(), "--spill-above", "16MiB"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = testing::RawStub((*server)->address());
  ASSERT_TRUE(testing::ResetPeakRss((*server)->pid()).ok());

  // 200 MiB: twice that could not be held in memory within the budget; spilled, the call
  // reserves it once and holds a few chunks of it.
  const std::string input = testing::FloatTensorStream(uint64_t{50} << 20);
  v1::ConvertStreamOptions options = CollectedToT7();
  options.mutable_input()->set_input_size(input.size());
  StreamResult converted =
      testing::ConvertStream(*stub, input, options, 1 << 20, absl::Seconds(120));
  ASSERT_TRUE(converted.status.ok()) << converted.status.error_message();
  EXPECT_TRUE(converted.output == input);
  absl::StatusOr<uint64_t> peak = testing::PeakRssBytes((*server)->pid());
  ASSERT_TRUE(peak.ok());
  std::printf("a spilled 200 MiB stream: server peak RSS %llu bytes\n",
              static_cast<unsigned long long>(*peak));
  EXPECT_LT(*peak, input.size());

  // Still bounded: 300 MiB, once, is more than the whole budget.
  const std::string huge = testing::FloatTensorStream(uint64_t{75} << 20);
  options.mutable_input()->set_input_size(huge.size());
  StreamResult never = testing::ConvertStream(*stub, huge, options, 1 << 20, absl::Seconds(60));
  ExpectLimit(never.status, "max-inflight-bytes");
  EXPECT_THAT(never.status.error_message(), HasSubstr("more than the server's whole budget"));
}

// Spill files are bounded across calls too (--max-spill-bytes): a stream that could never fit is
// refused at once naming the limit, one that fits converts, and one that must wait for another
// call's file to go waits, then is refused while that call holds it.
TEST(HostileLoadE2eTest, SpillFilesStayWithinTheSpillBudget) {
  testing::ScratchDir spill_dir;
  auto server = SerialdProcess::Start({"--spill-dir", spill_dir.path(), "--spill-above", "1MiB",
                                       "--max-spill-bytes", "12MiB"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = testing::RawStub((*server)->address());

  const std::string huge = testing::FloatTensorStream(uint64_t{4} << 20);  // 16 MiB
  v1::ConvertStreamOptions options = CollectedToT7();
  options.mutable_input()->set_input_size(huge.size());
  StreamResult never = testing::ConvertStream(*stub, huge, options, 1 << 20, absl::Seconds(60));
  ExpectLimit(never.status, "max-spill-bytes");
  EXPECT_THAT(never.status.error_message(),
              HasSubstr("more than the server's whole budget of 12582912 bytes "
                        "(--max-spill-bytes)"));

  // Without a size given, the limit is met chunk by chunk.
  options.mutable_input()->clear_input_size();
  StreamResult unsized = testing::ConvertStream(*stub, huge, options, 1 << 20, absl::Seconds(60));
  ExpectLimit(unsized.status, "max-spill-bytes");

  const std::string eight = testing::FloatTensorStream(uint64_t{2} << 20);  // 8 MiB
  options.mutable_input()->set_input_size(eight.size());
  StreamResult fits = testing::ConvertStream(*stub, eight, options, 1 << 20, absl::Seconds(60));
  ASSERT_TRUE(fits.status.ok()) << fits.status.error_message();
  EXPECT_TRUE(fits.output == eight);

  // Two at once: the first holds 8 MiB of the 12 while the test keeps it open; the second,
  // which needs 8 more, waits and is refused.
  HeldStream held(*stub, eight, options, eight.size() - (1 << 20));
  absl::SleepFor(absl::Milliseconds(500));
  StreamResult second = testing::ConvertStream(*stub, eight, options, 1 << 20, absl::Seconds(60));
  ExpectLimit(second.status, "max-spill-bytes");
  EXPECT_THAT(second.status.error_message(), HasSubstr("retry later"));
  ASSERT_TRUE(held.Release(1 << 20, absl::ZeroDuration()));
  ASSERT_TRUE(held.WaitUntilDone(absl::Seconds(60)));
  EXPECT_TRUE(held.status().ok()) << held.status().error_message();
  EXPECT_TRUE(held.output() == eight);
}

}  // namespace
}  // namespace seriald
