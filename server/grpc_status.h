// File: server/grpc_status.h
//
// The one place where seriald's absl::Status becomes a grpc::Status. The code carries over
// unchanged (the two enumerations share their numbers); the message stays the same one line
// core/ produced; and a google.rpc.Status with a seriald.v1.ErrorInfo detail (byte offset, format,
// limit) goes into the `grpc-status-details-bin` trailer, so clients read typed fields instead of
// parsing text.
//
// Example:
//
//   absl::StatusOr<Value> value = ReadTorch7(input, options);
//   if (!value.ok()) return ToGrpcStatus(value.status());
#ifndef SERIALD_SERVER_GRPC_STATUS_H_
#define SERIALD_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace seriald {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace seriald

#endif  // SERIALD_SERVER_GRPC_STATUS_H_
