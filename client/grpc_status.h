// File: client/grpc_status.h
//
// The client side of the server's status mapping (server/grpc_status.h): a grpc::Status back to
// the absl::Status the server's core produced, with the byte offset, format and limit restored
// from the seriald.v1.ErrorInfo detail, so a remote error prints exactly like a local one.
//
// Example:
//
//   RETURN_IF_ERROR(FromGrpcStatus(stub->Convert(&context, request, &response)));
#ifndef SERIALD_CLIENT_GRPC_STATUS_H_
#define SERIALD_CLIENT_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace seriald {

absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace seriald

#endif  // SERIALD_CLIENT_GRPC_STATUS_H_
