// Spill files kept between calls (--spill-keep, core/io/spill_file_pool.h) on a real seriald:
// while calls keep coming, a spilled call's file stays open in the server after the call, and the
// next spilled call writes over that same file instead of making one; once the server is idle,
// every kept file is closed. --spill-keep 0 keeps none, and by default a server keeps at most an
// eighth of --max-spill-bytes, a longer file cut to that.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/server/testing/service_e2e.h"
#include "tests/testing/files.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald {
namespace {

using ::seriald::testing::HeldStream;
using ::seriald::testing::SerialdProcess;

constexpr uint64_t kElements = uint64_t{2} << 20;  // 8 MiB of floats: spilled past 1 MiB
constexpr size_t kChunkBytes = size_t{1} << 20;

// A server descriptor of an unnamed file in the spill directory.
struct SpillDescriptor {
  std::string path;    // /proc/<pid>/fd/<n>
  std::string target;  // as /proc shows it: "<dir>/#<inode> (deleted)"
};

// The server's open descriptors of unnamed files in `dir` (spill files).
std::vector<SpillDescriptor> SpillDescriptorsOf(pid_t pid, const std::string& dir) {
  std::vector<SpillDescriptor> found;
  const std::string fds = absl::StrCat("/proc/", pid, "/fd");
  DIR* listing = ::opendir(fds.c_str());
  if (listing == nullptr) return found;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string path = absl::StrCat(fds, "/", entry->d_name);
    char target[4096];
    const ssize_t n = ::readlink(path.c_str(), target, sizeof(target));
    if (n <= 0) continue;
    const std::string link(target, static_cast<size_t>(n));
    if (absl::StartsWith(link, dir + "/") && absl::EndsWith(link, " (deleted)")) {
      found.push_back({path, link});
    }
  }
  ::closedir(listing);
  return found;
}

// What the server's spill descriptors point to: one entry per descriptor.
std::vector<std::string> SpillFilesOf(pid_t pid, const std::string& dir) {
  std::vector<std::string> targets;
  for (const SpillDescriptor& descriptor : SpillDescriptorsOf(pid, dir)) {
    targets.push_back(descriptor.target);
  }
  return targets;
}

// Waits until the server has `count` spill files open (calls release theirs as they end); the
// last look's targets.
std::vector<std::string> AwaitSpillFiles(pid_t pid, const std::string& dir, size_t count) {
  std::vector<std::string> targets;
  for (int i = 0; i < 200; ++i) {
    targets = SpillFilesOf(pid, dir);
    if (targets.size() == count) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return targets;
}

class SpillE2eTest : public ::testing::Test {
 protected:
  // `flags` after the spill directory and --spill-above 1MiB.
  void StartServer(const std::vector<std::string>& flags) {
    std::vector<std::string> all = {"--spill-dir", dir_.path(), "--spill-above", "1MiB"};
    all.insert(all.end(), flags.begin(), flags.end());
    auto server = SerialdProcess::Start(all);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = testing::RawStub(server_->address());
  }

  // A DeserializeStream of the tensor, spilled; checks that all of its data comes back.
  void DeserializeSpilled() {
    grpc::ClientContext context;
    context.set_deadline(testing::DeadlineIn(absl::Seconds(120)));
    auto stream = stub_->DeserializeStream(&context);
    v1::DeserializeStreamRequest request;
    request.mutable_options()->set_input_size(input_.size());
    ASSERT_TRUE(stream->Write(request));
    for (size_t at = 0; at < input_.size(); at += kChunkBytes) {
      request.mutable_chunk()->set_data(input_.substr(at, kChunkBytes));
      ASSERT_TRUE(stream->Write(request));
    }
    ASSERT_TRUE(stream->WritesDone());
    v1::DeserializeStreamResponse response;
    uint64_t array_bytes = 0;
    while (stream->Read(&response)) {
      if (response.has_array_chunk()) array_bytes += response.array_chunk().data().size();
    }
    const grpc::Status status = stream->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(array_bytes, 4 * kElements);
  }

  // A call that stays open until released, so that the server is never idle meanwhile: a Torch7
  // conversion whose first bytes cannot decide its layout, so it waits for more.
  std::unique_ptr<HeldStream> HoldACall() {
    return std::make_unique<HeldStream>(*stub_, small_, testing::ConvertTo(v1::FORMAT_T7), 16);
  }

  testing::ScratchDir dir_;
  const std::string input_ = testing::FloatTensorStream(kElements);
  const std::string small_ = testing::FloatTensorStream(16);
  std::unique_ptr<SerialdProcess> server_;
  std::unique_ptr<v1::Serializer::Stub> stub_;
};

TEST_F(SpillE2eTest, ASpilledCallsFileIsWrittenOverByTheNextAndClosedWhenTheServerIsIdle) {
  ASSERT_NO_FATAL_FAILURE(StartServer({"--spill-keep", "64MiB"}));
  std::unique_ptr<HeldStream> held = HoldACall();

  ASSERT_NO_FATAL_FAILURE(DeserializeSpilled());
  const std::vector<std::string> kept = AwaitSpillFiles(server_->pid(), dir_.path(), 1);
  ASSERT_EQ(kept.size(), 1u) << "the call's spill file, kept";
  ASSERT_NO_FATAL_FAILURE(DeserializeSpilled());
  EXPECT_EQ(AwaitSpillFiles(server_->pid(), dir_.path(), 1), kept) << "the same file again";

  ASSERT_TRUE(held->Release(kChunkBytes, absl::ZeroDuration()));
  ASSERT_TRUE(held->WaitUntilDone(absl::Seconds(60)));
  EXPECT_TRUE(held->status().ok()) << held->status().error_message();
  EXPECT_TRUE(held->output() == small_);
  // Idle for a second, the server closes it.
  EXPECT_TRUE(AwaitSpillFiles(server_->pid(), dir_.path(), 0).empty());
  EXPECT_EQ(server_->Stop(), 0);
}

TEST_F(SpillE2eTest, NoFileIsKeptWithSpillKeepZero) {
  ASSERT_NO_FATAL_FAILURE(StartServer({"--spill-keep", "0"}));
  std::unique_ptr<HeldStream> held = HoldACall();
  ASSERT_NO_FATAL_FAILURE(DeserializeSpilled());
  EXPECT_TRUE(AwaitSpillFiles(server_->pid(), dir_.path(), 0).empty());
  // The wait above found none at once, or saw the call's file go: still none after a while.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(SpillFilesOf(server_->pid(), dir_.path()).empty());
  ASSERT_TRUE(held->Release(kChunkBytes, absl::ZeroDuration()));
  ASSERT_TRUE(held->WaitUntilDone(absl::Seconds(60)));
  EXPECT_EQ(server_->Stop(), 0);
}

// Without --spill-keep, the bound is an eighth of --max-spill-bytes (here 2 MiB of 16): the 8 MiB
// call's file is kept, cut to 2 MiB.
TEST_F(SpillE2eTest, ByDefaultAnEighthOfTheSpillBudgetIsKept) {
  ASSERT_NO_FATAL_FAILURE(StartServer({"--max-spill-bytes", "16MiB"}));
  std::unique_ptr<HeldStream> held = HoldACall();
  ASSERT_NO_FATAL_FAILURE(DeserializeSpilled());
  ASSERT_EQ(AwaitSpillFiles(server_->pid(), dir_.path(), 1).size(), 1u);
  const std::vector<SpillDescriptor> kept = SpillDescriptorsOf(server_->pid(), dir_.path());
  ASSERT_EQ(kept.size(), 1u);
  struct stat info;
  ASSERT_EQ(::stat(kept[0].path.c_str(), &info), 0) << kept[0].path;
  EXPECT_EQ(info.st_size, 2 << 20);
  ASSERT_TRUE(held->Release(kChunkBytes, absl::ZeroDuration()));
  ASSERT_TRUE(held->WaitUntilDone(absl::Seconds(60)));
  EXPECT_EQ(server_->Stop(), 0);
}

}  // namespace
}  // namespace seriald
