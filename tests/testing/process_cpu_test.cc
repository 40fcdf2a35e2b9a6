// WorkOf and OwnWork (tests/testing/process_cpu.h): processor time and minor page faults read
// from /proc/<pid>/stat, also when the command name holds spaces and parentheses, agreeing with
// getrusage; a process that is gone is NOT_FOUND.
#include "tests/testing/process_cpu.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "gtest/gtest.h"

namespace seriald::testing {
namespace {

TEST(ProcessCpuTest, CountsFaultsAndTimeWhateverTheCommandName) {
  // /proc/<pid>/stat shows the name in parentheses: fields are counted after the last ')'.
  char name[16] = {};
  ASSERT_EQ(prctl(PR_GET_NAME, name), 0);
  ASSERT_EQ(prctl(PR_SET_NAME, "a) (b c) 1 2"), 0);

  absl::StatusOr<ProcessWork> before = WorkOf(getpid());
  ASSERT_TRUE(before.ok()) << before.status();
  // 16 MiB of memory new to the process, in 4 KiB pages: at least 4096 minor faults.
  constexpr size_t kBytes = size_t{16} << 20;
  void* memory = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  madvise(memory, kBytes, MADV_NOHUGEPAGE);
  std::memset(memory, 1, kBytes);
  munmap(memory, kBytes);
  // Processor time, in clock ticks: spin until getrusage has counted 0.2 s more.
  const double own_start = OwnWork().cpu_seconds;
  volatile uint64_t spin = 0;
  while (OwnWork().cpu_seconds - own_start < 0.2) spin = spin + 1;
  absl::StatusOr<ProcessWork> after = WorkOf(getpid());
  prctl(PR_SET_NAME, name);
  ASSERT_TRUE(after.ok()) << after.status();

  EXPECT_GE(after->minor_faults - before->minor_faults, 4096u);
  // Ticks are 10 ms: 0.2 s of spinning shows as at least 0.1 s.
  EXPECT_GE(after->cpu_seconds - before->cpu_seconds, 0.1);
  // The same process read through getrusage: the counts agree (faults only grow).
  const ProcessWork own = OwnWork();
  EXPECT_GE(own.minor_faults, after->minor_faults);
  EXPECT_LT(own.minor_faults - after->minor_faults, 1000u);
  EXPECT_NEAR(own.cpu_seconds, after->cpu_seconds, 0.1);
}

TEST(ProcessCpuTest, AProcessThatIsGoneIsNotFound) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  absl::StatusOr<ProcessWork> work = WorkOf(child);
  ASSERT_FALSE(work.ok());
  EXPECT_EQ(work.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(work.status().message().find(std::to_string(child) + "/stat"), std::string::npos)
      << work.status();
}

}  // namespace
}  // namespace seriald::testing
