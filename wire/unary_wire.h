// File: wire/unary_wire.h
//
// The unary calls' bulk bytes without protobuf std::strings in between: a request's input taken
// from the slices it arrived in, and a response's array data (Deserialize) or output (Convert,
// Serialize) sent from its own Buffers; on the client's side, a request's input sent from the
// caller's Buffer and a response's output or array data taken from the slices it arrived in.
// Through generated code a unary Deserialize copied its input into a string as it parsed it (a
// string grown piece by piece) and its arrays twice on the way out (into the response message,
// then into gRPC's slices), each copy into fresh memory: 7,000 page faults and 220 ms of server
// time per 12 MB call, where the stream of the same input took 30 ms.
//
// The bytes on the wire are a valid encoding of the same message, with the same values: a field
// may come later than protobuf would put it (an array's data after its other fields, an item's
// array after its attributes), which every protobuf parser accepts. What a peer may legally send
// that the fast reading does not expect (a field twice, a group) is parsed by protobuf instead.
//
// Example (the server's Deserialize):
//
//   v1::DeserializeRequest request;                       // its options; its data left empty
//   ASSIGN_OR_RETURN(Buffer input, TakeRequestData(message, &request));
//   ...
//   v1::DeserializeResponse response;                     // large arrays' data left empty
//   stream->Write(EncodeDeserializeResponse(std::move(response), arrays));
#ifndef SERIALD_WIRE_UNARY_WIRE_H_
#define SERIALD_WIRE_UNARY_WIRE_H_

#include <grpcpp/support/byte_buffer.h>

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/io/buffer.h"
#include "seriald/v1/serializer.pb.h"

namespace seriald::wire {

// The `data` field (field 1) of a received DeserializeRequest, ConvertRequest or InspectRequest
// as one Buffer: over the slice it arrived in when it lies in one, else gathered into one
// allocation (its only copy), the message's slices released as they are copied so that the two
// together hold little more than the request. `message` may be left empty. The other fields are
// parsed into `rest`, whose data stays empty. INVALID_ARGUMENT for a message that is not of
// `rest`'s type.
absl::StatusOr<Buffer> TakeRequestData(grpc::ByteBuffer& message, v1::DeserializeRequest* rest);
absl::StatusOr<Buffer> TakeRequestData(grpc::ByteBuffer& message, v1::ConvertRequest* rest);
absl::StatusOr<Buffer> TakeRequestData(grpc::ByteBuffer& message, v1::InspectRequest* rest);

// The `data` field (field 1) of a received ConvertResponse or SerializeResponse as the pieces it
// arrived in: Buffers over the message's slices, nothing copied (the C++ client hands them to its
// caller's output callback one by one). The other fields are parsed into `rest`, whose data stays
// empty. INVALID_ARGUMENT for a message that is not of `rest`'s type.
absl::StatusOr<BufferChain> TakeResponseData(grpc::ByteBuffer& message, v1::ConvertResponse* rest);
absl::StatusOr<BufferChain> TakeResponseData(grpc::ByteBuffer& message,
                                             v1::SerializeResponse* rest);

// The data of the large arrays in a received DeserializeResponse's value (arrays of nodes of
// 32 KiB or more), by node id: each over the slice it arrived in when it lies in one, else
// gathered into one allocation, the message's slices released as they are passed. Everything
// else is parsed into `rest`, those arrays' data left empty (FromProto(std::move(value), arrays)
// puts them together). A message in a form not read here (a field twice, a group) is parsed by
// protobuf, with every array's data in `rest` and none returned. INVALID_ARGUMENT for a message
// that is not a DeserializeResponse.
absl::StatusOr<absl::flat_hash_map<uint32_t, Buffer>> TakeResponseArrays(
    grpc::ByteBuffer& message, v1::DeserializeResponse* rest);

// A DeserializeRequest, ConvertRequest or InspectRequest with `data` as its data, sent from its
// Buffer, and `rest` (the request's other fields, its data empty) encoded after it: what the C++
// client sends (wire/raw_streams.h RawMethods::Call).
grpc::ByteBuffer EncodeRequest(const Buffer& data, const google::protobuf::MessageLite& rest);

// `response` encoded with `output` as its data, each piece sent from its Buffer.
grpc::ByteBuffer EncodeConvertResponse(v1::ConvertResponse&& response, const BufferChain& output);
// SerializeResponse{data: output}, each piece sent from its Buffer.
grpc::ByteBuffer EncodeSerializeResponse(const BufferChain& output);

// The data of array items (Data) or nodes (Value) left out of a message, by id.
using SplicedArrays = std::vector<std::pair<uint32_t, Buffer>>;

// `response` (its value or its data; the arrays listed in `arrays` with empty data) encoded with
// each of those arrays' bytes sent from its Buffer.
grpc::ByteBuffer EncodeDeserializeResponse(v1::DeserializeResponse&& response,
                                           const SplicedArrays& arrays);

// A message built from encoded bytes and Buffers sent as they are, nested by wrapping: how
// EncodeDeserializeResponse lays out fields around array data it does not copy.
class SplicedMessage {
 public:
  // Bytes as they go on the wire (tags, lengths, small encoded messages).
  void Append(std::string encoded);
  // Bytes sent from `data` (a slice over it).
  void Append(const Buffer& data);
  void Append(SplicedMessage&& other);
  // Makes everything appended so far the value of length-delimited field `field`.
  void WrapAsField(uint32_t field);
  uint64_t size() const { return size_; }
  // The message, as slices: adjacent encoded bytes in one, each Buffer in its own.
  grpc::ByteBuffer Finish() &&;

 private:
  std::vector<std::variant<std::string, Buffer>> pieces_;
  uint64_t size_ = 0;
};

}  // namespace seriald::wire

#endif  // SERIALD_WIRE_UNARY_WIRE_H_
