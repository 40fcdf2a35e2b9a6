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
  }
  return "";
}

}  // namespace

const char* MethodPath(StreamingMethod method) {
  // Static: gRPC keeps the pointer.
  static const std::array<std::string, 3> paths = [] {
    std::array<std::string, 3> result;
    const google::protobuf::ServiceDescriptor* service =
        v1::ConvertStreamRequest::descriptor()->file()->FindServiceByName("Serializer");
    for (StreamingMethod m : kStreamingMethods) {
      result[Slot(m)] = "/" + service->full_name() + "/" + MethodName(m);
    }
    return result;
  }();
  return paths[Slot(method)].c_str();
}

int MethodIndex(StreamingMethod method) { return MethodIndex(MethodName(method)); }

int MethodIndex(const char* name) {
  return v1::ConvertStreamRequest::descriptor()
      ->file()
      ->FindServiceByName("Serializer")
      ->FindMethodByName(name)
      ->index();
}

RawMethods::RawMethods(const std::shared_ptr<grpc::Channel>& channel)
    : channel_(channel),
      methods_{grpc::internal::RpcMethod(MethodPath(StreamingMethod::kSerializeStream),
                                         grpc::internal::RpcMethod::BIDI_STREAMING, channel),
               grpc::internal::RpcMethod(MethodPath(StreamingMethod::kDeserializeStream),
                                         grpc::internal::RpcMethod::BIDI_STREAMING, channel),
               grpc::internal::RpcMethod(MethodPath(StreamingMethod::kConvertStream),
                                         grpc::internal::RpcMethod::BIDI_STREAMING, channel)} {}

std::unique_ptr<RawClientStream> RawMethods::Open(StreamingMethod method,
                                                  grpc::ClientContext* context) const {
  return std::unique_ptr<RawClientStream>(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          channel_.get(), methods_[Slot(method)], context));
}

}  // namespace seriald::wire
