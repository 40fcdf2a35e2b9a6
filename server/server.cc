#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <climits>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/io/file.h"
#include "core/io/mapping_pool.h"
#include "core/io/spill_file_pool.h"
#include "core/status_macros.h"

namespace seriald {
namespace {

// How long Shutdown lets gRPC send the statuses of calls that have just finished.
constexpr absl::Duration kStatusFlushTime = absl::Milliseconds(500);

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* flag) {
  absl::StatusOr<Buffer> pem = ReadFile(path);
  if (!pem.ok()) {
    return absl::Status(pem.status().code(), absl::StrCat(flag, ": ", pem.status().message()));
  }
  return std::string(pem->view());
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& options) {
  bool has_cert = !options.tls_cert_file.empty();
  bool has_key = !options.tls_key_file.empty();
  if (has_cert != has_key) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key must be given together");
  }
  if (!has_cert) {
    if (!options.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(options.tls_cert_file, "--tls-cert"));
  ASSIGN_OR_RETURN(pair.private_key, ReadPem(options.tls_key_file, "--tls-key"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!options.tls_client_ca_file.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(options.tls_client_ca_file, "--tls-client-ca"));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

SerialdServer::SerialdServer(const ServerOptions& options)
    : registry_(ServiceCodecs()),
      tracker_(options.max_concurrent_calls),
      service_(&registry_, &tracker_, &log_, options.limits),
      idle_memory_(&tracker_) {
  SpillFilePool::Shared().set_keep_bytes(
      options.limits.spill_dir.empty() ? 0 : options.spill_keep_bytes);
  MappingPool::Shared().set_keep_bytes(options.memory_keep_bytes);
}

absl::StatusOr<std::unique_ptr<SerialdServer>> SerialdServer::Start(const ServerOptions& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, Credentials(options));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<SerialdServer> server(new SerialdServer(options));
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which lets a second server silently share a port that is
  // already in use; refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // No single message may exceed what a whole call may carry. Unary requests between
  // --max-message-bytes and this are refused by the service itself, with a message that says to
  // stream; gRPC refuses anything larger before it reaches the service.
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<uint64_t>(options.limits.max_request_bytes, INT_MAX)));
  builder.SetMaxSendMessageSize(-1);
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  builder.RegisterService(&server->service_);
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
  const absl::Time deadline = absl::Now() + grace;
  server_->GetHealthCheckService()->Shutdown();
  tracker_.StartDraining();
  tracker_.WaitUntilIdle(deadline);
  // A call whose handler has just returned still has its status to send, which cancelling it now
  // would replace with UNAVAILABLE. So wait a moment more (within the grace period) while new
  // calls keep being refused with UNAVAILABLE, which clients retry elsewhere; gRPC's own
  // Shutdown(deadline) would instead cancel calls arriving meanwhile with CANCELLED, which they do
  // not retry.
  absl::SleepFor(
      std::min(kStatusFlushTime, std::max(deadline - absl::Now(), absl::ZeroDuration())));
  // Whatever still runs now (calls past the grace period, health watches) is cancelled, and idle
  // client connections are closed instead of being waited for.
  server_->Shutdown(std::chrono::system_clock::now());
}

void SerialdServer::Wait() { server_->Wait(); }

}  // namespace seriald
