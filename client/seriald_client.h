// File: client/seriald_client.h
//
// SerialdClient: the C++ client of the seriald service. It offers the same operations as the
// local core (convert, deserialize, serialize, inspect) and picks the transport by size: payloads
// up to `stream_threshold_bytes` go in one unary call, larger ones through the streaming RPCs in
// chunks, so callers never deal with message limits (a unary call the server refuses for its
// size, its --max-message-bytes being below the threshold, is made again as a stream). Errors
// come back as the absl::Status the server produced, with the byte offset, format and limit
// restored from the typed error details.
//
// Thread-safe: one client may serve many threads.
//
// The client leaves its host process's heap as it finds it. A program that streams large
// payloads calls ApplyStreamingHeapSettings() (wire/heap_settings.h) at the top of main, before
// it connects, as serialctl does: with glibc's defaults, gRPC's buffers for each received message
// are given back and faulted in again for the next one, which cost a pipelined 1 GiB stream
// 3.6 to 8 times the client's processor time in service_benchmark's runs.
//
// Example:
//
//   seriald::ApplyStreamingHeapSettings();       // in main, first
//   ClientOptions options;
//   options.target = "127.0.0.1:50051";
//   ASSIGN_OR_RETURN(std::unique_ptr<SerialdClient> client, SerialdClient::Connect(options));
//   ASSIGN_OR_RETURN(Buffer input, ReadFile("model.t7"));
//   ConvertSpec spec{.input_format = "", .output_format = "t7-ascii"};
//   BufferChain output;
//   ASSIGN_OR_RETURN(ConvertResult result, client->Convert(input, spec, CollectInto(&output)));
#ifndef SERIALD_CLIENT_SERIALD_CLIENT_H_
#define SERIALD_CLIENT_SERIALD_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/format/codec.h"
#include "core/io/buffer.h"
#include "core/model/value.h"

namespace seriald {

struct ClientOptions {
  // Where the server is: "HOST:PORT", several "HOST:PORT,HOST:PORT" (calls spread round robin),
  // or any gRPC target such as "dns:///seriald.example:50051".
  std::string target = "127.0.0.1:50051";
  // PEM files: a CA bundle to verify the server (enables TLS), and a client certificate and key
  // for servers that require them (mutual TLS).
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  // Payloads larger than this use the streaming RPCs.
  uint64_t stream_threshold_bytes = uint64_t{16} << 20;
  // Size of the chunks the client sends.
  uint32_t chunk_bytes = 1 << 20;
  // Deadline of each call (0: none).
  absl::Duration timeout = absl::ZeroDuration();
};

// Called as bytes move: (bytes done, bytes expected or 0 when unknown).
using ProgressCallback = std::function<void(uint64_t done, uint64_t total)>;
// Receives output bytes in order.
using OutputCallback = std::function<absl::Status(std::string_view bytes)>;

// An OutputCallback that appends to `chain`.
OutputCallback CollectInto(BufferChain* chain);

// What persistent references of an input with certain names stand for (ReadOptions.
// reference_bindings): the names, and the bytes of the R object, in any R format.
struct ReferenceBindingBytes {
  std::vector<std::string> names;
  Buffer data;
};

struct ConvertSpec {
  std::string input_format;  // "" detects
  ReadOptions read_options;
  std::string output_format;
  WriteOptions write_options;
  // Bound on the server before writing; they travel in the first message.
  std::vector<ReferenceBindingBytes> reference_bindings;
};

struct ConvertResult {
  std::string input_format;  // as detected or given
  uint64_t output_bytes = 0;
  bool streamed = false;
  // What a conversion between families or to an array file changed or left out, one line each.
  std::vector<std::string> notes;
};

struct InspectResult {
  std::string format;
  SourceInfo source;
  uint64_t node_count = 0;
  uint32_t root_count = 0;
  std::vector<NodeId> first_roots;  // at most 10
  std::string summary;
};

class SerialdClient {
 public:
  static absl::StatusOr<std::unique_ptr<SerialdClient>> Connect(const ClientOptions& options);
  ~SerialdClient();

  // Converts `input`; the output is handed to `output` as it arrives. A streamed conversion
  // sends the input from a thread of its own while this one receives the output (the server
  // may answer before the input ends), so `progress` is called on that thread.
  absl::StatusOr<ConvertResult> Convert(const Buffer& input, const ConvertSpec& spec,
                                        const OutputCallback& output,
                                        const ProgressCallback& progress = nullptr);

  // Reads `input` on the server. `format` ("" detects) is set to the format it was read as.
  absl::StatusOr<Value> Deserialize(const Buffer& input, std::string* format,
                                    const ReadOptions& options = {},
                                    const ProgressCallback& progress = nullptr);

  // Writes `value` on the server in `format`; the output is handed to `output`.
  absl::Status Serialize(const Value& value, std::string_view format, const WriteOptions& options,
                         const OutputCallback& output, const ProgressCallback& progress = nullptr);

  // Unary up to stream_threshold_bytes, else InspectStream (the input in chunks, `progress`
  // told of each).
  absl::StatusOr<InspectResult> Inspect(const Buffer& input, std::string_view format,
                                        const ReadOptions& options = {},
                                        const ProgressCallback& progress = nullptr);

  // The server's grpc.health.v1 status for `service` ("" = the whole server): SERVING, or
  // UNAVAILABLE/NOT_FOUND describing why not.
  absl::Status CheckHealth(const std::string& service = "");

 private:
  class Impl;
  explicit SerialdClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace seriald

#endif  // SERIALD_CLIENT_SERIALD_CLIENT_H_
