// Fuzz target: the chunk messages a peer sends on the streaming calls, as the server and the C++
// client decode them (wire/chunk_wire.h), the array assembler that puts streamed arrays back
// together (wire/array_assembler.h), and every message read as a unary DeserializeRequest and
// ConvertRequest (wire/unary_wire.h). All sit right behind the socket: every byte here comes from a
// peer.
//
// Input: six header bytes, then messages.
//   byte 0      the message type (mod 6): 0 DeserializeStreamResponse, 1 SerializeStreamRequest
//               (ArrayChunk in field 2), 2 ConvertStreamRequest, 3 DeserializeStreamRequest,
//               4 ConvertStreamResponse (BytesChunk in field 2), 5 a bare BytesChunk
//               (SerializeStream's responses)
//   byte 1      how each message is cut into the slices it arrives in (a seed)
//   bytes 2-5   the sizes of arrays 0 and 1 (16 bits each, little-endian), which the assembler
//               expects (array types only)
//   then        messages, each a 16-bit little-endian length and that many bytes (the last one
//               cut short where the input ends)
// Seeds (fuzz/make_seeds.sh): the Torch7 and R seed files sent as chunks of each type, in the
// form protobuf writes.
//
// Checks, for each message:
//   ReadChunkOr decodes exactly what protobuf parses from the same bytes, however they are
//   sliced: the same failure, the same part of the envelope, the same data, node and offset;
//   the chunk's pieces, taken as Buffers (TakePieces), are its data;
//   encoding the decoded chunk (EncodeBytesChunk, EncodeArrayChunk) gives protobuf's bytes for
//   it, which decode in place to the same chunk;
//   TakeRequestData reads what protobuf parses from the same bytes as a DeserializeRequest (and as
//   a ConvertRequest), however they are sliced: the same failure (INVALID_ARGUMENT), the same data,
//   the same other fields; TakeResponseArrays reads the same bytes as a DeserializeResponse as
//   protobuf does (its arrays put back into their nodes give protobuf's message); the assembler
//   accepts a chunk exactly when its array is expected, it starts where the array's last chunk
//   ended and it does not run past the array's size; refusals are INVALID_ARGUMENT. At the end it
//   is complete exactly when every array has all its bytes, and then holds the bytes accepted.
//
// Run: make fuzz (all targets), or by hand:
//   build-fuzz/fuzz/chunk_wire_fuzzer -max_len=65536 -rss_limit_mb=2048 \
//       build-fuzz/corpus/chunk_wire_fuzzer build-fuzz/seeds/chunk_wire_fuzzer
//   build-fuzz/fuzz/chunk_wire_fuzzer CRASH_FILE              # reproduce one input
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_common.h"
#include "wire/array_assembler.h"
#include "wire/chunk_wire.h"
#include "wire/unary_wire.h"

namespace seriald::fuzz {
namespace {

using wire::ChunkEnvelope;
using wire::ReceivedChunk;

// `bytes` as gRPC hands a received message over: slices cut where `random` says.
grpc::ByteBuffer Received(std::string_view bytes, std::minstd_rand& random) {
  std::vector<grpc::Slice> slices;
  const size_t longest = 1 + random() % 64;
  size_t begin = 0;
  while (begin < bytes.size()) {
    const size_t size = std::min(bytes.size() - begin, 1 + random() % longest);
    slices.emplace_back(bytes.data() + begin, size);
    begin += size;
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

std::string Flatten(const grpc::ByteBuffer& message) {
  std::vector<grpc::Slice> slices;
  FUZZ_CHECK(message.Dump(&slices).ok(), "an encoded message does not dump");
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

std::string Joined(const ReceivedChunk& chunk) {
  std::string bytes;
  for (std::string_view piece : chunk.pieces) bytes.append(piece);
  FUZZ_CHECK(bytes.size() == chunk.size,
             absl::StrCat("a chunk of ", chunk.size, " bytes has pieces of ", bytes.size()));
  return bytes;
}

// TakeRequestData against protobuf's own reading of `bytes` as a `Request` (DeserializeRequest,
// ConvertRequest).
template <typename Request>
void CheckRequestData(std::string_view bytes, std::minstd_rand& random) {
  const std::string type = Request().GetTypeName();
  Request parsed;
  const bool parses = parsed.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  grpc::ByteBuffer message = Received(bytes, random);
  Request rest;
  const absl::StatusOr<Buffer> data = wire::TakeRequestData(message, &rest);
  FUZZ_CHECK(data.ok() == parses, absl::StrCat(type, ": protobuf ", parses ? "parses" : "refuses",
                                               " ", bytes.size(), " bytes, TakeRequestData says ",
                                               data.ok() ? "OK" : Describe(data.status())));
  if (!parses) {
    FUZZ_CHECK(data.status().code() == absl::StatusCode::kInvalidArgument, Describe(data.status()));
    return;
  }
  FUZZ_CHECK(data->view() == parsed.data(),
             absl::StrCat(type, ": took ", data->size(), " bytes of data, protobuf ",
                          parsed.data().size()));
  parsed.clear_data();
  FUZZ_CHECK(rest.SerializeAsString() == parsed.SerializeAsString(),
             type + ": the other fields parsed differently");
}

// TakeResponseArrays against protobuf's own reading of `bytes` as a DeserializeResponse: the same
// failure, and the arrays taken put back into their nodes give protobuf's message.
void CheckResponseArrays(std::string_view bytes, std::minstd_rand& random) {
  v1::DeserializeResponse parsed;
  const bool parses = parsed.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  grpc::ByteBuffer message = Received(bytes, random);
  v1::DeserializeResponse rest;
  auto arrays = wire::TakeResponseArrays(message, &rest);
  FUZZ_CHECK(arrays.ok() == parses,
             absl::StrCat("DeserializeResponse: protobuf ", parses ? "parses" : "refuses", " ",
                          bytes.size(), " bytes, TakeResponseArrays says ",
                          arrays.ok() ? "OK" : Describe(arrays.status())));
  if (!parses) {
    FUZZ_CHECK(arrays.status().code() == absl::StatusCode::kInvalidArgument,
               Describe(arrays.status()));
    return;
  }
  for (const auto& [id, data] : *arrays) {
    FUZZ_CHECK(id < static_cast<uint32_t>(rest.value().nodes_size()) &&
                   rest.value().nodes(static_cast<int>(id)).has_array() &&
                   rest.value().nodes(static_cast<int>(id)).array().data().empty(),
               absl::StrCat("DeserializeResponse: data taken for node ", id,
                            ", which is not an array left empty"));
    rest.mutable_value()
        ->mutable_nodes(static_cast<int>(id))
        ->mutable_array()
        ->set_data(std::string(data.view()));
  }
  FUZZ_CHECK(rest.SerializeAsString() == parsed.SerializeAsString(),
             "DeserializeResponse: read differently from protobuf");
}

// What the assembler must do with the chunks it is given: the model it is checked against.
struct ExpectedArray {
  uint64_t size;
  std::string bytes;  // accepted so far
};

template <typename Envelope>
void CheckMessages(std::minstd_rand& random, const uint16_t (&sizes)[2], std::string_view rest) {
  using Inner = std::remove_pointer_t<decltype(wire::ChunkIn(std::declval<Envelope&>()))>;
  constexpr bool kArray = std::is_same_v<Inner, v1::ArrayChunk>;
  constexpr ChunkEnvelope kEnvelope =
      std::is_same_v<Envelope, v1::BytesChunk> ? ChunkEnvelope::kNone : ChunkEnvelope::kField2;
  const std::string type = Envelope().GetTypeName();

  wire::ArrayAssembler assembler;
  std::vector<ExpectedArray> arrays;
  if constexpr (kArray) {
    for (uint32_t id = 0; id < 2; ++id) {
      // An array's data comes only in chunks: any inline byte is refused.
      FUZZ_CHECK(assembler.Expect(id, 1, sizes[id], sizes[id]).code() ==
                     absl::StatusCode::kInvalidArgument,
                 "an array with data in the header was expected");
      // Half the reservation the size would take, as for a peer not trusted with memory.
      const absl::Status expected = assembler.Expect(id, 0, sizes[id], sizes[id] / 2);
      FUZZ_CHECK(expected.ok(), Describe(expected));
      arrays.push_back(ExpectedArray{sizes[id], ""});
    }
    FUZZ_CHECK(!assembler.Expect(0, 0, 1, 1).ok(), "an array was expected twice");
  }

  while (!rest.empty()) {
    size_t length = static_cast<uint8_t>(rest[0]);
    if (rest.size() > 1) length |= size_t{static_cast<uint8_t>(rest[1])} << 8;
    rest.remove_prefix(std::min<size_t>(2, rest.size()));
    const std::string_view bytes = rest.substr(0, length);
    rest.remove_prefix(bytes.size());

    CheckRequestData<v1::DeserializeRequest>(bytes, random);
    CheckRequestData<v1::ConvertRequest>(bytes, random);
    CheckResponseArrays(bytes, random);
    Envelope parsed;
    const bool parses = parsed.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
    grpc::ByteBuffer message = Received(bytes, random);
    ReceivedChunk chunk;
    Envelope other;
    const absl::StatusOr<bool> is_chunk = wire::ReadChunkOr(message, &chunk, &other);
    FUZZ_CHECK(is_chunk.ok() == parses,
               absl::StrCat(type, ": protobuf ", parses ? "parses" : "refuses", " ", bytes.size(),
                            " bytes, the decoder says ",
                            is_chunk.ok() ? "OK" : Describe(is_chunk.status())));
    if (!parses) {
      FUZZ_CHECK(is_chunk.status().code() == absl::StatusCode::kInvalidArgument,
                 Describe(is_chunk.status()));
      continue;
    }
    const Inner* want = wire::ChunkIn(parsed);
    FUZZ_CHECK(*is_chunk == (want != nullptr),
               absl::StrCat(type, ": the decoder ", *is_chunk ? "found" : "missed", " a chunk"));
    if (want == nullptr) {
      // Another part of the envelope: parsed by protobuf, as it is.
      FUZZ_CHECK(other.SerializeAsString() == parsed.SerializeAsString(),
                 type + ": another part of the envelope parsed differently");
      continue;
    }
    const std::string data = Joined(chunk);
    FUZZ_CHECK(data == want->data(),
               absl::StrCat(type, ": decoded ", data.size(), " bytes of data, protobuf ",
                            want->data().size()));
    uint32_t node = 0;
    uint64_t offset = 0;
    if constexpr (kArray) {
      node = want->node();
      offset = want->offset();
      FUZZ_CHECK(chunk.node == node && chunk.offset == offset,
                 absl::StrCat(type, ": decoded node ", chunk.node, " offset ", chunk.offset,
                              ", protobuf ", node, " ", offset));
    }

    // Encoded again, the chunk is protobuf's bytes for a message holding just it, and decodes
    // in place.
    // (Only its fields: what protobuf kept of unknown ones is not the chunk's.)
    Inner fields;
    fields.set_data(data);
    if constexpr (kArray) {
      fields.set_node(node);
      fields.set_offset(offset);
    }
    Envelope alone;
    if constexpr (kEnvelope == ChunkEnvelope::kNone) {
      alone = fields;
    } else if constexpr (kArray) {
      *alone.mutable_array_chunk() = fields;
    } else {
      *alone.mutable_chunk() = fields;
    }
    const Buffer data_buffer = Buffer::Copy(data);
    grpc::ByteBuffer encoded =
        kArray ? wire::EncodeArrayChunk(node, offset, data_buffer)
               : wire::EncodeBytesChunk(kEnvelope, absl::MakeConstSpan(&data_buffer, 1));
    FUZZ_CHECK(Flatten(encoded) == alone.SerializeAsString(),
               type + ": an encoded chunk differs from protobuf's bytes");
    ReceivedChunk again;
    FUZZ_CHECK(wire::DecodeChunkInPlace(encoded, kEnvelope,
                                        kArray ? wire::ChunkKind::kArray : wire::ChunkKind::kBytes,
                                        &again) &&
                   Joined(again) == data && again.node == node && again.offset == offset,
               type + ": an encoded chunk does not decode in place to itself");

    if constexpr (kArray) {
      const absl::Status added = assembler.Add(chunk);
      const bool known = node < arrays.size();
      const bool fits = known && offset == arrays[node].bytes.size() &&
                        data.size() <= arrays[node].size - arrays[node].bytes.size();
      FUZZ_CHECK(
          added.ok() == fits,
          absl::StrCat("the assembler ", added.ok() ? "took" : "refused", " a chunk for node ",
                       node, " at ", offset, " of ", data.size(), " bytes: ", Describe(added)));
      FUZZ_CHECK(added.ok() || added.code() == absl::StatusCode::kInvalidArgument, Describe(added));
      if (fits) arrays[node].bytes += data;
    }
    // Taken as Buffers (as the server's input does), the pieces are the data.
    std::string taken;
    for (const Buffer& piece : wire::TakePieces(chunk)) taken.append(piece.view());
    FUZZ_CHECK(taken == data, type + ": the pieces taken are not the chunk's data");
  }

  if constexpr (kArray) {
    bool whole = true;
    for (const ExpectedArray& array : arrays) whole = whole && array.bytes.size() == array.size;
    const absl::Status complete = assembler.CheckComplete();
    FUZZ_CHECK(complete.ok() == whole,
               absl::StrCat("the assembler says ", Describe(complete), " with the arrays ",
                            whole ? "whole" : "short"));
    if (whole) {
      absl::flat_hash_map<uint32_t, Buffer> finished = std::move(assembler).Finish();
      for (uint32_t id = 0; id < arrays.size(); ++id) {
        FUZZ_CHECK(finished.contains(id) && finished[id].view() == arrays[id].bytes,
                   absl::StrCat("array ", id, " was assembled wrong"));
      }
    }
  }
}

}  // namespace
}  // namespace seriald::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  seriald::fuzz::SilenceProtobufLog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace seriald;
  if (size < 6) return 0;
  const uint8_t type = data[0] % 6;
  std::minstd_rand random(data[1] + 1);
  const uint16_t sizes[2] = {static_cast<uint16_t>(data[2] | (data[3] << 8)),
                             static_cast<uint16_t>(data[4] | (data[5] << 8))};
  const std::string_view rest(reinterpret_cast<const char*>(data) + 6, size - 6);
  switch (type) {
    case 0:
      fuzz::CheckMessages<v1::DeserializeStreamResponse>(random, sizes, rest);
      break;
    case 1:
      fuzz::CheckMessages<v1::SerializeStreamRequest>(random, sizes, rest);
      break;
    case 2:
      fuzz::CheckMessages<v1::ConvertStreamRequest>(random, sizes, rest);
      break;
    case 3:
      fuzz::CheckMessages<v1::DeserializeStreamRequest>(random, sizes, rest);
      break;
    case 4:
      fuzz::CheckMessages<v1::ConvertStreamResponse>(random, sizes, rest);
      break;
    default:
      fuzz::CheckMessages<v1::BytesChunk>(random, sizes, rest);
      break;
  }
  return 0;
}
