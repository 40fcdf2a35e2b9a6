#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"

namespace seriald {

absl::StatusOr<std::unique_ptr<SerialdServer>> SerialdServer::Start(const ServerOptions& options) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<SerialdServer> server(new SerialdServer());
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which lets a second server silently share a port that is
  // already in use; refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &server->port_);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  server->server_->GetHealthCheckService()->SetServingStatus(true);
  return server;
}

SerialdServer::~SerialdServer() {
  if (server_ != nullptr) {
    Shutdown(absl::ZeroDuration());
    Wait();
  }
}

void SerialdServer::Shutdown(absl::Duration grace) {
  server_->GetHealthCheckService()->Shutdown();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void SerialdServer::Wait() { server_->Wait(); }

}  // namespace seriald
