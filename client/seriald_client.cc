#include "client/seriald_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/grpc_status.h"
#include "core/absl_compat.h"
#include "core/io/file.h"
#include "core/io/input_error.h"
#include "core/model/element_type.h"
#include "core/status_macros.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "proto/service_options.h"
#include "proto/value_conversion.h"
#include "seriald/v1/serializer.pb.h"
#include "wire/array_assembler.h"
#include "wire/chunk_sender.h"
#include "wire/chunk_wire.h"
#include "wire/raw_streams.h"
#include "wire/unary_wire.h"

namespace seriald {
namespace {

// Round robin over every address the target resolves to, and retries of calls the server
// refused while draining or unreachable (UNAVAILABLE), before any response arrived.
constexpr char kServiceConfig[] = R"({
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{"service": "seriald.v1.Serializer"}, {"service": "grpc.health.v1.Health"}],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.1s",
      "maxBackoff": "2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})";

// What was read from a server's message: a failure (a message that is not the response's type,
// a value that does not hold together) is the server's fault, as with any other message it
// sends, not the caller's: INTERNAL, "server sent " then `what` and the reader's message.
template <typename T>
absl::StatusOr<T> FromServer(absl::StatusOr<T> read, absl::string_view what = "") {
  if (!read.ok()) {
    return absl::InternalError(absl::StrCat("server sent ", what, read.status().message()));
  }
  return read;
}

// Whether the server refused a unary call for its size (--max-message-bytes, on the request or
// the response): a server capped below this client's stream threshold. The call is then made
// again as a stream, as the error advises.
bool TooLargeForUnary(const absl::Status& status) {
  return absl::IsResourceExhausted(status) && LimitName(status) == "max-message-bytes";
}

// The Value a server sent, its large arrays' data given apart.
absl::StatusOr<Value> ServerValue(v1::Value&& message, const StreamedArrayData& arrays) {
  return FromServer(FromProto(std::move(message), arrays), "an invalid value: ");
}

// "a:1,b:2" -> "ipv4:a:1,b:2"; a single address or a URI-style target stays as it is.
absl::StatusOr<std::string> ChannelTarget(const std::string& target) {
  if (target.find(',') == std::string::npos || target.find(":///") != std::string::npos ||
      absl::StartsWith(target, "ipv4:") || absl::StartsWith(target, "ipv6:")) {
    return target;
  }
  std::vector<std::string> addresses = absl::StrSplit(target, ',', absl::SkipWhitespace());
  bool ipv6 = addresses.front().front() == '[';
  for (const std::string& address : addresses) {
    bool is_ipv6 = !address.empty() && address.front() == '[';
    bool numeric = !address.empty() && std::all_of(address.begin(), address.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '[' ||
             c == ']';
    });
    if (!numeric || is_ipv6 != ipv6) {
      return absl::InvalidArgumentError(absl::StrCat(
          "several server addresses must all be IPv4 (or all IPv6) literals with ports; for "
          "host names use a single dns:///NAME:PORT target (got \"",
          target, "\")"));
    }
  }
  return absl::StrCat(ipv6 ? "ipv6:" : "ipv4:", absl::StrJoin(addresses, ","));
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const ClientOptions& options) {
  bool has_cert = !options.tls_cert_file.empty();
  if (has_cert != !options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key must be given together");
  }
  if (options.tls_ca_file.empty()) {
    if (has_cert) return absl::InvalidArgumentError("--tls-cert needs --tls-ca");
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  auto read = [](const std::string& path, const char* flag) -> absl::StatusOr<std::string> {
    absl::StatusOr<Buffer> pem = ReadFile(path);
    if (!pem.ok()) {
      return absl::Status(pem.status().code(), absl::StrCat(flag, ": ", pem.status().message()));
    }
    return std::string(pem->view());
  };
  ASSIGN_OR_RETURN(ssl.pem_root_certs, read(options.tls_ca_file, "--tls-ca"));
  if (has_cert) {
    ASSIGN_OR_RETURN(ssl.pem_cert_chain, read(options.tls_cert_file, "--tls-cert"));
    ASSIGN_OR_RETURN(ssl.pem_private_key, read(options.tls_key_file, "--tls-key"));
  }
  return grpc::SslCredentials(ssl);
}

void AddReferenceBindings(const std::vector<ReferenceBindingBytes>& bindings,
                          v1::ReadOptions* message) {
  for (const ReferenceBindingBytes& binding : bindings) {
    v1::ReferenceBinding* added = message->add_reference_bindings();
    for (const std::string& name : binding.names) added->add_names(name);
    added->set_data(binding.data.data(), binding.data.size());
  }
}

}  // namespace

OutputCallback CollectInto(BufferChain* chain) {
  return [chain](std::string_view bytes) {
    chain->Append(Buffer::Copy(bytes));
    return absl::OkStatus();
  };
}

class SerialdClient::Impl {
 public:
  Impl(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)),
        channel_(std::move(channel)),
        raw_methods_(channel_),
        health_(grpc::health::v1::Health::NewStub(channel_)) {}

  void Prepare(grpc::ClientContext* context) const {
    if (options_.timeout > absl::ZeroDuration()) {
      context->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
    }
  }

  // Sends `input` as chunk messages (wire/chunk_sender.h), reporting progress. A mapped input
  // (serialctl's) is resident only a chunk at a time.
  bool SendChunks(wire::RawClientStream* stream, const Buffer& input,
                  const ProgressCallback& progress) const {
    uint64_t sent = 0;
    wire::ChunkSender sender(wire::ChunkEnvelope::kField2, options_.chunk_bytes,
                             [&](grpc::ByteBuffer message, size_t data_bytes) -> absl::Status {
                               if (!stream->Write(message)) {
                                 return absl::CancelledError("the stream broke");
                               }
                               sent += data_bytes;
                               if (progress) progress(sent, input.size());
                               return absl::OkStatus();
                             });
    return sender.Send(input).ok() && sender.Flush().ok();
  }

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  // Every method of the service, over grpc::ByteBuffer (wire/raw_streams.h): bulk bytes are sent
  // from Buffers and received as slices.
  wire::RawMethods raw_methods_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

SerialdClient::SerialdClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SerialdClient::~SerialdClient() = default;

absl::StatusOr<std::unique_ptr<SerialdClient>> SerialdClient::Connect(
    const ClientOptions& options) {
  if (options.chunk_bytes == 0) {
    return absl::InvalidArgumentError("ClientOptions.chunk_bytes must be at least 1");
  }
  ASSIGN_OR_RETURN(std::string target, ChannelTarget(options.target));
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials, Credentials(options));
  grpc::ChannelArguments arguments;
  arguments.SetServiceConfigJSON(kServiceConfig);
  arguments.SetMaxReceiveMessageSize(-1);
  arguments.SetMaxSendMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(target, credentials, arguments);
  return std::unique_ptr<SerialdClient>(
      new SerialdClient(std::make_unique<Impl>(options, std::move(channel))));
}

absl::StatusOr<ConvertResult> SerialdClient::Convert(const Buffer& input, const ConvertSpec& spec,
                                                     const OutputCallback& output,
                                                     const ProgressCallback& progress) {
  ConvertResult result;
  if (input.size() <= impl_->options_.stream_threshold_bytes) {
    grpc::ClientContext context;
    impl_->Prepare(&context);
    v1::ConvertRequest request;  // its data sent from `input`
    ReadOptionsToProto(spec.read_options, spec.input_format, request.mutable_input());
    AddReferenceBindings(spec.reference_bindings, request.mutable_input());
    WriteOptionsToProto(spec.write_options, spec.output_format, request.mutable_output());
    grpc::ByteBuffer received;
    const absl::Status status = FromGrpcStatus(impl_->raw_methods_.Call(
        wire::UnaryMethod::kConvert, &context, wire::EncodeRequest(input, request), &received));
    if (!TooLargeForUnary(status)) {
      RETURN_IF_ERROR(status);
      // The output handed over in the pieces it arrived in, not copied into a string.
      v1::ConvertResponse response;
      ASSIGN_OR_RETURN(BufferChain data, FromServer(wire::TakeResponseData(received, &response)));
      result.input_format = std::string(FormatName(response.input_format()));
      result.output_bytes = data.size();
      result.notes.assign(response.notes().begin(), response.notes().end());
      for (const Buffer& piece : data.pieces()) RETURN_IF_ERROR(output(piece.view()));
      return result;
    }
  }

  grpc::ClientContext context;
  impl_->Prepare(&context);
  result.streamed = true;
  auto stream = impl_->raw_methods_.Open(wire::StreamingMethod::kConvertStream, &context);
  v1::ConvertStreamRequest first;
  ReadOptionsToProto(spec.read_options, spec.input_format,
                     first.mutable_options()->mutable_input());
  first.mutable_options()->mutable_input()->set_input_size(input.size());
  AddReferenceBindings(spec.reference_bindings, first.mutable_options()->mutable_input());
  WriteOptionsToProto(spec.write_options, spec.output_format,
                      first.mutable_options()->mutable_output());
  // The input goes on its own thread: the server may send output before the input ends (a
  // Torch7 to Torch7 conversion streams), and reading it as it comes keeps both moving.
  std::thread sending([&] {
    if (stream->Write(wire::SerializeMessage(first)) &&
        impl_->SendChunks(stream.get(), input, progress)) {
      stream->WritesDone();
    }
  });
  grpc::ByteBuffer message;
  wire::ReceivedChunk chunk;
  v1::ConvertStreamResponse other;
  // The first error: the output callback's, or a message from the server that does not parse.
  absl::Status consumer;
  while (stream->Read(&message)) {
    if (!consumer.ok()) continue;
    absl::StatusOr<bool> is_chunk = wire::ReadChunkOr(message, &chunk, &other);
    if (!is_chunk.ok()) {
      consumer = absl::InternalError(absl::StrCat("server sent ", is_chunk.status().message()));
    } else if (!*is_chunk) {
      if (other.has_input_format()) {
        result.input_format = std::string(FormatName(other.input_format()));
      } else if (other.has_notes()) {
        result.notes.assign(other.notes().notes().begin(), other.notes().notes().end());
      }
    } else {
      result.output_bytes += chunk.size;
      for (std::string_view piece : chunk.pieces) {
        consumer = output(piece);
        if (!consumer.ok()) break;
      }
    }
    if (!consumer.ok()) context.TryCancel();
  }
  sending.join();  // the call has ended: a write still under way returns false
  absl::Status status = FromGrpcStatus(stream->Finish());
  if (!consumer.ok()) return consumer;
  RETURN_IF_ERROR(status);
  return result;
}

absl::StatusOr<Value> SerialdClient::Deserialize(const Buffer& input, std::string* format,
                                                 const ReadOptions& options,
                                                 const ProgressCallback& progress) {
  if (input.size() <= impl_->options_.stream_threshold_bytes) {
    grpc::ClientContext context;
    impl_->Prepare(&context);
    v1::DeserializeRequest request;  // its data sent from `input`
    ReadOptionsToProto(options, *format, request.mutable_options());
    grpc::ByteBuffer received;
    const absl::Status status = FromGrpcStatus(impl_->raw_methods_.Call(
        wire::UnaryMethod::kDeserialize, &context, wire::EncodeRequest(input, request), &received));
    if (!TooLargeForUnary(status)) {
      RETURN_IF_ERROR(status);
      // Large arrays' data taken from the slices it arrived in, not copied into strings.
      v1::DeserializeResponse response;
      ASSIGN_OR_RETURN(StreamedArrayData arrays,
                       FromServer(wire::TakeResponseArrays(received, &response)));
      *format = std::string(FormatName(response.format()));
      return ServerValue(std::move(*response.mutable_value()), arrays);
    }
  }

  grpc::ClientContext context;
  impl_->Prepare(&context);

  auto stream = impl_->raw_methods_.Open(wire::StreamingMethod::kDeserializeStream, &context);
  v1::DeserializeStreamRequest first;
  ReadOptionsToProto(options, *format, first.mutable_options());
  first.mutable_options()->set_input_size(input.size());
  bool sent = stream->Write(wire::SerializeMessage(first)) &&
              impl_->SendChunks(stream.get(), input, progress);
  if (sent) stream->WritesDone();

  grpc::ByteBuffer message;
  wire::ReceivedChunk chunk;
  v1::DeserializeStreamResponse other;
  v1::DeserializeStreamHeader header;
  bool have_header = false;
  absl::Status problem;
  // Nothing a server sends is taken on trust: an undeclared element type or a length whose bytes
  // overflow are refused here, and chunks out of place, past the declared size or for arrays
  // never announced by the assembler, rather than read past a table or allocated. Declared sizes
  // are not allocated up front: the arrays share the input's size as a head start and otherwise
  // grow with what arrives (wire/array_assembler.h).
  wire::ArrayAssembler arrays(/*head_start_bytes=*/input.size());
  auto server_error = [&](absl::string_view message) {
    if (problem.ok()) problem = absl::InternalError(absl::StrCat("server sent ", message));
    context.TryCancel();
  };
  while (stream->Read(&message)) {
    if (!problem.ok()) continue;
    absl::StatusOr<bool> is_chunk = wire::ReadChunkOr(message, &chunk, &other);
    if (!is_chunk.ok()) {
      server_error(is_chunk.status().message());
    } else if (*is_chunk) {
      if (!have_header) {
        server_error(absl::StrCat("a chunk for node ", chunk.node, " before the header"));
        continue;
      }
      absl::Status added = arrays.Add(chunk);
      if (!added.ok()) server_error(added.message());
    } else if (other.has_header()) {
      if (have_header) {
        server_error("a second header");
        continue;
      }
      header = std::move(*other.mutable_header());
      have_header = true;
      for (uint32_t id : header.streamed_arrays()) {
        if (id >= static_cast<uint32_t>(header.value().nodes_size()) ||
            !header.value().nodes(static_cast<int>(id)).has_array()) {
          server_error(absl::StrCat("streamed node ", id, ", which is not an array"));
          break;
        }
        const v1::Array* array = &header.value().nodes(static_cast<int>(id)).array();
        const int type = static_cast<int>(array->type());
        if (!v1::ElementType_IsValid(type) || type < 0 || type >= kElementTypeCount) {
          server_error(absl::StrCat("node ", id, " with undeclared element type ", type));
          break;
        }
        const uint64_t size = ElementSize(static_cast<ElementType>(type));
        if (array->length() > (uint64_t{1} << 62) / size) {
          server_error(absl::StrCat("node ", id, " with an impossible length ", array->length()));
          break;
        }
        absl::Status expected = arrays.Expect(id, array->data().size(), array->length() * size,
                                              /*reserve_bytes=*/0);
        if (!expected.ok()) {
          server_error(expected.message());
          break;
        }
      }
    } else {
      server_error("a message that is neither header nor chunk");
    }
  }
  if (problem.ok() && have_header) {
    absl::Status complete = arrays.CheckComplete();
    if (!complete.ok()) {
      problem = absl::InternalError(absl::StrCat("server's stream: ", complete.message()));
    }
  }
  absl::Status finished = FromGrpcStatus(stream->Finish());
  RETURN_IF_ERROR(problem);
  RETURN_IF_ERROR(finished);
  if (!have_header) return absl::InternalError("the server's stream held no value");
  *format = std::string(FormatName(header.format()));
  return ServerValue(std::move(*header.mutable_value()), std::move(arrays).Finish());
}

absl::Status SerialdClient::Serialize(const Value& value, std::string_view format,
                                      const WriteOptions& options, const OutputCallback& output,
                                      const ProgressCallback& progress) {
  // Arrays of a chunk or more travel in ArrayChunk messages, not inside the header.
  const ToProtoOptions streaming{.max_inline_array_bytes = impl_->options_.chunk_bytes - 1u};
  std::vector<NodeId> large = ArraysLeftOut(value, streaming);
  uint64_t large_bytes = 0;
  for (NodeId id : large) large_bytes += value.Get<Array>(id).data.size();
  if (large_bytes <= impl_->options_.stream_threshold_bytes) {
    grpc::ClientContext context;
    impl_->Prepare(&context);
    v1::SerializeRequest request;
    RETURN_IF_ERROR(ToProto(value, request.mutable_value()));
    WriteOptionsToProto(options, format, request.mutable_options());
    grpc::ByteBuffer received;
    const absl::Status status = FromGrpcStatus(impl_->raw_methods_.Call(
        wire::UnaryMethod::kSerialize, &context, wire::SerializeMessage(request), &received));
    if (!TooLargeForUnary(status)) {
      RETURN_IF_ERROR(status);
      // The output handed over in the pieces it arrived in, not copied into a string.
      v1::SerializeResponse response;
      ASSIGN_OR_RETURN(BufferChain data, FromServer(wire::TakeResponseData(received, &response)));
      for (const Buffer& piece : data.pieces()) RETURN_IF_ERROR(output(piece.view()));
      return absl::OkStatus();
    }
  }

  grpc::ClientContext context;
  impl_->Prepare(&context);

  auto stream = impl_->raw_methods_.Open(wire::StreamingMethod::kSerializeStream, &context);
  v1::SerializeStreamRequest first;
  v1::SerializeStreamHeader* header = first.mutable_header();
  RETURN_IF_ERROR(ToProto(value, header->mutable_value(), streaming));
  WriteOptionsToProto(options, format, header->mutable_options());
  for (NodeId id : large) header->add_streamed_arrays(id);
  bool sent = stream->Write(wire::SerializeMessage(first));
  uint64_t done = 0;
  for (size_t i = 0; sent && i < large.size(); ++i) {
    const Buffer& data = value.Get<Array>(large[i]).data;
    sent = wire::SendArrayChunks(large[i], data, impl_->options_.chunk_bytes,
                                 [&](grpc::ByteBuffer message, size_t data_bytes) -> absl::Status {
                                   if (!stream->Write(message)) {
                                     return absl::CancelledError("the stream broke");
                                   }
                                   done += data_bytes;
                                   if (progress) progress(done, large_bytes);
                                   return absl::OkStatus();
                                 })
               .ok();
  }
  if (sent) stream->WritesDone();
  grpc::ByteBuffer message;
  wire::ReceivedChunk chunk;
  v1::BytesChunk parsed;
  absl::Status consumer;
  while (stream->Read(&message)) {
    if (!consumer.ok()) continue;
    absl::StatusOr<bool> is_chunk = wire::ReadChunkOr(message, &chunk, &parsed);
    if (!is_chunk.ok()) {
      consumer = absl::InternalError(absl::StrCat("server sent ", is_chunk.status().message()));
    }
    for (size_t i = 0; consumer.ok() && i < chunk.pieces.size(); ++i) {
      consumer = output(chunk.pieces[i]);
    }
    if (!consumer.ok()) context.TryCancel();
  }
  absl::Status status = FromGrpcStatus(stream->Finish());
  if (!consumer.ok()) return consumer;
  return status;
}

absl::StatusOr<InspectResult> SerialdClient::Inspect(const Buffer& input, std::string_view format,
                                                     const ReadOptions& options,
                                                     const ProgressCallback& progress) {
  v1::InspectResponse response;
  bool answered = false;
  if (input.size() <= impl_->options_.stream_threshold_bytes) {
    grpc::ClientContext context;
    impl_->Prepare(&context);
    v1::InspectRequest request;  // its data sent from `input`
    ReadOptionsToProto(options, format, request.mutable_options());
    const absl::Status status = FromGrpcStatus(impl_->raw_methods_.Call(
        wire::UnaryMethod::kInspect, &context, wire::EncodeRequest(input, request), &response));
    if (!TooLargeForUnary(status)) {
      RETURN_IF_ERROR(status);
      answered = true;
    }
  }
  if (!answered) {
    grpc::ClientContext context;
    impl_->Prepare(&context);
    auto stream = impl_->raw_methods_.Open(wire::StreamingMethod::kInspectStream, &context);
    v1::InspectStreamRequest first;
    ReadOptionsToProto(options, format, first.mutable_options());
    first.mutable_options()->set_input_size(input.size());
    if (stream->Write(wire::SerializeMessage(first)) &&
        impl_->SendChunks(stream.get(), input, progress)) {
      stream->WritesDone();
    }
    // The one response, then the status (a failed call sends none).
    grpc::ByteBuffer message;
    const bool received = stream->Read(&message);
    RETURN_IF_ERROR(FromGrpcStatus(stream->Finish()));
    if (!received) return absl::InternalError("server sent no InspectResponse");
    const absl::Status parsed = wire::ParseMessage(message, &response);
    if (!parsed.ok()) return absl::InternalError(absl::StrCat("server sent ", parsed.message()));
  }
  v1::Value facts;
  *facts.mutable_source() = response.source();
  ASSIGN_OR_RETURN(Value facts_value, FromProto(facts));
  InspectResult result;
  result.format = std::string(FormatName(response.format()));
  result.source = facts_value.source();
  result.node_count = response.node_count();
  result.root_count = response.root_count();
  result.first_roots.assign(response.first_roots().begin(), response.first_roots().end());
  result.summary = response.summary();
  return result;
}

absl::Status SerialdClient::CheckHealth(const std::string& service) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(
      absl::Now() + (impl_->options_.timeout > absl::ZeroDuration() ? impl_->options_.timeout
                                                                    : absl::Seconds(10))));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  RETURN_IF_ERROR(FromGrpcStatus(impl_->health_->Check(&context, request, &response)));
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError(
        absl::StrCat("server is ",
                     grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())));
  }
  return absl::OkStatus();
}

}  // namespace seriald
