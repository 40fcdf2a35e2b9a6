#include "wire/raw_streams.h"

#include <string>

#include "seriald/v1/serializer.pb.h"

namespace seriald::wire {
namespace {

size_t Slot(StreamingMethod method) { return static_cast<size_t>(method); }

const char* MethodName(StreamingMethod method) {
  switch (method) {
    case StreamingMethod::kSerializeStream:
      return "SerializeStream";
    case StreamingMethod::kDeserializeStream:
      return "DeserializeStream";
    case StreamingMethod::kConvertStream:
      return "ConvertStream";
    case StreamingMethod::kInspectStream:
      return "InspectStream";
  }
  return "";
}

const char* MethodName(UnaryMethod method) {
  switch (method) {
    case UnaryMethod::kDeserialize:
      return "Deserialize";
    case UnaryMethod::kConvert:
      return "Convert";
    case UnaryMethod::kInspect:
      return "Inspect";
    case UnaryMethod::kSerialize:
      return "Serialize";
  }
  return "";
}

const google::protobuf::ServiceDescriptor* Service() {
  return v1::ConvertStreamRequest::descriptor()->file()->FindServiceByName("Serializer");
}

// "/seriald.v1.Serializer/" and the name of `method`, one of `all` (an enum's values, in order).
// The strings are static, one array per enum: gRPC keeps the pointer.
template <typename Method, size_t N>
const char* PathOf(Method method, const std::array<Method, N>& all) {
  static const std::array<std::string, N> paths = [&all] {
    std::array<std::string, N> result;
    for (Method m : all) {
      result[static_cast<size_t>(m)] = "/" + Service()->full_name() + "/" + MethodName(m);
    }
    return result;
  }();
  return paths[static_cast<size_t>(method)].c_str();
}

}  // namespace

const char* MethodPath(UnaryMethod method) { return PathOf(method, kUnaryMethods); }

const char* MethodPath(StreamingMethod method) { return PathOf(method, kStreamingMethods); }

int MethodIndex(StreamingMethod method) { return MethodIndex(MethodName(method)); }

int MethodIndex(const char* name) { return Service()->FindMethodByName(name)->index(); }

RawMethods::RawMethods(const std::shared_ptr<grpc::Channel>& channel)
    : channel_(channel),
      methods_{grpc::internal::RpcMethod(MethodPath(StreamingMethod::kSerializeStream),
                                         grpc::internal::RpcMethod::BIDI_STREAMING, channel),
               grpc::internal::RpcMethod(MethodPath(StreamingMethod::kDeserializeStream),
                                         grpc::internal::RpcMethod::BIDI_STREAMING, channel),
               grpc::internal::RpcMethod(MethodPath(StreamingMethod::kConvertStream),
                                         grpc::internal::RpcMethod::BIDI_STREAMING, channel),
               grpc::internal::RpcMethod(MethodPath(StreamingMethod::kInspectStream),
                                         grpc::internal::RpcMethod::BIDI_STREAMING, channel)},
      unary_methods_{grpc::internal::RpcMethod(MethodPath(UnaryMethod::kDeserialize),
                                               grpc::internal::RpcMethod::NORMAL_RPC, channel),
                     grpc::internal::RpcMethod(MethodPath(UnaryMethod::kConvert),
                                               grpc::internal::RpcMethod::NORMAL_RPC, channel),
                     grpc::internal::RpcMethod(MethodPath(UnaryMethod::kInspect),
                                               grpc::internal::RpcMethod::NORMAL_RPC, channel),
                     grpc::internal::RpcMethod(MethodPath(UnaryMethod::kSerialize),
                                               grpc::internal::RpcMethod::NORMAL_RPC, channel)} {}

grpc::Status RawMethods::Call(UnaryMethod method, grpc::ClientContext* context,
                              const grpc::ByteBuffer& request, grpc::ByteBuffer* response) const {
  return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel_.get(), unary_methods_[static_cast<size_t>(method)], context, request, response);
}

std::unique_ptr<RawClientStream> RawMethods::Open(StreamingMethod method,
                                                  grpc::ClientContext* context) const {
  return std::unique_ptr<RawClientStream>(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          channel_.get(), methods_[Slot(method)], context));
}

}  // namespace seriald::wire
