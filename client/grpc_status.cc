#include "client/grpc_status.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/input_error.h"
#include "google/rpc/status.pb.h"
#include "seriald/v1/serializer.pb.h"

namespace seriald {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return result;
  }
  for (const google::protobuf::Any& any : details.details()) {
    v1::ErrorInfo info;
    if (!any.UnpackTo(&info)) continue;
    if (!info.format().empty()) {
      result.SetPayload(AsAbsl(kInputFormatPayload), absl::Cord(info.format()));
    }
    if (info.has_byte_offset()) {
      result.SetPayload(AsAbsl(kInputOffsetPayload), absl::Cord(absl::StrCat(info.byte_offset())));
    }
    if (!info.limit().empty()) {
      result.SetPayload(AsAbsl(kLimitPayload), absl::Cord(info.limit()));
    }
  }
  return result;
}

}  // namespace seriald
