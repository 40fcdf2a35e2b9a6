#include "server/serializer_service.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/convert/array_codecs.h"
#include "core/convert/convert.h"
#include "core/data/mapping.h"
#include "core/inspect.h"
#include "core/io/growable_buffer.h"
#include "core/io/input_error.h"
#include "core/status_macros.h"
#include "proto/data_conversion.h"
#include "proto/json_codec.h"
#include "proto/service_options.h"
#include "proto/value_conversion.h"
#include "server/grpc_status.h"

namespace seriald {

CodecRegistry ServiceCodecs() {
  CodecRegistry registry = CoreCodecs();
  RegisterJsonCodec(registry);
  return registry;
}

namespace {

// Roots listed by id in an InspectResponse.
constexpr size_t kInspectRootsListed = 10;

// Refers to request bytes owned by gRPC for the duration of a handler, without copying them.
Buffer BorrowBytes(const std::string& bytes) {
  return Buffer::Wrap(bytes.data(), bytes.size(), [] {});
}

// How close to its deadline a call's cancellation counts as the deadline. The client's deadline
// ends a call on both sides, but the server counts it from when the call arrived, so the
// client's cancellation (which carries no reason) usually arrives just before the server's own
// timer fires.
constexpr std::chrono::seconds kDeadlineSlack{1};

// Why a call ended early: its deadline, or the client cancelling it.
absl::Status CallAborted(grpc::ServerContext* context) {
  if (context->deadline() - kDeadlineSlack <= std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("deadline exceeded");
  }
  return absl::CancelledError("call cancelled by the client");
}

absl::Status UnaryTooLarge(std::string_view what, uint64_t size, uint64_t limit,
                           std::string_view stream_method) {
  return LimitExceeded(
      "max-message-bytes",
      absl::StrCat(AsAbsl(what), " of ", size, " bytes exceeds the server's unary limit of ", limit,
                   " bytes (--max-message-bytes); use ", AsAbsl(stream_method),
                   ", which sends the data in chunks"));
}

absl::Status RequestTooLarge(uint64_t limit) {
  return LimitExceeded("max-request-bytes",
                       absl::StrCat("request exceeds the server's limit of ", limit,
                                    " bytes per call (--max-request-bytes)"));
}

}  // namespace

// Runs one call: takes a slot from the tracker, runs `body`, logs, maps the status.
template <typename Body>
grpc::Status RunCall(CallTracker* tracker, CallLog* log, CallRecord& record, Body&& body) {
  absl::Status status;
  {
    absl::StatusOr<CallTracker::Token> token = tracker->Begin();
    status = token.ok() ? body() : token.status();
  }
  log->Write(record, status);
  return ToGrpcStatus(status);
}

namespace {

absl::StatusOr<const Codec*> InputCodec(const CodecRegistry& registry, v1::Format format,
                                        const Buffer& input) {
  if (format == v1::FORMAT_UNSPECIFIED) return registry.Detect(input);
  std::string_view name = FormatName(format);
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("unknown format ", format));
  return registry.Find(name);
}

absl::StatusOr<const Codec*> OutputCodec(const CodecRegistry& registry, v1::Format format) {
  if (format == v1::FORMAT_UNSPECIFIED) {
    return absl::InvalidArgumentError("the output format is required (WriteOptions.format)");
  }
  std::string_view name = FormatName(format);
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("unknown format ", format));
  return registry.Find(name);
}

// The read options of a request with the server's limits applied.
absl::StatusOr<ReadOptions> ServerReadOptions(const v1::ReadOptions& message,
                                              const ServiceLimits& limits) {
  ASSIGN_OR_RETURN(ReadOptions options, ReadOptionsFromProto(message, limits.max_depth));
  options.max_depth = std::min(options.max_depth, limits.max_depth);
  options.max_decompressed_bytes = limits.max_decompressed_bytes;
  options.max_expanded_bytes = limits.max_request_bytes;
  return options;
}

// Reads an input with the format given or detected, and binds its persistent references as the
// request asks; records the format it was read as. The value may view `input` and `message`.
absl::StatusOr<Value> ReadInput(const CodecRegistry& registry, const v1::ReadOptions& message,
                                const ServiceLimits& limits, const Buffer& input,
                                CallRecord& record) {
  ASSIGN_OR_RETURN(ReadOptions options, ServerReadOptions(message, limits));
  ASSIGN_OR_RETURN(const Codec* codec, InputCodec(registry, message.format(), input));
  record.input_format = std::string(codec->name());
  ASSIGN_OR_RETURN(Value value, codec->Read(input, options));
  record.input_format = std::string(codec->FormatOf(value));
  RETURN_IF_ERROR(ApplyReferenceBindings(message, options, value));
  return value;
}

// Writes `value` in the requested format, handing each piece of output to `consume`. The nodes
// the request names become persistent references first (so `value` changes).
absl::Status WriteOutput(const CodecRegistry& registry, const v1::WriteOptions& message,
                         Value& value, CallRecord& record, ByteWriter::PieceCallback consume) {
  ASSIGN_OR_RETURN(WriteOptions options, WriteOptionsFromProto(message));
  ASSIGN_OR_RETURN(const Codec* codec, OutputCodec(registry, message.format()));
  RETURN_IF_ERROR(ApplyPersistentReferences(message, value));
  record.output_format = std::string(codec->name());
  ByteWriter out(std::move(consume));
  RETURN_IF_ERROR(codec->Write(value, options, out));
  return out.Finish();
}

// Collects what `write` hands its callback into one string for a unary response, refusing output
// over the unary limit.
template <typename Write>
absl::StatusOr<std::string> CollectUnaryOutput(const ServiceLimits& limits, CallRecord& record,
                                               std::string_view stream_method, Write&& write) {
  BufferChain output;
  RETURN_IF_ERROR(write([&](Buffer piece) {
    output.Append(std::move(piece));
    if (output.size() > limits.max_message_bytes) {
      return UnaryTooLarge("the output", output.size(), limits.max_message_bytes, stream_method);
    }
    return absl::OkStatus();
  }));
  record.bytes_out = output.size();
  return output.ToString();
}

// Converts `input` as the request asks (core/convert/convert.h), handing each piece of output to
// `consume`; records the formats and collects the notes.
absl::Status ConvertOutput(const CodecRegistry& registry, const v1::ReadOptions& read_message,
                           const v1::WriteOptions& write_message, const ServiceLimits& limits,
                           const Buffer& input, CallRecord& record, ConversionNotes& notes,
                           ByteWriter::PieceCallback consume) {
  ASSIGN_OR_RETURN(ReadOptions read_options, ServerReadOptions(read_message, limits));
  ASSIGN_OR_RETURN(const Codec* from, InputCodec(registry, read_message.format(), input));
  record.input_format = std::string(from->name());
  ASSIGN_OR_RETURN(WriteOptions write_options, WriteOptionsFromProto(write_message));
  ASSIGN_OR_RETURN(const Codec* to, OutputCodec(registry, write_message.format()));
  record.output_format = std::string(to->name());
  if (!write_message.persistent_references().empty() && from->AsArrayCodec() != nullptr) {
    return absl::InvalidArgumentError(
        "persistent_references names nodes of an R object; an array file has none");
  }
  ConvertHooks hooks;
  hooks.after_read = [&](Value& value) {
    // Known before any output, which a stream's header carries.
    record.input_format = std::string(from->FormatOf(value));
    return ApplyReferenceBindings(read_message, read_options, value);
  };
  hooks.before_write = [&](Value& value) {
    return ApplyPersistentReferences(write_message, value);
  };
  ByteWriter out(std::move(consume));
  ASSIGN_OR_RETURN(record.input_format,
                   ConvertInput(*from, *to, input, read_options, write_options, out, notes, hooks));
  return out.Finish();
}

// Writes what a Serialize request holds: its Value, or its plain data (written with the output
// format's conventions, or as an array file), handing each piece of output to `consume`. The
// messages given are consumed.
absl::Status WriteRequestOutput(const CodecRegistry& registry, v1::Value* value, v1::Data* data,
                                const v1::WriteOptions& options, CallRecord& record,
                                ByteWriter::PieceCallback consume) {
  if (value != nullptr && data != nullptr) {
    return absl::InvalidArgumentError("set either the value or the data, not both");
  }
  if (data == nullptr) {
    ASSIGN_OR_RETURN(Value converted,
                     FromProto(value != nullptr ? std::move(*value) : v1::Value()));
    return WriteOutput(registry, options, converted, record, std::move(consume));
  }
  if (!options.persistent_references().empty()) {
    return absl::InvalidArgumentError(
        "persistent_references names nodes of a Value, and plain data has none: write an opaque "
        "\"persistent reference\" item with names instead");
  }
  ASSIGN_OR_RETURN(const Codec* to, OutputCodec(registry, options.format()));
  if (to->family() == "json") {
    return absl::InvalidArgumentError(
        "plain data (Data) is written as a Torch7, R or array format; JSON carries the Value form");
  }
  record.output_format = std::string(to->name());
  ASSIGN_OR_RETURN(WriteOptions write_options, WriteOptionsFromProto(options));
  ASSIGN_OR_RETURN(data::Data plain, DataFromProto(std::move(*data)));
  DataToROptions r_options;
  r_options.root_as_pairlist = options.format() == v1::FORMAT_RDATA;
  ConversionNotes notes;
  ByteWriter out(std::move(consume));
  RETURN_IF_ERROR(WritePlainData(plain, *to, write_options, r_options, out, notes));
  return out.Finish();
}

// The plain data of a value read for Deserialize; compact R sequences may expand up to the
// request limit.
absl::StatusOr<data::Data> DataOfValue(const Value& value, const ServiceLimits& limits) {
  RToDataOptions options;
  options.max_expanded_bytes = limits.max_request_bytes;
  return ToData(value, options);
}

// The plain data of an input for Deserialize's data view: an array file's arrays as they are
// (numpy bools stay logical), else the plain data of the value read.
absl::StatusOr<data::Data> ReadInputData(const CodecRegistry& registry,
                                         const v1::ReadOptions& message,
                                         const ServiceLimits& limits, const Buffer& input,
                                         CallRecord& record) {
  ASSIGN_OR_RETURN(const Codec* codec, InputCodec(registry, message.format(), input));
  if (const ArrayCodec* arrays = codec->AsArrayCodec()) {
    ASSIGN_OR_RETURN(ReadOptions options, ServerReadOptions(message, limits));
    record.input_format = std::string(codec->name());
    return arrays->ReadData(input, options);
  }
  ASSIGN_OR_RETURN(Value value, ReadInput(registry, message, limits, input, record));
  return DataOfValue(value, limits);
}

// Cuts `piece` into chunks of at most `chunk_bytes` and hands each to `send`, which returns false
// when the client has gone away.
template <typename Send>
absl::Status SendInChunks(grpc::ServerContext* context, const Buffer& piece, uint32_t chunk_bytes,
                          Send&& send) {
  for (size_t offset = 0; offset < piece.size(); offset += chunk_bytes) {
    size_t n = std::min<size_t>(chunk_bytes, piece.size() - offset);
    if (context->IsCancelled() || !send(piece.view().substr(offset, n))) {
      return CallAborted(context);
    }
  }
  return absl::OkStatus();
}

// Collects the byte chunks of a streaming request into one buffer. `chunk_of` returns the
// chunk's bytes, or nullptr when the message is not a chunk.
template <typename Request, typename Stream, typename ChunkOf>
absl::StatusOr<Buffer> ReceiveChunks(grpc::ServerContext* context, Stream* stream,
                                     uint64_t size_hint, uint64_t first_message_bytes,
                                     const ServiceLimits& limits, CallRecord& record,
                                     ChunkOf&& chunk_of) {
  GrowableBuffer input;
  if (size_hint > 0) {
    if (size_hint > limits.max_request_bytes) return RequestTooLarge(limits.max_request_bytes);
    RETURN_IF_ERROR(input.Reserve(size_hint));
  }
  record.bytes_in = first_message_bytes;
  Request message;
  while (stream->Read(&message)) {
    const std::string* chunk = chunk_of(message);
    if (chunk == nullptr) {
      return absl::InvalidArgumentError("every message after the first must be a chunk");
    }
    record.bytes_in += chunk->size();
    if (record.bytes_in > limits.max_request_bytes) {
      return RequestTooLarge(limits.max_request_bytes);
    }
    RETURN_IF_ERROR(input.Append(chunk->data(), chunk->size()));
  }
  if (context->IsCancelled()) return CallAborted(context);
  return std::move(input).Finish();
}

}  // namespace

grpc::Status SerializerService::Serialize(grpc::ServerContext* context,
                                          const v1::SerializeRequest* request,
                                          v1::SerializeResponse* response) {
  CallRecord record{"Serialize", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    record.bytes_in = request->ByteSizeLong();
    if (record.bytes_in > limits_.max_message_bytes) {
      return UnaryTooLarge("a request", record.bytes_in, limits_.max_message_bytes,
                           "SerializeStream");
    }
    // The request is const: its Value or Data is copied once, into a message the conversion
    // consumes.
    std::optional<v1::Data> plain;
    if (request->has_data()) plain = request->data();
    std::optional<v1::Value> message;
    if (request->has_value() || !request->has_data()) message = request->value();
    ASSIGN_OR_RETURN(*response->mutable_data(),
                     CollectUnaryOutput(limits_, record, "SerializeStream", [&](auto consume) {
                       return WriteRequestOutput(*registry_, message ? &*message : nullptr,
                                                 plain ? &*plain : nullptr, request->options(),
                                                 record, std::move(consume));
                     }));
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::Deserialize(grpc::ServerContext* context,
                                            const v1::DeserializeRequest* request,
                                            v1::DeserializeResponse* response) {
  CallRecord record{"Deserialize", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    record.bytes_in = request->data().size();
    if (record.bytes_in > limits_.max_message_bytes) {
      return UnaryTooLarge("a request", record.bytes_in, limits_.max_message_bytes,
                           "DeserializeStream");
    }
    if (request->options().view() == v1::VIEW_DATA) {
      ASSIGN_OR_RETURN(data::Data plain, ReadInputData(*registry_, request->options(), limits_,
                                                       BorrowBytes(request->data()), record));
      RETURN_IF_ERROR(DataToProto(plain, response->mutable_data()));
    } else {
      ASSIGN_OR_RETURN(Value value, ReadInput(*registry_, request->options(), limits_,
                                              BorrowBytes(request->data()), record));
      RETURN_IF_ERROR(ToProto(value, response->mutable_value()));
    }
    response->set_format(FormatFromName(record.input_format).value_or(v1::FORMAT_UNSPECIFIED));
    record.bytes_out = response->ByteSizeLong();
    if (record.bytes_out > limits_.max_message_bytes) {
      return UnaryTooLarge("the response", record.bytes_out, limits_.max_message_bytes,
                           "DeserializeStream");
    }
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::Convert(grpc::ServerContext* context,
                                        const v1::ConvertRequest* request,
                                        v1::ConvertResponse* response) {
  CallRecord record{"Convert", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    record.bytes_in = request->data().size();
    if (record.bytes_in > limits_.max_message_bytes) {
      return UnaryTooLarge("a request", record.bytes_in, limits_.max_message_bytes,
                           "ConvertStream");
    }
    ConversionNotes notes;
    ASSIGN_OR_RETURN(*response->mutable_data(),
                     CollectUnaryOutput(limits_, record, "ConvertStream", [&](auto consume) {
                       return ConvertOutput(*registry_, request->input(), request->output(),
                                            limits_, BorrowBytes(request->data()), record, notes,
                                            std::move(consume));
                     }));
    response->set_input_format(
        FormatFromName(record.input_format).value_or(v1::FORMAT_UNSPECIFIED));
    for (std::string& line : notes.Lines()) response->add_notes(std::move(line));
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::Inspect(grpc::ServerContext* context,
                                        const v1::InspectRequest* request,
                                        v1::InspectResponse* response) {
  CallRecord record{"Inspect", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    record.bytes_in = request->data().size();
    if (record.bytes_in > limits_.max_message_bytes) {
      return UnaryTooLarge("a request", record.bytes_in, limits_.max_message_bytes,
                           "a local inspection");
    }
    ASSIGN_OR_RETURN(Value value, ReadInput(*registry_, request->options(), limits_,
                                            BorrowBytes(request->data()), record));
    response->set_format(FormatFromName(record.input_format).value_or(v1::FORMAT_UNSPECIFIED));
    Value facts;
    facts.source() = value.source();
    v1::Value facts_message;
    RETURN_IF_ERROR(ToProto(facts, &facts_message));
    *response->mutable_source() = facts_message.source();
    response->set_node_count(value.size());
    response->set_root_count(static_cast<uint32_t>(value.roots().size()));
    for (size_t i = 0; i < value.roots().size() && i < kInspectRootsListed; ++i) {
      response->add_first_roots(value.roots()[i]);
    }
    response->set_summary(seriald::Inspect(value));
    record.bytes_out = response->ByteSizeLong();
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::ConvertStream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ConvertStreamResponse, v1::ConvertStreamRequest>* stream) {
  CallRecord record{"ConvertStream", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    v1::ConvertStreamRequest first;
    if (!stream->Read(&first)) {
      if (context->IsCancelled()) return CallAborted(context);
      return absl::InvalidArgumentError("the stream ended before its options message");
    }
    if (!first.has_options()) {
      return absl::InvalidArgumentError("the first message must hold the options");
    }
    const v1::ConvertStreamOptions options = first.options();
    ASSIGN_OR_RETURN(Buffer input,
                     ReceiveChunks<v1::ConvertStreamRequest>(
                         context, stream, options.input().input_size(), first.ByteSizeLong(),
                         limits_, record, [](const v1::ConvertStreamRequest& m) {
                           return m.has_chunk() ? &m.chunk().data() : nullptr;
                         }));
    // The header names the input format, which is known once the input is read: the first
    // piece of output (or the end, for an empty output) sends it.
    bool header_sent = false;
    auto send_header = [&]() -> absl::Status {
      if (header_sent) return absl::OkStatus();
      header_sent = true;
      v1::ConvertStreamResponse header;
      header.set_input_format(
          FormatFromName(record.input_format).value_or(v1::FORMAT_UNSPECIFIED));
      return stream->Write(header) ? absl::OkStatus() : CallAborted(context);
    };
    ConversionNotes notes;
    v1::ConvertStreamResponse response;
    RETURN_IF_ERROR(ConvertOutput(
        *registry_, options.input(), options.output(), limits_, input, record, notes,
        [&](Buffer piece) -> absl::Status {
          RETURN_IF_ERROR(send_header());
          record.bytes_out += piece.size();
          return SendInChunks(context, piece, limits_.chunk_bytes, [&](std::string_view bytes) {
            response.mutable_chunk()->mutable_data()->assign(bytes.data(), bytes.size());
            return stream->Write(response);
          });
        }));
    RETURN_IF_ERROR(send_header());
    if (!notes.empty()) {
      v1::ConvertStreamResponse last;
      for (std::string& line : notes.Lines()) last.mutable_notes()->add_notes(std::move(line));
      if (!stream->Write(last)) return CallAborted(context);
    }
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::DeserializeStream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::DeserializeStreamResponse, v1::DeserializeStreamRequest>* stream) {
  CallRecord record{"DeserializeStream", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    v1::DeserializeStreamRequest first;
    if (!stream->Read(&first)) {
      if (context->IsCancelled()) return CallAborted(context);
      return absl::InvalidArgumentError("the stream ended before its options message");
    }
    if (!first.has_options()) {
      return absl::InvalidArgumentError("the first message must hold the options");
    }
    const v1::ReadOptions options = first.options();
    ASSIGN_OR_RETURN(Buffer input, ReceiveChunks<v1::DeserializeStreamRequest>(
                                       context, stream, options.input_size(), first.ByteSizeLong(),
                                       limits_, record, [](const v1::DeserializeStreamRequest& m) {
                                         return m.has_chunk() ? &m.chunk().data() : nullptr;
                                       }));
    // The header carries the Value (or its plain data) with the data of large arrays left out;
    // that data follows in ArrayChunk messages, read straight from the arrays' buffers.
    const ToProtoOptions streaming{.max_inline_array_bytes = limits_.chunk_bytes - 1u};
    v1::DeserializeStreamResponse header;
    // The buffers to send, by the id the chunks name.
    std::vector<std::pair<uint32_t, Buffer>> streamed;
    if (options.view() == v1::VIEW_DATA) {
      ASSIGN_OR_RETURN(data::Data plain,
                       ReadInputData(*registry_, options, limits_, input, record));
      input = Buffer();  // the arrays keep what they need
      RETURN_IF_ERROR(DataToProto(plain, header.mutable_header()->mutable_data(), streaming));
      for (ItemId id : DataArraysLeftOut(plain, streaming)) {
        streamed.emplace_back(id, plain.GetIf<data::NdArray>(id)->data);
      }
    } else {
      ASSIGN_OR_RETURN(Value value, ReadInput(*registry_, options, limits_, input, record));
      input = Buffer();  // the Value keeps what it needs
      RETURN_IF_ERROR(ToProto(value, header.mutable_header()->mutable_value(), streaming));
      for (NodeId id : ArraysLeftOut(value, streaming)) {
        streamed.emplace_back(id, value.Get<Array>(id).data);
      }
    }
    header.mutable_header()->set_format(
        FormatFromName(record.input_format).value_or(v1::FORMAT_UNSPECIFIED));
    for (const auto& [id, bytes] : streamed) header.mutable_header()->add_streamed_arrays(id);
    record.bytes_out = header.ByteSizeLong();
    if (!stream->Write(header)) return CallAborted(context);

    v1::DeserializeStreamResponse response;
    for (auto& [id, bytes] : streamed) {
      uint64_t offset = 0;
      RETURN_IF_ERROR(
          SendInChunks(context, bytes, limits_.chunk_bytes, [&](std::string_view piece) {
            v1::ArrayChunk* chunk = response.mutable_array_chunk();
            chunk->set_node(id);
            chunk->set_offset(offset);
            chunk->mutable_data()->assign(piece.data(), piece.size());
            offset += piece.size();
            record.bytes_out += piece.size();
            return stream->Write(response);
          }));
      bytes = Buffer();  // release each array once it is sent
    }
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::SerializeStream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::BytesChunk, v1::SerializeStreamRequest>* stream) {
  CallRecord record{"SerializeStream", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    v1::SerializeStreamRequest first;
    if (!stream->Read(&first)) {
      if (context->IsCancelled()) return CallAborted(context);
      return absl::InvalidArgumentError("the stream ended before its header message");
    }
    if (!first.has_header()) {
      return absl::InvalidArgumentError("the first message must hold the header");
    }
    record.bytes_in = first.ByteSizeLong();
    if (record.bytes_in > limits_.max_request_bytes)
      return RequestTooLarge(limits_.max_request_bytes);
    v1::SerializeStreamHeader* header = first.mutable_header();
    v1::Value* message =
        header->has_value() || !header->has_data() ? header->mutable_value() : nullptr;
    v1::Data* plain = header->has_data() ? header->mutable_data() : nullptr;
    // The data field, element type and length of the array `id` names: a node of the Value or
    // an item of the Data.
    struct ArrayField {
      std::string* data;
      int type;
      uint64_t length;
    };
    auto array_field = [&](uint32_t id) -> absl::StatusOr<ArrayField> {
      if (plain != nullptr) {
        if (id >= static_cast<uint32_t>(plain->items_size()) ||
            !plain->items(static_cast<int>(id)).has_array()) {
          return absl::InvalidArgumentError(
              absl::StrCat("streamed_arrays names item ", id, ", which is not an array item"));
        }
        v1::NdArray* array = plain->mutable_items(static_cast<int>(id))->mutable_array();
        return ArrayField{array->mutable_data(), array->dtype(), array->length()};
      }
      if (id >= static_cast<uint32_t>(message->nodes_size()) ||
          !message->nodes(static_cast<int>(id)).has_array()) {
        return absl::InvalidArgumentError(
            absl::StrCat("streamed_arrays names node ", id, ", which is not an array node"));
      }
      v1::Array* array = message->mutable_nodes(static_cast<int>(id))->mutable_array();
      return ArrayField{array->mutable_data(), array->type(), array->length()};
    };

    // Room for each streamed array, filled from the chunks in order.
    struct Pending {
      std::string* data;
      uint64_t expected;
    };
    absl::flat_hash_map<uint32_t, Pending> pending;
    uint64_t total = record.bytes_in;
    for (uint32_t id : header->streamed_arrays()) {
      ASSIGN_OR_RETURN(ArrayField array, array_field(id));
      if (!array.data->empty() || pending.contains(id)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "streamed array ", id, " must be listed once and have empty data in the header"));
      }
      if (!v1::ElementType_IsValid(array.type)) {
        return absl::InvalidArgumentError(absl::StrCat("array ", id, ": unknown element type"));
      }
      uint64_t element_size = ElementSize(static_cast<ElementType>(array.type));
      if (array.length > limits_.max_request_bytes / element_size) {
        return RequestTooLarge(limits_.max_request_bytes);
      }
      uint64_t expected = array.length * element_size;
      total += expected;
      if (total > limits_.max_request_bytes) return RequestTooLarge(limits_.max_request_bytes);
      array.data->reserve(expected);
      pending[id] = Pending{array.data, expected};
    }
    v1::SerializeStreamRequest request;
    while (stream->Read(&request)) {
      if (!request.has_array_chunk()) {
        return absl::InvalidArgumentError("every message after the header must be an array chunk");
      }
      const v1::ArrayChunk& chunk = request.array_chunk();
      auto it = pending.find(chunk.node());
      if (it == pending.end()) {
        return absl::InvalidArgumentError(absl::StrCat("array chunk for node ", chunk.node(),
                                                       ", which is not listed in streamed_arrays"));
      }
      Pending& target = it->second;
      if (chunk.offset() != target.data->size()) {
        return absl::InvalidArgumentError(absl::StrCat("array chunk for node ", chunk.node(),
                                                       " at offset ", chunk.offset(),
                                                       ", expected offset ", target.data->size()));
      }
      if (chunk.data().size() > target.expected - target.data->size()) {
        return absl::InvalidArgumentError(absl::StrCat("array chunks for node ", chunk.node(),
                                                       " exceed its ", target.expected, " bytes"));
      }
      target.data->append(chunk.data());
      record.bytes_in += chunk.data().size();
    }
    if (context->IsCancelled()) return CallAborted(context);
    for (const auto& [id, target] : pending) {
      if (target.data->size() != target.expected) {
        return absl::InvalidArgumentError(absl::StrCat("the stream ended with node ", id, " at ",
                                                       target.data->size(), " of ", target.expected,
                                                       " bytes"));
      }
    }
    v1::BytesChunk response;
    return WriteRequestOutput(*registry_, message, plain, header->options(), record,
                              [&](Buffer piece) {
      record.bytes_out += piece.size();
      return SendInChunks(context, piece, limits_.chunk_bytes, [&](std::string_view bytes) {
        response.mutable_data()->assign(bytes.data(), bytes.size());
        return stream->Write(response);
      });
    });
  });
}

}  // namespace seriald
