// File: server/server.h
//
// SerialdServer: the seriald gRPC server. It owns the listening socket, the standard health
// service (grpc.health.v1.Health), server reflection (grpc.reflection.v1alpha) and seriald's own
// services, and shuts down gracefully: health turns NOT_SERVING first, calls in flight get a
// grace period to finish, then the server stops.
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

namespace grpc {
class Server;
}  // namespace grpc

namespace seriald {

struct ServerOptions {
  // HOST:PORT to listen on; port 0 picks a free port (see SerialdServer::port()).
  std::string listen = "127.0.0.1:50051";
};

class SerialdServer {
 public:
  // Binds and starts serving. UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<SerialdServer>> Start(const ServerOptions& options);

  ~SerialdServer();
  SerialdServer(const SerialdServer&) = delete;
  SerialdServer& operator=(const SerialdServer&) = delete;

  // The bound port (useful when listening on port 0).
  int port() const { return port_; }

  // Marks every service NOT_SERVING, lets calls in flight run for up to `grace`, cancels what is
  // left, and stops. Safe to call more than once; must not be called from a signal handler.
  void Shutdown(absl::Duration grace);

  // Blocks until the server has stopped.
  void Wait();

 private:
  SerialdServer() = default;

  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace seriald

#endif  // SERIALD_SERVER_SERVER_H_
