// seriald: the gRPC server for Torch7 and R serialization.
//
//   seriald --listen 127.0.0.1:50051 [--max-message-bytes 64MiB] [--tls-cert ... --tls-key ...]
//
// Stops on SIGTERM or SIGINT: health turns NOT_SERVING, calls in flight get --grace-seconds to
// finish, then the process exits with status 0.
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "core/io/spill_file.h"
#include "server/memory_budget.h"
#include "server/server.h"
#include "wire/heap_settings.h"

namespace {

// Blocks SIGTERM and SIGINT in this thread and every thread started after it (gRPC's included),
// so that only the waiting thread below ever receives them. Shutdown must not run inside a signal
// handler: it takes locks a handler may have interrupted.
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace

int main(int argc, char** argv) {
  seriald::ServerOptions options;
  double grace_seconds = 30;
  CLI::App app{"seriald: reads and writes Torch7 and R serialization formats over gRPC"};
  app.get_formatter()->column_width(36);
  app.add_option("--listen", options.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  auto sizes = CLI::AsSizeValue(false);
  app.add_option("--max-message-bytes", options.limits.max_message_bytes,
                 "Largest unary request or response; larger payloads must stream (e.g. 64MiB)")
      ->transform(sizes)
      ->capture_default_str();
  app.add_option("--max-request-bytes", options.limits.max_request_bytes,
                 "Largest total of request bytes in one call, streams included")
      ->transform(sizes)
      ->capture_default_str();
  app.add_option("--max-concurrent-calls", options.max_concurrent_calls,
                 "Calls served at once; more get RESOURCE_EXHAUSTED (0: no limit)")
      ->capture_default_str();
  app.add_option("--max-depth", options.limits.max_depth,
                 "Deepest nesting of objects accepted in an input")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-response-bytes", options.limits.max_response_bytes,
                 "Largest total of response bytes in one call, streams included")
      ->transform(sizes)
      ->capture_default_str();
  std::optional<uint64_t> max_decompressed_bytes;
  app.add_option("--max-decompressed-bytes", max_decompressed_bytes,
                 "Largest decompressed size of compressed input (R files, npz) [default: 4 times "
                 "--max-request-bytes]")
      ->transform(sizes);
  app.add_option("--max-decompression-ratio", options.limits.max_decompression_ratio,
                 "Compressed input may decompress to at most this many times its size, or 64MiB, "
                 "whichever is more (0: no ratio limit)")
      ->capture_default_str();
  std::optional<uint64_t> max_inflight_bytes;
  app.add_option("--max-inflight-bytes", max_inflight_bytes,
                 "Bytes all calls together may hold at once; a call that would pass it waits "
                 "briefly, then gets RESOURCE_EXHAUSTED (0: no limit) [default: 3/4 of the "
                 "container's memory limit, else of physical memory]")
      ->transform(sizes);
  app.add_option("--chunk-bytes", options.limits.chunk_bytes,
                 "Size of the chunks the server streams back")
      ->transform(sizes)
      ->check(CLI::Range(uint64_t{4096}, uint64_t{64} << 20))
      ->capture_default_str();
  options.limits.spill_dir = seriald::DefaultSpillDir();
  app.add_option("--spill-dir", options.limits.spill_dir,
                 "ConvertStream and DeserializeStream inputs, and decompressed R input, larger "
                 "than --spill-above, npz archives of more than 64MiB being put together, and R "
                 "ALTREP wrappers' vectors of more than 16MiB converted to version 2 wait in an "
                 "unnamed temporary file here, not in memory (\"\": keep them in memory) "
                 "[default: $TMPDIR, else /tmp]");
  app.add_option("--spill-above", options.limits.spill_above_bytes,
                 "Inputs larger than this go to --spill-dir")
      ->transform(sizes)
      ->capture_default_str();
  std::optional<uint64_t> max_spill_bytes;
  app.add_option("--max-spill-bytes", max_spill_bytes,
                 "Bytes all calls together may keep in --spill-dir at once; a call that would "
                 "pass it waits briefly, then gets RESOURCE_EXHAUSTED (0: no limit) [default: 3/4 "
                 "of the directory's free space at start-up]")
      ->transform(sizes);
  app.add_option("--max-kept-input-bytes", options.limits.max_kept_input_bytes,
                 "R to R ConvertStream: inputs up to this size are also kept (beyond 4MiB in "
                 "--spill-dir) so that, where converting them as they arrive stops before a form "
                 "R does not write, the whole input is converted through the object graph; a "
                 "larger input is converted without being kept, and fails with "
                 "RESOURCE_EXHAUSTED if it stops (0: keep none)")
      ->transform(sizes)
      ->capture_default_str();
  std::optional<uint64_t> spill_keep_bytes;
  app.add_option("--spill-keep", spill_keep_bytes,
                 "Spill files of finished calls kept, for later calls to write over instead of "
                 "making new ones, up to this many bytes in all; all closed once the server is "
                 "idle for a second. Not counted in --max-spill-bytes (0: keep none) [default: "
                 "1GiB, at most 1/8 of --max-spill-bytes]")
      ->transform(sizes);
  app.add_option("--memory-keep", options.memory_keep_bytes,
                 "Memory of finished calls' large buffers (8MiB and more) kept for later calls to "
                 "reuse instead of new pages, up to this many bytes in all; each kept at most a "
                 "second, all given back once the server is idle, and taken back by the kernel "
                 "under memory pressure, but counted in the server's resident memory meanwhile. "
                 "Not counted in --max-inflight-bytes (0: keep none)")
      ->transform(sizes)
      ->capture_default_str();
  app.add_option("--tls-cert", options.tls_cert_file, "PEM certificate chain: serve over TLS")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tls_key_file, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-client-ca", options.tls_client_ca_file,
                 "PEM CA bundle: require client certificates signed by it (mutual TLS)")
      ->check(CLI::ExistingFile);
  app.add_option("--grace-seconds", grace_seconds,
                 "On SIGTERM/SIGINT, how long calls in flight may run before they are cancelled")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // A server's decompression bound follows what a call may send: four times the request limit
  // unless given.
  options.limits.max_decompressed_bytes = max_decompressed_bytes.value_or(
      options.limits.max_request_bytes > UINT64_MAX / 4 ? UINT64_MAX
                                                        : 4 * options.limits.max_request_bytes);
  options.limits.max_inflight_bytes =
      max_inflight_bytes.value_or(seriald::MemoryBudget::DefaultTotal());

  if (!options.limits.spill_dir.empty()) {
    // A directory that cannot take a file would fail the first large stream: say so now.
    absl::StatusOr<seriald::SpillFile> probe = seriald::SpillFile::Create(options.limits.spill_dir);
    if (!probe.ok()) {
      std::cerr << "seriald: --spill-dir: " << probe.status().message()
                << " (give a writable directory, or --spill-dir \"\" to keep streamed inputs "
                   "in memory)\n";
      return 1;
    }
    // Concurrent spilled calls must not fill the disk: by default they share three quarters of
    // what was free at start-up.
    if (max_spill_bytes.has_value()) {
      options.limits.max_spill_bytes = *max_spill_bytes;
    } else {
      absl::StatusOr<uint64_t> free_bytes = seriald::FreeBytes(options.limits.spill_dir);
      if (!free_bytes.ok()) {
        std::cerr << "seriald: --spill-dir: " << free_bytes.status().message() << "\n";
        return 1;
      }
      // At least one byte: 0 would mean no limit.
      options.limits.max_spill_bytes = std::max<uint64_t>(*free_bytes / 4 * 3, 1);
    }
    // Kept files are not in the spill budget: by default they stay well inside what it leaves.
    options.spill_keep_bytes = spill_keep_bytes.value_or(
        options.limits.max_spill_bytes == 0
            ? options.spill_keep_bytes
            : std::min(options.spill_keep_bytes, options.limits.max_spill_bytes / 8));
  }
  seriald::ApplyStreamingHeapSettings();
  sigset_t signals = BlockShutdownSignals();
  auto server = seriald::SerialdServer::Start(options);
  if (!server.ok()) {
    std::cerr << "seriald: " << server.status().message() << "\n";
    return 1;
  }
  std::cout << "seriald: listening on " << options.listen.substr(0, options.listen.rfind(':'))
            << ":" << (*server)->port() << (options.tls_cert_file.empty() ? "" : " (TLS)")
            << (options.tls_client_ca_file.empty() ? "" : " (client certificates required)")
            << std::endl;

  std::thread signal_waiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    std::cout << "seriald: " << (received == SIGTERM ? "SIGTERM" : "SIGINT")
              << " received, draining for up to " << grace_seconds << "s" << std::endl;
    (*server)->Shutdown(absl::Seconds(grace_seconds));
  });
  (*server)->Wait();
  signal_waiter.join();
  std::cout << "seriald: stopped" << std::endl;
  // Every call has ended and its status was sent: what is left is gRPC's own teardown, which the
  // server's destructor runs (grpc_shutdown). In gRPC 1.51 that joins the executor threads, and
  // after any write that filled a socket (a response of a few MiB) one of them sits in a TCP
  // backup poller's epoll_wait of 10 s: seriald took up to 10 s more to exit after "stopped".
  // Nothing of the process outlives it (spill files have no name), so it ends here.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);  // the call log is written with fwrite
  std::_Exit(0);
}
