#include "wire/chunk_wire.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "wire/wire_format.h"

namespace seriald::wire {
namespace {

// Field numbers, from serializer.proto.
constexpr uint64_t kEnvelopeChunkField = 2;  // every envelope's chunk / array_chunk
constexpr uint64_t kBytesChunkData = 1;      // BytesChunk.data
constexpr uint64_t kArrayChunkNode = 1;      // ArrayChunk.node
constexpr uint64_t kArrayChunkOffset = 2;    // ArrayChunk.offset
constexpr uint64_t kArrayChunkData = 3;      // ArrayChunk.data

// `header` then a slice over each of `pieces` (none when empty, as protobuf leaves an empty bytes
// field out).
grpc::ByteBuffer HeaderAndData(const HeaderBytes& header, absl::Span<const Buffer> pieces) {
  absl::InlinedVector<grpc::Slice, 4> slices;
  slices.emplace_back(header.data(), header.size());
  for (const Buffer& piece : pieces) {
    if (piece.size() > 0) slices.push_back(SliceOver(piece));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

void SetPiecesOfParsed(ReceivedChunk* chunk) {
  chunk->size = chunk->parsed.size();
  if (!chunk->parsed.empty()) chunk->pieces.emplace_back(chunk->parsed);
}

}  // namespace

void ReceivedChunk::Clear() {
  node = 0;
  offset = 0;
  pieces.clear();
  size = 0;
  slices.clear();
  parsed.clear();
}

std::vector<Buffer> TakePieces(ReceivedChunk& chunk) {
  std::vector<Buffer> buffers;
  buffers.reserve(chunk.pieces.size());
  if (!chunk.parsed.empty()) {
    // A short string keeps its bytes inside itself, so they would move with it.
    for (std::string_view piece : chunk.pieces) buffers.push_back(Buffer::Copy(piece));
  } else {
    // Moving the vector keeps each Slice where it is, so the pieces stay valid (even those of a
    // slice small enough to hold its bytes inline).
    auto slices = std::make_shared<std::vector<grpc::Slice>>(std::move(chunk.slices));
    for (std::string_view piece : chunk.pieces) {
      buffers.push_back(Buffer::Wrap(piece.data(), piece.size(), [slices] {}));
    }
  }
  chunk.Clear();
  return buffers;
}

grpc::ByteBuffer EncodeBytesChunk(ChunkEnvelope envelope, absl::Span<const Buffer> pieces) {
  uint64_t size = 0;
  for (const Buffer& piece : pieces) size += piece.size();
  HeaderBytes inner;
  if (size > 0) inner.LengthPrefix(kBytesChunkData, size);
  if (envelope == ChunkEnvelope::kNone) return HeaderAndData(inner, pieces);
  HeaderBytes header;
  header.LengthPrefix(kEnvelopeChunkField, inner.size() + size);
  header.Append(inner);
  return HeaderAndData(header, pieces);
}

grpc::ByteBuffer EncodeArrayChunk(uint32_t node, uint64_t offset, const Buffer& data) {
  HeaderBytes inner;
  inner.VarintField(kArrayChunkNode, node);
  inner.VarintField(kArrayChunkOffset, offset);
  if (data.size() > 0) inner.LengthPrefix(kArrayChunkData, data.size());
  HeaderBytes header;
  header.LengthPrefix(kEnvelopeChunkField, inner.size() + data.size());
  header.Append(inner);
  return HeaderAndData(header, absl::MakeConstSpan(&data, 1));
}

bool DecodeChunkInPlace(const grpc::ByteBuffer& message, ChunkEnvelope envelope, ChunkKind kind,
                        ReceivedChunk* chunk) {
  chunk->Clear();
  std::vector<grpc::Slice> slices;
  if (!message.Valid() || !message.Dump(&slices).ok()) return false;
  SliceCursor cursor(slices);
  if (envelope == ChunkEnvelope::kField2) {
    uint64_t tag = 0;
    uint64_t length = 0;
    if (!cursor.ReadTag(&tag) || tag != Tag(kEnvelopeChunkField, kLengthDelimited) ||
        !cursor.ReadLength(&length) || length != cursor.remaining()) {
      return false;
    }
  }
  const uint64_t data_field = kind == ChunkKind::kArray ? kArrayChunkData : kBytesChunkData;
  bool seen[4] = {false, false, false, false};
  bool in_form = true;
  while (in_form && cursor.remaining() > 0) {
    uint64_t tag = 0;
    in_form = cursor.ReadTag(&tag) && (tag >> 3) <= 3 && !seen[tag >> 3];
    if (!in_form) break;
    seen[tag >> 3] = true;
    if (tag == Tag(data_field, kLengthDelimited)) {
      uint64_t length = 0;
      in_form = cursor.ReadLength(&length) && cursor.Take(length, &chunk->pieces);
      chunk->size += length;
    } else if (kind == ChunkKind::kArray && tag == Tag(kArrayChunkNode, kVarint)) {
      // Protobuf keeps the low 32 bits of a larger value; that form is left to it.
      uint64_t node = 0;
      in_form = cursor.ReadVarint(&node) && node <= std::numeric_limits<uint32_t>::max();
      chunk->node = static_cast<uint32_t>(node);
    } else if (kind == ChunkKind::kArray && tag == Tag(kArrayChunkOffset, kVarint)) {
      in_form = cursor.ReadVarint(&chunk->offset);
    } else {
      in_form = false;
    }
  }
  if (!in_form) {
    chunk->Clear();
    return false;
  }
  // The pieces point into the slices' memory, which moving the vector does not move.
  chunk->slices = std::move(slices);
  return true;
}

absl::Status ParseMessage(grpc::ByteBuffer& message, google::protobuf::MessageLite* out) {
  grpc::Status status =
      grpc::GenericDeserialize<grpc::ProtoBufferReader, google::protobuf::MessageLite>(&message,
                                                                                       out);
  if (status.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("a message that is not a valid ", out->GetTypeName()));
}

grpc::ByteBuffer SerializeMessage(const google::protobuf::MessageLite& message) {
  grpc::ByteBuffer bytes;
  bool own = false;
  grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::MessageLite>(message, &bytes,
                                                                                 &own);
  return bytes;
}

v1::BytesChunk* ChunkIn(v1::ConvertStreamRequest& message) {
  return message.has_chunk() ? message.mutable_chunk() : nullptr;
}
v1::BytesChunk* ChunkIn(v1::DeserializeStreamRequest& message) {
  return message.has_chunk() ? message.mutable_chunk() : nullptr;
}
v1::BytesChunk* ChunkIn(v1::InspectStreamRequest& message) {
  return message.has_chunk() ? message.mutable_chunk() : nullptr;
}
v1::BytesChunk* ChunkIn(v1::ConvertStreamResponse& message) {
  return message.has_chunk() ? message.mutable_chunk() : nullptr;
}
v1::BytesChunk* ChunkIn(v1::BytesChunk& message) { return &message; }
v1::ArrayChunk* ChunkIn(v1::SerializeStreamRequest& message) {
  return message.has_array_chunk() ? message.mutable_array_chunk() : nullptr;
}
v1::ArrayChunk* ChunkIn(v1::DeserializeStreamResponse& message) {
  return message.has_array_chunk() ? message.mutable_array_chunk() : nullptr;
}

void TakeParsedChunk(v1::BytesChunk& parsed, ReceivedChunk* chunk) {
  chunk->Clear();
  chunk->parsed.swap(*parsed.mutable_data());
  SetPiecesOfParsed(chunk);
}

void TakeParsedChunk(v1::ArrayChunk& parsed, ReceivedChunk* chunk) {
  chunk->Clear();
  chunk->node = parsed.node();
  chunk->offset = parsed.offset();
  chunk->parsed.swap(*parsed.mutable_data());
  SetPiecesOfParsed(chunk);
}

}  // namespace seriald::wire
