// File: server/server.h
//
// SerialdServer: the seriald gRPC server. It owns the listening socket, the Serializer service,
// the standard health service (grpc.health.v1.Health), server reflection
// (grpc.reflection.v1alpha), optional TLS or mutual TLS, and graceful shutdown: health turns
// NOT_SERVING, new calls are refused with UNAVAILABLE, calls in flight get a grace period to
// finish, then whatever is left is cancelled and the server stops.
//
// Example:
//
//   ServerOptions options;
//   options.listen = "127.0.0.1:0";                       // any free port
//   ASSIGN_OR_RETURN(std::unique_ptr<SerialdServer> server, SerialdServer::Start(options));
//   std::cout << "listening on port " << server->port() << "\n";
//   ...
//   server->Shutdown(absl::Seconds(30));                   // from a non-signal thread
//   server->Wait();
#ifndef SERIALD_SERVER_SERVER_H_
#define SERIALD_SERVER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/idle_memory.h"
#include "server/serializer_service.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace seriald {

struct ServerOptions {
  // HOST:PORT to listen on; port 0 picks a free port (see SerialdServer::port()).
  std::string listen = "127.0.0.1:50051";
  ServiceLimits limits;
  // Spill files of finished calls kept for later calls to write over, up to this many bytes in
  // all (core/io/spill_file_pool.h): the process's pool, which the server bounds, and which it
  // empties whenever it is idle (server/idle_memory.h). Not counted in limits.max_spill_bytes;
  // nothing is kept without a limits.spill_dir.
  uint64_t spill_keep_bytes = uint64_t{1} << 30;
  // Large buffers' memory (huge-page mappings) of finished calls kept for later calls to reuse,
  // up to this many bytes in all (core/io/mapping_pool.h): the process's pool, whose pages the
  // kernel may take back under memory pressure, each kept for at most a second, and emptied
  // whenever the server is idle. Not counted in limits.max_inflight_bytes. None by default: kept
  // pages count in the server's resident memory, on top of what the next call holds (a unary
  // call's request, received while the last one's buffers are kept, is then resident twice).
  uint64_t memory_keep_bytes = 0;
  // Calls served at once; more get RESOURCE_EXHAUSTED. 0 = no limit.
  uint32_t max_concurrent_calls = 64;
  // PEM files. With a certificate and key the server speaks TLS; with a client CA as well it
  // requires and verifies client certificates (mutual TLS).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
};

class SerialdServer {
 public:
  // Binds and starts serving. UNAVAILABLE when the address cannot be bound; INVALID_ARGUMENT for
  // inconsistent TLS options; NOT_FOUND when a certificate file is missing.
  static absl::StatusOr<std::unique_ptr<SerialdServer>> Start(const ServerOptions& options);

  ~SerialdServer();
  SerialdServer(const SerialdServer&) = delete;
  SerialdServer& operator=(const SerialdServer&) = delete;

  // The bound port (useful when listening on port 0).
  int port() const { return port_; }

  // Drains and stops: health NOT_SERVING, new calls refused, calls in flight given up to `grace`
  // to finish, the rest cancelled. Safe to call more than once; never from a signal handler.
  void Shutdown(absl::Duration grace);

  // Blocks until the server has stopped.
  void Wait();

 private:
  explicit SerialdServer(const ServerOptions& options);

  CodecRegistry registry_;
  CallTracker tracker_;
  CallLog log_;
  SerializerService service_;
  // Trims the heap when no call has run for a second (server/idle_memory.h).
  IdleMemoryReturner idle_memory_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace seriald

#endif  // SERIALD_SERVER_SERVER_H_
