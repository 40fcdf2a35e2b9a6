// soak: a bounded mixed load on a real seriald over loopback, for a given time, watching the
// server's memory, descriptors and threads. It answers "does the server stay right and flat under
// hostile load that lasts?", never "how fast is it" (service_benchmark measures speed).
//
// Starts bin/seriald on 127.0.0.1:0 (flags added with --seriald-flag), or loads a running one
// (--server HOST:PORT; its pid is found from the listening port, or given with --server-pid), and
// runs these workers at once:
//
//   small     Convert (to the input's own format), Deserialize (Value and plain-data views),
//             Serialize (the Value read, back to its format) and Inspect of small inputs: the
//             generated Torch7 corpus (binary and ascii) and R streams (R 4.2.2's bytes, and
//             streams the server writes from plain data at start-up, in every R encoding and
//             gzip). Client threads sharing a few channels, their number cycling through
//             --small-concurrency in phases of --phase-seconds. Every answer is checked: Convert
//             and Serialize give the input's bytes, the others the answer taken at start-up.
//   stream    --stream-clients loops of --stream-mib MiB torch.FloatTensor streams: ConvertStream
//             t7 -> t7 (the same bytes), t7 -> t7 big-endian (the big-endian bytes), and
//             DeserializeStream (the header, then the data at the right offsets).
//   malformed truncated Torch7 and R inputs, random bytes, truncated tensor streams, and the
//             amplifying inputs of tests/testing/amplification_inputs.h: each must end in
//             INVALID_ARGUMENT or RESOURCE_EXHAUSTED.
//   cancel    a large stream cancelled (TryCancel) after part of the upload, or part of the
//             download: must end CANCELLED (or OK if the server finished first, when
//             downloading).
//   deadline  a large stream with a deadline of 2 ms to 1 s: must end DEADLINE_EXCEEDED (or OK
//             when it finishes in time).
//
// A valid call (small, stream) that does not succeed with the right answer is a failed valid
// call, except RESOURCE_EXHAUSTED from an admission limit the server was configured with
// (ErrorInfo.limit max-inflight-bytes or max-concurrent-calls), which is counted as refused.
//
// The server's RSS (VmRSS), open descriptors (/proc/PID/fd) and threads are sampled every second.
// The run is: start sample, --warmup seconds of load, all clients stop, --settle seconds and until
// the server uses no CPU (calls the clients gave up on may still run), the "after warm-up"
// sample, then the rest of --duration under load, stopping every --checkpoint-seconds for an idle
// sample the same way; the last one is the "end" sample. The clients disconnect for each idle
// sample and reconnect after it. The reference samples are all taken idle, with no connection,
// so they compare.
//
// Exit status 1 when a valid call failed, a malformed, cancelled or deadline call ended in any
// other status than those above, the server died or did not stop cleanly on SIGTERM; and, with
// --check-leaks, when at the end the server has more than kFdMargin descriptors or ThreadMargin()
// threads more than after warm-up, or an RSS above the bound RssBound() states. Exit status 2 for
// a usage or start-up error.
//
//   soak [--duration 60] [--warmup 10] [--stream-mib 100] [--small-concurrency 1,8,32]
//        [--seriald-flag='--max-inflight-bytes 1GiB'] [--server HOST:PORT]
//        [--report soak.json] [--check-leaks]
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "nlohmann/json.hpp"
#include "seriald/v1/serializer.grpc.pb.h"
#include "tests/server/testing/service_e2e.h"
#include "tests/testing/amplification_inputs.h"
#include "tests/testing/process_memory.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald::soak {
namespace {

using ::seriald::testing::ErrorInfoOf;
using ::seriald::testing::HexBytes;
using ::seriald::testing::Subprocess;
using Stub = v1::Serializer::Stub;

// Leak thresholds of --check-leaks, end (idle) against after warm-up (idle). A leak per call
// grows with the thousands of calls of a run, far past these. Descriptors: the idle samples are
// taken with no client connected (each load period opens its connections anew), so the count
// should be the same every time; 4 allows for a connection the server has not closed yet. Threads:
// gRPC's pools grow with load and stay, up to a bound (its executor 2 threads per CPU, its timer
// pool and the sync server's pollers a few more: from 12 idle at start to 18 on 2 CPUs), and a
// short warm-up may not have grown them all: 4, plus 2 per CPU.
constexpr int kFdMargin = 4;
int ThreadMargin() { return 4 + 2 * static_cast<int>(std::thread::hardware_concurrency()); }
// RSS: see RssBound().
constexpr double kRssGrowth = 1.25;
constexpr uint64_t kRssSlack = uint64_t{32} << 20;

// The most RSS an idle server may hold at the end: kRssGrowth x its idle RSS after warm-up, or the
// peak it reached during the warm-up (VmHWM), whichever is more, + kRssSlack. glibc's malloc
// keeps memory that calls gave back (an arena per busy thread, buffers under its mmap
// threshold), so after concurrent load an idle server's RSS sits anywhere between what it holds
// and what its busiest moment needed: 100 to 300 MiB after 24 MiB streams, where one client's
// streams in a row leave 40 to 70 MiB; and a short warm-up (ctest's 5 s on a busy machine) may end
// below that plateau. Memory kept from calls the server has finished is not a leak; holding,
// idle, more than the warm-up ever needed while working (and 25% more than it held idle then) is.
// A leak of a part of each stream passes that bound within seconds; a leak of a little per small
// call needs the 10-minute run, whose idle samples every --checkpoint-seconds show a trend.
uint64_t RssBound(uint64_t warm_rss, uint64_t warm_peak) {
  return std::max(static_cast<uint64_t>(kRssGrowth * static_cast<double>(warm_rss)), warm_peak) +
         kRssSlack;
}

// Admission limits: a valid call refused by one of these was refused by the server's
// configuration, not failed.
const char* const kAdmissionLimits[] = {"max-inflight-bytes", "max-concurrent-calls"};

constexpr size_t kChunkBytes = size_t{1} << 20;
// The small calls' client threads share this many channels (connections), in turn.
constexpr int kSmallCallChannels = 4;
constexpr absl::Duration kSmallCallDeadline = absl::Seconds(60);
constexpr absl::Duration kStreamDeadline = absl::Seconds(600);

struct Options {
  double duration = 60;
  double warmup = 10;
  double settle = 2;
  double phase_seconds = 5;
  double checkpoint_seconds = 60;
  std::string server;
  int server_pid = 0;
  std::string seriald = SERIALD_BINARY_DIR "/bin/seriald";
  std::vector<std::string> seriald_flags;
  std::string server_log = "/dev/null";
  uint64_t stream_mib = 100;
  int stream_clients = 2;
  std::vector<int> small_concurrency = {1, 8, 32};
  std::string corpus = SERIALD_SHARED_DIR "/corpus/torch7/generated";
  std::string report;
  bool check_leaks = false;
  uint64_t seed = 1;
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK:
      return "OK";
    case grpc::CANCELLED:
      return "CANCELLED";
    case grpc::UNKNOWN:
      return "UNKNOWN";
    case grpc::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::ABORTED:
      return "ABORTED";
    case grpc::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::INTERNAL:
      return "INTERNAL";
    case grpc::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::DATA_LOSS:
      return "DATA_LOSS";
    default:
      return absl::StrCat("code ", static_cast<int>(code));
  }
}

// "RESOURCE_EXHAUSTED max-inflight-bytes", "INVALID_ARGUMENT", "OK".
std::string OutcomeOf(const grpc::Status& status) {
  std::string name = CodeName(status.error_code());
  if (status.error_code() == grpc::RESOURCE_EXHAUSTED) {
    std::optional<v1::ErrorInfo> info = ErrorInfoOf(status);
    absl::StrAppend(&name, " ",
                    !info                   ? "(no ErrorInfo)"
                    : info->limit().empty() ? "(ErrorInfo.limit empty)"
                                            : info->limit());
  }
  return name;
}

bool RefusedByAdmission(const grpc::Status& status) {
  if (status.error_code() != grpc::RESOURCE_EXHAUSTED) return false;
  std::optional<v1::ErrorInfo> info = ErrorInfoOf(status);
  if (!info) return false;
  for (const char* limit : kAdmissionLimits) {
    if (info->limit() == limit) return true;
  }
  return false;
}

// A message's bytes with map entries in key order, so equal messages compare equal.
std::string Canonical(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

// ---------------------------------------------------------------------------------------------
// What happened: per kind of call, how many ended how.

enum class Category { kValid, kMalformed, kCancel, kDeadline };

const char* CategoryName(Category category) {
  switch (category) {
    case Category::kValid:
      return "valid";
    case Category::kMalformed:
      return "malformed";
    case Category::kCancel:
      return "cancel";
    case Category::kDeadline:
      return "deadline";
  }
  return "";
}

class Tally {
 public:
  enum class Verdict { kAsExpected, kRefused, kFailed };

  // One call of `kind` ended as `outcome`. A failure's `detail` is kept (the first few) for the
  // report.
  void Count(Category category, const std::string& kind, const std::string& outcome,
             Verdict verdict, const std::string& detail = "") {
    std::lock_guard<std::mutex> lock(mutex_);
    Row& row = rows_[{category, kind}];
    if (++row.outcomes[outcome] == 1 && !detail.empty()) row.examples[outcome] = detail;
    ++row.calls;
    if (verdict == Verdict::kRefused) ++row.refused;
    if (verdict == Verdict::kFailed) {
      ++row.failed;
      if (failures_.size() < kFailuresKept) {
        failures_.push_back(absl::StrCat(CategoryName(category), " ", kind, ": ", outcome,
                                         detail.empty() ? "" : ": ", detail));
        std::cerr << "soak: FAILED " << failures_.back() << std::endl;
      }
    }
  }

  struct Row {
    uint64_t calls = 0;
    uint64_t failed = 0;
    uint64_t refused = 0;
    std::map<std::string, uint64_t> outcomes;
    std::map<std::string, std::string> examples;  // the detail of each outcome's first call
  };

  std::map<std::pair<Category, std::string>, Row> rows() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return rows_;
  }
  std::vector<std::string> failures() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failures_;
  }
  uint64_t Sum(Category category, uint64_t Row::*field) const {
    std::lock_guard<std::mutex> lock(mutex_);
    uint64_t sum = 0;
    for (const auto& [key, row] : rows_) {
      if (key.first == category) sum += row.*field;
    }
    return sum;
  }

 private:
  static constexpr size_t kFailuresKept = 50;
  mutable std::mutex mutex_;
  std::map<std::pair<Category, std::string>, Row> rows_;
  std::vector<std::string> failures_;
};

// Small calls per concurrency level: how many, and their latencies.
class LevelStats {
 public:
  void Add(int threads, std::vector<double>& latencies_ms, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    Level& level = levels_[threads];
    level.latencies_ms.insert(level.latencies_ms.end(), latencies_ms.begin(), latencies_ms.end());
    level.seconds += seconds;
  }
  struct Level {
    std::vector<double> latencies_ms;
    double seconds = 0;  // time spent at this level
  };
  std::map<int, Level> levels() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return levels_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<int, Level> levels_;
};

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

// ---------------------------------------------------------------------------------------------
// The server: a process of ours, or one already running, and its resources from /proc.

struct Sample {
  double t = 0;  // seconds since the first sample
  std::string phase;
  uint64_t rss = 0;
  int fds = -1;
  int threads = -1;
};

// The trend of RSS over time through `samples`, in MiB per minute: the median of the slopes
// between every two samples (Theil-Sen), which one outlying sample does not move.
double RssSlope(const std::vector<Sample>& samples) {
  std::vector<double> slopes;
  for (size_t i = 0; i < samples.size(); ++i) {
    for (size_t j = i + 1; j < samples.size(); ++j) {
      if (samples[j].t <= samples[i].t) continue;
      slopes.push_back((static_cast<double>(samples[j].rss) - static_cast<double>(samples[i].rss)) /
                       (samples[j].t - samples[i].t) * 60 / (1 << 20));
    }
  }
  if (slopes.empty()) return 0;
  std::sort(slopes.begin(), slopes.end());
  return slopes.size() % 2 == 1 ? slopes[slopes.size() / 2]
                                : (slopes[slopes.size() / 2 - 1] + slopes[slopes.size() / 2]) / 2;
}

std::optional<Sample> SampleProcess(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  if (!status) return std::nullopt;
  Sample sample;
  std::string line;
  bool running = false;
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    if (name == "VmRSS:") {
      fields >> sample.rss;
      sample.rss *= 1024;
    } else if (name == "Threads:") {
      fields >> sample.threads;
    } else if (name == "State:") {
      std::string state;
      fields >> state;
      running = state != "Z" && state != "X";
    }
  }
  if (!running || sample.threads < 0) return std::nullopt;
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir != nullptr) {
    sample.fds = 0;
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++sample.fds;
    }
    closedir(dir);
  }
  return sample;
}

// The CPU time `pid` has used, in clock ticks (utime + stime of /proc/PID/stat); nullopt when gone.
std::optional<uint64_t> CpuTicks(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // The fields after the command name (which may hold spaces) in parentheses.
  size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<std::string> fields = absl::StrSplit(text.substr(close + 2), ' ');
  uint64_t user = 0, system = 0;
  // state is field 3 of the line, utime 14 and stime 15: here 0, 11 and 12.
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &user) ||
      !absl::SimpleAtoi(fields[12], &system)) {
    return std::nullopt;
  }
  return user + system;
}

// Waits `settle` seconds, then until `pid` is idle: calls a client gave up on (a cancel, a
// deadline) may still be running in the server for a while. Idle: under 20 ms of CPU in 500 ms.
// Gives up 30 s after `settle`. Returns the seconds waited.
double WaitUntilIdle(pid_t pid, double settle) {
  const auto start = std::chrono::steady_clock::now();
  absl::SleepFor(absl::Seconds(settle));
  if (pid <= 0) return SecondsSince(start);
  const uint64_t ticks_per_20ms = std::max<uint64_t>(1, sysconf(_SC_CLK_TCK) / 50);
  std::optional<uint64_t> before = CpuTicks(pid);
  while (before && SecondsSince(start) < settle + 30) {
    absl::SleepFor(absl::Milliseconds(500));  // a window of the server's CPU use
    std::optional<uint64_t> after = CpuTicks(pid);
    if (!after || *after - *before < ticks_per_20ms) break;
    before = after;
  }
  return SecondsSince(start);
}

// The process listening on 127.0.0.1:`port` (or [::]:port), from /proc/net/tcp{,6} and the
// socket inodes in /proc/*/fd; 0 when not found (another user's process, another namespace).
pid_t FindListeningPid(int port) {
  std::vector<std::string> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream file(table);
    std::string line;
    std::getline(file, line);  // the column names
    while (std::getline(file, line)) {
      std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.size() < 10 || fields[3] != "0A") continue;  // 0A: LISTEN
      size_t colon = fields[1].rfind(':');
      int local_port = 0;
      if (colon == std::string::npos) continue;
      local_port = static_cast<int>(std::strtol(fields[1].c_str() + colon + 1, nullptr, 16));
      if (local_port == port) inodes.push_back(absl::StrCat("socket:[", fields[9], "]"));
    }
  }
  if (inodes.empty()) return 0;
  std::error_code error;
  for (const auto& process : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = process.path().filename();
    pid_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid)) continue;
    std::error_code fd_error;
    for (const auto& fd : std::filesystem::directory_iterator(process.path() / "fd", fd_error)) {
      std::error_code link_error;
      std::string target = std::filesystem::read_symlink(fd.path(), link_error);
      if (!link_error && std::find(inodes.begin(), inodes.end(), target) != inodes.end()) {
        return pid;
      }
    }
  }
  return 0;
}

// Samples the server every second (and when asked) from a thread of its own.
class Sampler {
 public:
  explicit Sampler(pid_t pid) : pid_(pid), start_(std::chrono::steady_clock::now()) {
    if (pid_ > 0) thread_ = std::thread([this] { Run(); });
  }
  ~Sampler() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void SetPhase(const std::string& phase) {
    std::lock_guard<std::mutex> lock(mutex_);
    phase_ = phase;
  }

  // A sample now, kept in the series; nullopt when the server is gone (or unknown).
  std::optional<Sample> Take() {
    if (pid_ <= 0) return std::nullopt;
    std::optional<Sample> sample = SampleProcess(pid_);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!sample) {
      server_gone_ = true;
      return std::nullopt;
    }
    sample->t = SecondsSince(start_);
    sample->phase = phase_;
    samples_.push_back(*sample);
    return sample;
  }

  bool server_gone() {
    std::lock_guard<std::mutex> lock(mutex_);
    return server_gone_;
  }
  std::vector<Sample> samples() {
    std::lock_guard<std::mutex> lock(mutex_);
    return samples_;
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      Take();
      lock.lock();
      wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    }
  }

  const pid_t pid_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool server_gone_ = false;
  std::string phase_ = "start";
  std::vector<Sample> samples_;
  std::thread thread_;
};

// A seriald of our own, its log in `log_path`.
class OwnServer {
 public:
  static std::unique_ptr<OwnServer> Start(const Options& options) {
    std::vector<std::string> argv = {options.seriald, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), options.seriald_flags.begin(), options.seriald_flags.end());
    auto process = Subprocess::Start(argv, "", options.server_log);
    if (!process.ok()) {
      std::cerr << "soak: cannot start " << options.seriald << ": " << process.status() << "\n";
      return nullptr;
    }
    std::optional<std::string> line =
        (*process)->WaitForStdoutLine("listening on", absl::Seconds(60));
    if (!line) {
      std::cerr << "soak: " << options.seriald << " did not start: " << (*process)->stdout_text()
                << "\n";
      return nullptr;
    }
    std::unique_ptr<OwnServer> server(new OwnServer());
    server->process_ = *std::move(process);
    std::vector<std::string> words = absl::StrSplit(*line, ' ');
    for (size_t i = 0; i + 2 < words.size(); ++i) {
      if (words[i] == "listening" && words[i + 1] == "on") server->address_ = words[i + 2];
    }
    return server;
  }

  const std::string& address() const { return address_; }
  pid_t pid() const { return process_->pid(); }

  // SIGTERM, then the exit code (nullopt when it does not exit within a minute).
  std::optional<int> Stop() {
    process_->Signal(SIGTERM);
    return process_->Wait(absl::Seconds(60));
  }

 private:
  OwnServer() = default;
  std::unique_ptr<Subprocess> process_;
  std::string address_;
};

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  auto channel = testing::RawChannel(address);
  channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return channel;
}

// ---------------------------------------------------------------------------------------------
// Inputs.

// A small valid input and the answers it must get.
struct SmallInput {
  std::string name;
  std::string family;  // "t7" or "R": names the kinds of call
  std::string bytes;
  v1::Format format = v1::FORMAT_UNSPECIFIED;  // as the server reads it
  std::string deserialized;                    // Canonical() of the DeserializeResponse
  std::string deserialized_data;               // ... with VIEW_DATA
  std::string inspected;                       // Canonical() of the InspectResponse
  v1::SerializeRequest serialize;              // the Value read, to be written in `format`
  std::string serialized;                      // what Serialize gives: `bytes` unless noted
  // Where the input may be cut to make a malformed one (empty: never). A stream of several
  // objects cut between two is a valid stream of fewer, and a text stream cut inside a number
  // another valid one ("3\n16", a table numbered 16, cut to "3\n1" refers back to table 1), so only
  // streams of one object are cut, and text streams only between tokens.
  std::vector<size_t> cuts;
  // Torch7 binary: the long size it was read with. A binary stream cut short can be another valid
  // stream with the other long size (HalfStorage {1.5, -2.25, 3} without its last 4 bytes is
  // {0, 0, 1.5} with 4-byte longs), so truncated inputs are read with this one.
  uint32_t torch7_long_size = 0;
};

// R 4.2.2's own bytes (tests/server/service_refhook_e2e_test.cc).
struct RStream {
  const char* name;
  const char* hex;
};
const RStream kRStreams[] = {
    {"serialize(list(k = 42))",
     "580a000000030004020200030500000000055554462d3800000213000000010000000e0000000140450000000000"
     "00000004020000000100040009000000056e616d6573000000100000000100040009000000016b000000fe"},
    {"serialize(list(a = 1, e = list(k = 42)))",
     "580a000000030004020200030500000000055554462d3800000213000000020000000e000000013ff00000000000"
     "0000000213000000010000000e000000014045000000000000000004020000000100040009000000056e616d6573"
     "000000100000000100040009000000016b000000fe00000402000001ff0000001000000002000400090000000161"
     "000400090000000165000000fe"},
    {"serialize(list(a = 1, e = new.env()))",
     "580a000000030004020200030500000000055554462d3800000213000000020000000e000000013ff00000000000"
     "000000000400000000000000fd000000fe000000130000001d000000fe000000fe000000fe000000fe000000fe00"
     "0000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000"
     "fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe00"
     "0000fe000000fe000004020000000100040009000000056e616d6573000000100000000200040009000000016100"
     "0400090000000165000000fe"},
    {"serialize(list(a = 1, e = e), refhook = h)",
     "580a000000030004020200030500000000055554462d3800000213000000020000000e000000013ff00000000000"
     "00000000f7000000000000000100040009000000056d79656e760000040200000001000400090000000"
     "56e616d65730000001000000002000400090000000161000400090000000165000000fe"},
};

// data.frame(x = c(1.5, -2.25, NA), n = 1:3, s = c("a", "b", NA), f = factor(c("lo", "hi",
// "lo"))) and a 3 x 2 double matrix, as plain data.
v1::Data SampleData(bool matrix) {
  v1::Data data;
  auto array = [&](v1::ElementType type, std::vector<int64_t> shape, std::string bytes) {
    v1::DataItem* item = data.add_items();
    v1::NdArray* a = item->mutable_array();
    a->set_dtype(type);
    int64_t stride = 1, count = 1;
    for (int64_t size : shape) {
      a->add_shape(size);
      a->add_strides(stride);
      stride *= size;
      count *= size;
    }
    a->set_length(static_cast<uint64_t>(count));
    a->set_data(std::move(bytes));
    return static_cast<uint32_t>(data.items_size() - 1);
  };
  auto raw = [](const auto& values) {
    return std::string(reinterpret_cast<const char*>(values.data()),
                       values.size() * sizeof(values[0]));
  };
  if (matrix) {
    std::vector<double> values = {1, 2, 3, 4.5, 5.5, -6};
    data.add_roots(array(v1::ELEMENT_TYPE_FLOAT64, {3, 2}, raw(values)));
    return data;
  }
  data.add_items();  // the data frame, filled below
  double na;
  uint64_t na_bits = 0x7FF00000000007A2;
  std::memcpy(&na, &na_bits, sizeof na);
  std::vector<double> x = {1.5, -2.25, na};
  std::vector<int32_t> n = {1, 2, 3};
  std::vector<int32_t> codes = {2, 1, 2};
  uint32_t xs = array(v1::ELEMENT_TYPE_FLOAT64, {3}, raw(x));
  data.mutable_items(static_cast<int>(xs))->mutable_array()->set_na_present(true);
  uint32_t ns = array(v1::ELEMENT_TYPE_INT32, {3}, raw(n));
  v1::DataItem* s = data.add_items();
  s->mutable_strings()->add_values("a");
  s->mutable_strings()->add_values("b");
  s->mutable_strings()->add_values("");
  s->mutable_strings()->add_na(2);
  uint32_t ss = static_cast<uint32_t>(data.items_size() - 1);
  uint32_t code_item = array(v1::ELEMENT_TYPE_INT32, {3}, raw(codes));
  v1::DataItem* levels = data.add_items();
  levels->mutable_strings()->add_values("hi");
  levels->mutable_strings()->add_values("lo");
  uint32_t level_item = static_cast<uint32_t>(data.items_size() - 1);
  v1::DataItem* f = data.add_items();
  f->mutable_factor()->set_codes(code_item);
  f->mutable_factor()->set_levels(level_item);
  uint32_t fs = static_cast<uint32_t>(data.items_size() - 1);
  v1::DataFrame* frame = data.mutable_items(0)->mutable_data_frame();
  for (const char* column : {"x", "n", "s", "f"}) frame->add_column_names(column);
  for (uint32_t column : {xs, ns, ss, fs}) frame->add_columns(column);
  frame->set_row_count(3);
  data.add_roots(0);
  return data;
}

// The lengths `bytes` may be cut to: any shorter for binary streams; for text, the ends of all
// tokens but the last.
std::vector<size_t> Cuts(const std::string& bytes, bool text) {
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  size_t end = bytes.size();
  if (text) {
    while (end > 0 && space(bytes[end - 1])) --end;
    while (end > 0 && !space(bytes[end - 1])) --end;
  }
  std::vector<size_t> cuts;
  for (size_t cut = 0; cut < end; ++cut) {
    if (!text || cut == 0 || space(bytes[cut - 1])) cuts.push_back(cut);
  }
  return cuts;
}

// Takes the answers `input` must get from the server now; false (and why in `why`) when it
// cannot be used: the server refuses it, or converting it to its own format does not give its
// bytes back.
bool Baseline(Stub& stub, SmallInput& input, std::string* why) {
  auto context = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(testing::DeadlineIn(kSmallCallDeadline));
    return c;
  };
  v1::DeserializeRequest deserialize;
  deserialize.set_data(input.bytes);
  v1::DeserializeResponse value;
  grpc::Status status = stub.Deserialize(context().get(), deserialize, &value);
  if (!status.ok()) {
    *why = absl::StrCat("Deserialize: ", OutcomeOf(status), ": ", status.error_message());
    return false;
  }
  input.format = value.format();
  const bool text = value.format() == v1::FORMAT_T7_ASCII ||
                    value.format() == v1::FORMAT_RDS_ASCII ||
                    value.format() == v1::FORMAT_RDS_ASCIIHEX;
  if (value.value().roots_size() == 1) input.cuts = Cuts(input.bytes, text);
  input.deserialized = Canonical(value);
  if (value.format() == v1::FORMAT_T7) {
    input.torch7_long_size = value.value().source().torch7().long_size();
  }
  deserialize.mutable_options()->set_view(v1::VIEW_DATA);
  v1::DeserializeResponse data;
  status = stub.Deserialize(context().get(), deserialize, &data);
  if (!status.ok()) {
    *why = absl::StrCat("Deserialize (data view): ", OutcomeOf(status));
    return false;
  }
  input.deserialized_data = Canonical(data);
  v1::ConvertRequest convert;
  convert.set_data(input.bytes);
  convert.mutable_output()->set_format(input.format);
  v1::ConvertResponse converted;
  status = stub.Convert(context().get(), convert, &converted);
  if (!status.ok() || converted.data() != input.bytes) {
    *why = status.ok() ? "Convert to its own format gives other bytes"
                       : absl::StrCat("Convert: ", OutcomeOf(status));
    return false;
  }
  v1::InspectRequest inspect;
  inspect.set_data(input.bytes);
  v1::InspectResponse inspected;
  status = stub.Inspect(context().get(), inspect, &inspected);
  if (!status.ok()) {
    *why = absl::StrCat("Inspect: ", OutcomeOf(status));
    return false;
  }
  input.inspected = Canonical(inspected);
  *input.serialize.mutable_value() = value.value();
  input.serialize.mutable_options()->set_format(input.format);
  v1::SerializeResponse serialized;
  status = stub.Serialize(context().get(), input.serialize, &serialized);
  if (!status.ok()) {
    *why = absl::StrCat("Serialize: ", OutcomeOf(status));
    return false;
  }
  // Serialize of the Value read writes the source's bytes again; should it not, the first answer
  // is the one every later call must give.
  input.serialized = serialized.data();
  if (input.serialized != input.bytes) *why = "Serialize of its Value gives other bytes";
  return true;
}

std::vector<SmallInput> LoadSmallInputs(Stub& stub, const Options& options) {
  std::vector<SmallInput> candidates;
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(options.corpus, error)) {
    const std::string name = entry.path().filename();
    if (absl::EndsWith(name, ".bin.t7") || absl::EndsWith(name, ".ascii.t7")) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const std::string& path : files) {
    SmallInput input;
    input.name = path.substr(path.rfind('/') + 1);
    input.family = "t7";
    input.bytes = ReadFileBytes(path);
    // Small inputs only: large corpus files would be a different load.
    if (!input.bytes.empty() && input.bytes.size() <= (size_t{1} << 20)) {
      candidates.push_back(std::move(input));
    }
  }
  for (const RStream& stream : kRStreams) {
    SmallInput input;
    input.name = stream.name;
    input.family = "R";
    input.bytes = HexBytes(stream.hex);
    candidates.push_back(std::move(input));
  }
  // R streams the server writes from plain data, in every encoding, and gzip.
  struct Written {
    const char* name;
    v1::Format format;
    int version;
    bool gzip;
  };
  const Written written[] = {
      {"xdr v3", v1::FORMAT_RDS, 3, false},
      {"xdr v2", v1::FORMAT_RDS, 2, false},
      {"native", v1::FORMAT_RDS_NATIVE, 3, false},
      {"ascii", v1::FORMAT_RDS_ASCII, 3, false},
      {"asciihex", v1::FORMAT_RDS_ASCIIHEX, 3, false},
      {"xdr v3 gzip", v1::FORMAT_RDS, 3, true},
  };
  for (bool matrix : {false, true}) {
    for (const Written& w : written) {
      v1::SerializeRequest request;
      *request.mutable_data() = SampleData(matrix);
      request.mutable_options()->set_format(w.format);
      request.mutable_options()->set_r_version(static_cast<uint32_t>(w.version));
      if (w.gzip) request.mutable_options()->set_r_compression(v1::R_COMPRESSION_GZIP);
      grpc::ClientContext context;
      context.set_deadline(testing::DeadlineIn(kSmallCallDeadline));
      v1::SerializeResponse response;
      grpc::Status status = stub.Serialize(&context, request, &response);
      const std::string name = absl::StrCat(matrix ? "matrix" : "data.frame", " (", w.name, ")");
      if (!status.ok()) {
        std::printf("  not used: R %s: Serialize from plain data: %s: %s\n", name.c_str(),
                    OutcomeOf(status).c_str(), status.error_message().c_str());
        continue;
      }
      SmallInput input;
      input.name = name;
      input.family = "R";
      input.bytes = response.data();
      candidates.push_back(std::move(input));
    }
  }
  std::vector<SmallInput> inputs;
  for (SmallInput& input : candidates) {
    std::string why;
    bool usable = Baseline(stub, input, &why);
    if (!why.empty()) {
      std::printf("  %s: %s %s\n", usable ? "note" : "not used", input.name.c_str(), why.c_str());
    }
    if (usable) inputs.push_back(std::move(input));
  }
  return inputs;
}

// The large stream: a torch.FloatTensor, little- and big-endian.
struct LargeInput {
  std::string little;
  std::string big;
  size_t header_bytes = 0;
};

// ---------------------------------------------------------------------------------------------
// Calls.

// When a stream call gives up on purpose.
struct StreamPlan {
  absl::Duration deadline = kStreamDeadline;
  // TryCancel before writing input chunk number `cancel_before_chunk` (counted from 0).
  int64_t cancel_before_chunk = -1;
  // TryCancel once this many bytes of output have arrived.
  int64_t cancel_after_output_bytes = -1;
};

struct StreamOutcome {
  grpc::Status status;
  bool right = true;       // every byte that came back was the expected one, in order
  uint64_t received = 0;   // bytes of output (ConvertStream) or of array data (DeserializeStream)
  bool complete = false;   // all the expected output came back
  bool cancelled = false;  // the plan's TryCancel was issued
};

// Writes `request` (the options), then `input` in chunks of kChunkBytes in the same request
// message, ending the stream; or cancels before the chunk the plan says.
template <typename Stream, typename Request>
void Upload(Stream& stream, Request& request, const std::string& input, const StreamPlan& plan,
            grpc::ClientContext& context, StreamOutcome& outcome) {
  bool sending = stream.Write(request);
  int64_t chunk = 0;
  for (size_t offset = 0; sending && offset < input.size(); offset += kChunkBytes, ++chunk) {
    if (chunk == plan.cancel_before_chunk) {
      context.TryCancel();
      outcome.cancelled = true;
      return;
    }
    request.mutable_chunk()->mutable_data()->assign(input.data() + offset,
                                                    std::min(kChunkBytes, input.size() - offset));
    sending = stream.Write(request);
  }
  if (sending) stream.WritesDone();
}

// Cancels once the plan's amount of output has come back (once).
void CancelOnceReceived(const StreamPlan& plan, grpc::ClientContext& context,
                        StreamOutcome& outcome) {
  if (!outcome.cancelled && plan.cancel_after_output_bytes >= 0 &&
      outcome.received >= static_cast<uint64_t>(plan.cancel_after_output_bytes)) {
    context.TryCancel();
    outcome.cancelled = true;
  }
}

// ConvertStream of `input` to Torch7 (big-endian when asked), the output compared with
// `expected` as it arrives.
StreamOutcome ConvertStreamCall(Stub& stub, const std::string& input, const std::string& expected,
                                bool big_endian, const StreamPlan& plan) {
  StreamOutcome outcome;
  grpc::ClientContext context;
  context.set_deadline(testing::DeadlineIn(plan.deadline));
  auto stream = stub.ConvertStream(&context);
  v1::ConvertStreamRequest request;
  *request.mutable_options() = testing::ConvertTo(v1::FORMAT_T7, big_endian);
  request.mutable_options()->mutable_input()->set_input_size(input.size());
  Upload(*stream, request, input, plan, context, outcome);
  v1::ConvertStreamResponse response;
  while (stream->Read(&response)) {
    if (!response.has_chunk()) continue;
    const std::string& data = response.chunk().data();
    outcome.right = outcome.right && outcome.received + data.size() <= expected.size() &&
                    std::memcmp(data.data(), expected.data() + outcome.received, data.size()) == 0;
    outcome.received += data.size();
    CancelOnceReceived(plan, context, outcome);
  }
  outcome.status = stream->Finish();
  outcome.complete = outcome.right && outcome.received == expected.size();
  return outcome;
}

// DeserializeStream of `input`, a one-tensor stream: the header must list one streamed array,
// whose chunks must hold input[header_bytes:] at the offsets they name.
StreamOutcome DeserializeStreamCall(Stub& stub, const std::string& input, size_t header_bytes,
                                    const StreamPlan& plan) {
  StreamOutcome outcome;
  grpc::ClientContext context;
  context.set_deadline(testing::DeadlineIn(plan.deadline));
  auto stream = stub.DeserializeStream(&context);
  v1::DeserializeStreamRequest request;
  request.mutable_options()->set_input_size(input.size());
  Upload(*stream, request, input, plan, context, outcome);
  const char* data = input.data() + header_bytes;
  const uint64_t data_bytes = input.size() - header_bytes;
  v1::DeserializeStreamResponse response;
  bool first = true;
  while (stream->Read(&response)) {
    if (first) {
      outcome.right = response.has_header() && response.header().streamed_arrays_size() == 1;
      first = false;
      continue;
    }
    const v1::ArrayChunk& piece = response.array_chunk();
    outcome.right =
        outcome.right && piece.offset() == outcome.received &&
        outcome.received + piece.data().size() <= data_bytes &&
        std::memcmp(piece.data().data(), data + outcome.received, piece.data().size()) == 0;
    outcome.received += piece.data().size();
    CancelOnceReceived(plan, context, outcome);
  }
  outcome.status = stream->Finish();
  outcome.complete = outcome.right && outcome.received == data_bytes;
  return outcome;
}

// Judges a valid call: OK with the right answer, refused by admission, or failed.
void CountValid(Tally& tally, const std::string& kind, const grpc::Status& status, bool right,
                const std::string& what) {
  if (status.ok() && right) {
    tally.Count(Category::kValid, kind, "OK", Tally::Verdict::kAsExpected);
  } else if (status.ok()) {
    tally.Count(Category::kValid, kind, "OK, wrong answer", Tally::Verdict::kFailed, what);
  } else if (RefusedByAdmission(status)) {
    tally.Count(Category::kValid, kind, OutcomeOf(status), Tally::Verdict::kRefused);
  } else {
    tally.Count(Category::kValid, kind, OutcomeOf(status), Tally::Verdict::kFailed,
                absl::StrCat(what, ": ", status.error_message()));
  }
}

// One small call of a random kind on a random input; true when it succeeded rightly.
bool SmallCall(Stub& stub, const std::vector<SmallInput>& inputs, std::mt19937_64& random,
               Tally& tally) {
  const SmallInput& input = inputs[random() % inputs.size()];
  grpc::ClientContext context;
  context.set_deadline(testing::DeadlineIn(kSmallCallDeadline));
  grpc::Status status;
  bool right = false;
  std::string kind;
  switch (random() % 5) {
    case 0: {
      kind = "Convert";
      v1::ConvertRequest request;
      request.set_data(input.bytes);
      request.mutable_output()->set_format(input.format);
      v1::ConvertResponse response;
      status = stub.Convert(&context, request, &response);
      right = response.data() == input.bytes;
      break;
    }
    case 1:
    case 2: {
      const bool data = random() % 2 == 0;
      kind = data ? "Deserialize (data view)" : "Deserialize";
      v1::DeserializeRequest request;
      request.set_data(input.bytes);
      if (data) request.mutable_options()->set_view(v1::VIEW_DATA);
      v1::DeserializeResponse response;
      status = stub.Deserialize(&context, request, &response);
      right = Canonical(response) == (data ? input.deserialized_data : input.deserialized);
      break;
    }
    case 3: {
      kind = "Serialize";
      v1::SerializeResponse response;
      status = stub.Serialize(&context, input.serialize, &response);
      right = response.data() == input.serialized;
      break;
    }
    default: {
      kind = "Inspect";
      v1::InspectRequest request;
      request.set_data(input.bytes);
      v1::InspectResponse response;
      status = stub.Inspect(&context, request, &response);
      right = Canonical(response) == input.inspected;
      break;
    }
  }
  CountValid(tally, absl::StrCat(kind, " ", input.family), status, right, input.name);
  return status.ok() && right;
}

// A malformed input that must end in INVALID_ARGUMENT or RESOURCE_EXHAUSTED.
void CountMalformed(Tally& tally, const std::string& kind, const grpc::Status& status,
                    const std::string& what) {
  const grpc::StatusCode code = status.error_code();
  const bool expected = code == grpc::INVALID_ARGUMENT || code == grpc::RESOURCE_EXHAUSTED;
  tally.Count(Category::kMalformed, kind, OutcomeOf(status),
              expected ? Tally::Verdict::kAsExpected : Tally::Verdict::kFailed,
              absl::StrCat(what, ": ", status.error_message()));
}

// A unary Convert, Deserialize or Inspect (at random) of `bytes`.
grpc::Status UnaryRead(Stub& stub, const std::string& bytes, const v1::ReadOptions& read,
                       v1::Format output, std::mt19937_64& random) {
  grpc::ClientContext context;
  context.set_deadline(testing::DeadlineIn(kSmallCallDeadline));
  switch (random() % 3) {
    case 0: {
      v1::ConvertRequest request;
      request.set_data(bytes);
      *request.mutable_input() = read;
      request.mutable_output()->set_format(output);
      v1::ConvertResponse response;
      return stub.Convert(&context, request, &response);
    }
    case 1: {
      v1::DeserializeRequest request;
      request.set_data(bytes);
      *request.mutable_options() = read;
      v1::DeserializeResponse response;
      return stub.Deserialize(&context, request, &response);
    }
    default: {
      v1::InspectRequest request;
      request.set_data(bytes);
      *request.mutable_options() = read;
      v1::InspectResponse response;
      return stub.Inspect(&context, request, &response);
    }
  }
}

void MalformedCall(Stub& stub, const std::vector<SmallInput>& inputs, std::mt19937_64& random,
                   Tally& tally) {
  // The amplifying inputs cost the server up to 64 MiB of work each: one call in eight.
  switch (random() % 8) {
    case 0:
    case 1:
    case 4:
    case 5: {
      // A valid input cut short.
      const SmallInput* chosen = &inputs[random() % inputs.size()];
      while (chosen->cuts.empty()) chosen = &inputs[random() % inputs.size()];
      const SmallInput& input = *chosen;
      const size_t cut = input.cuts[random() % input.cuts.size()];
      const std::string bytes = input.bytes.substr(0, cut);
      v1::ReadOptions read;
      read.set_torch7_long_size(input.torch7_long_size);
      CountMalformed(tally, absl::StrCat("truncated ", input.family),
                     UnaryRead(stub, bytes, read, input.format, random),
                     absl::StrCat(input.name, " cut to ", cut, " bytes"));
      break;
    }
    case 2:
    case 6: {
      std::string bytes(1 + random() % 4096, '\0');
      for (char& c : bytes) c = static_cast<char>(random());
      CountMalformed(tally, "random bytes", UnaryRead(stub, bytes, {}, v1::FORMAT_RDS, random),
                     absl::StrCat(bytes.size(), " random bytes"));
      break;
    }
    case 3: {
      // A 4 MiB tensor stream cut short, streamed (the input size hint honest).
      static const std::string tensor = testing::FloatTensorStream(uint64_t{1} << 20);
      const std::string bytes = tensor.substr(0, random() % tensor.size());
      StreamPlan plan;
      plan.deadline = absl::Seconds(120);
      const bool convert = random() % 2 == 0;
      StreamOutcome outcome = convert ? ConvertStreamCall(stub, bytes, "", false, plan)
                                      : DeserializeStreamCall(stub, bytes, 0, plan);
      CountMalformed(tally,
                     convert ? "truncated tensor ConvertStream"
                             : "truncated tensor "
                               "DeserializeStream",
                     outcome.status, absl::StrCat("cut to ", bytes.size(), " bytes"));
      break;
    }
    default: {
      // The amplifying inputs.
      switch (random() % 4) {
        case 0: {
          // 133 bytes that are 168 MB as R version 2: over the unary response limit.
          grpc::ClientContext context;
          context.set_deadline(testing::DeadlineIn(kSmallCallDeadline));
          v1::ConvertRequest request;
          request.set_data(HexBytes(testing::kCompactIntSeqHex));
          request.mutable_output()->set_format(v1::FORMAT_RDS);
          request.mutable_output()->set_r_version(2);
          v1::ConvertResponse response;
          CountMalformed(tally, "amplifying: compact intseq -> v2 (Convert)",
                         stub.Convert(&context, request, &response), "kCompactIntSeqHex");
          break;
        }
        case 1: {
          // 134 bytes claiming 2^52 doubles, streamed out as version 2.
          v1::ConvertStreamOptions options = testing::ConvertTo(v1::FORMAT_RDS);
          options.mutable_output()->set_r_version(2);
          testing::StreamResult result =
              testing::ConvertStream(stub, HexBytes(testing::kCompactRealSeqHex), options,
                                     kChunkBytes, absl::Seconds(120));
          CountMalformed(tally, "amplifying: 2^52 realseq -> v2 (ConvertStream)", result.status,
                         "kCompactRealSeqHex");
          break;
        }
        case 2: {
          // The same as plain data: refused, not materialised.
          grpc::ClientContext context;
          context.set_deadline(testing::DeadlineIn(kSmallCallDeadline));
          v1::DeserializeRequest request;
          request.set_data(HexBytes(testing::kCompactRealSeqHex));
          request.mutable_options()->set_view(v1::VIEW_DATA);
          v1::DeserializeResponse response;
          CountMalformed(tally, "amplifying: 2^52 realseq (Deserialize data view)",
                         stub.Deserialize(&context, request, &response), "kCompactRealSeqHex");
          break;
        }
        default: {
          // 826 bytes of bzip2 holding 1 GiB.
          testing::StreamResult result = testing::ConvertStream(
              stub, HexBytes(testing::kBzip2ZerosHex), testing::ConvertTo(v1::FORMAT_RDS),
              kChunkBytes, absl::Seconds(120));
          CountMalformed(tally, "amplifying: bzip2 1 GiB of zeros (ConvertStream)", result.status,
                         "kBzip2ZerosHex");
          break;
        }
      }
    }
  }
}

// One valid large stream of a random kind.
void StreamCall(Stub& stub, const LargeInput& large, std::mt19937_64& random, Tally& tally) {
  StreamPlan plan;
  switch (random() % 3) {
    case 0: {
      StreamOutcome o = ConvertStreamCall(stub, large.little, large.little, false, plan);
      CountValid(tally, "ConvertStream t7 -> t7", o.status, o.complete,
                 absl::StrCat(o.received, " bytes back", o.right ? "" : ", wrong bytes"));
      break;
    }
    case 1: {
      StreamOutcome o = ConvertStreamCall(stub, large.little, large.big, true, plan);
      CountValid(tally, "ConvertStream t7 -> t7 big-endian", o.status, o.complete,
                 absl::StrCat(o.received, " bytes back", o.right ? "" : ", wrong bytes"));
      break;
    }
    default: {
      StreamOutcome o = DeserializeStreamCall(stub, large.little, large.header_bytes, plan);
      CountValid(tally, "DeserializeStream t7", o.status, o.complete,
                 absl::StrCat(o.received, " data bytes back", o.right ? "" : ", wrong data"));
      break;
    }
  }
}

// A large stream cancelled by the client part way up or down.
void CancelCall(Stub& stub, const LargeInput& large, std::mt19937_64& random, Tally& tally) {
  const int64_t chunks =
      static_cast<int64_t>((large.little.size() + kChunkBytes - 1) / kChunkBytes);
  StreamPlan plan;
  const bool upload = random() % 2 == 0;
  if (upload) {
    plan.cancel_before_chunk = 1 + static_cast<int64_t>(random() % (chunks - 1));
  } else {
    plan.cancel_after_output_bytes = 1 + static_cast<int64_t>(random() % (large.little.size() - 1));
  }
  const bool convert = random() % 2 == 0;
  StreamOutcome o = convert ? ConvertStreamCall(stub, large.little, large.little, false, plan)
                            : DeserializeStreamCall(stub, large.little, large.header_bytes, plan);
  const std::string kind = absl::StrCat(convert ? "ConvertStream" : "DeserializeStream",
                                        upload ? " cancelled uploading" : " cancelled downloading");
  const grpc::StatusCode code = o.status.error_code();
  if (!o.right) {
    tally.Count(Category::kCancel, kind, absl::StrCat(OutcomeOf(o.status), ", wrong bytes"),
                Tally::Verdict::kFailed, "the bytes before the cancel were wrong");
  } else if (code == grpc::CANCELLED) {
    tally.Count(Category::kCancel, kind, "CANCELLED", Tally::Verdict::kAsExpected);
  } else if (code == grpc::OK && !upload && o.complete) {
    tally.Count(Category::kCancel, kind, "OK (finished before the cancel)",
                Tally::Verdict::kAsExpected);
  } else if (RefusedByAdmission(o.status)) {
    tally.Count(Category::kCancel, kind, OutcomeOf(o.status), Tally::Verdict::kRefused);
  } else {
    tally.Count(Category::kCancel, kind, OutcomeOf(o.status), Tally::Verdict::kFailed,
                o.status.error_message());
  }
}

// A large stream with a deadline too short for it (most of the time).
void DeadlineCall(Stub& stub, const LargeInput& large, std::mt19937_64& random, Tally& tally) {
  StreamPlan plan;
  // Log-uniform from 2 ms to 1 s: expiring before the call starts, while uploading, while the
  // server converts, while downloading.
  std::uniform_real_distribution<double> exponent(std::log(2.0), std::log(1000.0));
  plan.deadline = absl::Milliseconds(std::exp(exponent(random)));
  const bool convert = random() % 2 == 0;
  StreamOutcome o = convert ? ConvertStreamCall(stub, large.little, large.little, false, plan)
                            : DeserializeStreamCall(stub, large.little, large.header_bytes, plan);
  const std::string kind =
      convert ? "ConvertStream, deadline 2 ms-1 s" : "DeserializeStream, deadline 2 ms-1 s";
  const grpc::StatusCode code = o.status.error_code();
  if (!o.right) {
    tally.Count(Category::kDeadline, kind, absl::StrCat(OutcomeOf(o.status), ", wrong bytes"),
                Tally::Verdict::kFailed, "the bytes before the deadline were wrong");
  } else if (code == grpc::DEADLINE_EXCEEDED) {
    tally.Count(Category::kDeadline, kind, "DEADLINE_EXCEEDED", Tally::Verdict::kAsExpected);
  } else if (code == grpc::OK && o.complete) {
    tally.Count(Category::kDeadline, kind, "OK (finished in time)", Tally::Verdict::kAsExpected);
  } else if (RefusedByAdmission(o.status)) {
    tally.Count(Category::kDeadline, kind, OutcomeOf(o.status), Tally::Verdict::kRefused);
  } else {
    tally.Count(Category::kDeadline, kind, OutcomeOf(o.status), Tally::Verdict::kFailed,
                absl::StrCat("deadline ", absl::FormatDuration(plan.deadline), ": ",
                             o.status.error_message()));
  }
}

// ---------------------------------------------------------------------------------------------
// The load.

class Load {
 public:
  Load(const Options& options, const std::string& address, std::vector<SmallInput> small,
       LargeInput large, Sampler& sampler)
      : options_(options),
        address_(address),
        small_(std::move(small)),
        large_(std::move(large)),
        sampler_(sampler) {}

  // Connects, runs every worker for `seconds` (or until the server is gone), waits for all of
  // them and disconnects: the server's idle samples between two runs are taken with no client
  // connected, and every run opens its connections anew.
  void Run(double seconds) {
    Connect();
    const auto end = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(seconds));
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    auto loop = [&](uint64_t seed, auto body) {
      workers.emplace_back([&, seed, body] {
        std::mt19937_64 random(seed);
        while (!stop.load()) body(random);
      });
    };
    for (int i = 0; i < options_.stream_clients; ++i) {
      Stub* stub = stream_stubs_[static_cast<size_t>(i)].get();
      loop(NextSeed(), [&, stub](std::mt19937_64& r) { StreamCall(*stub, large_, r, tally_); });
    }
    loop(NextSeed(),
         [&](std::mt19937_64& r) { MalformedCall(*malformed_stub_, small_, r, tally_); });
    loop(NextSeed(), [&](std::mt19937_64& r) { CancelCall(*cancel_stub_, large_, r, tally_); });
    loop(NextSeed(), [&](std::mt19937_64& r) { DeadlineCall(*deadline_stub_, large_, r, tally_); });
    // Small calls: phases of --phase-seconds at each concurrency level in turn.
    while (std::chrono::steady_clock::now() < end && !sampler_.server_gone()) {
      const int threads = options_.small_concurrency[phase_++ % options_.small_concurrency.size()];
      const auto phase_end =
          std::min(end, std::chrono::steady_clock::now() +
                            std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(options_.phase_seconds)));
      RunSmallPhase(threads, phase_end);
    }
    stop.store(true);
    for (std::thread& worker : workers) worker.join();
    small_stubs_.clear();
    stream_stubs_.clear();
    malformed_stub_.reset();
    cancel_stub_.reset();
    deadline_stub_.reset();
  }

  const Tally& tally() const { return tally_; }
  const LevelStats& levels() const { return levels_; }

 private:
  uint64_t NextSeed() { return options_.seed * 1000003 + seeds_++; }

  // A channel (connection) for each client, none shared with another run.
  void Connect() {
    for (int i = 0; i < kSmallCallChannels; ++i) {
      small_stubs_.push_back(v1::Serializer::NewStub(NewChannel(address_)));
    }
    for (int i = 0; i < options_.stream_clients; ++i) {
      stream_stubs_.push_back(v1::Serializer::NewStub(NewChannel(address_)));
    }
    malformed_stub_ = v1::Serializer::NewStub(NewChannel(address_));
    cancel_stub_ = v1::Serializer::NewStub(NewChannel(address_));
    deadline_stub_ = v1::Serializer::NewStub(NewChannel(address_));
  }

  void RunSmallPhase(int threads, std::chrono::steady_clock::time_point end) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t) {
      Stub* stub = small_stubs_[static_cast<size_t>(t) % small_stubs_.size()].get();
      clients.emplace_back([this, stub, end, threads, seed = NextSeed()] {
        std::mt19937_64 random(seed);
        std::vector<double> latencies;
        while (std::chrono::steady_clock::now() < end && !sampler_.server_gone()) {
          const auto before = std::chrono::steady_clock::now();
          SmallCall(*stub, small_, random, tally_);
          latencies.push_back(SecondsSince(before) * 1000);
        }
        levels_.Add(threads, latencies, 0);
      });
    }
    for (std::thread& client : clients) client.join();
    std::vector<double> none;
    levels_.Add(threads, none, SecondsSince(start));
  }

  const Options& options_;
  const std::string address_;
  const std::vector<SmallInput> small_;
  const LargeInput large_;
  Sampler& sampler_;
  std::vector<std::unique_ptr<Stub>> small_stubs_;
  std::vector<std::unique_ptr<Stub>> stream_stubs_;
  std::unique_ptr<Stub> malformed_stub_, cancel_stub_, deadline_stub_;
  Tally tally_;
  LevelStats levels_;
  size_t phase_ = 0;
  uint64_t seeds_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The report.

double Mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

nlohmann::json SampleJson(const Sample& s) {
  return {
      {"t", s.t}, {"phase", s.phase}, {"rss_bytes", s.rss}, {"fds", s.fds}, {"threads", s.threads}};
}

int Main(const Options& options) {
  std::unique_ptr<OwnServer> own;
  std::string address = options.server;
  pid_t pid = options.server_pid;
  if (address.empty()) {
    own = OwnServer::Start(options);
    if (own == nullptr) return 2;
    address = own->address();
    pid = own->pid();
  } else if (pid == 0) {
    int port = 0;
    if (absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) {
      pid = FindListeningPid(port);
    }
    if (pid == 0) {
      std::cerr << "soak: cannot find the process listening on " << address
                << " (--server-pid gives it); the server's resources are not reported\n";
      if (options.check_leaks) return 2;
    }
  }
  Sampler sampler(pid);
  std::optional<Sample> start = sampler.Take();

  std::printf(
      "soak: %s (pid %d), %u CPUs; %.0f s of load, the first %.0f s warm-up; "
      "%llu MiB streams x %d clients; small calls at %s client threads, %.0f s phases\n",
      address.c_str(), static_cast<int>(pid), std::thread::hardware_concurrency(), options.duration,
      options.warmup, static_cast<unsigned long long>(options.stream_mib), options.stream_clients,
      absl::StrJoin(options.small_concurrency, ",").c_str(), options.phase_seconds);
  if (!options.seriald_flags.empty() && own != nullptr) {
    std::printf("seriald flags: %s\n", absl::StrJoin(options.seriald_flags, " ").c_str());
  }
  std::printf("\nInputs:\n");
  std::vector<SmallInput> small =
      LoadSmallInputs(*v1::Serializer::NewStub(NewChannel(address)), options);
  int t7 = 0, r = 0;
  for (const SmallInput& input : small) (input.family == "t7" ? t7 : r)++;
  std::printf("  %zu small inputs: %d Torch7 (%s), %d R\n", small.size(), t7,
              options.corpus.c_str(), r);
  const bool cuttable = std::any_of(small.begin(), small.end(),
                                    [](const SmallInput& input) { return !input.cuts.empty(); });
  if (t7 == 0 || r == 0 || !cuttable) {
    std::cerr << "soak: no usable small Torch7 or R inputs\n";
    return 2;
  }
  LargeInput large;
  const uint64_t elements = (options.stream_mib << 20) / 4;
  large.little = testing::FloatTensorStream(elements);
  large.big = testing::FloatTensorStream(elements, /*big_endian=*/true);
  large.header_bytes = testing::FloatTensorHeader(elements).size();
  std::printf("  streams: a torch.FloatTensor of %llu elements, %zu bytes\n",
              static_cast<unsigned long long>(elements), large.little.size());
  std::fflush(stdout);

  auto peak_rss = [pid]() -> std::optional<uint64_t> {
    if (pid <= 0) return std::nullopt;
    absl::StatusOr<uint64_t> hwm = testing::PeakRssBytes(pid);
    return hwm.ok() ? std::optional<uint64_t>(*hwm) : std::nullopt;
  };
  // Stops the load for an idle sample (--settle seconds after the last call).
  std::vector<Sample> idle;
  if (start) idle.push_back(*start);
  double longest_settle = 0;
  auto idle_sample = [&] {
    sampler.SetPhase("settle");
    longest_settle = std::max(longest_settle, WaitUntilIdle(pid, options.settle));
    std::optional<Sample> sample = sampler.Take();
    if (sample) idle.push_back(*sample);
    return sample;
  };
  Load load(options, address, std::move(small), std::move(large), sampler);
  const auto begin = std::chrono::steady_clock::now();
  sampler.SetPhase("warm-up");
  load.Run(std::min(options.warmup, options.duration));
  std::optional<Sample> warm = idle_sample();
  const std::optional<uint64_t> warm_peak = peak_rss();
  std::optional<Sample> end = warm;
  for (double left = std::max(0.0, options.duration - options.warmup); left > 0;) {
    const double part =
        options.checkpoint_seconds > 0 ? std::min(left, options.checkpoint_seconds) : left;
    sampler.SetPhase("load");
    load.Run(part);
    left -= part;
    end = idle_sample();
    if (sampler.server_gone()) break;
  }
  const double elapsed = SecondsSince(begin);
  const std::optional<uint64_t> peak = peak_rss();
  const bool server_gone = sampler.server_gone();
  std::vector<Sample> samples = sampler.samples();

  // Calls.
  const Tally& tally = load.tally();
  std::printf("\nCalls (%.0f s):\n\n", elapsed);
  std::printf(
      "| category | kind | calls | as expected | refused by a limit | failed | outcomes |\n");
  std::printf("|---|---|---:|---:|---:|---:|---|\n");
  nlohmann::json calls = nlohmann::json::array();
  for (const auto& [key, row] : tally.rows()) {
    std::vector<std::string> outcomes;
    for (const auto& [outcome, n] : row.outcomes) outcomes.push_back(absl::StrCat(outcome, " ", n));
    std::printf("| %s | %s | %llu | %llu | %llu | %llu | %s |\n", CategoryName(key.first),
                key.second.c_str(), static_cast<unsigned long long>(row.calls),
                static_cast<unsigned long long>(row.calls - row.failed - row.refused),
                static_cast<unsigned long long>(row.refused),
                static_cast<unsigned long long>(row.failed), absl::StrJoin(outcomes, ", ").c_str());
    calls.push_back({{"category", CategoryName(key.first)},
                     {"kind", key.second},
                     {"calls", row.calls},
                     {"refused", row.refused},
                     {"failed", row.failed},
                     {"outcomes", row.outcomes},
                     {"examples", row.examples}});
  }
  const uint64_t valid = tally.Sum(Category::kValid, &Tally::Row::calls);
  const uint64_t failed_valid = tally.Sum(Category::kValid, &Tally::Row::failed);
  uint64_t refused = 0, wrong_outcomes = 0;
  for (Category c :
       {Category::kValid, Category::kMalformed, Category::kCancel, Category::kDeadline}) {
    refused += tally.Sum(c, &Tally::Row::refused);
    if (c != Category::kValid) wrong_outcomes += tally.Sum(c, &Tally::Row::failed);
  }

  std::printf("\nSmall calls by client threads:\n\n");
  std::printf("| client threads | time s | calls | calls/s | p50 ms | p99 ms |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  nlohmann::json levels = nlohmann::json::array();
  for (auto& [threads, level] : load.levels().levels()) {
    std::sort(level.latencies_ms.begin(), level.latencies_ms.end());
    const double rate =
        level.seconds > 0 ? static_cast<double>(level.latencies_ms.size()) / level.seconds : 0;
    std::printf("| %d | %.0f | %zu | %.0f | %.2f | %.2f |\n", threads, level.seconds,
                level.latencies_ms.size(), rate, Percentile(level.latencies_ms, 0.5),
                Percentile(level.latencies_ms, 0.99));
    levels.push_back({{"client_threads", threads},
                      {"seconds", level.seconds},
                      {"calls", level.latencies_ms.size()},
                      {"p50_ms", Percentile(level.latencies_ms, 0.5)},
                      {"p99_ms", Percentile(level.latencies_ms, 0.99)}});
  }

  // The server.
  Sample max;
  for (const Sample& s : samples) {
    max.rss = std::max(max.rss, s.rss);
    max.fds = std::max(max.fds, s.fds);
    max.threads = std::max(max.threads, s.threads);
  }
  nlohmann::json server = {{"address", address}, {"pid", pid}, {"gone", server_gone}};
  std::vector<std::string> leaks;
  if (pid > 0) {
    std::printf("\nServer (pid %d), sampled every second:\n\n", static_cast<int>(pid));
    std::printf("| when | RSS MiB | open fds | threads |\n|---|---:|---:|---:|\n");
    auto row = [](const char* when, const std::optional<Sample>& s) {
      if (s) {
        std::printf("| %s | %.1f | %d | %d |\n", when, Mib(s->rss), s->fds, s->threads);
      } else {
        std::printf("| %s | - | - | - |\n", when);
      }
    };
    row("start (before any call)", start);
    row("after warm-up (idle)", warm);
    row("end (idle)", end);
    row("max (under load)", max);
    if (peak) {
      std::printf("\npeak RSS (VmHWM): %.1f MiB (%.1f MiB by the end of the warm-up)\n", Mib(*peak),
                  warm_peak ? Mib(*warm_peak) : 0.0);
    }
    // The idle samples from the one after warm-up on.
    const std::vector<Sample> after_warmup(idle.begin() + (start ? 1 : 0), idle.end());
    const double slope = RssSlope(after_warmup);
    server["idle_rss_slope_mib_per_minute"] = slope;
    if (idle.size() > 3) {
      std::printf(
          "\nIdle samples (the load stopped, at least %.0f s and until the server used "
          "no CPU; at most %.1f s):\n\n| at s | RSS MiB | open fds | threads |\n"
          "|---:|---:|---:|---:|\n",
          options.settle, longest_settle);
      for (const Sample& s : idle) {
        std::printf("| %.0f | %.1f | %d | %d |\n", s.t, Mib(s.rss), s.fds, s.threads);
      }
      std::printf(
          "\nidle RSS from the warm-up on: %+.2f MiB per minute (median slope between two "
          "samples)\n",
          slope);
    }

    // Ten slices of the run: the lowest and highest RSS under load in each show a drift that the
    // end points could hide.
    std::printf(
        "\nTimeline (under load):\n\n| from s | to s | RSS min MiB | RSS max MiB | "
        "fds max | threads max |\n|---:|---:|---:|---:|---:|---:|\n");
    std::vector<Sample> loaded;
    for (const Sample& s : samples) {
      if (s.phase == "warm-up" || s.phase == "load") loaded.push_back(s);
    }
    const size_t slices = std::min<size_t>(10, loaded.size());
    for (size_t i = 0; i < slices; ++i) {
      size_t from = i * loaded.size() / slices, to = (i + 1) * loaded.size() / slices;
      Sample lo = loaded[from], hi = loaded[from];
      for (size_t k = from; k < to; ++k) {
        lo.rss = std::min(lo.rss, loaded[k].rss);
        hi.rss = std::max(hi.rss, loaded[k].rss);
        hi.fds = std::max(hi.fds, loaded[k].fds);
        hi.threads = std::max(hi.threads, loaded[k].threads);
      }
      std::printf("| %.0f | %.0f | %.1f | %.1f | %d | %d |\n", loaded[from].t, loaded[to - 1].t,
                  Mib(lo.rss), Mib(hi.rss), hi.fds, hi.threads);
    }

    nlohmann::json series = nlohmann::json::array();
    for (const Sample& s : samples) series.push_back(SampleJson(s));
    server["samples"] = series;
    if (start) server["start"] = SampleJson(*start);
    if (warm) server["after_warmup"] = SampleJson(*warm);
    if (end) server["end"] = SampleJson(*end);
    server["max"] = {{"rss_bytes", max.rss}, {"fds", max.fds}, {"threads", max.threads}};
    if (peak) server["peak_rss_bytes"] = *peak;
    if (warm_peak) server["warmup_peak_rss_bytes"] = *warm_peak;
    nlohmann::json idle_series = nlohmann::json::array();
    for (const Sample& s : idle) idle_series.push_back(SampleJson(s));
    server["idle_samples"] = idle_series;

    if (warm && end) {
      const uint64_t rss_bound = RssBound(warm->rss, warm_peak.value_or(0));
      std::printf(
          "\nEnd against after warm-up: fds %+d (allowed +%d), threads %+d (allowed +%d), "
          "RSS %+.1f MiB (allowed up to %.1f MiB: the more of %.2f x %.1f and the "
          "warm-up's peak %.1f, + %.0f)\n",
          end->fds - warm->fds, kFdMargin, end->threads - warm->threads, ThreadMargin(),
          Mib(end->rss) - Mib(warm->rss), Mib(rss_bound), kRssGrowth, Mib(warm->rss),
          Mib(warm_peak.value_or(0)), Mib(kRssSlack));
      if (end->fds > warm->fds + kFdMargin) {
        leaks.push_back(absl::StrCat("descriptors ", warm->fds, " -> ", end->fds));
      }
      if (end->threads > warm->threads + ThreadMargin()) {
        leaks.push_back(absl::StrCat("threads ", warm->threads, " -> ", end->threads));
      }
      if (end->rss > rss_bound) {
        leaks.push_back(absl::StrFormat("RSS %.1f MiB -> %.1f MiB", Mib(warm->rss), Mib(end->rss)));
      }
      server["leak_thresholds"] = {{"fds", kFdMargin},
                                   {"threads", ThreadMargin()},
                                   {"rss_growth", kRssGrowth},
                                   {"rss_slack_bytes", kRssSlack},
                                   {"rss_bound_bytes", rss_bound}};
    } else if (options.check_leaks) {
      leaks.push_back("the server could not be sampled after warm-up and at the end");
    }
  }

  // The server of our own must stop cleanly.
  std::optional<int> exit_code;
  if (own != nullptr) {
    exit_code = own->Stop();
    server["exit_code"] = exit_code ? *exit_code : -1;
  }

  std::printf(
      "\nvalid calls %llu, failed valid calls %llu, refused by a limit %llu; "
      "malformed/cancel/deadline calls that ended wrongly %llu\n",
      static_cast<unsigned long long>(valid), static_cast<unsigned long long>(failed_valid),
      static_cast<unsigned long long>(refused), static_cast<unsigned long long>(wrong_outcomes));
  std::vector<std::string> problems;
  if (failed_valid > 0) problems.push_back(absl::StrCat(failed_valid, " failed valid calls"));
  if (wrong_outcomes > 0) {
    problems.push_back(absl::StrCat(wrong_outcomes, " calls with a wrong outcome"));
  }
  if (server_gone) problems.push_back("the server exited during the run");
  if (own != nullptr && exit_code != 0) {
    problems.push_back(exit_code
                           ? absl::StrCat("the server exited with ", *exit_code, " on SIGTERM")
                           : "the server did not stop within 60 s of SIGTERM");
  }
  if (options.check_leaks) {
    for (const std::string& leak : leaks) problems.push_back(absl::StrCat("leak: ", leak));
  } else if (!leaks.empty()) {
    std::printf("growth past the leak thresholds (not checked without --check-leaks): %s\n",
                absl::StrJoin(leaks, "; ").c_str());
  }
  const std::vector<std::string> failures = tally.failures();
  for (const std::string& failure : failures) std::printf("  failure: %s\n", failure.c_str());
  std::printf("%s%s\n",
              problems.empty() ? "PASS" : "FAIL: ", absl::StrJoin(problems, "; ").c_str());

  if (!options.report.empty()) {
    nlohmann::json report = {
        {"duration_seconds", options.duration},
        {"warmup_seconds", options.warmup},
        {"elapsed_seconds", elapsed},
        {"stream_mib", options.stream_mib},
        {"stream_clients", options.stream_clients},
        {"small_concurrency", options.small_concurrency},
        {"seriald_flags", options.seriald_flags},
        {"calls", calls},
        {"small_calls_by_concurrency", levels},
        {"valid_calls", valid},
        {"failed_valid_calls", failed_valid},
        {"refused_by_limit", refused},
        {"wrong_outcomes", wrong_outcomes},
        {"failures", failures},
        {"leaks", leaks},
        {"checked_leaks", options.check_leaks},
        {"server", server},
        {"problems", problems},
        {"passed", problems.empty()},
    };
    std::ofstream file(options.report);
    file << report.dump(2) << "\n";
    if (!file) {
      std::cerr << "soak: cannot write " << options.report << "\n";
      return 2;
    }
  }
  return problems.empty() ? 0 : 1;
}

}  // namespace
}  // namespace seriald::soak

int main(int argc, char** argv) {
  seriald::soak::Options options;
  std::string concurrency = "1,8,32";
  CLI::App app{
      "soak: a bounded mixed load on seriald, watching its memory, descriptors and "
      "threads"};
  app.add_option("--duration", options.duration, "Seconds of load, the warm-up included")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", options.warmup,
                 "Seconds of load before the reference sample (taken idle)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--settle", options.settle,
                 "Idle seconds (at least; then until the server uses no CPU) before the "
                 "after-warm-up, checkpoint and end samples")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--checkpoint-seconds", options.checkpoint_seconds,
                 "After the warm-up, stop the load this often for an idle sample (0: only at the "
                 "end)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--server", options.server,
                 "HOST:PORT of a running seriald to load instead of starting one");
  app.add_option("--server-pid", options.server_pid,
                 "Its pid (default: the process listening on that port)");
  app.add_option("--seriald", options.seriald, "The seriald binary to start")
      ->capture_default_str();
  app.add_option("--seriald-flag", options.seriald_flags,
                 "Flags for the seriald started, split at spaces; repeatable "
                 "(--seriald-flag='--max-inflight-bytes 1GiB')")
      ->allow_extra_args(false);
  app.add_option("--server-log", options.server_log, "Where the started seriald's log goes")
      ->capture_default_str();
  app.add_option("--stream-mib", options.stream_mib, "Size of the streamed tensor's data, MiB")
      ->check(CLI::Range(uint64_t{2}, uint64_t{4096}))
      ->capture_default_str();
  app.add_option("--stream-clients", options.stream_clients, "Clients streaming at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--small-concurrency", concurrency,
                 "Client thread counts of the small calls, in turn")
      ->capture_default_str();
  app.add_option("--phase-seconds", options.phase_seconds,
                 "Seconds at each small-call concurrency before the next")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--corpus", options.corpus, "Directory of small *.bin.t7 and *.ascii.t7 files")
      ->capture_default_str();
  app.add_option("--seed", options.seed, "Seed of the random choices")->capture_default_str();
  app.add_option("--report", options.report, "Also write the report as JSON to this file");
  app.add_flag("--check-leaks", options.check_leaks,
               "Fail when descriptors, threads or RSS grew past the thresholds");
  CLI11_PARSE(app, argc, argv);
  // "--seriald-flag='--max-inflight-bytes 1GiB'" is two flags.
  std::vector<std::string> flags;
  for (const std::string& flag : options.seriald_flags) {
    for (absl::string_view word : absl::StrSplit(flag, ' ', absl::SkipEmpty())) {
      flags.emplace_back(word);
    }
  }
  options.seriald_flags = flags;
  options.small_concurrency.clear();
  for (absl::string_view level : absl::StrSplit(concurrency, ',', absl::SkipEmpty())) {
    int threads = 0;
    if (!absl::SimpleAtoi(level, &threads) || threads <= 0) {
      std::cerr << "soak: bad --small-concurrency " << concurrency << std::endl;
      return 2;
    }
    options.small_concurrency.push_back(threads);
  }
  if (options.small_concurrency.empty()) {
    std::cerr << "soak: --small-concurrency is empty" << std::endl;
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  return seriald::soak::Main(options);
}
