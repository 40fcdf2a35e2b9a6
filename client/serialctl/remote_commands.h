// File: client/serialctl/remote_commands.h
//
// serialctl's subcommands run through a seriald server (--server): `convert` and `inspect` send
// the input to the service and give exactly the output a local run gives (large inputs stream in
// chunks, with a progress bar on a terminal for transfers over 64 MiB); `health` asks the
// server's grpc.health.v1 service.
//
// Example:
//
//   RemoteFlags remote{.server = "127.0.0.1:50051"};
//   ASSIGN_OR_RETURN(std::unique_ptr<SerialdClient> client, Connect(remote));
//   RETURN_IF_ERROR(RemoteConvert(*client, registry, flags, "model.t7", "model.json"));
#ifndef SERIALD_CLIENT_SERIALCTL_REMOTE_COMMANDS_H_
#define SERIALD_CLIENT_SERIALCTL_REMOTE_COMMANDS_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "client/serialctl/format_options.h"
#include "client/seriald_client.h"
#include "core/format/codec.h"

namespace seriald::serialctl {

struct RemoteFlags {
  std::string server;  // empty: run locally
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  double timeout_seconds = 0;
};

absl::StatusOr<std::unique_ptr<SerialdClient>> Connect(const RemoteFlags& flags);

absl::Status RemoteConvert(SerialdClient& client, const CodecRegistry& registry,
                           const FormatFlags& flags, const std::string& in, const std::string& out);

absl::Status RemoteInspect(SerialdClient& client, const CodecRegistry& registry,
                           const FormatFlags& flags, const std::string& in, std::ostream& out);

// Prints "SERVING" and succeeds, or fails with the reason.
absl::Status RemoteHealth(SerialdClient& client, std::ostream& out);

}  // namespace seriald::serialctl

#endif  // SERIALD_CLIENT_SERIALCTL_REMOTE_COMMANDS_H_
