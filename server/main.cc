// seriald: the gRPC server for Torch7 and R serialization.
//
//   seriald --listen 127.0.0.1:50051
//
// Stops on SIGTERM or SIGINT: health turns NOT_SERVING, calls in flight get --grace-seconds to
// finish, then the process exits with status 0.
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "server/server.h"

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
  app.add_option("--listen", options.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--grace-seconds", grace_seconds,
                 "On SIGTERM/SIGINT, how long calls in flight may run before they are cancelled")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  sigset_t signals = BlockShutdownSignals();
  auto server = seriald::SerialdServer::Start(options);
  if (!server.ok()) {
    std::cerr << "seriald: " << server.status().message() << "\n";
    return 1;
  }
  std::cout << "seriald: listening on " << options.listen.substr(0, options.listen.rfind(':'))
            << ":" << (*server)->port() << std::endl;

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
  return 0;
}
