// File: proto/value_json.h
//
// The JSON form of a Value: the proto3 canonical JSON of its mirror message seriald.v1.Value
// (value_conversion.h), printed and parsed by protobuf's own JSON support. It is lossless: every
// node, id, flag and byte survives (array data and non-UTF-8 strings as base64, numbers JSON
// cannot spell exactly as `numberBits`).
//
// Printing: lowerCamelCase names, enums by name, fields at their default value left out (an array
// without "type" is uint8, a string without "encoding" is native, "na": false is not printed);
// every id is printed, node 0 included, because ids have presence in the schema. Field order is
// protobuf's; the same Value always prints the same text. Parsing: unknown fields are errors, so
// a misspelt field name is reported rather than ignored; proto field names ("class_name") are
// accepted as well as JSON names ("className"); a missing required id is an error.
//
// Errors: text that is not JSON, or whose fields do not fit the schema, is INVALID_ARGUMENT from
// InputError("json", offset, problem) with the byte offset of the problem:
//   "json: unexpected end of string. Expected , or ] after array value at byte 41"
//   "json: nodes[2].array.type: invalid value \"ELEMENT_TYPE_FLOAT\" for type ... at byte 97"
// JSON that parses but describes an inconsistent Value names the node instead:
//   "json: node 3 (table): entry 0 value refers to node 9, but there are only 4 nodes"
//
// Large arrays: protobuf prints the message with each array of more than kJsonInlineArrayBytes
// holding a placeholder instead of its data; WriteValueJson then writes the printed text with
// each placeholder's base64 replaced by the array's own, encoded a step at a time straight into
// the output (big-endian data swapped a step at a time, a mapped input read from its file).
// The text is the same as protobuf's for the whole message, but the data is never copied into
// the message, its binary form and its text as a whole: 400 MB of doubles printed in 3 GB of
// memory that way. Reading decodes such arrays' base64 outside protobuf too
// (internal/json_large_arrays.h), and reads the same Value protobuf would.
//
// Example:
//
//   ASSIGN_OR_RETURN(std::string text, ValueToJson(value, /*pretty=*/true));
//   ASSIGN_OR_RETURN(Value copy, ValueFromJson(text));            // copy == value
//   RETURN_IF_ERROR(WriteValueJson(value, /*pretty=*/false, /*newline_at_end=*/false, out));
//                                                               // the same text, streamed
#ifndef SERIALD_PROTO_VALUE_JSON_H_
#define SERIALD_PROTO_VALUE_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/io/byte_writer.h"
#include "core/model/value.h"

namespace seriald {

// The JSON text of `value`; indented over several lines (ending in a newline) when `pretty`,
// otherwise one line. Fails as ToProto does for values the schema cannot carry.
absl::StatusOr<std::string> ValueToJson(const Value& value, bool pretty);

// Arrays of more data than this are base64-encoded by WriteValueJson itself, a step at a time.
inline constexpr uint64_t kJsonInlineArrayBytes = 64 * 1024;

// Appends the text ValueToJson gives to `out`, the data of large arrays encoded as it is
// written, and then a newline when `newline_at_end` and the text does not end in one. Fails as
// ValueToJson does, or with the error of reading a mapped input's file.
absl::Status WriteValueJson(const Value& value, bool pretty, bool newline_at_end, ByteWriter& out);

// The Value described by `json`, validated.
absl::StatusOr<Value> ValueFromJson(std::string_view json);
// The same from a Buffer (a mapped file, say), whose pages under large arrays' base64 are given
// back as it is decoded.
absl::StatusOr<Value> ValueFromJson(const Buffer& json);

}  // namespace seriald

#endif  // SERIALD_PROTO_VALUE_JSON_H_
