#include "tests/server/testing/service_e2e.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace seriald::testing {

std::string SerialdBinary() { return SERIALD_BINARY_DIR "/bin/seriald"; }
std::string SerialctlBinary() { return SERIALD_BINARY_DIR "/bin/serialctl"; }
std::string Python3() { return SERIALD_PYTHON3; }

std::vector<std::string> PythonClientCommand() {
  return {Python3(), SERIALD_SOURCE_DIR "/client/python/seriald_client.py"};
}

std::string TestScript(const std::string& name) {
  return absl::StrCat(SERIALD_SOURCE_DIR "/tests/server/python/", name);
}

std::string CorpusPath(const std::string& relative_path) {
  return absl::StrCat(SERIALD_SHARED_DIR "/corpus/torch7/", relative_path);
}

void UseBuildPythonStubs() { setenv("SERIALD_PYTHON_PATH", SERIALD_BINARY_DIR "/python", 1); }

std::vector<RunResult> RunPrograms(const std::vector<std::vector<std::string>>& commands,
                                   int parallel) {
  std::vector<RunResult> results(commands.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < parallel; ++i) {
    workers.emplace_back([&] {
      for (size_t k = next++; k < commands.size(); k = next++) {
        results[k] = RunProgram(commands[k], "", absl::Seconds(120));
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  return results;
}

bool SameFileContents(const std::string& a, const std::string& b, std::string* difference) {
  std::ifstream first(a, std::ios::binary), second(b, std::ios::binary);
  if (!first || !second) {
    *difference = absl::StrCat("cannot read ", !first ? a : b);
    return false;
  }
  constexpr size_t kBlock = size_t{8} << 20;
  std::string x(kBlock, '\0'), y(kBlock, '\0');
  uint64_t offset = 0;
  while (true) {
    first.read(x.data(), kBlock);
    second.read(y.data(), kBlock);
    size_t n = static_cast<size_t>(first.gcount()), m = static_cast<size_t>(second.gcount());
    size_t common = std::min(n, m);
    if (std::memcmp(x.data(), y.data(), common) != 0) {
      size_t i = 0;
      while (x[i] == y[i]) ++i;
      *difference = absl::StrCat("the files differ at byte ", offset + i);
      return false;
    }
    if (n != m) {
      *difference = absl::StrCat("one file ends at byte ", offset + common);
      return false;
    }
    if (n < kBlock) return true;
    offset += n;
  }
}

absl::StatusOr<std::unique_ptr<SerialdProcess>> SerialdProcess::Start(
    const std::vector<std::string>& flags) {
  std::unique_ptr<SerialdProcess> server(new SerialdProcess());
  std::vector<std::string> argv = {SerialdBinary(), "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  absl::StatusOr<std::unique_ptr<Subprocess>> process =
      Subprocess::Start(argv, "", server->dir_.File("seriald.log"));
  if (!process.ok()) return process.status();
  server->process_ = *std::move(process);
  // Generous: start-up is quick, but a loaded machine may be slow.
  std::optional<std::string> line =
      server->process_->WaitForStdoutLine("listening on", absl::Seconds(60));
  if (!line) {
    return absl::UnavailableError(
        absl::StrCat("seriald did not start; stdout: ", server->process_->stdout_text(),
                     "; log: ", server->Log()));
  }
  // "seriald: listening on 127.0.0.1:PORT" with " (TLS)" and more after it when TLS is on.
  std::vector<std::string> words = absl::StrSplit(*line, ' ');
  for (size_t i = 0; i + 2 < words.size(); ++i) {
    if (words[i] == "listening" && words[i + 1] == "on") server->address_ = words[i + 2];
  }
  if (!absl::StartsWith(server->address_, "127.0.0.1:")) {
    return absl::InternalError(absl::StrCat("unexpected line \"", *line, "\""));
  }
  return server;
}

SerialdProcess::~SerialdProcess() = default;

std::string SerialdProcess::Log() const {
  std::ifstream file(dir_.File("seriald.log"), std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::vector<std::string> SerialdProcess::CallLogLines() const {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(Log(), '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "seriald call ")) lines.emplace_back(line);
  }
  return lines;
}

std::optional<std::string> SerialdProcess::WaitForCallLogLine(
    const std::vector<std::string>& needles, absl::Duration timeout) const {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    for (const std::string& line : CallLogLines()) {
      bool all = true;
      for (const std::string& needle : needles) all = all && absl::StrContains(line, needle);
      if (all) return line;
    }
    if (absl::Now() > deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(20));  // polling the log file for a line to appear
  }
}

std::optional<int> SerialdProcess::Stop(int signal, absl::Duration timeout) {
  process_->Signal(signal);
  return process_->Wait(timeout);
}

std::shared_ptr<grpc::Channel> RawChannel(const std::string& address) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(-1);
  arguments.SetMaxSendMessageSize(-1);
  // Each test talks to its own server: no connection sharing between channels.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments);
}

std::unique_ptr<v1::Serializer::Stub> RawStub(const std::string& address) {
  return v1::Serializer::NewStub(RawChannel(address));
}

std::chrono::system_clock::time_point DeadlineIn(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

v1::ConvertStreamOptions ConvertTo(v1::Format to, bool big_endian) {
  v1::ConvertStreamOptions options;
  options.mutable_output()->set_format(to);
  if (big_endian) options.mutable_output()->set_torch7_byte_order(v1::BYTE_ORDER_BIG_ENDIAN);
  return options;
}

StreamResult ConvertStream(v1::Serializer::Stub& stub, const std::string& input,
                           const v1::ConvertStreamOptions& options, size_t chunk_bytes,
                           absl::Duration timeout,
                           const std::function<void(size_t)>& before_chunk) {
  StreamResult result;
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  auto stream = stub.ConvertStream(&context);
  v1::ConvertStreamRequest request;
  *request.mutable_options() = options;
  bool sending = stream->Write(request);
  for (size_t offset = 0, i = 0; sending && offset < input.size(); offset += chunk_bytes, ++i) {
    if (before_chunk) before_chunk(i);
    request.mutable_chunk()->set_data(input.substr(offset, chunk_bytes));
    sending = stream->Write(request);
  }
  if (sending) stream->WritesDone();
  v1::ConvertStreamResponse response;
  while (stream->Read(&response)) {
    if (response.has_input_format()) {
      result.input_format = response.input_format();
    } else {
      result.output += response.chunk().data();
    }
  }
  result.status = stream->Finish();
  return result;
}

HeldStream::HeldStream(v1::Serializer::Stub& stub, std::string input,
                       const v1::ConvertStreamOptions& options, size_t first_bytes,
                       absl::Duration timeout)
    : input_(std::move(input)), first_bytes_(std::min(first_bytes, input_.size())) {
  context_.set_deadline(DeadlineIn(timeout));
  stream_ = stub.ConvertStream(&context_);
  v1::ConvertStreamRequest request;
  *request.mutable_options() = options;
  if (stream_->Write(request)) {
    request.mutable_chunk()->set_data(input_.substr(0, first_bytes_));
    stream_->Write(request);
  }
  reader_ = std::thread([this] {
    v1::ConvertStreamResponse response;
    std::string output;
    while (stream_->Read(&response)) output += response.chunk().data();
    grpc::Status status = stream_->Finish();
    std::lock_guard<std::mutex> lock(mutex_);
    output_ = std::move(output);
    status_ = status;
    done_ = true;
    finished_.notify_all();
  });
}

HeldStream::~HeldStream() {
  context_.TryCancel();
  reader_.join();
}

bool HeldStream::Release(size_t chunk_bytes, absl::Duration pause) {
  v1::ConvertStreamRequest request;
  for (size_t offset = first_bytes_; offset < input_.size(); offset += chunk_bytes) {
    absl::SleepFor(pause);
    request.mutable_chunk()->set_data(input_.substr(offset, chunk_bytes));
    if (!stream_->Write(request)) return false;
  }
  return stream_->WritesDone();
}

bool HeldStream::WaitUntilDone(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return finished_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [this] { return done_; });
}

bool HeldStream::done() {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

grpc::Status HeldStream::status() {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_;
}

std::string HeldStream::output() {
  std::lock_guard<std::mutex> lock(mutex_);
  return output_;
}

std::optional<v1::ErrorInfo> ErrorInfoOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return std::nullopt;
  }
  for (const google::protobuf::Any& any : details.details()) {
    v1::ErrorInfo info;
    if (any.UnpackTo(&info)) return info;
  }
  return std::nullopt;
}

absl::StatusOr<std::string> HealthStatus(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(RawChannel(address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

namespace {

absl::Status RunOpenssl(const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {SERIALD_OPENSSL};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  RunResult result = RunProgram(argv, "", absl::Seconds(60));
  if (result.exit_code != 0) {
    return absl::InternalError(absl::StrCat("openssl ", arguments.front(), " failed (",
                                            result.exit_code, "): ", result.err));
  }
  return absl::OkStatus();
}

// A self-signed CA certificate and its key.
absl::Status MakeCa(const std::string& cert, const std::string& key, const std::string& name) {
  return RunOpenssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + name});
}

// A certificate for `name` signed by the CA, with the extensions in `extensions`.
absl::Status MakeSigned(const std::string& dir, const std::string& stem, const std::string& name,
                        const std::string& extensions, const std::string& ca_cert,
                        const std::string& ca_key, int serial) {
  const std::string csr = dir + "/" + stem + ".csr";
  const std::string ext = dir + "/" + stem + ".ext";
  absl::Status status = RunOpenssl(
      {"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", dir + "/" + stem + ".key", "-out", csr, "-subj", "/CN=" + name});
  if (!status.ok()) return status;
  WriteBytes(ext, extensions);
  return RunOpenssl({"x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-set_serial",
                     absl::StrCat(serial), "-days", "2", "-extfile", ext, "-out",
                     dir + "/" + stem + ".pem"});
}

}  // namespace

absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir) {
  TestCertificates certs;
  certs.ca = dir + "/ca.pem";
  certs.server_cert = dir + "/server.pem";
  certs.server_key = dir + "/server.key";
  certs.client_cert = dir + "/client.pem";
  certs.client_key = dir + "/client.key";
  certs.other_ca = dir + "/other-ca.pem";
  certs.other_client_cert = dir + "/other-client.pem";
  certs.other_client_key = dir + "/other-client.key";
  const std::string ca_key = dir + "/ca.key";
  const std::string other_ca_key = dir + "/other-ca.key";
  const std::string client_extensions =
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
      "extendedKeyUsage=clientAuth\n";
  for (absl::Status status : {
           MakeCa(certs.ca, ca_key, "seriald test CA"),
           MakeCa(certs.other_ca, other_ca_key, "another CA"),
           MakeSigned(dir, "server", "localhost",
                      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                      "extendedKeyUsage=serverAuth\n"
                      "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
                      certs.ca, ca_key, 2),
           MakeSigned(dir, "client", "seriald test client", client_extensions, certs.ca, ca_key, 3),
           MakeSigned(dir, "other-client", "seriald test client", client_extensions, certs.other_ca,
                      other_ca_key, 4),
       }) {
    if (!status.ok()) return status;
  }
  return certs;
}

}  // namespace seriald::testing
