// File: wire/chunk_wire.h
//
// Chunk messages as gRPC byte buffers, without copying their data: the one place the server and
// the C++ client encode and decode the messages that carry bulk bytes (BytesChunk, ArrayChunk,
// and the request and response envelopes that hold them as field 2).
//
// Through generated protobuf code a chunk's bytes are copied twice on each side: into the
// message's std::string, then into gRPC's slices (sending); out of the slices into a string, then
// out of the string (receiving). Here a chunk is sent as a few header bytes followed by a slice
// over the sender's own Buffer (which the slice keeps alive), and a received chunk is a list of
// pieces pointing into the slices gRPC received, so its bytes are copied once, into wherever the
// receiver keeps them.
//
// The bytes on the wire are exactly what protobuf writes for the same message, so clients and
// servers built from the proto alone (Python, Node) see no difference. Decoding takes the fast
// path only for the form protobuf writes (each field once, nothing unknown); anything else a
// peer may legally send (repeated or unknown fields, fields out of order) is parsed by protobuf
// instead, with the same result.
//
// Example (a server receiving ConvertStreamRequest chunks):
//
//   grpc::ByteBuffer message;
//   while (stream->Read(&message)) {
//     ReceivedChunk chunk;
//     v1::ConvertStreamRequest other;
//     ASSIGN_OR_RETURN(bool is_chunk, ReadChunkOr(message, &chunk, &other));
//     if (!is_chunk) return absl::InvalidArgumentError("expected a chunk");
//     for (std::string_view piece : chunk.pieces) RETURN_IF_ERROR(input.Append(piece));
//   }
//   stream->Write(EncodeBytesChunk(ChunkEnvelope::kField2, output_piece));
#ifndef SERIALD_WIRE_CHUNK_WIRE_H_
#define SERIALD_WIRE_CHUNK_WIRE_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/io/buffer.h"
#include "seriald/v1/serializer.pb.h"

namespace seriald::wire {

// Whether a chunk travels inside an envelope message (as its field 2, as in every streaming
// request and in DeserializeStream's and ConvertStream's responses) or as a message of its own
// (SerializeStream's responses are bare BytesChunk messages).
enum class ChunkEnvelope { kNone, kField2 };

// `envelope { chunk: BytesChunk { data } }` (or a bare BytesChunk), its data the concatenation of
// `pieces`, sent as one slice over each.
grpc::ByteBuffer EncodeBytesChunk(ChunkEnvelope envelope, absl::Span<const Buffer> pieces);

// `envelope { array_chunk: ArrayChunk { node, offset, data } }`, its data a slice over `data`.
grpc::ByteBuffer EncodeArrayChunk(uint32_t node, uint64_t offset, const Buffer& data);

// A chunk received: its data as pieces pointing into memory the chunk keeps alive (the received
// slices, or the string protobuf parsed into). Filled in place and reused from message to message;
// not copied or moved, since a short parsed string would move with it.
struct ReceivedChunk {
  ReceivedChunk() = default;
  ReceivedChunk(const ReceivedChunk&) = delete;
  ReceivedChunk& operator=(const ReceivedChunk&) = delete;
  void Clear();

  // ArrayChunk only.
  uint32_t node = 0;
  uint64_t offset = 0;
  absl::InlinedVector<std::string_view, 4> pieces;
  uint64_t size = 0;

  // What the pieces point into.
  std::vector<grpc::Slice> slices;
  std::string parsed;
};

// The chunk's data as Buffers that keep what they point into alive (the received slices are
// moved out of `chunk` into the Buffers' keeping, not copied; data protobuf parsed into a string
// is copied), for a reader that keeps pieces past the next message (core/io/chunked_input.h).
// `chunk` is left empty.
std::vector<Buffer> TakePieces(ReceivedChunk& chunk);

// The chunk in a received message, when it is in the form protobuf writes for `kind`'s message
// (`envelope` says whether it is wrapped). Returns false, leaving `chunk` empty, for anything
// else: another message of the envelope, or a chunk encoded otherwise; ReadChunkOr parses those.
enum class ChunkKind { kBytes, kArray };
bool DecodeChunkInPlace(const grpc::ByteBuffer& message, ChunkEnvelope envelope, ChunkKind kind,
                        ReceivedChunk* chunk);

// Parses `message` with protobuf into `*out`; INVALID_ARGUMENT naming the type if it cannot.
absl::Status ParseMessage(grpc::ByteBuffer& message, google::protobuf::MessageLite* out);

// `message` serialized by protobuf, for messages without bulk data (headers, options, notes).
grpc::ByteBuffer SerializeMessage(const google::protobuf::MessageLite& message);

// The chunk field of each envelope message that carries one (a bare BytesChunk is its own);
// nullptr when the message holds another part.
v1::BytesChunk* ChunkIn(v1::ConvertStreamRequest& message);
v1::BytesChunk* ChunkIn(v1::DeserializeStreamRequest& message);
v1::BytesChunk* ChunkIn(v1::InspectStreamRequest& message);
v1::BytesChunk* ChunkIn(v1::ConvertStreamResponse& message);
v1::BytesChunk* ChunkIn(v1::BytesChunk& message);
v1::ArrayChunk* ChunkIn(v1::SerializeStreamRequest& message);
v1::ArrayChunk* ChunkIn(v1::DeserializeStreamResponse& message);

// Takes the chunk `parsed` holds into `chunk` (moving its data string).
void TakeParsedChunk(v1::BytesChunk& parsed, ReceivedChunk* chunk);
void TakeParsedChunk(v1::ArrayChunk& parsed, ReceivedChunk* chunk);

// Reads one received message of type `Envelope`: true with `*chunk` filled when it is a chunk
// (decoded in place when it can be), false with `*other` parsed when it is another part of the
// envelope. An unparseable message is INVALID_ARGUMENT.
template <typename Envelope>
absl::StatusOr<bool> ReadChunkOr(grpc::ByteBuffer& message, ReceivedChunk* chunk,
                                 Envelope* other) {
  // The envelope's chunk type says the kind; only SerializeStream's responses come bare.
  using Inner = std::remove_pointer_t<decltype(ChunkIn(*other))>;
  constexpr ChunkKind kind =
      std::is_same_v<Inner, v1::ArrayChunk> ? ChunkKind::kArray : ChunkKind::kBytes;
  constexpr ChunkEnvelope envelope = std::is_same_v<Envelope, v1::BytesChunk>
                                         ? ChunkEnvelope::kNone
                                         : ChunkEnvelope::kField2;
  if (DecodeChunkInPlace(message, envelope, kind, chunk)) return true;
  absl::Status parsed = ParseMessage(message, other);
  if (!parsed.ok()) return parsed;
  Inner* inside = ChunkIn(*other);
  if (inside == nullptr) return false;
  TakeParsedChunk(*inside, chunk);
  return true;
}

}  // namespace seriald::wire

#endif  // SERIALD_WIRE_CHUNK_WIRE_H_
