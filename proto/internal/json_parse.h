// File: proto/internal/json_parse.h
//
// Parses proto3 JSON into a message with protobuf's own JSON parser, and turns its failures into
// seriald input errors that carry the byte offset of the problem.
//
// protobuf 3.21 reports two kinds of failure, neither with an offset:
//   - syntax errors: "<problem>\n<up to 20 bytes either side>\n<spaces>^", where the caret marks
//     the position in the chunk of input the parser held at that moment;
//   - errors about a field: "(nodes[3].array.type): invalid value ..." or
//     "(nodes[3]) nul: Cannot find field.", by path, once the whole text has been read.
// For the first kind the text is fed to the parser again in one-byte chunks from just before the
// failing region, so the chunk the caret points into ends at a known offset; the offset is then
// confirmed by matching the quoted snippet against the input. For the second kind the path is
// looked up in the text (json_path.h).
//
// Example:
//
//   seriald::v1::Value message;
//   absl::Status status = ParseJsonMessage(R"({"nodes": [)", &message);
//   // INVALID_ARGUMENT "json: unexpected end of string. Expected a value or ] within an array
//   //                   at byte 11", with InputErrorOffset(status) == 11
#ifndef SERIALD_PROTO_INTERNAL_JSON_PARSE_H_
#define SERIALD_PROTO_INTERNAL_JSON_PARSE_H_

#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace seriald::internal {

// Replaces `*message` with the message `json` describes. Unknown fields are errors. On failure,
// INVALID_ARGUMENT from InputError("json", offset, problem).
absl::Status ParseJsonMessage(std::string_view json, google::protobuf::Message* message);

}  // namespace seriald::internal

#endif  // SERIALD_PROTO_INTERNAL_JSON_PARSE_H_
