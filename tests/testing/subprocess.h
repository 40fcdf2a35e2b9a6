// File: tests/testing/subprocess.h
//
// Running real programs from tests: Subprocess starts a child with pipes on stdin, stdout and
// stderr, lets a test wait for a line of output (readiness) without sleeping for fixed times,
// send signals, and collect the exit status. RunProgram is the one-shot form.
//
// Example:
//
//   auto server = Subprocess::Start({SERIALD_BINARY_DIR "/bin/seriald", "--listen",
//   "127.0.0.1:0"}); std::optional<std::string> line = server->WaitForStdoutLine("listening on",
//   absl::Seconds(10)); server->Signal(SIGTERM); std::optional<int> status =
//   server->Wait(absl::Seconds(10));   // exit code, 128+n for signals
//
//   RunResult r = RunProgram({serialctl, "convert", "--to", "json", "in.t7", "-"});
//   EXPECT_EQ(r.exit_code, 0);
#ifndef SERIALD_TESTS_TESTING_SUBPROCESS_H_
#define SERIALD_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace seriald::testing {

class Subprocess {
 public:
  // Starts `argv[0]` with arguments; `stdin_data` is written to its stdin, which is then closed.
  // With `stderr_path`, the child's standard error goes to that file (created or truncated)
  // instead of a pipe, and stderr_text() stays empty: for long-running servers whose log is read
  // only now and then, which a full pipe would otherwise block.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv,
                                                           const std::string& stdin_data = "",
                                                           const std::string& stderr_path = "");
  ~Subprocess();  // kills the child if it is still running

  pid_t pid() const { return pid_; }

  // Waits until a line of stdout contains `needle` and returns that line, or nullopt after
  // `timeout` or at end of output. Lines read are kept in stdout_text().
  std::optional<std::string> WaitForStdoutLine(const std::string& needle, absl::Duration timeout);

  void Signal(int signal);

  // Reads whatever output the child has produced so far (into stdout_text() / stderr_text()),
  // waiting at most `timeout` for some to arrive.
  void ReadAvailableOutput(absl::Duration timeout = absl::ZeroDuration());

  // Waits for the child to exit, reading the rest of its output. Returns the exit code (128 + n
  // when killed by signal n), or nullopt on timeout (the child is then left running).
  std::optional<int> Wait(absl::Duration timeout);

  const std::string& stdout_text() const { return stdout_; }
  const std::string& stderr_text() const { return stderr_; }

 private:
  Subprocess() = default;
  // Reads whatever is available on the pipes within `timeout`; false when both are closed.
  bool Pump(absl::Duration timeout);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string stdout_;
  std::string stderr_;
  size_t stdout_scanned_ = 0;
  std::optional<int> exit_code_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a program to completion (fails the calling test via the exit code -1 on timeout).
RunResult RunProgram(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                     absl::Duration timeout = absl::Seconds(120));

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_TESTING_SUBPROCESS_H_
