// service_benchmark: the seriald service as a client sees it. Starts bin/seriald (next to this
// program) on a free port and reports:
//
//   1. small calls: Convert of a small t7 file to t7-ascii, and Deserialize of it, at several
//      numbers of client threads sharing one channel: calls/s, p50 and p99 latency;
//   1b. a unary Deserialize of a 12 MB tensor, its response parsed by protobuf (then FromProto)
//      and through seriald's C++ client, alternating: calls/s, latency, client work per call;
//   2. streaming: a 1 GiB torch.FloatTensor through ConvertStream (t7 -> t7, and t7 -> t7
//      big-endian) and DeserializeStream, next to a bare gRPC byte stream of the same shape (all
//      bytes up, then as many back, same chunk size) served by this program itself in a
//      subprocess (with seriald's heap settings, wire/heap_settings.h), and a pipelined
//      bare stream (each chunk sent back as it arrives: the best a conversion streaming from
//      input to output could do): MiB/s of payload and the ratio to the bare stream;
//      The ConvertStream rows send from one thread while another reads the output as it comes
//      (the server converts Torch7 as the chunks arrive), except one whose client sends all of
//      the input before it reads (the server then keeps receiving into a spill file). One row
//      sends the same payload as an R double vector in XDR and converts it to native R (the
//      server converts R as the chunks arrive too; an input this large is not kept for the
//      object graph, --max-kept-input-bytes); another reads that vector with
//      DeserializeStream (its doubles come back little-endian, swapped as they are sent).
//      The service rows use generated stubs, as any gRPC client would (each chunk copied into and
//      out of a protobuf string on the client's side, as in the echo rows); two more rows go
//      through seriald's own C++ client (client/seriald_client.h), which sends and receives chunks
//      without those copies (wire/chunk_wire.h);
//      Both echoes run again, on a server of their own, just before every other row, as many
//      times as the row, and the row's ratios are to those runs (a shared machine's speed drifts
//      between rows); a warm-up run of each row comes first, reported but not counted. Two more
//      rows time the memory the C++ client's DeserializeStream fills, alone: as the client has
//      it (pages the run before freed, kept by the process's MappingPool), and fresh;
//   3. the server's peak resident set during each streaming row (a fresh server per row), in
//      bytes and as a multiple of the payload. The server rows run with the input spilled to a
//      file (seriald's default above 64 MiB) and, up to 4 GiB, with it held in memory.
//   Each stream row also reports the processor time and minor page faults of the server and of
//   the client (this process) during a call: unlike the wall clock, processor time does not
//   count waiting for a processor on a shared machine. The clients run with the heap settings
//   serialctl applies (wire/heap_settings.h), or with glibc's defaults (--client-heap glibc), as a
//   program that sets nothing would.
//
// Every response is checked (bytes, statuses); a wrong answer makes the exit status 1. Speed is
// only reported, never judged.
//
//   service_benchmark [--concurrency 1,4,16,64] [--seconds 3] [--stream-mib 1024]
//                     [--chunk-kib 1024] [--repeat 3] [--warmup 1] [--small-input FILE]
//                     [--seriald PATH]
//                     [--stream-rows TEXT] [--client-heap seriald|glibc]
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/seriald_client.h"
#include "core/io/growable_buffer.h"
#include "core/io/mapping_pool.h"
#include "proto/value_conversion.h"
#include "seriald/bench/byte_echo.grpc.pb.h"
#include "seriald/v1/serializer.grpc.pb.h"
#include "tests/testing/process_cpu.h"
#include "tests/testing/process_memory.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/torch7_tensor.h"
#include "wire/heap_settings.h"
#include "wire/raw_streams.h"
#include "wire/unary_wire.h"

namespace seriald::bench {
namespace {

using ::seriald::testing::Subprocess;

constexpr char kEchoFlag[] = "--serve-echo";
constexpr char kEchoPattern = 0x5a;

struct Options {
  std::string seriald;
  std::string small_input = SERIALD_SHARED_DIR "/corpus/torch7/generated/checkpoint_like.bin.t7";
  std::vector<int> concurrency = {1, 4, 16, 64};
  double seconds = 3;
  uint64_t stream_mib = 1024;
  uint64_t chunk_kib = 1024;
  int repeat = 3;
  // Runs of each stream row before those measured: a fresh server's first calls pay for memory
  // it has never touched (on a virtual machine, memory the host may not have handed over yet).
  int warmup = 1;
  // Stream rows run: those whose name contains this (all when empty); the two bare streams,
  // the baselines, always run.
  std::string rows;
  // The clients' heap (this process's): "seriald", the settings serialctl applies
  // (wire/heap_settings.h), or "glibc", the defaults a program gets when it sets nothing.
  std::string client_heap = "seriald";
};

// Wrong answers found; any makes the exit status 1.
std::atomic<int> failures{0};

void Fail(const std::string& what) {
  ++failures;
  std::cerr << "service_benchmark: " << what << std::endl;
}

std::string SelfPath() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<size_t>(n)) : "";
}

// ---------------------------------------------------------------------------------------------
// The bare byte stream, served by this program in a subprocess.

class EchoService final : public ByteEcho::Service {
  grpc::Status Echo(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<Chunk, Chunk>* stream) override {
    Chunk chunk;
    uint64_t total = 0;
    size_t largest = 0;
    while (stream->Read(&chunk)) {
      total += chunk.data().size();
      largest = std::max(largest, chunk.data().size());
    }
    Chunk out;
    out.mutable_data()->assign(largest, kEchoPattern);
    for (uint64_t sent = 0; sent < total; sent += out.data().size()) {
      if (total - sent < out.data().size()) out.mutable_data()->resize(total - sent);
      if (!stream->Write(out)) return grpc::Status::CANCELLED;
    }
    return grpc::Status::OK;
  }

  grpc::Status PipelinedEcho(grpc::ServerContext* context,
                             grpc::ServerReaderWriter<Chunk, Chunk>* stream) override {
    Chunk chunk;
    while (stream->Read(&chunk)) {
      std::memset(chunk.mutable_data()->data(), kEchoPattern, chunk.data().size());
      if (!stream->Write(chunk)) return grpc::Status::CANCELLED;
    }
    return grpc::Status::OK;
  }
};

// Serves ByteEcho on a free port until SIGTERM, as seriald serves its service (sync API, no
// message size limits); prints "listening on 127.0.0.1:PORT" when ready.
int ServeEcho() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(-1);
  builder.SetMaxSendMessageSize(-1);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return 1;
  std::cout << "echo: listening on 127.0.0.1:" << port << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  server->Shutdown(std::chrono::system_clock::now());
  server->Wait();
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Server processes.

class ServerProcess {
 public:
  // Starts `argv` and waits for its "listening on HOST:PORT" line.
  static std::unique_ptr<ServerProcess> Start(const std::vector<std::string>& argv) {
    // The server's log (one line per call) is not needed here; it must not fill a pipe.
    auto process = Subprocess::Start(argv, "", "/dev/null");
    if (!process.ok()) {
      Fail(absl::StrCat("cannot start ", argv[0], ": ", process.status().ToString()));
      return nullptr;
    }
    std::optional<std::string> line =
        (*process)->WaitForStdoutLine("listening on", absl::Seconds(60));
    if (!line) {
      Fail(absl::StrCat(argv[0], " did not start: ", (*process)->stdout_text()));
      return nullptr;
    }
    std::unique_ptr<ServerProcess> server(new ServerProcess());
    server->process_ = *std::move(process);
    std::vector<std::string> words = absl::StrSplit(*line, ' ');
    for (size_t i = 0; i + 2 < words.size(); ++i) {
      if (words[i] == "listening" && words[i + 1] == "on") server->address_ = words[i + 2];
    }
    return server;
  }

  ~ServerProcess() {
    process_->Signal(SIGTERM);
    if (process_->Wait(absl::Seconds(60)) != 0) Fail("a server did not stop cleanly");
  }

  const std::string& address() const { return address_; }

  uint64_t PeakRss() const {
    absl::StatusOr<uint64_t> peak = testing::PeakRssBytes(process_->pid());
    return peak.ok() ? *peak : 0;
  }
  uint64_t Rss() const {
    absl::StatusOr<uint64_t> rss = testing::RssBytes(process_->pid());
    return rss.ok() ? *rss : 0;
  }
  // The work of the process started: with --seriald naming a wrapper that forks (perf, strace),
  // the wrapper's own.
  absl::StatusOr<testing::ProcessWork> Work() const { return testing::WorkOf(process_->pid()); }

  std::shared_ptr<grpc::Channel> Channel() const {
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(-1);
    arguments.SetMaxSendMessageSize(-1);
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel =
        grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), arguments);
    channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return channel;
  }

 private:
  ServerProcess() = default;
  std::unique_ptr<Subprocess> process_;
  std::string address_;
};

std::unique_ptr<ServerProcess> StartSeriald(const Options& options,
                                            const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {options.seriald, "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return ServerProcess::Start(argv);
}

// ---------------------------------------------------------------------------------------------
// 1. Small calls.

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

struct SmallResult {
  uint64_t calls = 0;
  double calls_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  uint64_t errors = 0;
};

// `call` makes one call and says whether its answer was right.
template <typename Call>
SmallResult RunSmallCalls(int threads, absl::Duration duration, Call call) {
  std::vector<std::vector<double>> latencies(threads);
  std::atomic<uint64_t> errors{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  absl::Time start, end;
  std::atomic<int> ready{0};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      absl::Time stop = end;
      while (true) {
        auto before = std::chrono::steady_clock::now();
        if (!call()) ++errors;
        auto after = std::chrono::steady_clock::now();
        latencies[t].push_back(std::chrono::duration<double, std::milli>(after - before).count());
        if (absl::Now() >= stop) break;
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  start = absl::Now();
  end = start + duration;
  go.store(true);
  for (std::thread& worker : workers) worker.join();
  double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  SmallResult result;
  result.calls = all.size();
  result.calls_per_second = static_cast<double>(all.size()) / elapsed;
  result.p50_ms = Percentile(all, 0.50);
  result.p99_ms = Percentile(all, 0.99);
  result.errors = errors.load();
  return result;
}

void BenchmarkSmallCalls(const Options& options) {
  std::ifstream file(options.small_input, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  const std::string input = bytes.str();
  if (!file || input.empty()) {
    Fail(absl::StrCat("cannot read ", options.small_input));
    return;
  }
  // No concurrency limit: the clients, not the server's admission, set the load.
  auto server = StartSeriald(options, {"--max-concurrent-calls", "0"});
  if (server == nullptr) return;
  auto channel = server->Channel();

  // The expected answers, from one call each.
  auto stub = v1::Serializer::NewStub(channel);
  v1::ConvertRequest convert;
  convert.set_data(input);
  convert.mutable_output()->set_format(v1::FORMAT_T7_ASCII);
  v1::ConvertResponse expected_convert;
  v1::DeserializeRequest deserialize;
  deserialize.set_data(input);
  v1::DeserializeResponse expected_deserialize;
  {
    grpc::ClientContext a, b;
    if (!stub->Convert(&a, convert, &expected_convert).ok() ||
        !stub->Deserialize(&b, deserialize, &expected_deserialize).ok()) {
      Fail("the first small calls failed");
      return;
    }
  }
  const std::string expected_value = expected_deserialize.SerializeAsString();

  std::printf(
      "\n1. Small calls: %s (%zu bytes), %.2g s per row, client threads sharing one "
      "channel\n\n",
      options.small_input.substr(options.small_input.rfind('/') + 1).c_str(), input.size(),
      options.seconds);
  std::printf("| call | client threads | calls/s | p50 ms | p99 ms | errors |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  const absl::Duration duration = absl::Seconds(options.seconds);
  for (int threads : options.concurrency) {
    SmallResult r = RunSmallCalls(threads, duration, [&] {
      grpc::ClientContext context;
      v1::ConvertResponse response;
      return stub->Convert(&context, convert, &response).ok() &&
             response.data() == expected_convert.data();
    });
    std::printf("| Convert t7 -> t7-ascii | %d | %.0f | %.3f | %.3f | %llu |\n", threads,
                r.calls_per_second, r.p50_ms, r.p99_ms, static_cast<unsigned long long>(r.errors));
    if (r.errors > 0) Fail("Convert calls failed or answered wrongly");
  }
  for (int threads : options.concurrency) {
    SmallResult r = RunSmallCalls(threads, duration, [&] {
      grpc::ClientContext context;
      v1::DeserializeResponse response;
      return stub->Deserialize(&context, deserialize, &response).ok() &&
             response.SerializeAsString() == expected_value;
    });
    std::printf("| Deserialize t7 | %d | %.0f | %.3f | %.3f | %llu |\n", threads,
                r.calls_per_second, r.p50_ms, r.p99_ms, static_cast<unsigned long long>(r.errors));
    if (r.errors > 0) Fail("Deserialize calls failed or answered wrongly");
  }
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// 2 and 3. Streams.

struct StreamTiming {
  double seconds = 0;     // the whole call
  double up_seconds = 0;  // until the first response message (all input sent and read)
  bool ok = false;
  // Processor time (user + system, all threads) and minor page faults during the call: the
  // server's, and this process's (the client, with its checks of the response).
  double server_cpu_seconds = 0;
  double client_cpu_seconds = 0;
  double server_faults = 0;
  double client_faults = 0;
};

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Sends `head` then `body` as one stream in chunks of `chunk_bytes` (in the request field
// `set_chunk` returns), then ends the request stream.
template <typename Stream, typename Request, typename SetChunk>
bool SendChunks(Stream& stream, Request& request, std::string_view head, std::string_view body,
                size_t chunk_bytes, SetChunk set_chunk) {
  std::string* chunk = set_chunk(request);
  chunk->clear();
  for (std::string_view part : {head, body}) {
    for (size_t offset = 0; offset < part.size();) {
      const size_t take = std::min(chunk_bytes - chunk->size(), part.size() - offset);
      chunk->append(part.data() + offset, take);
      offset += take;
      if (chunk->size() == chunk_bytes) {
        if (!stream.Write(request)) return false;
        chunk->clear();
      }
    }
  }
  if (!chunk->empty() && !stream.Write(request)) return false;
  return stream.WritesDone();
}

template <typename Stream, typename Request, typename SetChunk>
bool SendChunks(Stream& stream, Request& request, std::string_view input, size_t chunk_bytes,
                SetChunk set_chunk) {
  return SendChunks(stream, request, std::string_view(), input, chunk_bytes, set_chunk);
}

// The bare byte stream: all of `input` up, then as much back (Echo); or, `pipelined`, a thread
// sends the chunks while this one reads each as it comes back (PipelinedEcho).
StreamTiming StreamEcho(const std::shared_ptr<grpc::Channel>& channel, const std::string& input,
                        size_t chunk_bytes, bool pipelined) {
  auto stub = ByteEcho::NewStub(channel);
  grpc::ClientContext context;
  StreamTiming timing;
  auto start = Clock::now();
  auto stream = pipelined ? stub->PipelinedEcho(&context) : stub->Echo(&context);
  auto send = [&] {
    Chunk request;
    SendChunks(*stream, request, input, chunk_bytes, [](Chunk& r) { return r.mutable_data(); });
  };
  std::thread sender;
  if (pipelined) {
    sender = std::thread(send);
  } else {
    send();
  }
  Chunk response;
  uint64_t received = 0;
  bool right = true;
  const std::string pattern(chunk_bytes, kEchoPattern);
  while (stream->Read(&response)) {
    if (received == 0) timing.up_seconds = SecondsSince(start);
    right = right && response.data().size() <= chunk_bytes &&
            std::memcmp(response.data().data(), pattern.data(), response.data().size()) == 0;
    received += response.data().size();
  }
  if (sender.joinable()) sender.join();
  grpc::Status status = stream->Finish();
  timing.seconds = SecondsSince(start);
  timing.ok = status.ok() && right && received == input.size();
  if (!timing.ok) {
    Fail(absl::StrCat(pipelined ? "pipelined " : "", "echo stream: ", status.error_message()));
  }
  return timing;
}

// Whether `data` is the expected output at `offset`: the input itself, or (big_endian) the
// big-endian tensor's header and the input's floats byte-swapped, checked without a second copy
// of the payload in this process.
bool IsExpectedOutput(const std::string& input, size_t header_bytes,
                      const std::string& big_endian_header, bool big_endian, uint64_t offset,
                      std::string_view data) {
  if (!big_endian) {
    return offset + data.size() <= input.size() &&
           std::memcmp(data.data(), input.data() + offset, data.size()) == 0;
  }
  if (offset + data.size() > input.size()) return false;
  auto want = [&](uint64_t at) {
    return at < header_bytes ? big_endian_header[at]
                             : input[header_bytes + ((at - header_bytes) ^ 3)];
  };
  size_t i = 0;
  // Byte by byte up to the first whole float, then a float at a time.
  for (; i < data.size() && (offset + i < header_bytes || (offset + i - header_bytes) % 4 != 0);
       ++i) {
    if (data[i] != want(offset + i)) return false;
  }
  for (; i + 4 <= data.size(); i += 4) {
    uint32_t got, from;
    std::memcpy(&got, data.data() + i, 4);
    std::memcpy(&from, input.data() + offset + i, 4);
    if (got != __builtin_bswap32(from)) return false;
  }
  for (; i < data.size(); ++i) {
    if (data[i] != want(offset + i)) return false;
  }
  return true;
}

// ConvertStream of `input` to Torch7 (big-endian when asked). `pipelined`: a thread sends the
// chunks while this one reads the output as it comes (what a streaming client does); else all
// of the input goes up before any output is read.
StreamTiming StreamConvert(const std::shared_ptr<grpc::Channel>& channel, const std::string& input,
                           size_t header_bytes, const std::string& big_endian_header,
                           bool big_endian, size_t chunk_bytes, bool pipelined) {
  auto stub = v1::Serializer::NewStub(channel);
  grpc::ClientContext context;
  StreamTiming timing;
  auto start = Clock::now();
  auto stream = stub->ConvertStream(&context);
  v1::ConvertStreamRequest request;
  request.mutable_options()->mutable_input()->set_input_size(input.size());
  request.mutable_options()->mutable_output()->set_format(v1::FORMAT_T7);
  if (big_endian) {
    request.mutable_options()->mutable_output()->set_torch7_byte_order(v1::BYTE_ORDER_BIG_ENDIAN);
  }
  auto send = [&] {
    if (stream->Write(request)) {
      SendChunks(*stream, request, input, chunk_bytes,
                 [](v1::ConvertStreamRequest& r) { return r.mutable_chunk()->mutable_data(); });
    }
  };
  std::thread sender;
  if (pipelined) {
    sender = std::thread(send);
  } else {
    send();
  }
  v1::ConvertStreamResponse response;
  uint64_t received = 0;
  bool right = true, first = true;
  while (stream->Read(&response)) {
    if (first) timing.up_seconds = SecondsSince(start);
    first = false;
    if (!response.has_chunk()) continue;
    const std::string& data = response.chunk().data();
    right = right &&
            IsExpectedOutput(input, header_bytes, big_endian_header, big_endian, received, data);
    received += data.size();
  }
  if (sender.joinable()) sender.join();
  grpc::Status status = stream->Finish();
  timing.seconds = SecondsSince(start);
  timing.ok = status.ok() && right && received == input.size();
  if (!timing.ok) {
    Fail(absl::StrCat("ConvertStream: ", status.error_message(), right ? "" : " (wrong bytes)"));
  }
  return timing;
}

// An R stream of the tensor's payload as one double vector, "X\n" version 3 (or, native, "B\n"):
// its header; the vector's data follows (the payload's bytes, big-endian in XDR).
// Whether `got` is whole doubles, each the byte-swapped double at the same place in `sent`.
bool IsSwappedDoubles(std::string_view got, std::string_view sent) {
  if (got.size() % 8 != 0 || got.size() > sent.size()) return false;
  for (size_t i = 0; i < got.size(); i += 8) {
    uint64_t a, b;
    std::memcpy(&a, got.data() + i, 8);
    std::memcpy(&b, sent.data() + i, 8);
    if (a != __builtin_bswap64(b)) return false;
  }
  return true;
}

std::string RNumericHeader(uint64_t doubles, bool native) {
  std::string s = native ? "B\n" : "X\n";
  auto put = [&](int32_t v) {
    uint32_t u = static_cast<uint32_t>(v);
    if (!native) u = __builtin_bswap32(u);
    s.append(reinterpret_cast<const char*>(&u), 4);
  };
  for (int32_t v : {3, 0x040202, 0x030500, 5}) put(v);
  s += "UTF-8";
  put(14);  // REALSXP
  if (doubles <= 0x7FFFFFFF) {
    put(static_cast<int32_t>(doubles));
  } else {
    put(-1);
    put(static_cast<int32_t>(doubles >> 32));
    put(static_cast<int32_t>(static_cast<uint32_t>(doubles)));
  }
  return s;
}

// ConvertStream of an XDR R stream (RNumericHeader, then `data`) to native R, the sender on a
// thread of its own; the output is checked as it arrives (its header, then each double swapped).
StreamTiming StreamConvertR(const std::shared_ptr<grpc::Channel>& channel, std::string_view data,
                            size_t chunk_bytes) {
  const std::string header = RNumericHeader(data.size() / 8, /*native=*/false);
  const std::string native_header = RNumericHeader(data.size() / 8, /*native=*/true);
  auto stub = v1::Serializer::NewStub(channel);
  grpc::ClientContext context;
  StreamTiming timing;
  auto start = Clock::now();
  auto stream = stub->ConvertStream(&context);
  v1::ConvertStreamRequest request;
  request.mutable_options()->mutable_input()->set_input_size(header.size() + data.size());
  request.mutable_options()->mutable_output()->set_format(v1::FORMAT_RDS_NATIVE);
  std::thread sender([&] {
    if (!stream->Write(request)) return;
    SendChunks(*stream, request, header, data, chunk_bytes,
               [](v1::ConvertStreamRequest& r) { return r.mutable_chunk()->mutable_data(); });
  });
  v1::ConvertStreamResponse response;
  uint64_t received = 0;
  bool right = true, first = true;
  while (stream->Read(&response)) {
    if (first) timing.up_seconds = SecondsSince(start);
    first = false;
    if (!response.has_chunk()) continue;
    const std::string& out = response.chunk().data();
    for (size_t i = 0; right && i < out.size();) {
      const uint64_t at = received + i;
      if (at < native_header.size()) {
        right = out[i] == native_header[at];
        ++i;
        continue;
      }
      const uint64_t d = at - native_header.size();
      if (d % 8 == 0 && i + 8 <= out.size() && d + 8 <= data.size()) {
        uint64_t got, from;
        std::memcpy(&got, out.data() + i, 8);
        std::memcpy(&from, data.data() + d, 8);
        right = got == __builtin_bswap64(from);
        i += 8;
      } else {
        right = d < data.size() && out[i] == data[(d & ~uint64_t{7}) + 7 - d % 8];
        ++i;
      }
    }
    received += out.size();
  }
  sender.join();
  grpc::Status status = stream->Finish();
  timing.seconds = SecondsSince(start);
  timing.ok = status.ok() && right && received == native_header.size() + data.size();
  if (!timing.ok) {
    Fail(
        absl::StrCat("ConvertStream rds: ", status.error_message(), right ? "" : " (wrong bytes)"));
  }
  return timing;
}

// DeserializeStream of `header` then `data`, one array whose bytes come back: `data` itself, or
// (`xdr_doubles`) its big-endian doubles swapped, checked as they arrive.
StreamTiming StreamDeserialize(const std::shared_ptr<grpc::Channel>& channel,
                               std::string_view header, std::string_view data, size_t chunk_bytes,
                               bool xdr_doubles = false) {
  auto stub = v1::Serializer::NewStub(channel);
  grpc::ClientContext context;
  StreamTiming timing;
  auto start = Clock::now();
  auto stream = stub->DeserializeStream(&context);
  v1::DeserializeStreamRequest request;
  request.mutable_options()->set_input_size(header.size() + data.size());
  if (stream->Write(request)) {
    SendChunks(*stream, request, header, data, chunk_bytes,
               [](v1::DeserializeStreamRequest& r) { return r.mutable_chunk()->mutable_data(); });
  }
  v1::DeserializeStreamResponse response;
  uint64_t received = 0;
  bool right = true, first = true;
  const std::string_view data_part = data;
  while (stream->Read(&response)) {
    if (first) {
      timing.up_seconds = SecondsSince(start);
      right = response.has_header() && response.header().streamed_arrays_size() == 1;
      first = false;
      continue;
    }
    const v1::ArrayChunk& chunk = response.array_chunk();
    const std::string& bytes = chunk.data();
    right = right && chunk.offset() == received && received + bytes.size() <= data_part.size();
    if (right && xdr_doubles) {
      right = received % 8 == 0 && IsSwappedDoubles(bytes, data_part.substr(received));
    } else if (right) {
      right = std::memcmp(bytes.data(), data_part.data() + received, bytes.size()) == 0;
    }
    received += bytes.size();
  }
  grpc::Status status = stream->Finish();
  timing.seconds = SecondsSince(start);
  timing.ok = status.ok() && right && received == data_part.size();
  if (!timing.ok) {
    Fail(absl::StrCat("DeserializeStream: ", status.error_message(), right ? "" : " (wrong data)"));
  }
  return timing;
}

// Unary Deserialize of an XDR R stream (RNumericHeader, then `doubles`) in one message, the
// request built before the clock starts; the answer's vector is checked (each double swapped).
StreamTiming UnaryDeserializeR(const std::shared_ptr<grpc::Channel>& channel,
                               std::string_view doubles) {
  auto stub = v1::Serializer::NewStub(channel);
  v1::DeserializeRequest request;
  request.set_data(RNumericHeader(doubles.size() / 8, /*native=*/false));
  request.mutable_data()->append(doubles);
  StreamTiming timing;
  grpc::ClientContext context;
  v1::DeserializeResponse response;
  auto start = Clock::now();
  grpc::Status status = stub->Deserialize(&context, request, &response);
  timing.seconds = SecondsSince(start);
  bool right = false;
  for (const v1::Node& node : response.value().nodes()) {
    if (!node.has_array()) continue;
    const std::string& bytes = node.array().data();
    right = bytes.size() == doubles.size() && IsSwappedDoubles(bytes, doubles);
  }
  timing.ok = status.ok() && right;
  if (!timing.ok) {
    Fail(absl::StrCat("Deserialize: ", status.error_message(), right ? "" : " (wrong data)"));
  }
  return timing;
}

// seriald's C++ client, always streaming, whatever --stream-mib; null (after reporting) when it
// cannot connect.
std::unique_ptr<SerialdClient> ConnectClient(const std::string& address, size_t chunk_bytes) {
  ClientOptions options;
  options.target = address;
  options.chunk_bytes = static_cast<uint32_t>(chunk_bytes);
  options.stream_threshold_bytes = 0;
  absl::StatusOr<std::unique_ptr<SerialdClient>> client = SerialdClient::Connect(options);
  if (!client.ok()) {
    Fail(absl::StrCat("SerialdClient: ", client.status().ToString()));
    return nullptr;
  }
  return std::move(*client);
}

// ConvertStream to big-endian through seriald's C++ client, every output byte checked as it
// arrives. `up` is the time until the first output byte.
StreamTiming ClientConvert(const std::string& address, const std::string& input,
                           size_t header_bytes, const std::string& big_endian_header,
                           size_t chunk_bytes) {
  StreamTiming timing;
  std::unique_ptr<SerialdClient> client = ConnectClient(address, chunk_bytes);
  if (client == nullptr) return timing;
  ConvertSpec spec;
  spec.output_format = "t7";
  spec.write_options.torch7_big_endian = true;
  const Buffer bytes = Buffer::Wrap(input.data(), input.size(), [] {});
  uint64_t received = 0;
  bool right = true;
  auto start = Clock::now();
  absl::StatusOr<ConvertResult> result = client->Convert(bytes, spec, [&](std::string_view data) {
    if (received == 0) timing.up_seconds = SecondsSince(start);
    right = right && IsExpectedOutput(input, header_bytes, big_endian_header, true, received, data);
    received += data.size();
    return absl::OkStatus();
  });
  timing.seconds = SecondsSince(start);
  timing.ok = result.ok() && result->streamed && right && received == input.size();
  if (!timing.ok) {
    Fail(absl::StrCat("SerialdClient::Convert: ", result.status().ToString(),
                      right ? "" : " (wrong bytes)"));
  }
  return timing;
}

// DeserializeStream through seriald's C++ client: the tensor's data comes back as one Buffer,
// checked against the input. The client reports no first response, so `up` stays unknown.
StreamTiming ClientDeserialize(const std::string& address, const std::string& input,
                               size_t header_bytes, size_t chunk_bytes) {
  StreamTiming timing;
  std::unique_ptr<SerialdClient> client = ConnectClient(address, chunk_bytes);
  if (client == nullptr) return timing;
  const Buffer bytes = Buffer::Wrap(input.data(), input.size(), [] {});
  std::string format;
  auto start = Clock::now();
  absl::StatusOr<Value> value = client->Deserialize(bytes, &format);
  timing.seconds = SecondsSince(start);
  const std::string_view data_part = std::string_view(input).substr(header_bytes);
  bool right = false;
  if (value.ok()) {
    for (NodeId id = 0; id < value->size(); ++id) {
      const Array* array = value->GetIf<Array>(id);
      right = right || (array != nullptr && array->data.view() == data_part);
    }
  }
  timing.ok = value.ok() && right;
  if (!timing.ok) {
    Fail(absl::StrCat("SerialdClient::Deserialize: ", value.status().ToString(),
                      right ? "" : " (wrong data)"));
  }
  return timing;
}

// 1b. A unary Deserialize of a 12 MB tensor, one client thread, the request sent from its Buffer
// (wire::EncodeRequest): the response parsed by protobuf, which copies the array into a string,
// then FromProto (what seriald's C++ client did before wire::TakeResponseArrays), and through
// seriald's C++ client, which takes the array from the received slices. The rows alternate,
// twice each; the client's processor time and minor page faults are per call.
void BenchmarkUnaryDeserialize(const Options& options) {
  constexpr uint64_t kCount = 3'000'000;  // under the client's 16 MiB unary threshold
  const std::string input = testing::FloatTensorStream(kCount);
  const std::string_view payload =
      std::string_view(input).substr(testing::FloatTensorHeader(kCount).size());
  auto server = StartSeriald(options, {});
  if (server == nullptr) return;
  auto channel = server->Channel();
  ClientOptions client_options;
  client_options.target = server->address();
  absl::StatusOr<std::unique_ptr<SerialdClient>> client = SerialdClient::Connect(client_options);
  if (!client.ok()) {
    Fail(absl::StrCat("SerialdClient: ", client.status().ToString()));
    return;
  }
  const Buffer input_buffer = Buffer::Wrap(input.data(), input.size(), [] {});
  auto has_payload = [&](const absl::StatusOr<Value>& value) {
    if (!value.ok()) return false;
    for (NodeId id = 0; id < value->size(); ++id) {
      const Array* array = value->GetIf<Array>(id);
      if (array != nullptr) return array->data.view() == payload;
    }
    return false;
  };
  // The request sent from the Buffer both ways: the rows differ in the reading alone.
  wire::RawMethods raw_methods(channel);
  v1::DeserializeRequest options_only;
  auto through_protobuf = [&] {
    grpc::ClientContext context;
    v1::DeserializeResponse response;
    return raw_methods
               .Call(wire::UnaryMethod::kDeserialize, &context,
                     wire::EncodeRequest(input_buffer, options_only), &response)
               .ok() &&
           has_payload(FromProto(std::move(*response.mutable_value())));
  };
  auto through_client = [&] {
    std::string format;
    return has_payload((*client)->Deserialize(input_buffer, &format));
  };
  std::printf(
      "\n1b. Unary Deserialize of a %zu-byte torch.FloatTensor, one client thread, %.2g s per "
      "row, the rows alternating\n\n",
      input.size(), options.seconds);
  std::printf(
      "| client | calls/s | p50 ms | p99 ms | client CPU ms / call | client page faults / "
      "call | errors |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  for (int round = 0; round < 2; ++round) {
    for (bool own_client : {false, true}) {
      const testing::ProcessWork before = testing::OwnWork();
      SmallResult r = own_client
                          ? RunSmallCalls(1, absl::Seconds(options.seconds), through_client)
                          : RunSmallCalls(1, absl::Seconds(options.seconds), through_protobuf);
      const testing::ProcessWork after = testing::OwnWork();
      const double calls = static_cast<double>(std::max<uint64_t>(1, r.calls));
      std::printf("| %s | %.0f | %.2f | %.2f | %.2f | %.0f | %llu |\n",
                  own_client ? "seriald's C++ client" : "protobuf's parse, then FromProto",
                  r.calls_per_second, r.p50_ms, r.p99_ms,
                  1000 * (after.cpu_seconds - before.cpu_seconds) / calls,
                  static_cast<double>(after.minor_faults - before.minor_faults) / calls,
                  static_cast<unsigned long long>(r.errors));
      if (r.errors > 0) Fail("unary Deserialize calls failed or answered wrongly");
    }
  }
  std::fflush(stdout);
}

// No stream: a GrowableBuffer of `input`'s size filled from it a chunk at a time in this process,
// as the C++ client's DeserializeStream fills the array it returns. What a client that returns
// the data must do beyond the bare stream. Its memory comes from the process's MappingPool
// (core/io/mapping_pool.h), as the client's does: the pages the run before freed, or, `fresh`,
// memory the process has not touched before (the pool emptied before the clock starts).
StreamTiming FillMemory(std::string_view input, size_t chunk_bytes, bool fresh) {
  StreamTiming timing;
  if (fresh) MappingPool::Shared().Release();
  auto start = Clock::now();
  GrowableBuffer filled;
  absl::Status status = filled.Reserve(input.size());
  for (size_t at = 0; status.ok() && at < input.size(); at += chunk_bytes) {
    status = filled.Append(input.data() + at, std::min(chunk_bytes, input.size() - at));
  }
  const Buffer data = std::move(filled).Finish();
  timing.seconds = SecondsSince(start);
  timing.ok = status.ok() && data.view() == input;
  if (!timing.ok) Fail(absl::StrCat("memory fill: ", status.ToString()));
  return timing;
}

struct StreamRow {
  std::string name;
  std::vector<StreamTiming> runs;
  // The whole-call seconds of the runs before `runs`, not counted (a fresh server's first calls).
  std::vector<double> warmup_seconds;
  // The bare and pipelined echoes' whole-call seconds, as many runs of each as the row has, run
  // just before it (empty for the two baseline rows themselves).
  std::vector<double> bare_seconds;
  std::vector<double> pipelined_seconds;
  uint64_t idle_rss = 0;  // once connected, before the first run
  uint64_t peak_rss = 0;
};

double MedianOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

// The median over `runs` of one of their figures.
double MedianOf(const std::vector<StreamTiming>& runs, double StreamTiming::*figure) {
  std::vector<double> values;
  for (const StreamTiming& run : runs) values.push_back(run.*figure);
  return MedianOf(std::move(values));
}

// The run with the median total time.
StreamTiming Median(std::vector<StreamTiming> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const StreamTiming& a, const StreamTiming& b) { return a.seconds < b.seconds; });
  return runs.empty() ? StreamTiming{} : runs[runs.size() / 2];
}

void BenchmarkStreams(const Options& options) {
  const uint64_t elements = (options.stream_mib << 20) / 4;
  const uint64_t payload = 4 * elements;
  const size_t chunk_bytes = static_cast<size_t>(options.chunk_kib << 10);
  const std::string input = testing::FloatTensorStream(elements);
  const std::string big_endian_header = testing::FloatTensorHeader(elements, /*big_endian=*/true);
  const size_t header_bytes = testing::FloatTensorHeader(elements).size();
  // Inputs above --spill-above (64 MiB) wait in a file in $TMPDIR or /tmp (the default), or in
  // memory with --spill-dir "".
  const std::string limit = absl::StrCat(input.size() + (1 << 20));
  const std::vector<std::string> spilled = {"--chunk-bytes",        absl::StrCat(chunk_bytes),
                                            "--max-request-bytes",  limit,
                                            "--max-response-bytes", limit};
  std::vector<std::string> in_memory = spilled;
  in_memory.insert(in_memory.end(), {"--spill-dir", ""});
  // A payload above 4 GiB is held only by the client and the spill file: a server holding it
  // too could pass what the machine has.
  const bool with_in_memory = options.stream_mib <= 4096;

  // The baselines of every row, run on a server of their own just before the row: on a shared
  // machine the speed of everything drifts between rows, and a ratio to echoes measured minutes
  // earlier would carry that drift.
  std::unique_ptr<ServerProcess> echo_server = ServerProcess::Start({SelfPath(), kEchoFlag});
  if (echo_server == nullptr) return;
  const std::shared_ptr<grpc::Channel> echo_channel = echo_server->Channel();

  std::vector<StreamRow> rows;
  auto measure = [&](const std::string& name, auto start_server, auto run) {
    const bool baseline = rows.size() < 2;
    if (!baseline && name.find(options.rows) == std::string::npos) return;
    std::unique_ptr<ServerProcess> server = start_server();
    StreamRow row;
    row.name = name;
    if (server == nullptr) return;
    auto channel = server->Channel();
    row.idle_rss = server->Rss();
    // The echoes just before the row, not between its runs: a server idle for a second between
    // calls gives back what consecutive calls reuse (spill files, heap pages).
    for (int i = 0; i < options.repeat && !baseline; ++i) {
      row.bare_seconds.push_back(
          StreamEcho(echo_channel, input, chunk_bytes, /*pipelined=*/false).seconds);
      row.pipelined_seconds.push_back(
          StreamEcho(echo_channel, input, chunk_bytes, /*pipelined=*/true).seconds);
    }
    for (int i = 0; i < options.warmup; ++i) {
      row.warmup_seconds.push_back(run(channel, server->address()).seconds);
    }
    for (int i = 0; i < options.repeat; ++i) {
      const absl::StatusOr<testing::ProcessWork> server_before = server->Work();
      const testing::ProcessWork client_before = testing::OwnWork();
      StreamTiming timing = run(channel, server->address());
      const absl::StatusOr<testing::ProcessWork> server_after = server->Work();
      const testing::ProcessWork client_after = testing::OwnWork();
      timing.client_cpu_seconds = client_after.cpu_seconds - client_before.cpu_seconds;
      timing.client_faults =
          static_cast<double>(client_after.minor_faults - client_before.minor_faults);
      if (server_before.ok() && server_after.ok()) {
        timing.server_cpu_seconds = server_after->cpu_seconds - server_before->cpu_seconds;
        timing.server_faults =
            static_cast<double>(server_after->minor_faults - server_before->minor_faults);
      } else {
        // A server gone mid-row: its figures stay 0 and the run fails, never a wrapped count.
        Fail(absl::StrCat(name, ": cannot read the server's work: ",
                          (server_before.ok() ? server_after : server_before).status().ToString()));
      }
      row.runs.push_back(timing);
    }
    row.peak_rss = server->PeakRss();
    rows.push_back(std::move(row));
  };
  measure(
      "bare gRPC byte stream (echo)",
      [&] {
        return ServerProcess::Start({SelfPath(), kEchoFlag});
      },
      [&](const std::shared_ptr<grpc::Channel>& c, const std::string&) {
        return StreamEcho(c, input, chunk_bytes, /*pipelined=*/false);
      });
  measure(
      "pipelined bare echo (each chunk back as it arrives)",
      [&] {
        return ServerProcess::Start({SelfPath(), kEchoFlag});
      },
      [&](const std::shared_ptr<grpc::Channel>& c, const std::string&) {
        return StreamEcho(c, input, chunk_bytes, /*pipelined=*/true);
      });
  measure(
      "ConvertStream t7 -> t7", [&] { return StartSeriald(options, spilled); },
      [&](const std::shared_ptr<grpc::Channel>& c, const std::string&) {
        return StreamConvert(c, input, header_bytes, big_endian_header, false, chunk_bytes,
                             /*pipelined=*/true);
      });
  measure(
      "ConvertStream t7 -> t7 big-endian", [&] { return StartSeriald(options, spilled); },
      [&](const std::shared_ptr<grpc::Channel>& c, const std::string&) {
        return StreamConvert(c, input, header_bytes, big_endian_header, true, chunk_bytes,
                             /*pipelined=*/true);
      });
  measure(
      "ConvertStream t7 -> t7 big-endian, client sends all first",
      [&] { return StartSeriald(options, spilled); },
      [&](const std::shared_ptr<grpc::Channel>& c, const std::string&) {
        return StreamConvert(c, input, header_bytes, big_endian_header, true, chunk_bytes,
                             /*pipelined=*/false);
      });
  if (with_in_memory) {
    measure(
        "ConvertStream t7 -> t7 big-endian, input in memory",
        [&] { return StartSeriald(options, in_memory); },
        [&](const std::shared_ptr<grpc::Channel>& c, const std::string&) {
          return StreamConvert(c, input, header_bytes, big_endian_header, true, chunk_bytes,
                               /*pipelined=*/true);
        });
  }
  // The same payload as an R double vector (the tensor's bytes taken as XDR doubles).
  measure(
      "ConvertStream rds -> rds-native (XDR doubles)",
      [&] { return StartSeriald(options, spilled); },
      [&](const std::shared_ptr<grpc::Channel>& c, const std::string&) {
        return StreamConvertR(c, std::string_view(input).substr(header_bytes), chunk_bytes);
      });
  measure(
      "DeserializeStream t7", [&] { return StartSeriald(options, spilled); },
      [&](const std::shared_ptr<grpc::Channel>& c, const std::string&) {
        return StreamDeserialize(c, std::string_view(input).substr(0, header_bytes),
                                 std::string_view(input).substr(header_bytes), chunk_bytes);
      });
  // Its data comes back little-endian, swapped by the server.
  measure(
      "DeserializeStream rds (XDR doubles)", [&] { return StartSeriald(options, spilled); },
      [&](const std::shared_ptr<grpc::Channel>& c, const std::string&) {
        const std::string_view doubles = std::string_view(input).substr(header_bytes);
        return StreamDeserialize(c, RNumericHeader(doubles.size() / 8, /*native=*/false), doubles,
                                 chunk_bytes, /*xdr_doubles=*/true);
      });
  // The same in one unary message each way (--max-message-bytes raised to take it): gRPC
  // receives the whole request, and the response is built whole, before anything is sent.
  if (with_in_memory) {
    std::vector<std::string> unary = in_memory;
    unary.insert(unary.end(), {"--max-message-bytes", limit});
    measure(
        "Deserialize (unary) rds (XDR doubles)", [&] { return StartSeriald(options, unary); },
        [&](const std::shared_ptr<grpc::Channel>& c, const std::string&) {
          return UnaryDeserializeR(c, std::string_view(input).substr(header_bytes));
        });
  }
  if (with_in_memory) {
    measure(
        "DeserializeStream t7, input in memory", [&] { return StartSeriald(options, in_memory); },
        [&](const std::shared_ptr<grpc::Channel>& c, const std::string&) {
          return StreamDeserialize(c, std::string_view(input).substr(0, header_bytes),
                                   std::string_view(input).substr(header_bytes), chunk_bytes);
        });
  }

  measure(
      "ConvertStream t7 -> t7 big-endian, seriald's C++ client",
      [&] { return StartSeriald(options, spilled); },
      [&](const std::shared_ptr<grpc::Channel>&, const std::string& address) {
        return ClientConvert(address, input, header_bytes, big_endian_header, chunk_bytes);
      });
  // The Value holds a second copy of the payload in this process: only up to 4 GiB.
  if (with_in_memory) {
    measure(
        "DeserializeStream t7, seriald's C++ client",
        [&] { return StartSeriald(options, spilled); },
        [&](const std::shared_ptr<grpc::Channel>&, const std::string& address) {
          return ClientDeserialize(address, input, header_bytes, chunk_bytes);
        });
    // Their servers sit idle: the rows time this process alone.
    for (const bool fresh : {false, true}) {
      measure(
          fresh ? "DeserializeStream t7, seriald's C++ client: fresh memory alone (no stream)"
                : "DeserializeStream t7, seriald's C++ client: its memory alone (no stream)",
          [&] {
            return ServerProcess::Start({SelfPath(), kEchoFlag});
          },
          [&](const std::shared_ptr<grpc::Channel>&, const std::string&) {
            // The tensor's data alone, the array the client returns.
            return FillMemory(std::string_view(input).substr(header_bytes), chunk_bytes, fresh);
          });
    }
  }

  std::printf(
      "\n2-3. Streams: a %llu MiB torch.FloatTensor (%llu-byte payload) up in %llu KiB "
      "chunks, then as much back;\n     median of %d runs, MiB/s of payload; a fresh "
      "server per row, its peak RSS over the row's runs\n\n",
      static_cast<unsigned long long>(options.stream_mib), static_cast<unsigned long long>(payload),
      static_cast<unsigned long long>(options.chunk_kib), options.repeat);
  std::printf(
      "| stream | whole call MiB/s | up MiB/s | back MiB/s | runs (s) | vs bare "
      "stream | vs pipelined | server CPU s | client CPU s | server page faults | client page "
      "faults | server idle RSS | server peak RSS | peak / payload |\n");
  std::printf("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  const double mib = static_cast<double>(payload) / (1 << 20);
  auto whole_of = [&](const StreamRow& row) {
    StreamTiming median = Median(row.runs);
    return median.seconds > 0 ? mib / median.seconds : 0;
  };
  // A baseline row compares with the baseline rows; any other with the echoes run before it.
  const double bare_of_baselines = rows.size() > 0 ? whole_of(rows[0]) : 0;
  const double pipelined_of_baselines = rows.size() > 1 ? whole_of(rows[1]) : 0;
  auto speed_of = [&](const std::vector<double>& seconds) {
    const double median = MedianOf(seconds);
    return median > 0 ? mib / median : 0;
  };
  for (const StreamRow& row : rows) {
    StreamTiming median = Median(row.runs);
    double whole = whole_of(row);
    const bool beside = !row.bare_seconds.empty();
    const double bare = beside ? speed_of(row.bare_seconds) : bare_of_baselines;
    const double pipelined = beside ? speed_of(row.pipelined_seconds) : pipelined_of_baselines;
    std::string runs;
    for (double seconds : row.warmup_seconds) {
      absl::StrAppend(&runs, runs.empty() ? "" : " ", absl::StrFormat("(%.2f)", seconds));
    }
    for (const StreamTiming& t : row.runs) {
      absl::StrAppend(&runs, runs.empty() ? "" : " ", absl::StrFormat("%.2f", t.seconds));
    }
    // A row that cannot tell when the first response came shows no up and back speeds.
    const std::string up =
        median.up_seconds > 0 ? absl::StrFormat("%.0f", mib / median.up_seconds) : "-";
    const std::string back =
        median.up_seconds > 0 && median.seconds > median.up_seconds
            ? absl::StrFormat("%.0f", mib / (median.seconds - median.up_seconds))
            : "-";
    std::printf(
        "| %s | %.0f | %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %llu | %llu | "
        "%.3f |\n",
        row.name.c_str(), whole, up.c_str(), back.c_str(), runs.c_str(),
        bare > 0 ? whole / bare : 0, pipelined > 0 ? whole / pipelined : 0,
        MedianOf(row.runs, &StreamTiming::server_cpu_seconds),
        MedianOf(row.runs, &StreamTiming::client_cpu_seconds),
        MedianOf(row.runs, &StreamTiming::server_faults),
        MedianOf(row.runs, &StreamTiming::client_faults),
        static_cast<unsigned long long>(row.idle_rss),
        static_cast<unsigned long long>(row.peak_rss),
        static_cast<double>(row.peak_rss) / static_cast<double>(payload));
  }
  std::printf(
      "\nruns: whole-call seconds, warm-up runs (not counted) in parentheses. vs bare stream, vs "
      "pipelined: the\nrow's median speed over the echoes' median speed, the echoes run as many "
      "times on a server of their\nown just before the row (the two echo rows: over the echo "
      "rows').\n"
      "whole call = payload / (first byte sent .. status received); up = payload / "
      "(.. first response message,\nwhich the server sends once it has read all the "
      "input, except where it converts as the input arrives:\nTorch7 to Torch7 ConvertStream); "
      "back = payload / the rest of the call.\nCPU s, page faults = medians over the runs of "
      "the processor time (user + system, all threads) and the minor\npage faults of the "
      "server, and of this process as the client (checks of the response included), during "
      "a\ncall: unlike the wall clock, they do not count waiting for a processor another "
      "process holds.\n");
  std::fflush(stdout);
}

}  // namespace
}  // namespace seriald::bench

int main(int argc, char** argv) {
  using seriald::bench::Options;
  if (argc == 2 && std::strcmp(argv[1], seriald::bench::kEchoFlag) == 0) {
    // The bare streams' server sets up its heap as seriald does, so that the rows compare the
    // work done on the bytes, not two heaps' settings.
    seriald::ApplyStreamingHeapSettings();
    return seriald::bench::ServeEcho();
  }
  Options options;
  std::string self = seriald::bench::SelfPath();
  options.seriald = self.substr(0, self.rfind('/') + 1) + "seriald";
  std::string concurrency = "1,4,16,64";
  CLI::App app{"service_benchmark: seriald's call rate, latency, stream throughput and memory"};
  app.add_option("--seriald", options.seriald,
                 "The seriald binary (or a wrapper that execs it; one that forks, like perf "
                 "record, has its own processor time and page faults reported)")
      ->capture_default_str();
  app.add_option("--small-input", options.small_input, "The small t7 file of the small calls")
      ->capture_default_str();
  app.add_option("--concurrency", concurrency, "Client thread counts for the small calls")
      ->capture_default_str();
  app.add_option("--seconds", options.seconds, "Duration of each small-call row")
      ->capture_default_str();
  app.add_option("--stream-mib", options.stream_mib, "Size of the streamed tensor's data, MiB")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--chunk-kib", options.chunk_kib, "Chunk size of every stream, both ways, KiB")
      ->check(CLI::Range(4, 65536))
      ->capture_default_str();
  app.add_option("--stream-rows", options.rows,
                 "Run only the stream rows whose name contains this (and the bare streams)");
  app.add_option("--repeat", options.repeat, "Runs per stream row (the median is reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", options.warmup,
                 "Runs of each stream row before those measured (reported, not counted)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--client-heap", options.client_heap,
                 "The clients' heap settings: seriald (wire/heap_settings.h, as serialctl "
                 "applies them) or glibc (its defaults)")
      ->check(CLI::IsMember({"seriald", "glibc"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  // Before any channel starts gRPC's threads.
  if (options.client_heap == "seriald") seriald::ApplyStreamingHeapSettings();
  options.concurrency.clear();
  for (absl::string_view level : absl::StrSplit(concurrency, ',', absl::SkipEmpty())) {
    int threads = 0;
    if (!absl::SimpleAtoi(level, &threads) || threads <= 0) {
      std::cerr << "service_benchmark: bad --concurrency " << concurrency << std::endl;
      return 2;
    }
    options.concurrency.push_back(threads);
  }

  std::printf("service_benchmark: %s, %u CPUs, clients' heap settings: %s\n",
              options.seriald.c_str(), std::thread::hardware_concurrency(),
              options.client_heap.c_str());
  seriald::bench::BenchmarkSmallCalls(options);
  seriald::bench::BenchmarkUnaryDeserialize(options);
  seriald::bench::BenchmarkStreams(options);
  if (seriald::bench::failures > 0) {
    std::cerr << "service_benchmark: " << seriald::bench::failures << " wrong answers" << std::endl;
    return 1;
  }
  return 0;
}
