#include "proto/value_json.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "proto/internal/json_parse.h"
#include "proto/value_conversion.h"
#include "seriald/v1/value.pb.h"

namespace seriald {

absl::StatusOr<std::string> ValueToJson(const Value& value, bool pretty) {
  seriald::v1::Value message;
  RETURN_IF_ERROR(ToProto(value, &message));
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  // Fields at their default stay out: the text is shorter, and protobuf 3.21 prints defaults by
  // first building the whole message as a tree (about 20 us per node). Ids are `optional` in the
  // schema, so a reference to node 0 is printed all the same.
  options.always_print_primitive_fields = false;
  options.always_print_enums_as_ints = false;
  options.preserve_proto_field_names = false;
  std::string json;
  google::protobuf::util::Status status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat(
        "json: printing failed: ", std::string(status.message().data(), status.message().size())));
  }
  return json;
}

absl::StatusOr<Value> ValueFromJson(std::string_view json) {
  seriald::v1::Value message;
  RETURN_IF_ERROR(internal::ParseJsonMessage(json, &message));
  absl::StatusOr<Value> value = FromProto(std::move(message));
  if (!value.ok()) {
    return absl::Status(value.status().code(), absl::StrCat("json: ", value.status().message()));
  }
  return value;
}

}  // namespace seriald
