// File: server/serializer_service.h
//
// SerializerService: the seriald.v1.Serializer RPCs, a thin layer over core/: requests become
// core calls (read with a codec, write with a codec), results become responses, and every error
// goes through ToGrpcStatus. What this layer adds is what a network service needs: size limits
// per message and per call, the concurrency limit and draining (CallTracker), cancellation and
// deadlines checked while streaming, chunking, and one log line per call.
//
// Streaming keeps one copy of the data: incoming chunks are copied once, from gRPC's slices into
// one buffer or spill file (wire/chunk_wire.h); the reader slices it instead of copying; and the
// writer's output (which references large arrays rather than copying them) is cut into chunks as
// it is produced, each sent as a slice over its memory.
//
// Example:
//
//   CodecRegistry registry = ServiceCodecs();
//   CallTracker tracker(64);
//   CallLog log;
//   SerializerService service(&registry, &tracker, &log, ServiceLimits{});
//   builder.RegisterService(&service);
#ifndef SERIALD_SERVER_SERIALIZER_SERVICE_H_
#define SERIALD_SERVER_SERIALIZER_SERVICE_H_

#include <cstdint>

#include "core/format/codec.h"
#include "seriald/v1/serializer.grpc.pb.h"
#include "server/call_log.h"
#include "server/call_tracker.h"
#include "server/memory_budget.h"
#include "wire/raw_streams.h"

namespace seriald {

struct ServiceLimits {
  // Largest unary request (bytes) accepted; larger payloads must use the streaming RPCs.
  uint64_t max_message_bytes = uint64_t{64} << 20;
  // Largest total of request bytes in one call, streams included.
  uint64_t max_request_bytes = uint64_t{4} << 30;
  // Nesting limit applied when a request does not set its own (and the cap on what it may set).
  uint32_t max_depth = 1'000'000;
  // Largest total of response bytes in one call, streams included; a call that would pass it
  // stops with RESOURCE_EXHAUSTED ("max-response-bytes") as soon as it does (an R compact
  // sequence expanded for version 2 before anything is sent).
  uint64_t max_response_bytes = uint64_t{4} << 30;
  // Largest decompressed size of compressed input (R files, npz): by default 4 times
  // max_request_bytes, and never more than max_decompression_ratio times the compressed size
  // (or 64 MiB, whichever is more; 0: no ratio limit).
  uint64_t max_decompressed_bytes = uint64_t{16} << 30;
  uint64_t max_decompression_ratio = 4096;
  // Bytes all calls together may hold at once (server/memory_budget.h); 0: no limit.
  uint64_t max_inflight_bytes = 0;
  // Size of the byte chunks and array chunks the server sends.
  uint32_t chunk_bytes = 1 << 20;
  // A streamed input larger than spill_above_bytes is written to an unnamed temporary file in
  // spill_dir and read from its mapping (core/io/spill_file.h), so the server holds a few chunks
  // of it, not all of it; empty: inputs are held in memory.
  std::string spill_dir;
  uint64_t spill_above_bytes = uint64_t{64} << 20;
  // Bytes all calls together may keep in spill files at once (the spilled inputs and
  // decompressed R input); a call that would pass it waits briefly, then gets
  // RESOURCE_EXHAUSTED ("max-spill-bytes"). 0: no limit.
  uint64_t max_spill_bytes = 0;
  // An R to R ConvertStream also keeps its input, up to this many bytes, for converting the
  // whole of it through the object graph should converting as it arrives stop (a form R does
  // not write); a larger input is converted as it arrives without being kept, and fails if it
  // stops (RESOURCE_EXHAUSTED, "max-kept-input-bytes"). 0: none is kept.
  uint64_t max_kept_input_bytes = uint64_t{256} << 20;
};

// The codecs the service offers: core's formats and JSON.
CodecRegistry ServiceCodecs();

class SerializerService final : public v1::Serializer::Service {
 public:
  // Every method is served over grpc::ByteBuffer (wire/raw_streams.h): the streaming ones, so
  // that their chunks travel without copies, and the unary ones (wire/unary_wire.h), whose input,
  // arrays and output are the bulk of their messages.
  SerializerService(const CodecRegistry* registry, CallTracker* tracker, CallLog* log,
                    ServiceLimits limits);

  // What calls hold of --max-inflight-bytes, and of --max-spill-bytes.
  const MemoryBudget& budget() const { return budget_; }
  const MemoryBudget& spill_budget() const { return spill_budget_; }

 private:
  // Serialize, Deserialize, Convert and Inspect: one request message, one response (gRPC's
  // streamed unary).
  grpc::Status ServeSerialize(grpc::ServerContext* context, wire::RawServerStream* stream);
  grpc::Status ServeDeserialize(grpc::ServerContext* context, wire::RawServerStream* stream);
  grpc::Status ServeConvert(grpc::ServerContext* context, wire::RawServerStream* stream);
  grpc::Status ServeInspect(grpc::ServerContext* context, wire::RawServerStream* stream);
  grpc::Status ServeSerializeStream(grpc::ServerContext* context, wire::RawServerStream* stream);
  grpc::Status ServeDeserializeStream(grpc::ServerContext* context, wire::RawServerStream* stream);
  grpc::Status ServeConvertStream(grpc::ServerContext* context, wire::RawServerStream* stream);
  grpc::Status ServeInspectStream(grpc::ServerContext* context, wire::RawServerStream* stream);

  const CodecRegistry* registry_;
  CallTracker* tracker_;
  CallLog* log_;
  const ServiceLimits limits_;
  MemoryBudget budget_;
  MemoryBudget spill_budget_;
};

}  // namespace seriald

#endif  // SERIALD_SERVER_SERIALIZER_SERVICE_H_
