#include "server/serializer_service.h"

#include <grpcpp/support/method_handler.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/convert/array_codecs.h"
#include "core/convert/convert.h"
#include "core/data/mapping.h"
#include "core/inspect.h"
#include "core/io/chunked_input.h"
#include "core/io/input_error.h"
#include "core/io/piece_queue.h"
#include "core/io/spillable_buffer.h"
#include "core/rds/compression.h"
#include "core/rds/sexptype.h"
#include "core/status_macros.h"
#include "core/torch7/transcoder.h"
#include "proto/data_conversion.h"
#include "proto/json_codec.h"
#include "proto/service_options.h"
#include "proto/value_conversion.h"
#include "server/grpc_status.h"
#include "wire/array_assembler.h"
#include "wire/chunk_sender.h"
#include "wire/chunk_wire.h"
#include "wire/unary_wire.h"

namespace seriald {

CodecRegistry ServiceCodecs() {
  CodecRegistry registry = CoreCodecs();
  RegisterJsonCodec(registry);
  return registry;
}

namespace {

// Roots listed by id in an InspectResponse.
constexpr size_t kInspectRootsListed = 10;

// A unary Deserialize response sends arrays of this many bytes or more from their own Buffers
// (wire/unary_wire.h); smaller ones are copied into the message, which costs less than a slice.
constexpr uint64_t kSplicedArrayBytes = uint64_t{64} << 10;

// How close to its deadline a call's cancellation counts as the deadline. The client's deadline
// ends a call on both sides, but the server counts it from when the call arrived, so the
// client's cancellation (which carries no reason) usually arrives just before the server's own
// timer fires.
constexpr std::chrono::seconds kDeadlineSlack{1};

// The call's deadline, for waits on its behalf.
absl::Time DeadlineOf(grpc::ServerContext* context) {
  return absl::FromChrono(context->deadline());
}

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

}  // namespace

// What one call may use: the server's limits, its share of the memory budget, its deadline.
struct CallBudget {
  const ServiceLimits& limits;
  MemoryBudget::Reservation held;
  absl::Time deadline;
  // What the call keeps in spill files (--max-spill-bytes).
  MemoryBudget::Reservation spilled;

  // Reserves `bytes` more memory for the call (memory_budget.h).
  absl::Status Reserve(uint64_t bytes) { return held.Grow(bytes, deadline); }
  // Reserves `bytes` more of the spill directory for the call.
  absl::Status ReserveSpill(uint64_t bytes) { return spilled.Grow(bytes, deadline); }
};

namespace {

// The read options of a request with the server's limits applied; decompressed input is reserved
// in the call's budget as it grows.
absl::StatusOr<ReadOptions> ServerReadOptions(const v1::ReadOptions& message, CallBudget& call) {
  const ServiceLimits& limits = call.limits;
  ASSIGN_OR_RETURN(ReadOptions options, ReadOptionsFromProto(message, limits.max_depth));
  options.max_depth = std::min(options.max_depth, limits.max_depth);
  options.max_decompressed_bytes = limits.max_decompressed_bytes;
  options.max_decompression_ratio = limits.max_decompression_ratio;
  options.max_expanded_bytes = limits.max_request_bytes;
  options.reserve_memory = [&call](uint64_t bytes) { return call.Reserve(bytes); };
  options.spill_dir = limits.spill_dir;
  options.spill_above_bytes = limits.spill_above_bytes;
  options.reserve_spill = [&call](uint64_t bytes) { return call.ReserveSpill(bytes); };
  return options;
}

// The write options of a request: output is bounded by --max-response-bytes.
absl::StatusOr<WriteOptions> ServerWriteOptions(const v1::WriteOptions& message, CallBudget& call) {
  const ServiceLimits& limits = call.limits;
  ASSIGN_OR_RETURN(WriteOptions options, WriteOptionsFromProto(message));
  options.max_output_bytes = limits.max_response_bytes;
  options.output_limit = "max-response-bytes";
  // An npz archive put together before it is sent waits in a spill file, counted against
  // --max-spill-bytes as the inputs that wait there are.
  options.spill_dir = limits.spill_dir;
  options.reserve_spill = [&call](uint64_t bytes) { return call.ReserveSpill(bytes); };
  return options;
}

absl::Status ResponseTooLarge(uint64_t limit) {
  return LimitExceeded("max-response-bytes",
                       absl::StrCat("the response passes the server's limit of ", limit,
                                    " bytes per call (--max-response-bytes)"));
}

// Hands pieces of output to `consume`, counting them against --max-response-bytes first.
ByteWriter::PieceCallback CountedOutput(const ServiceLimits& limits, CallRecord& record,
                                        ByteWriter::PieceCallback consume) {
  return [&limits, &record, consume = std::move(consume)](Buffer piece) -> absl::Status {
    record.bytes_out += piece.size();
    if (record.bytes_out > limits.max_response_bytes) {
      return ResponseTooLarge(limits.max_response_bytes);
    }
    return consume(std::move(piece));
  };
}

// The largest array a streaming response carries inline; larger ones follow in chunks.
uint64_t InlineArrayBytes(const ServiceLimits& limits) { return limits.chunk_bytes - 1u; }

// How a read leaves the arrays of big-endian input (R's XDR vectors, big-endian Torch7).
enum class ArrayOrder {
  kLittleEndian,  // swapped as read: what a response built whole and every conversion take
  // Arrays a streaming response sends in chunks (above InlineArrayBytes) left as written, the
  // rest swapped: the chunk sender swaps each chunk as it goes (wire::SendArrayChunks), so no
  // swapped copy of a large array is ever held, and a spilled input stays in its file. Inspect
  // reads so too: it loads the few elements it shows in either order.
  kStreamedAsWritten,
};

// Reads an input with the format given or detected, and binds its persistent references as the
// request asks; records the format it was read as. The value may view `input` and `message`.
// With `lend_input`, the read may overwrite the input's bytes (ReadOptions::input_is_scratch):
// for a call that reads nothing of its input afterwards.
absl::StatusOr<Value> ReadInput(const CodecRegistry& registry, const v1::ReadOptions& message,
                                CallBudget& call, const Buffer& input, CallRecord& record,
                                ArrayOrder order = ArrayOrder::kLittleEndian,
                                bool lend_input = false) {
  ASSIGN_OR_RETURN(ReadOptions options, ServerReadOptions(message, call));
  options.keep_array_byte_order = order == ArrayOrder::kStreamedAsWritten;
  options.input_is_scratch = lend_input;
  ASSIGN_OR_RETURN(const Codec* codec, InputCodec(registry, message.format(), input));
  record.input_format = std::string(codec->name());
  ASSIGN_OR_RETURN(Value value, codec->Read(input, options));
  record.input_format = std::string(codec->FormatOf(value));
  RETURN_IF_ERROR(ApplyReferenceBindings(message, options, value));
  if (order == ArrayOrder::kStreamedAsWritten) {
    MakeArraysLittleEndian(value, InlineArrayBytes(call.limits));
  }
  return value;
}

// Writes `value` in the requested format, handing each piece of output to `consume`. The nodes
// the request names become persistent references first (so `value` changes).
absl::Status WriteOutput(const CodecRegistry& registry, const v1::WriteOptions& message,
                         Value& value, CallBudget& call, CallRecord& record,
                         ByteWriter::PieceCallback consume) {
  const ServiceLimits& limits = call.limits;
  ASSIGN_OR_RETURN(WriteOptions options, ServerWriteOptions(message, call));
  ASSIGN_OR_RETURN(const Codec* codec, OutputCodec(registry, message.format()));
  RETURN_IF_ERROR(ApplyPersistentReferences(message, value));
  record.output_format = std::string(codec->name());
  ByteWriter out(CountedOutput(limits, record, std::move(consume)));
  RETURN_IF_ERROR(codec->Write(value, options, out));
  return out.Finish();
}

// Collects the pieces `write` hands its callback for a unary response, refusing output over the
// unary limit. The output is reserved in the call's budget as it grows.
template <typename Write>
absl::StatusOr<BufferChain> CollectUnaryOutput(CallBudget& call, std::string_view stream_method,
                                               Write&& write) {
  const ServiceLimits& limits = call.limits;
  BufferChain output;
  RETURN_IF_ERROR(write([&](Buffer piece) -> absl::Status {
    if (output.size() + piece.size() > limits.max_message_bytes) {
      return UnaryTooLarge("the output", output.size() + piece.size(), limits.max_message_bytes,
                           stream_method);
    }
    RETURN_IF_ERROR(call.Reserve(piece.size()));
    output.Append(std::move(piece));
    return absl::OkStatus();
  }));
  return output;
}

// Converts `input` as the request asks (core/convert/convert.h), handing each piece of output to
// `consume`; records the formats and collects the notes.
absl::Status ConvertOutput(const CodecRegistry& registry, const v1::ReadOptions& read_message,
                           const v1::WriteOptions& write_message, CallBudget& call,
                           const Buffer& input, CallRecord& record, ConversionNotes& notes,
                           ByteWriter::PieceCallback consume) {
  ASSIGN_OR_RETURN(ReadOptions read_options, ServerReadOptions(read_message, call));
  ASSIGN_OR_RETURN(const Codec* from, InputCodec(registry, read_message.format(), input));
  record.input_format = std::string(from->name());
  ASSIGN_OR_RETURN(WriteOptions write_options, ServerWriteOptions(write_message, call));
  ASSIGN_OR_RETURN(const Codec* to, OutputCodec(registry, write_message.format()));
  record.output_format = std::string(to->name());
  if (!write_message.persistent_references().empty() && from->AsArrayCodec() != nullptr) {
    return absl::InvalidArgumentError(
        "persistent_references names nodes of an R object; an array file has none");
  }
  ConvertHooks hooks;
  // Known before any output, which a stream's header carries.
  hooks.on_read_as = [&](std::string_view read_as) { record.input_format = std::string(read_as); };
  if (!read_message.reference_bindings().empty()) {
    hooks.after_read = [&](Value& value) {
      return ApplyReferenceBindings(read_message, read_options, value);
    };
  }
  if (!write_message.persistent_references().empty()) {
    hooks.before_write = [&](Value& value) {
      return ApplyPersistentReferences(write_message, value);
    };
  }
  ByteWriter out(CountedOutput(call.limits, record, std::move(consume)));
  ASSIGN_OR_RETURN(record.input_format,
                   ConvertInput(*from, *to, input, read_options, write_options, out, notes, hooks));
  return out.Finish();
}

// Writes what a Serialize request holds: its Value, or its plain data (written with the output
// format's conventions, or as an array file), handing each piece of output to `consume`. The
// messages given are consumed. `streamed` holds the data of the arrays a SerializeStream sent in
// chunks.
absl::Status WriteRequestOutput(const CodecRegistry& registry, v1::Value* value, v1::Data* data,
                                const StreamedArrayData& streamed, const v1::WriteOptions& options,
                                CallBudget& call, CallRecord& record,
                                ByteWriter::PieceCallback consume) {
  const ServiceLimits& limits = call.limits;
  if (value != nullptr && data != nullptr) {
    return absl::InvalidArgumentError("set either the value or the data, not both");
  }
  if (data == nullptr) {
    ASSIGN_OR_RETURN(Value converted,
                     FromProto(value != nullptr ? std::move(*value) : v1::Value(), streamed));
    return WriteOutput(registry, options, converted, call, record, std::move(consume));
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
  ASSIGN_OR_RETURN(WriteOptions write_options, ServerWriteOptions(options, call));
  // Strings in dictionary form may expand only to what they could take sent one per element.
  ASSIGN_OR_RETURN(data::Data plain,
                   DataFromProto(std::move(*data), streamed,
                                 {.max_coded_string_bytes = limits.max_request_bytes,
                                  .limit_name = "max-request-bytes"}));
  DataToROptions r_options;
  r_options.root_as_pairlist = options.format() == v1::FORMAT_RDATA;
  ConversionNotes notes;
  ByteWriter out(CountedOutput(limits, record, std::move(consume)));
  RETURN_IF_ERROR(WritePlainData(plain, *to, write_options, r_options, out, notes));
  return out.Finish();
}

// The plain data of a value read for Deserialize; compact R sequences may expand up to the
// request limit.
absl::StatusOr<data::Data> DataOfValue(const Value& value, CallBudget& call) {
  // What a compact sequence expands to is sent back: bounded like any response, and reserved.
  RToDataOptions options;
  options.max_expanded_bytes =
      std::min(call.limits.max_request_bytes, call.limits.max_response_bytes);
  options.expansion_limit = "max-response-bytes";
  options.reserve_memory = [&call](uint64_t bytes) { return call.Reserve(bytes); };
  return ToData(value, options);
}

// The plain data of an input for Deserialize's data view: an array file's arrays as they are
// (numpy bools stay logical), else the plain data of the value read.
absl::StatusOr<data::Data> ReadInputData(const CodecRegistry& registry,
                                         const v1::ReadOptions& message, CallBudget& call,
                                         const Buffer& input, CallRecord& record,
                                         ArrayOrder order = ArrayOrder::kLittleEndian,
                                         bool lend_input = false) {
  ASSIGN_OR_RETURN(const Codec* codec, InputCodec(registry, message.format(), input));
  if (const ArrayCodec* arrays = codec->AsArrayCodec()) {
    ASSIGN_OR_RETURN(ReadOptions options, ServerReadOptions(message, call));
    record.input_format = std::string(codec->name());
    return arrays->ReadData(input, options);
  }
  ASSIGN_OR_RETURN(Value value,
                   ReadInput(registry, message, call, input, record, order, lend_input));
  return DataOfValue(value, call);
}

// Writes each message to `stream`, checking for cancellation first: the write function of the
// call's chunk sender (wire/chunk_sender.h).
wire::WriteMessageFn WriteTo(grpc::ServerContext* context, wire::RawServerStream* stream) {
  return [context, stream](grpc::ByteBuffer message, size_t) -> absl::Status {
    if (context->IsCancelled() || !stream->Write(message)) return CallAborted(context);
    return absl::OkStatus();
  };
}

// Writes a message without bulk data (a header, notes).
absl::Status WriteMessage(grpc::ServerContext* context, wire::RawServerStream* stream,
                          const google::protobuf::MessageLite& message) {
  return WriteTo(context, stream)(wire::SerializeMessage(message), 0);
}

// Reads a streaming call's first message (its options or header, named by `what`) into
// `*first`, and its size into `*bytes`.
template <typename Message>
absl::Status ReadFirstMessage(grpc::ServerContext* context, wire::RawServerStream* stream,
                              const char* what, Message* first, uint64_t* bytes) {
  grpc::ByteBuffer message;
  if (!stream->Read(&message)) {
    if (context->IsCancelled()) return CallAborted(context);
    return absl::InvalidArgumentError(
        absl::StrCat("the stream ended before its ", what, " message"));
  }
  *bytes = message.Length();
  return wire::ParseMessage(message, first);
}

// The request of a unary call served over grpc::ByteBuffer (Deserialize, Convert): its other
// fields parsed into `*request`, its input returned (wire/unary_wire.h), counted in the call's
// record and refused over --max-message-bytes, naming `stream_method`. gRPC has received the
// whole message by then (up to --max-request-bytes), as it parsed it whole into a generated
// message before.
template <typename Request>
absl::StatusOr<Buffer> ReadUnaryRequest(grpc::ServerContext* context, wire::RawServerStream* stream,
                                        const ServiceLimits& limits, const char* stream_method,
                                        CallRecord& record, Request* request) {
  grpc::ByteBuffer message;
  if (!stream->Read(&message)) {
    if (context->IsCancelled()) return CallAborted(context);
    return absl::InvalidArgumentError("the call ended before its request");
  }
  ASSIGN_OR_RETURN(Buffer input, wire::TakeRequestData(message, request));
  record.bytes_in = input.size();
  if (record.bytes_in > limits.max_message_bytes) {
    return UnaryTooLarge("a request", record.bytes_in, limits.max_message_bytes, stream_method);
  }
  return input;
}

// The byte chunks of a streaming request (messages of type `Envelope`), message by message:
// each chunk's data as Buffers over the slices gRPC received it in (wire::TakePieces, no copy),
// counted in the call's record and against --max-request-bytes.
template <typename Envelope>
class ChunkReceiver {
 public:
  ChunkReceiver(grpc::ServerContext* context, wire::RawServerStream* stream,
                const ServiceLimits& limits, CallRecord& record)
      : context_(context), stream_(stream), limits_(limits), record_(record) {}

  // The next chunk's pieces; nullopt once the client has sent all.
  absl::StatusOr<std::optional<std::vector<Buffer>>> Next() {
    if (!stream_->Read(&message_)) {
      if (context_->IsCancelled()) return CallAborted(context_);
      return std::nullopt;
    }
    ASSIGN_OR_RETURN(bool is_chunk, wire::ReadChunkOr(message_, &chunk_, &other_));
    if (!is_chunk) {
      return absl::InvalidArgumentError("every message after the first must be a chunk");
    }
    record_.bytes_in += chunk_.size;
    if (record_.bytes_in > limits_.max_request_bytes) {
      return RequestTooLarge(limits_.max_request_bytes);
    }
    return wire::TakePieces(chunk_);
  }

  // Reads and drops whatever else the client sends, until it ends the stream (or the call
  // ends): after an error found while it still sends, so that a client which reads only once
  // it has sent all gets there, and then gets the error.
  void DrainRest() {
    while (stream_->Read(&message_)) message_.Clear();
  }

 private:
  grpc::ServerContext* context_;
  wire::RawServerStream* stream_;
  const ServiceLimits& limits_;
  CallRecord& record_;
  grpc::ByteBuffer message_;
  wire::ReceivedChunk chunk_;
  Envelope other_;
};

// Collects the rest of a streaming request's chunks, after those already `held`, into one
// buffer. Each chunk's bytes are copied once, from gRPC's slices into the buffer or the spill
// file.
//
// Input held in memory is reserved twice in the call's budget (the input, and what decoding it
// may copy: ascii and big-endian data read for another family, the response of a data view),
// all of it up front when the client says the size, else chunk by chunk. Input larger than
// --spill-above goes to a spill file instead (core/io/spillable_buffer.h), and only the copy
// decoding may make is reserved: the file's pages are in the page cache, and the conversion maps
// them in a piece at a time. `held` is reserved again as it is copied in: the caller's own
// reservation of it stays until the call ends.
template <typename Envelope>
absl::StatusOr<Buffer> ReceiveChunks(ChunkReceiver<Envelope>& receiver, uint64_t size_hint,
                                     const std::vector<Buffer>& held, CallBudget& call) {
  const ServiceLimits& limits = call.limits;
  // What goes to the spill file is counted against --max-spill-bytes by the buffer itself.
  SpillableBuffer input(limits.spill_dir, limits.spill_above_bytes,
                        [&call](uint64_t bytes) { return call.ReserveSpill(bytes); });
  // Input bytes covered by the memory reservation: twice each in memory, once each spilled.
  uint64_t reserved_input = 0;
  if (size_hint > 0) {
    if (size_hint > limits.max_request_bytes) return RequestTooLarge(limits.max_request_bytes);
    RETURN_IF_ERROR(input.ReserveSpill(size_hint));
    RETURN_IF_ERROR(call.Reserve(input.Spills(size_hint) ? size_hint : 2 * size_hint));
    RETURN_IF_ERROR(input.Reserve(size_hint));
    reserved_input = std::max(reserved_input, size_hint);
  }
  auto append = [&](const std::vector<Buffer>& pieces) -> absl::Status {
    uint64_t size = 0;
    const std::vector<std::string_view> views = ViewsOf(pieces, &size);
    const uint64_t total = input.size() + size;
    if (total > reserved_input) {
      const uint64_t more = total - reserved_input;
      RETURN_IF_ERROR(call.Reserve(input.Spills(total) ? more : 2 * more));
      reserved_input = total;
    }
    // All of a chunk's pieces in one write to the spill file.
    return input.Append(views);
  };
  RETURN_IF_ERROR(append(held));
  while (true) {
    ASSIGN_OR_RETURN(std::optional<std::vector<Buffer>> pieces, receiver.Next());
    if (!pieces.has_value()) break;
    RETURN_IF_ERROR(append(*pieces));
  }
  return std::move(input).Finish();
}

// The input of a stream whose first message holds ReadOptions (into `*options`) and every later
// one a chunk of the input (DeserializeStream, InspectStream), received by ReceiveChunks.
template <typename Request>
absl::StatusOr<Buffer> ReceiveOptionsAndInput(grpc::ServerContext* context,
                                              wire::RawServerStream* stream, CallRecord& record,
                                              CallBudget& call, v1::ReadOptions* options) {
  Request first;
  uint64_t first_bytes = 0;
  RETURN_IF_ERROR(ReadFirstMessage(context, stream, "options", &first, &first_bytes));
  if (!first.has_options()) {
    return absl::InvalidArgumentError("the first message must hold the options");
  }
  *options = first.options();
  record.bytes_in = first_bytes;
  ChunkReceiver<Request> receiver(context, stream, call.limits, record);
  return ReceiveChunks(receiver, options->input_size(), {}, call);
}

// The first bytes of a ConvertStream input, held until they decide how it is converted: from
// 64 KiB, checked again each time they double, up to kTorch7DecisionBytes.
constexpr uint64_t kTorch7FirstCheckBytes = uint64_t{64} << 10;
constexpr uint64_t kTorch7DecisionBytes = uint64_t{16} << 20;
// What a Torch7 conversion that streams holds besides the decision's bytes: the chunk being
// read, the output being gathered into a message, and gRPC's buffers of both.
constexpr uint64_t kTorch7StreamingBytes = uint64_t{8} << 20;
// The input received but not yet converted that a Torch7 stream holds in memory, at most; more
// waits in a spill file.
constexpr uint64_t kTorch7QueuedBytes = uint64_t{4} << 20;

// The first bytes of an R input that say what it is: a save() magic and a format line.
constexpr uint64_t kRHeadBytes = 64;

// Converts an input as it arrives: `convert` reads `held` (the chunks received so far), then
// the rest of the input, which a thread of its own receives into a PieceQueue. The queue holds
// up to kTorch7QueuedBytes (or --spill-above, if less) in memory and spills beyond: the call
// keeps reading while its output cannot be sent (a client that sends everything before it
// reads), so neither side waits for the other. `keep`, when set, is given every piece the thread
// receives, before it is queued. `convert` may call `receive_rest` to stop reading the queue and
// wait until the whole input is received (and kept); its status is the receiving's. Records the
// queue's use in `record`.
template <typename Envelope>
absl::Status ConvertWhileReceiving(
    CallBudget& call, ChunkReceiver<Envelope>& receiver, CallRecord& record,
    std::vector<Buffer>& held, std::string_view format,
    const std::function<absl::Status(const std::vector<Buffer>&)>& keep,
    const std::function<absl::Status(ChunkedInput&, const std::function<absl::Status()>&)>&
        convert) {
  const uint64_t queued_in_memory = std::min(kTorch7QueuedBytes, call.limits.spill_above_bytes);
  RETURN_IF_ERROR(call.Reserve(queued_in_memory));
  // Only the receiving thread reserves from here on.
  PieceQueue queue(
      call.limits.spill_dir, queued_in_memory,
      [&call](uint64_t bytes) { return call.ReserveSpill(bytes); },
      [&call](uint64_t bytes) { return call.Reserve(bytes); });
  absl::Status received;
  std::thread receiving([&receiver, &queue, &keep, &received] {
    while (true) {
      absl::StatusOr<std::optional<std::vector<Buffer>>> pieces = receiver.Next();
      absl::Status failed = pieces.status();
      if (pieces.ok()) {
        if (!pieces->has_value()) break;
        if (keep) failed = keep(**pieces);
        // After Abandon, dropped: reading goes on to the end.
        if (failed.ok()) failed = queue.Push(**pieces);
      }
      if (!failed.ok()) {
        received = failed;
        queue.Close(failed);
        // The converting thread may be waiting to send output that a client which sends all
        // before it reads would never read: the input goes on being read, and dropped.
        receiver.DrainRest();
        return;
      }
    }
    queue.Close(absl::OkStatus());
  });
  auto receive_rest = [&]() -> absl::Status {
    queue.Abandon();
    if (receiving.joinable()) receiving.join();
    return received;
  };
  size_t next_held = 0;
  ChunkedInput in(
      [&]() -> absl::StatusOr<std::optional<Buffer>> {
        if (next_held < held.size()) return std::move(held[next_held++]);
        return queue.Pop();
      },
      format);
  absl::Status converted = convert(in, receive_rest);
  // On failure the rest of the input is read and dropped: the call's status goes back once the
  // client has sent all (or gone), as for any request refused after it is read.
  queue.Abandon();
  if (receiving.joinable()) receiving.join();
  record.as_received = true;
  record.queued_peak_bytes = queue.peak_memory_bytes();
  record.spilled_bytes = queue.spilled_bytes();
  return converted;
}

// ConvertStream for Torch7 to Torch7 (core/torch7/transcoder.h): reads chunks into `held` until
// they decide the input's layout, then converts them and each chunk after as it arrives, handing
// the output to `send`; the server then holds a chunk at a time, whatever the input's size.
// Returns false, with what was read in `held`, for any other conversion, or when the first
// kTorch7DecisionBytes (or the whole input, if shorter) cannot decide the layout: the caller
// then converts the whole input as usual.
template <typename Envelope>
absl::StatusOr<bool> ConvertTorch7AsReceived(const CodecRegistry& registry,
                                             const v1::ConvertStreamOptions& options,
                                             CallBudget& call, ChunkReceiver<Envelope>& receiver,
                                             CallRecord& record, std::vector<Buffer>& held,
                                             const ByteWriter::PieceCallback& send) {
  const v1::ReadOptions& read_message = options.input();
  const v1::WriteOptions& write_message = options.output();
  ASSIGN_OR_RETURN(WriteOptions write_options, ServerWriteOptions(write_message, call));
  ASSIGN_OR_RETURN(const Codec* to, OutputCodec(registry, write_message.format()));
  record.output_format = std::string(to->name());
  if (!ConvertsTorch7AsRead(*to, write_options) || !read_message.reference_bindings().empty() ||
      !write_message.persistent_references().empty()) {
    return false;
  }
  const Codec* from = nullptr;
  if (read_message.format() != v1::FORMAT_UNSPECIFIED) {
    ASSIGN_OR_RETURN(from, InputCodec(registry, read_message.format(), Buffer()));
    if (from->family() != "t7") return false;
  }
  ASSIGN_OR_RETURN(ReadOptions read_options, ServerReadOptions(read_message, call));
  RETURN_IF_ERROR(call.Reserve(kTorch7StreamingBytes));
  // Hold the first chunks until they decide.
  BufferChain prefix;
  uint64_t next_check = kTorch7FirstCheckBytes;
  std::optional<Torch7StreamLayout> source;
  while (true) {
    ASSIGN_OR_RETURN(std::optional<std::vector<Buffer>> pieces, receiver.Next());
    if (!pieces.has_value()) return false;  // the whole input is here: convert it as a whole
    for (Buffer& piece : *pieces) {
      RETURN_IF_ERROR(call.Reserve(2 * piece.size()));  // the piece, and its copy in `first`
      prefix.Append(piece);
      held.push_back(std::move(piece));
    }
    if (prefix.size() < next_check) continue;
    const Buffer first = prefix.Flatten();
    if (from == nullptr) {
      // Detected from the first bytes, as the whole input would be: a Torch7 stream says what
      // it is in its first type tags.
      absl::StatusOr<const Codec*> detected = registry.Detect(first);
      if (!detected.ok() || (*detected)->family() != "t7") return false;
      from = *detected;
    }
    const Torch7Mode mode = from->name() == "t7-ascii" ? Torch7Mode::kAscii : Torch7Mode::kDetect;
    // input_size is a hint only: counts are not checked against it.
    ASSIGN_OR_RETURN(source, DecideTorch7StreamLayout(first, /*whole_input=*/false, std::nullopt,
                                                      read_options, mode));
    if (source.has_value()) break;
    if (prefix.size() >= kTorch7DecisionBytes) return false;
    next_check = std::min(2 * next_check, kTorch7DecisionBytes);
  }
  prefix = BufferChain();  // `held` alone keeps the first chunks, until they are converted
  record.input_format = source->layout.ascii ? "t7-ascii" : "t7";
  // A long size guessed from the first chunks is checked by reading with the other as well,
  // which holds chunks the conversion has passed: its queue, and the chunks being queued and
  // read, allowed for as the conversion's own chunk is (kTorch7StreamingBytes).
  if (source->check_other_long_size) {
    RETURN_IF_ERROR(call.Reserve(kTorch7RivalQueuedBytes + kTorch7StreamingBytes));
  }
  RETURN_IF_ERROR(ConvertWhileReceiving(
      call, receiver, record, held, "torch7", nullptr,
      [&](ChunkedInput& in, const std::function<absl::Status()>&) -> absl::Status {
        ByteWriter out(CountedOutput(call.limits, record, send));
        RETURN_IF_ERROR(ConvertTorch7Stream(in, *source, *to, read_options, write_options, out));
        return out.Finish();
      }));
  return true;
}

// ConvertStream for R to R (core/rds/transcoder.h): an R stream (XDR, native or ascii, bare or a
// save() file's; compressed when the client sends input_size) is converted as its chunks arrive,
// compressed input decompressed a piece at a time as the transcoder asks. An input of up to
// --max-kept-input-bytes is also kept (in memory up to 4 MiB, beyond in a spill file counted in
// --max-spill-bytes) for where the transcoder stops before something the object graph writes
// differently (wrappers and deferred strings written as version 2, forms no R writes): the whole
// input is then read as a Value and written on, so the output is always the graph's, and a bad
// input gets the reader's error. A larger input that stops fails, saying why. Returns false, with
// what was read in `held`, for any other conversion: the caller converts the whole input as usual.
template <typename Envelope>
absl::StatusOr<bool> ConvertRAsReceived(const CodecRegistry& registry,
                                        const v1::ConvertStreamOptions& options, CallBudget& call,
                                        ChunkReceiver<Envelope>& receiver, CallRecord& record,
                                        std::vector<Buffer>& held,
                                        const ByteWriter::PieceCallback& send) {
  const v1::ReadOptions& read_message = options.input();
  const v1::WriteOptions& write_message = options.output();
  ASSIGN_OR_RETURN(WriteOptions write_options, ServerWriteOptions(write_message, call));
  ASSIGN_OR_RETURN(const Codec* to, OutputCodec(registry, write_message.format()));
  record.output_format = std::string(to->name());
  if (!read_message.reference_bindings().empty() ||
      !write_message.persistent_references().empty()) {
    return false;
  }
  if (read_message.format() != v1::FORMAT_UNSPECIFIED) {
    ASSIGN_OR_RETURN(const Codec* from, InputCodec(registry, read_message.format(), Buffer()));
    if (from->family() != "rds") return false;
  }
  ASSIGN_OR_RETURN(ReadOptions read_options, ServerReadOptions(read_message, call));
  if (!ConvertsRAsRead(*to, read_options)) return false;
  // The first bytes say whether the input is an R stream.
  BufferChain prefix;
  while (prefix.size() < kRHeadBytes) {
    ASSIGN_OR_RETURN(std::optional<std::vector<Buffer>> pieces, receiver.Next());
    if (!pieces.has_value()) return false;  // the whole input is here: convert it as a whole
    for (Buffer& piece : *pieces) {
      RETURN_IF_ERROR(call.Reserve(2 * piece.size()));  // the piece, and its copy in `first`
      prefix.Append(piece);
      held.push_back(std::move(piece));
    }
  }
  const Buffer first = prefix.Flatten();
  prefix = BufferChain();
  RContainer container;
  container.compression = rds::DetectCompression(first.view());
  if (container.compression == RCompression::kGzip) {
    container.gzip_header = rds::DistinctGzipHeader(first.view());
  }
  std::string_view head = first.view();
  if (rds::IsRDataMagic(head)) head.remove_prefix(5);
  const std::string_view line = head.substr(0, 2);
  if (container.compression == RCompression::kNone && line != "X\n" && line != "B\n" &&
      line != "A\n" && line != "\nA") {
    return false;
  }
  // Compressed input is bounded by its decompression ratio (--max-decompression-ratio), which
  // needs its size: without the client's input_size it is collected and bounded as a whole.
  if (container.compression != RCompression::kNone && read_message.input_size() == 0) {
    return false;
  }
  RETURN_IF_ERROR(call.Reserve(kTorch7StreamingBytes));
  // The input as received, for the object graph if the transcoder stops: no more of it in
  // memory than the queue holds, the rest in a spill file (unless there is no spill directory).
  // Kept only up to --max-kept-input-bytes, and only while there is room for it at once, never
  // waiting for room: a larger stream, one larger than --max-spill-bytes (or, without a spill
  // directory, than the memory budget), or a full disk, is converted on without it, as streams R
  // writes almost never need more; one that then stops fails, saying why (ConvertRStream).
  // Keeping costs a write of every byte into the page cache and, for large inputs, the disk:
  // 4 GB of XDR doubles to native took a median 6.97 s kept, 3.81 s not (five runs each).
  const uint64_t keep_at_most = call.limits.max_kept_input_bytes;
  uint64_t kept_in_memory = 0;  // reserved in the memory budget
  std::optional<SpillableBuffer> kept(
      std::in_place, call.limits.spill_dir,
      std::min(kTorch7QueuedBytes, call.limits.spill_above_bytes),
      [&call](uint64_t bytes) { return call.spilled.Grow(bytes, absl::Now()); });
  absl::Status not_kept;  // why the input is no longer kept, once it is not
  auto stop_keeping = [&](absl::Status why) {
    not_kept = std::move(why);
    call.held.Shrink(kept_in_memory);
    call.spilled.Shrink(kept->reserved_spill());
    kept.reset();  // its file and memory go, as their reservations did
    record.input_not_kept = true;
  };
  auto larger_than_kept = [keep_at_most]() {
    return LimitExceeded("max-kept-input-bytes",
                         absl::StrCat("it is larger than the ", keep_at_most,
                                      " bytes the server keeps (--max-kept-input-bytes)"));
  };
  // A declared size past the bound: not even the first bytes are kept.
  if (read_message.input_size() > keep_at_most) stop_keeping(larger_than_kept());
  auto keep = [&](const std::vector<Buffer>& pieces) -> absl::Status {
    if (!kept.has_value()) return absl::OkStatus();
    uint64_t size = 0;
    const std::vector<std::string_view> views = ViewsOf(pieces, &size);
    if (kept->size() + size > keep_at_most) {
      stop_keeping(larger_than_kept());
      return absl::OkStatus();
    }
    absl::Status status;
    if (!kept->Spills(kept->size() + size)) {
      status = call.held.Grow(size, absl::Now());
      if (status.ok()) kept_in_memory += size;
    }
    if (status.ok()) status = kept->Append(views);
    if (status.ok() || !absl::IsResourceExhausted(status)) return status;
    stop_keeping(status);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(keep(held));
  RETURN_IF_ERROR(ConvertWhileReceiving(
      call, receiver, record, held, "rds", keep,
      [&](ChunkedInput& in, const std::function<absl::Status()>& receive_rest) -> absl::Status {
        ByteWriter out(CountedOutput(call.limits, record, send));
        auto whole_input = [&]() -> absl::StatusOr<Buffer> {
          RETURN_IF_ERROR(receive_rest());
          if (!kept.has_value()) {
            return Reworded(not_kept,
                            absl::StrCat("the input was not kept for that: ", not_kept.message()));
          }
          return std::move(*kept).Finish();
        };
        auto on_read_as = [&record](std::string_view format) {
          record.input_format = std::string(format);
        };
        if (container.compression == RCompression::kNone) {
          RETURN_IF_ERROR(ConvertRStream(in, container, *to, read_options, write_options, out,
                                         whole_input, on_read_as)
                              .status());
          return out.Finish();
        }
        // Compressed: decompressed a piece at a time as the transcoder asks, from the chunks
        // as they arrive; the client's input_size bounds the ratio.
        const uint64_t size_hint = read_message.input_size();
        ASSIGN_OR_RETURN(std::unique_ptr<rds::Decompressor> decompressor,
                         rds::Decompressor::Create(
                             [&in]() -> absl::StatusOr<std::optional<Buffer>> {
                               ASSIGN_OR_RETURN(Buffer chunk, in.Take(size_t{1} << 20));
                               if (chunk.size() == 0) return std::nullopt;
                               return chunk;
                             },
                             container.compression, read_options,
                             size_hint > 0 ? std::optional<uint64_t>(size_hint) : std::nullopt));
        ChunkedInput stream([&decompressor] { return decompressor->Next(); }, "rds");
        RETURN_IF_ERROR(ConvertRStream(stream, container, *to, read_options, write_options, out,
                                       whole_input, on_read_as)
                            .status());
        return out.Finish();
      }));
  return true;
}

}  // namespace

SerializerService::SerializerService(const CodecRegistry* registry, CallTracker* tracker,
                                     CallLog* log, ServiceLimits limits)
    : registry_(registry),
      tracker_(tracker),
      log_(log),
      limits_(limits),
      budget_(limits.max_inflight_bytes),
      spill_budget_(limits.max_spill_bytes, "max-spill-bytes") {
  using Handler =
      grpc::internal::BidiStreamingHandler<SerializerService, grpc::ByteBuffer, grpc::ByteBuffer>;
  MarkMethodStreamed(wire::MethodIndex("Serialize"),
                     new Handler(&SerializerService::ServeSerialize, this));
  MarkMethodStreamed(wire::MethodIndex("Deserialize"),
                     new Handler(&SerializerService::ServeDeserialize, this));
  MarkMethodStreamed(wire::MethodIndex("Convert"),
                     new Handler(&SerializerService::ServeConvert, this));
  MarkMethodStreamed(wire::MethodIndex("Inspect"),
                     new Handler(&SerializerService::ServeInspect, this));
  MarkMethodStreamed(wire::MethodIndex(wire::StreamingMethod::kSerializeStream),
                     new Handler(&SerializerService::ServeSerializeStream, this));
  MarkMethodStreamed(wire::MethodIndex(wire::StreamingMethod::kDeserializeStream),
                     new Handler(&SerializerService::ServeDeserializeStream, this));
  MarkMethodStreamed(wire::MethodIndex(wire::StreamingMethod::kConvertStream),
                     new Handler(&SerializerService::ServeConvertStream, this));
  MarkMethodStreamed(wire::MethodIndex(wire::StreamingMethod::kInspectStream),
                     new Handler(&SerializerService::ServeInspectStream, this));
}

grpc::Status SerializerService::ServeSerialize(grpc::ServerContext* context,
                                               wire::RawServerStream* stream) {
  CallRecord record{"Serialize", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    // Parsed into a message of its own, which the conversion consumes: array bytes move on from
    // the strings protobuf parsed them into (through generated code the request was const, and
    // its Value or Data was copied once more).
    v1::SerializeRequest request;
    RETURN_IF_ERROR(ReadFirstMessage(context, stream, "request", &request, &record.bytes_in));
    if (record.bytes_in > limits_.max_message_bytes) {
      return UnaryTooLarge("a request", record.bytes_in, limits_.max_message_bytes,
                           "SerializeStream");
    }
    // The request, and a working copy of it while it is decoded.
    CallBudget call{limits_, budget_.Start(), DeadlineOf(context), spill_budget_.Start()};
    RETURN_IF_ERROR(call.Reserve(2 * record.bytes_in));
    v1::Data* plain = request.has_data() ? request.mutable_data() : nullptr;
    v1::Value* value =
        request.has_value() || !request.has_data() ? request.mutable_value() : nullptr;
    ASSIGN_OR_RETURN(
        BufferChain output, CollectUnaryOutput(call, "SerializeStream", [&](auto consume) {
          return WriteRequestOutput(*registry_, value, plain, StreamedArrayData(),
                                    request.options(), call, record, std::move(consume));
        }));
    // The output's pieces sent from their own buffers, with the status as a unary response is.
    stream->WriteLast(wire::EncodeSerializeResponse(output), grpc::WriteOptions());
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::ServeDeserialize(grpc::ServerContext* context,
                                                 wire::RawServerStream* stream) {
  CallRecord record{"Deserialize", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    v1::DeserializeRequest request;
    ASSIGN_OR_RETURN(Buffer input, ReadUnaryRequest(context, stream, limits_, "DeserializeStream",
                                                    record, &request));
    // The input as it arrived (or gathered from its slices once), and a working copy of it while
    // it is decoded.
    CallBudget call{limits_, budget_.Start(), DeadlineOf(context), spill_budget_.Start()};
    RETURN_IF_ERROR(call.Reserve(2 * record.bytes_in));
    const v1::ReadOptions& options = request.options();
    // Arrays of this size or more are sent from their own Buffers (no copy); smaller ones cost
    // less to copy into the message than a slice each.
    const ToProtoOptions spliced{.max_inline_array_bytes = kSplicedArrayBytes - 1,
                                 .string_codes = options.string_codes()};
    v1::DeserializeResponse response;
    wire::SplicedArrays arrays;
    // The response replaces the request: its input is lent to the read, which swaps an XDR
    // stream's vectors where they arrived (when gathered into memory of their own) instead of
    // into a copy beside them.
    constexpr bool kLendInput = true;
    if (options.view() == v1::VIEW_DATA) {
      ASSIGN_OR_RETURN(data::Data plain, ReadInputData(*registry_, options, call, input, record,
                                                       ArrayOrder::kLittleEndian, kLendInput));
      RETURN_IF_ERROR(DataToProto(plain, response.mutable_data(), spliced));
      for (ItemId id : DataArraysLeftOut(plain, spliced)) {
        arrays.emplace_back(id, plain.GetIf<data::NdArray>(id)->data);
      }
    } else {
      ASSIGN_OR_RETURN(Value value, ReadInput(*registry_, options, call, input, record,
                                              ArrayOrder::kLittleEndian, kLendInput));
      RETURN_IF_ERROR(ToProto(value, response.mutable_value(), spliced));
      for (NodeId id : ArraysLeftOut(value, spliced)) {
        arrays.emplace_back(id, value.Get<Array>(id).data);
      }
    }
    input = Buffer();  // what the arrays need, they keep
    response.set_format(FormatFromName(record.input_format).value_or(v1::FORMAT_UNSPECIFIED));
    grpc::ByteBuffer encoded = wire::EncodeDeserializeResponse(std::move(response), arrays);
    record.bytes_out = encoded.Length();
    if (record.bytes_out > limits_.max_response_bytes) {
      return ResponseTooLarge(limits_.max_response_bytes);
    }
    if (record.bytes_out > limits_.max_message_bytes) {
      return UnaryTooLarge("the response", record.bytes_out, limits_.max_message_bytes,
                           "DeserializeStream");
    }
    // The one message, sent with the status as a unary response is.
    stream->WriteLast(encoded, grpc::WriteOptions());
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::ServeConvert(grpc::ServerContext* context,
                                             wire::RawServerStream* stream) {
  CallRecord record{"Convert", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    v1::ConvertRequest request;
    ASSIGN_OR_RETURN(Buffer input,
                     ReadUnaryRequest(context, stream, limits_, "ConvertStream", record, &request));
    // The input as it arrived (or gathered from its slices once), and a working copy of it while
    // it is decoded.
    CallBudget call{limits_, budget_.Start(), DeadlineOf(context), spill_budget_.Start()};
    RETURN_IF_ERROR(call.Reserve(2 * record.bytes_in));
    ConversionNotes notes;
    ASSIGN_OR_RETURN(BufferChain output,
                     CollectUnaryOutput(call, "ConvertStream", [&](auto consume) {
                       return ConvertOutput(*registry_, request.input(), request.output(), call,
                                            input, record, notes, std::move(consume));
                     }));
    input = Buffer();  // what the output needs of it, it keeps
    v1::ConvertResponse response;
    response.set_input_format(FormatFromName(record.input_format).value_or(v1::FORMAT_UNSPECIFIED));
    for (std::string& line : notes.Lines()) response.add_notes(std::move(line));
    // The output's pieces sent from their own buffers, with the status as a unary response is.
    stream->WriteLast(wire::EncodeConvertResponse(std::move(response), output),
                      grpc::WriteOptions());
    return absl::OkStatus();
  });
}

namespace {

// Inspect's response for `input` (Inspect's and InspectStream's): the format it was read as, the
// stream's facts, the counts, the first roots and the printed tree. Refused over
// --max-response-bytes.
absl::StatusOr<grpc::ByteBuffer> InspectInput(const CodecRegistry& registry,
                                              const v1::ReadOptions& options, CallBudget& call,
                                              const Buffer& input, CallRecord& record) {
  ASSIGN_OR_RETURN(Value value, ReadInput(registry, options, call, input, record,
                                          ArrayOrder::kStreamedAsWritten));
  v1::InspectResponse response;
  response.set_format(FormatFromName(record.input_format).value_or(v1::FORMAT_UNSPECIFIED));
  Value facts;
  facts.source() = value.source();
  v1::Value facts_message;
  RETURN_IF_ERROR(ToProto(facts, &facts_message));
  *response.mutable_source() = facts_message.source();
  response.set_node_count(value.size());
  response.set_root_count(static_cast<uint32_t>(value.roots().size()));
  for (size_t i = 0; i < value.roots().size() && i < kInspectRootsListed; ++i) {
    response.add_first_roots(value.roots()[i]);
  }
  response.set_summary(seriald::Inspect(value));
  record.bytes_out = response.ByteSizeLong();
  if (record.bytes_out > call.limits.max_response_bytes) {
    return ResponseTooLarge(call.limits.max_response_bytes);
  }
  return wire::SerializeMessage(response);
}

}  // namespace

grpc::Status SerializerService::ServeInspect(grpc::ServerContext* context,
                                             wire::RawServerStream* stream) {
  CallRecord record{"Inspect", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    v1::InspectRequest request;
    ASSIGN_OR_RETURN(Buffer input,
                     ReadUnaryRequest(context, stream, limits_, "InspectStream", record, &request));
    // The input as it arrived (or gathered from its slices once), and a working copy of it while
    // it is decoded.
    CallBudget call{limits_, budget_.Start(), DeadlineOf(context), spill_budget_.Start()};
    RETURN_IF_ERROR(call.Reserve(2 * record.bytes_in));
    ASSIGN_OR_RETURN(grpc::ByteBuffer response,
                     InspectInput(*registry_, request.options(), call, input, record));
    // The one message, sent with the status as a unary response is.
    stream->WriteLast(response, grpc::WriteOptions());
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::ServeInspectStream(grpc::ServerContext* context,
                                                   wire::RawServerStream* stream) {
  CallRecord record{"InspectStream", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    CallBudget call{limits_, budget_.Start(), DeadlineOf(context), spill_budget_.Start()};
    v1::ReadOptions options;
    // Received as DeserializeStream's input is: in memory, or spilled above --spill-above.
    ASSIGN_OR_RETURN(Buffer input, ReceiveOptionsAndInput<v1::InspectStreamRequest>(
                                       context, stream, record, call, &options));
    ASSIGN_OR_RETURN(grpc::ByteBuffer response,
                     InspectInput(*registry_, options, call, input, record));
    stream->WriteLast(response, grpc::WriteOptions());
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::ServeConvertStream(grpc::ServerContext* context,
                                                   wire::RawServerStream* stream) {
  CallRecord record{"ConvertStream", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    CallBudget call{limits_, budget_.Start(), DeadlineOf(context), spill_budget_.Start()};
    v1::ConvertStreamRequest first;
    uint64_t first_bytes = 0;
    RETURN_IF_ERROR(ReadFirstMessage(context, stream, "options", &first, &first_bytes));
    if (!first.has_options()) {
      return absl::InvalidArgumentError("the first message must hold the options");
    }
    const v1::ConvertStreamOptions options = first.options();
    if (options.input().input_size() > limits_.max_request_bytes) {
      return RequestTooLarge(limits_.max_request_bytes);
    }
    record.bytes_in = first_bytes;
    ChunkReceiver<v1::ConvertStreamRequest> receiver(context, stream, limits_, record);
    // The header names the input format, which is known once the input is read: the first
    // piece of output (or the end, for an empty output) sends it.
    bool header_sent = false;
    auto send_header = [&]() -> absl::Status {
      if (header_sent) return absl::OkStatus();
      header_sent = true;
      v1::ConvertStreamResponse header;
      header.set_input_format(FormatFromName(record.input_format).value_or(v1::FORMAT_UNSPECIFIED));
      return WriteMessage(context, stream, header);
    };
    ConversionNotes notes;
    wire::ChunkSender output(wire::ChunkEnvelope::kField2, limits_.chunk_bytes,
                             WriteTo(context, stream));
    auto send = [&](Buffer piece) -> absl::Status {
      RETURN_IF_ERROR(send_header());
      return output.Send(piece);
    };
    // Torch7 to Torch7 is converted as the chunks arrive, once the first of them decide the
    // input's layout, and so is a binary R stream to R; otherwise what the first chunks hold is
    // converted like any input.
    std::vector<Buffer> held;
    ASSIGN_OR_RETURN(bool converted, ConvertTorch7AsReceived(*registry_, options, call, receiver,
                                                             record, held, send));
    if (!converted && held.empty()) {
      ASSIGN_OR_RETURN(converted,
                       ConvertRAsReceived(*registry_, options, call, receiver, record, held, send));
    }
    if (!converted) {
      ASSIGN_OR_RETURN(Buffer input,
                       ReceiveChunks(receiver, options.input().input_size(), held, call));
      held.clear();
      RETURN_IF_ERROR(ConvertOutput(*registry_, options.input(), options.output(), call, input,
                                    record, notes, send));
    }
    RETURN_IF_ERROR(output.Flush());
    RETURN_IF_ERROR(send_header());
    if (!notes.empty()) {
      v1::ConvertStreamResponse last;
      for (std::string& line : notes.Lines()) last.mutable_notes()->add_notes(std::move(line));
      RETURN_IF_ERROR(WriteMessage(context, stream, last));
    }
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::ServeDeserializeStream(grpc::ServerContext* context,
                                                       wire::RawServerStream* stream) {
  CallRecord record{"DeserializeStream", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    CallBudget call{limits_, budget_.Start(), DeadlineOf(context), spill_budget_.Start()};
    v1::ReadOptions options;
    ASSIGN_OR_RETURN(Buffer input, ReceiveOptionsAndInput<v1::DeserializeStreamRequest>(
                                       context, stream, record, call, &options));
    // The header carries the Value (or its plain data) with the data of large arrays left out;
    // that data follows in ArrayChunk messages, read straight from the arrays' buffers (those
    // of big-endian input as written, swapped a chunk at a time as they are sent).
    const ToProtoOptions streaming{.max_inline_array_bytes = InlineArrayBytes(limits_),
                                   .string_codes = options.string_codes()};
    v1::DeserializeStreamResponse header;
    // What to send, by the id the chunks name.
    struct Streamed {
      uint32_t id;
      Buffer bytes;
      size_t swap_bytes;  // the elements' SwapUnit when they are big-endian, else 0
    };
    std::vector<Streamed> streamed;
    if (options.view() == v1::VIEW_DATA) {
      ASSIGN_OR_RETURN(data::Data plain, ReadInputData(*registry_, options, call, input, record,
                                                       ArrayOrder::kStreamedAsWritten));
      input = Buffer();  // the arrays keep what they need
      RETURN_IF_ERROR(DataToProto(plain, header.mutable_header()->mutable_data(), streaming));
      for (ItemId id : DataArraysLeftOut(plain, streaming)) {
        const data::NdArray& array = *plain.GetIf<data::NdArray>(id);
        streamed.push_back({id, array.data, array.big_endian ? SwapUnit(array.dtype) : 0});
      }
    } else {
      ASSIGN_OR_RETURN(Value value, ReadInput(*registry_, options, call, input, record,
                                              ArrayOrder::kStreamedAsWritten));
      input = Buffer();  // the Value keeps what it needs
      RETURN_IF_ERROR(ToProto(value, header.mutable_header()->mutable_value(), streaming));
      for (NodeId id : ArraysLeftOut(value, streaming)) {
        const Array& array = value.Get<Array>(id);
        streamed.push_back({id, array.data, array.big_endian ? SwapUnit(array.type) : 0});
      }
    }
    header.mutable_header()->set_format(
        FormatFromName(record.input_format).value_or(v1::FORMAT_UNSPECIFIED));
    for (const Streamed& array : streamed) header.mutable_header()->add_streamed_arrays(array.id);
    // The whole response's size is known before anything is sent.
    uint64_t response_bytes = header.ByteSizeLong();
    for (const Streamed& array : streamed) response_bytes += array.bytes.size();
    if (response_bytes > limits_.max_response_bytes) {
      return ResponseTooLarge(limits_.max_response_bytes);
    }
    record.bytes_out = header.ByteSizeLong();
    RETURN_IF_ERROR(WriteMessage(context, stream, header));

    const wire::WriteMessageFn write = WriteTo(context, stream);
    for (Streamed& array : streamed) {
      RETURN_IF_ERROR(wire::SendArrayChunks(array.id, array.bytes, limits_.chunk_bytes, write,
                                            array.swap_bytes));
      record.bytes_out += array.bytes.size();
      array.bytes = Buffer();  // release each array once it is sent
    }
    return absl::OkStatus();
  });
}

grpc::Status SerializerService::ServeSerializeStream(grpc::ServerContext* context,
                                                     wire::RawServerStream* stream) {
  CallRecord record{"SerializeStream", context->peer()};
  return RunCall(tracker_, log_, record, [&]() -> absl::Status {
    CallBudget call{limits_, budget_.Start(), DeadlineOf(context), spill_budget_.Start()};
    v1::SerializeStreamRequest first;
    RETURN_IF_ERROR(ReadFirstMessage(context, stream, "header", &first, &record.bytes_in));
    if (!first.has_header()) {
      return absl::InvalidArgumentError("the first message must hold the header");
    }
    if (record.bytes_in > limits_.max_request_bytes)
      return RequestTooLarge(limits_.max_request_bytes);
    RETURN_IF_ERROR(call.Reserve(2 * record.bytes_in));
    v1::SerializeStreamHeader* header = first.mutable_header();
    v1::Value* message =
        header->has_value() || !header->has_data() ? header->mutable_value() : nullptr;
    v1::Data* plain = header->has_data() ? header->mutable_data() : nullptr;
    // The data field (empty: the data follows in chunks), element type and length of the
    // array `id` names: a node of the Value or an item of the Data.
    struct ArrayField {
      const std::string* data;
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

    // Each streamed array is filled from its chunks, in order.
    wire::ArrayAssembler arrays;
    uint64_t total = record.bytes_in;
    for (uint32_t id : header->streamed_arrays()) {
      ASSIGN_OR_RETURN(ArrayField array, array_field(id));
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
      // The declared size, reserved before it is allocated (and once more for the model's copy).
      RETURN_IF_ERROR(call.Reserve(2 * expected));
      RETURN_IF_ERROR(arrays.Expect(id, array.data->size(), expected, expected));
    }
    grpc::ByteBuffer received;
    wire::ReceivedChunk chunk;
    v1::SerializeStreamRequest other;
    while (stream->Read(&received)) {
      ASSIGN_OR_RETURN(bool is_chunk, wire::ReadChunkOr(received, &chunk, &other));
      if (!is_chunk) {
        return absl::InvalidArgumentError("every message after the header must be an array chunk");
      }
      RETURN_IF_ERROR(arrays.Add(chunk));
      record.bytes_in += chunk.size;
    }
    if (context->IsCancelled()) return CallAborted(context);
    RETURN_IF_ERROR(arrays.CheckComplete());
    wire::ChunkSender output(wire::ChunkEnvelope::kNone, limits_.chunk_bytes,
                             WriteTo(context, stream));
    RETURN_IF_ERROR(WriteRequestOutput(*registry_, message, plain, std::move(arrays).Finish(),
                                       header->options(), call, record,
                                       [&](Buffer piece) { return output.Send(piece); }));
    return output.Flush();
  });
}

}  // namespace seriald
