// File: tests/server/testing/service_e2e.h
//
// What the service's end-to-end tests share: a real seriald process on a free port (its log in a
// file the test reads whenever it likes), scratch directories, generated gRPC stubs without any
// client-side policy (no retries, no size limits), streams driven chunk by chunk or held open,
// the typed error details of a status, the Python client's command line, and certificates made
// with openssl at test time.
//
// Example:
//
//   auto server = SerialdProcess::Start({"--max-message-bytes", "65536"});
//   ASSERT_TRUE(server.ok()) << server.status();
//   auto stub = RawStub((*server)->address());
//   ... call ...
//   std::optional<std::string> line = (*server)->WaitForCallLogLine({"method=Convert"});
//   EXPECT_EQ((*server)->Stop(), 0);
#ifndef SERIALD_TESTS_SERVER_TESTING_SERVICE_E2E_H_
#define SERIALD_TESTS_SERVER_TESTING_SERVICE_E2E_H_

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "seriald/v1/serializer.grpc.pb.h"
#include "seriald/v1/serializer.pb.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"

namespace seriald::testing {

// Programs and scripts the tests run.
std::string SerialdBinary();
std::string SerialctlBinary();
std::string Python3();
// The Python client's command line: python3 client/python/seriald_client.py.
std::vector<std::string> PythonClientCommand();
// A Python script of the tests (tests/server/python/<name>).
std::string TestScript(const std::string& name);
// <shared>/corpus/torch7/<relative_path>
std::string CorpusPath(const std::string& relative_path);
// Points the Python client at this build's generated stubs ($SERIALD_PYTHON_PATH) for every
// program started afterwards.
void UseBuildPythonStubs();

// Runs every command to completion, `parallel` at a time (the programs mostly wait on start-up
// and on the server); the results are in the order of `commands`.
std::vector<RunResult> RunPrograms(const std::vector<std::vector<std::string>>& commands,
                                   int parallel = 4);

// True when the two files hold the same bytes (compared in blocks, for files of any size);
// otherwise false with the first difference described in `*difference`.
bool SameFileContents(const std::string& a, const std::string& b, std::string* difference);

// A running bin/seriald. The log (one line per call) goes to a file, so the server never blocks
// on a pipe nobody reads.
class SerialdProcess {
 public:
  // Starts seriald on 127.0.0.1 port 0 with `flags` added, and waits until it listens.
  static absl::StatusOr<std::unique_ptr<SerialdProcess>> Start(
      const std::vector<std::string>& flags = {});
  ~SerialdProcess();  // kills the server if it still runs

  // "127.0.0.1:PORT", as printed on the "listening on" line.
  const std::string& address() const { return address_; }
  pid_t pid() const { return process_->pid(); }
  Subprocess& process() { return *process_; }

  // The whole log so far, and its "seriald call" lines.
  std::string Log() const;
  std::vector<std::string> CallLogLines() const;
  // Waits until a call log line contains every needle; returns it, or nullopt on timeout.
  std::optional<std::string> WaitForCallLogLine(const std::vector<std::string>& needles,
                                                absl::Duration timeout = absl::Seconds(60)) const;

  // Sends `signal` and waits for the exit code (nullopt on timeout).
  std::optional<int> Stop(int signal = SIGTERM, absl::Duration timeout = absl::Seconds(60));

 private:
  SerialdProcess() = default;

  ScratchDir dir_;
  std::unique_ptr<Subprocess> process_;
  std::string address_;
};

// A channel to `address` with no message size limits and no service config (so no retries):
// what the server answers is what the test sees.
std::shared_ptr<grpc::Channel> RawChannel(const std::string& address);
std::unique_ptr<v1::Serializer::Stub> RawStub(const std::string& address);

// A client deadline `timeout` from now.
std::chrono::system_clock::time_point DeadlineIn(absl::Duration timeout);

// Options converting to `to` (output byte order big-endian when asked), the input's format
// detected.
v1::ConvertStreamOptions ConvertTo(v1::Format to, bool big_endian = false);

// The outcome of a streaming call.
struct StreamResult {
  grpc::Status status;
  std::string output;  // the output chunks, joined
  v1::Format input_format = v1::FORMAT_UNSPECIFIED;
};

// ConvertStream: the options, then `input` in chunks of `chunk_bytes`, then the output read to
// the end. `before_chunk(i)`, when given, runs before chunk i is sent (to pace the stream, or to
// act while it is in flight).
StreamResult ConvertStream(v1::Serializer::Stub& stub, const std::string& input,
                           const v1::ConvertStreamOptions& options, size_t chunk_bytes,
                           absl::Duration timeout,
                           const std::function<void(size_t)>& before_chunk = nullptr);

// A ConvertStream the test holds open: the options and the first `first_bytes` of the input are
// sent at once, the rest when the test releases it; a thread reads whatever comes back. Lets a
// test keep a call running in the server for as long as it needs (to fill the server's slots, to
// signal the server while the call is in flight).
class HeldStream {
 public:
  HeldStream(v1::Serializer::Stub& stub, std::string input, const v1::ConvertStreamOptions& options,
             size_t first_bytes, absl::Duration timeout = absl::Seconds(120));
  ~HeldStream();  // cancels the call if it still runs
  HeldStream(const HeldStream&) = delete;
  HeldStream& operator=(const HeldStream&) = delete;

  // Sends the rest of the input in chunks of `chunk_bytes`, pausing `pause` before each, then
  // ends the request stream. False when the call ended before everything was sent.
  bool Release(size_t chunk_bytes, absl::Duration pause);

  // Waits until the call has finished; false on timeout.
  bool WaitUntilDone(absl::Duration timeout);
  bool done();
  // Valid once done.
  grpc::Status status();
  std::string output();

 private:
  const std::string input_;
  const size_t first_bytes_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ConvertStreamRequest, v1::ConvertStreamResponse>>
      stream_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable finished_;
  bool done_ = false;
  grpc::Status status_;
  std::string output_;
};

// The seriald.v1.ErrorInfo inside a status's google.rpc.Status details, if any.
std::optional<v1::ErrorInfo> ErrorInfoOf(const grpc::Status& status);

// The grpc.health.v1 status name ("SERVING", "NOT_SERVING") the server at `address` reports.
absl::StatusOr<std::string> HealthStatus(const std::string& address);

// PEM files made by openssl: a CA, a server certificate for 127.0.0.1 and localhost (subject
// alternative names) signed by it, a client certificate signed by it, and a client certificate
// signed by another CA.
struct TestCertificates {
  std::string ca;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  std::string other_ca;
  std::string other_client_cert;
  std::string other_client_key;
};
absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir);

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_SERVER_TESTING_SERVICE_E2E_H_
