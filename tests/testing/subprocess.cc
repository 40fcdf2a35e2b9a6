#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

namespace seriald::testing {
namespace {

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(const std::vector<std::string>& argv,
                                                              const std::string& stdin_data,
                                                              const std::string& stderr_path) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  if (!stderr_path.empty()) {
    int file = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (file < 0) {
      return absl::InternalError(absl::StrCat(stderr_path, ": ", std::strerror(errno)));
    }
    // The child writes to the file; the stderr pipe is not needed.
    close(err[1]);
    close(err[0]);
    err[1] = file;
    err[0] = -1;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    // Children must not inherit a blocked signal mask from the test.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Feed stdin from a thread so a child that writes a lot before reading cannot deadlock us.
  std::thread([fd = in[1], data = stdin_data] {
    signal(SIGPIPE, SIG_IGN);
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = write(fd, data.data() + done, data.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fd);
  }).detach();

  std::unique_ptr<Subprocess> child(new Subprocess());
  child->pid_ = pid;
  child->stdout_fd_ = out[0];
  child->stderr_fd_ = err[0];
  return child;
}

Subprocess::~Subprocess() {
  if (!exit_code_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

bool Subprocess::Pump(absl::Duration timeout) {
  pollfd fds[2];
  int count = 0;
  if (stdout_fd_ >= 0) fds[count++] = {stdout_fd_, POLLIN, 0};
  if (stderr_fd_ >= 0) fds[count++] = {stderr_fd_, POLLIN, 0};
  if (count == 0) return false;
  int ready = poll(fds, count, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (ready <= 0) return true;
  for (int i = 0; i < count; ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char chunk[65536];
    ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
    bool is_out = fds[i].fd == stdout_fd_;
    if (n <= 0) {
      close(fds[i].fd);
      (is_out ? stdout_fd_ : stderr_fd_) = -1;
    } else {
      (is_out ? stdout_ : stderr_).append(chunk, static_cast<size_t>(n));
    }
  }
  return true;
}

std::optional<std::string> Subprocess::WaitForStdoutLine(const std::string& needle,
                                                         absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    size_t newline;
    while ((newline = stdout_.find('\n', stdout_scanned_)) != std::string::npos) {
      std::string line = stdout_.substr(stdout_scanned_, newline - stdout_scanned_);
      stdout_scanned_ = newline + 1;
      if (line.find(needle) != std::string::npos) return line;
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration() || !Pump(std::min(left, absl::Milliseconds(100)))) {
      return std::nullopt;
    }
  }
}

void Subprocess::ReadAvailableOutput(absl::Duration timeout) {
  Pump(timeout);
  // Then everything already waiting in the pipes.
  while (true) {
    size_t before = stdout_.size() + stderr_.size();
    if (!Pump(absl::ZeroDuration()) || stdout_.size() + stderr_.size() == before) break;
  }
}

void Subprocess::Signal(int signal) {
  if (!exit_code_) kill(pid_, signal);
}

std::optional<int> Subprocess::Wait(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!exit_code_) {
    Pump(absl::Milliseconds(20));
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = ExitCodeOf(status);
      while (Pump(absl::Milliseconds(50)) && (stdout_fd_ >= 0 || stderr_fd_ >= 0)) {
      }
      break;
    }
    if (absl::Now() > deadline) return std::nullopt;
  }
  return exit_code_;
}

RunResult RunProgram(const std::vector<std::string>& argv, const std::string& stdin_data,
                     absl::Duration timeout) {
  RunResult result;
  auto child = Subprocess::Start(argv, stdin_data);
  if (!child.ok()) {
    result.err = std::string(child.status().message());
    return result;
  }
  std::optional<int> code = (*child)->Wait(timeout);
  result.exit_code = code.value_or(-1);
  result.out = (*child)->stdout_text();
  result.err = (*child)->stderr_text();
  return result;
}

}  // namespace seriald::testing
