// File: proto/value_conversion.h
//
// Conversion between the object model (core/model/value.h) and its schema, the protobuf message
// seriald.v1.Value (proto/seriald/v1/value.proto). The two are mirrors: every node kind, field,
// attribute, flag, pairlist cell and source fact maps one-to-one, node ids are kept as they are
// (so shared references and cycles survive), and array data travels as the same little-endian
// bytes. Converting a Value to a message and back gives an equal Value (operator==, which compares
// numbers and bytes bitwise).
//
// Strings: a string's bytes go to `text` when they are valid UTF-8 and to `raw` otherwise, so any
// byte string round-trips exactly. Fields the schema declares as `string` (class names, versions,
// builtin and ALTREP names, R header strings) must hold valid UTF-8; ToProto reports the node
// otherwise instead of letting protobuf drop or mangle the bytes.
//
// Neither direction recurses: the node table is converted in one loop, so depth costs nothing.
// FromProto treats its input as hostile: ids out of range, undeclared enum values, array data
// that does not match length x element size, absent kinds and the like are INVALID_ARGUMENT naming
// the node ("node 7 (table): entry 2 value refers to node 90, but there are only 12 nodes"), and
// the result passes Value::Validate().
//
// Copies: ToProto copies each array's bytes once, into the message (protobuf's `bytes` fields
// own their memory), or leaves large ones out for the caller to send (ToProtoOptions). FromProto
// on a const message copies them once, into Buffers; FromProto on an rvalue message moves them
// out of the message without copying (a caller reassembling chunks appends them to the array's
// `data` and then calls that).
//
// Example:
//
//   seriald::v1::Value message;
//   RETURN_IF_ERROR(ToProto(value, &message));
//   std::string wire = message.SerializeAsString();
//   ...
//   seriald::v1::Value received;
//   if (!received.ParseFromString(wire)) return absl::InvalidArgumentError("not a Value");
//   ASSIGN_OR_RETURN(Value copy, FromProto(std::move(received)));   // copy == value
#ifndef SERIALD_PROTO_VALUE_CONVERSION_H_
#define SERIALD_PROTO_VALUE_CONVERSION_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/value.h"
#include "seriald/v1/value.pb.h"

namespace seriald {

struct ToProtoOptions {
  // Arrays holding more bytes than this get their type and length but empty `data`: the caller
  // sends those bytes separately, straight from the Buffers (the streaming calls' chunks).
  uint64_t max_inline_array_bytes = std::numeric_limits<uint64_t>::max();
  // DataToProto only: string arrays whose elements repeat go in dictionary form (CodedStrings
  // items), for a client that asked (ReadOptions.string_codes).
  bool string_codes = false;
};

// Replaces `*message` with the mirror of `value`. INVALID_ARGUMENT naming the node when `value`
// holds something the schema cannot carry: a `string` field that is not UTF-8, a required
// reference that is kNoNode, an NA string with bytes, an enum value outside its declared range.
absl::Status ToProto(const Value& value, seriald::v1::Value* message,
                     const ToProtoOptions& options = {});

// The ids of the array nodes ToProto leaves without data under `options`, in increasing order:
// what a streaming sender must send in chunks.
std::vector<NodeId> ArraysLeftOut(const Value& value, const ToProtoOptions& options);

// The Value `message` describes, validated. INVALID_ARGUMENT naming the node and field on any
// inconsistency.
absl::StatusOr<Value> FromProto(const seriald::v1::Value& message);

// Like FromProto(const&), but takes array, opaque and bytecode bytes out of `message` instead of
// copying them. `message` is left valid but unspecified.
absl::StatusOr<Value> FromProto(seriald::v1::Value&& message);

// The data of arrays that travelled outside their message (a streaming call's ArrayChunks,
// assembled by wire/array_assembler.h), by node id (or item id, for Data).
using StreamedArrayData = absl::flat_hash_map<uint32_t, Buffer>;

// Like FromProto(&&), with the data of the arrays in `streamed` taken from there: each must name
// an array node whose data in `message` is empty (INVALID_ARGUMENT otherwise), and is checked
// against the node's type and length like any array's.
absl::StatusOr<Value> FromProto(seriald::v1::Value&& message, const StreamedArrayData& streamed);

}  // namespace seriald

#endif  // SERIALD_PROTO_VALUE_CONVERSION_H_
