#include "server/grpc_status.h"

#include <string>

#include "core/io/input_error.h"
#include "google/rpc/status.pb.h"
#include "seriald/v1/serializer.pb.h"

namespace seriald {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());

  v1::ErrorInfo info;
  info.set_problem(message);
  info.set_format(InputErrorFormat(status));
  if (std::optional<uint64_t> offset = InputErrorOffset(status)) info.set_byte_offset(*offset);
  info.set_limit(LimitName(status));

  google::rpc::Status details;
  details.set_code(static_cast<int32_t>(code));
  details.set_message(message);
  details.add_details()->PackFrom(info);
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace seriald
