// File: wire/raw_streams.h
//
// The streaming methods of seriald.v1.Serializer seen as streams of grpc::ByteBuffer messages
// instead of generated protobuf types, on both ends, so that chunk messages can be encoded and
// decoded without copying (wire/chunk_wire.h). The service and the wire format are unchanged:
// the method names are the proto's, and every message is the proto's message in protobuf's
// encoding.
//
// The sync API has no raw form of a method, so this uses what generated code itself uses: the
// server replaces a method's handler with one typed on ByteBuffer (grpc::Service's
// MarkMethodStreamed, see SerializerService's constructor), and the client opens the call with
// grpc::internal::ClientReaderWriterFactory, as a generated stub does.
//
// Example (client):
//
//   RawMethods methods(channel);
//   grpc::ClientContext context;
//   std::unique_ptr<RawClientStream> stream = methods.Open(RawMethods::kConvertStream, &context);
//   stream->Write(SerializeMessage(options_message));
#ifndef SERIALD_WIRE_RAW_STREAMS_H_
#define SERIALD_WIRE_RAW_STREAMS_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/sync_stream.h>

#include <array>
#include <memory>
#include <string_view>

#include "google/protobuf/message_lite.h"

namespace seriald::wire {

using RawServerStream = grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;
using RawClientStream = grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;

// The streaming methods. InspectStream streams its request only; its one response is read from
// the stream as any other message.
enum class StreamingMethod { kSerializeStream, kDeserializeStream, kConvertStream, kInspectStream };
inline constexpr std::array<StreamingMethod, 4> kStreamingMethods = {
    StreamingMethod::kSerializeStream, StreamingMethod::kDeserializeStream,
    StreamingMethod::kConvertStream, StreamingMethod::kInspectStream};

// The unary methods the C++ client calls over grpc::ByteBuffer: Deserialize, Convert and Inspect
// send their input as field 1, `data`, from the caller's Buffer (EncodeRequest); Convert's and
// Serialize's responses are taken apart as they arrived (TakeResponseData), and Deserialize's
// (TakeResponseArrays).
enum class UnaryMethod { kDeserialize, kConvert, kInspect, kSerialize };
inline constexpr std::array<UnaryMethod, 4> kUnaryMethods = {
    UnaryMethod::kDeserialize, UnaryMethod::kConvert, UnaryMethod::kInspect,
    UnaryMethod::kSerialize};

// "/seriald.v1.Serializer/ConvertStream" and so on.
const char* MethodPath(StreamingMethod method);
const char* MethodPath(UnaryMethod method);

// The method's index in the generated Serializer::Service (the proto's order), from the proto's
// descriptor.
int MethodIndex(StreamingMethod method);
// The same for any method of the service, by name ("Deserialize"): a unary method the server
// serves over grpc::ByteBuffer (wire/unary_wire.h) as gRPC's streamed unary, one message each way.
int MethodIndex(const char* name);

// Opens streaming calls on one channel, and makes unary calls whose request is already encoded
// (wire/unary_wire.h EncodeRequest: its data sent from the caller's Buffer, not copied into a
// protobuf string and again into gRPC's slices); registers each method with the channel once, as
// a generated stub does.
class RawMethods {
 public:
  explicit RawMethods(const std::shared_ptr<grpc::Channel>& channel);

  std::unique_ptr<RawClientStream> Open(StreamingMethod method, grpc::ClientContext* context) const;

  // The unary call `method` with `request`, its response parsed into `*response` (the method's
  // response type), as a generated stub makes it.
  template <typename Response>
  grpc::Status Call(UnaryMethod method, grpc::ClientContext* context,
                    const grpc::ByteBuffer& request, Response* response) const {
    return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, Response, grpc::ByteBuffer,
                                             google::protobuf::MessageLite>(
        channel_.get(), unary_methods_[static_cast<size_t>(method)], context, request, response);
  }

  // The same with the response as it arrived, for the caller to take apart
  // (wire/unary_wire.h TakeResponseData, TakeResponseArrays).
  grpc::Status Call(UnaryMethod method, grpc::ClientContext* context,
                    const grpc::ByteBuffer& request, grpc::ByteBuffer* response) const;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::array<grpc::internal::RpcMethod, kStreamingMethods.size()> methods_;
  std::array<grpc::internal::RpcMethod, kUnaryMethods.size()> unary_methods_;
};

}  // namespace seriald::wire

#endif  // SERIALD_WIRE_RAW_STREAMS_H_
