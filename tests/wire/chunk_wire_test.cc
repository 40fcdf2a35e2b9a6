// Chunk messages as gRPC byte buffers (wire/chunk_wire.h): what is encoded is byte for byte what
// protobuf writes for the same message, its data a slice over the sender's memory; what is decoded
// is what protobuf parses from the same bytes, for every form a peer may send (fields out of
// order, repeated or unknown, any split into slices, truncated), and in place (pieces of the
// received slices) for the form protobuf writes.
#include "wire/chunk_wire.h"

#include <atomic>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/wire/testing/byte_buffers.h"

namespace seriald::wire {
namespace {

using ::testing::HasSubstr;

using testing::Flatten;
using testing::Received;

std::string Joined(const ReceivedChunk& chunk) {
  std::string bytes;
  for (std::string_view piece : chunk.pieces) bytes.append(piece);
  EXPECT_EQ(bytes.size(), chunk.size);
  return bytes;
}

std::string Pattern(size_t n) {
  std::string bytes(n, '\0');
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>(i * 131 + 7);
  return bytes;
}

// Sizes on either side of each varint length boundary.
const std::vector<size_t> kSizes = {0, 1, 127, 128, 16383, 16384, 1 << 20};

TEST(ChunkWireTest, BytesChunksAreWhatProtobufWrites) {
  for (size_t n : kSizes) {
    const std::string data = Pattern(n);
    v1::ConvertStreamRequest envelope;
    envelope.mutable_chunk()->set_data(data);
    EXPECT_EQ(Flatten(EncodeBytesChunk(ChunkEnvelope::kField2, {Buffer::Copy(data)})),
              envelope.SerializeAsString())
        << n;
    v1::BytesChunk bare;
    bare.set_data(data);
    EXPECT_EQ(Flatten(EncodeBytesChunk(ChunkEnvelope::kNone, {Buffer::Copy(data)})),
              bare.SerializeAsString())
        << n;
  }
}

TEST(ChunkWireTest, PiecesGatheredInOneChunkAreWhatProtobufWritesForTheirConcatenation) {
  const std::vector<std::string> parts = {Pattern(100), "", Pattern(70000), Pattern(1)};
  std::vector<Buffer> pieces;
  v1::ConvertStreamResponse envelope;
  for (const std::string& part : parts) {
    pieces.push_back(Buffer::Copy(part));
    envelope.mutable_chunk()->mutable_data()->append(part);
  }
  grpc::ByteBuffer message = EncodeBytesChunk(ChunkEnvelope::kField2, pieces);
  EXPECT_EQ(Flatten(message), envelope.SerializeAsString());
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(message.Dump(&slices).ok());
  ASSERT_EQ(slices.size(), 4u) << "a header and one slice per non-empty piece";
  EXPECT_EQ(slices[2].begin(), pieces[2].data());
}

TEST(ChunkWireTest, ArrayChunksAreWhatProtobufWrites) {
  for (uint32_t node : {0u, 1u, 300u, 0xffffffffu}) {
    for (uint64_t offset : {uint64_t{0}, uint64_t{127}, uint64_t{1} << 40, ~uint64_t{0}}) {
      for (size_t n : {size_t{0}, size_t{200}}) {
        const std::string data = Pattern(n);
        v1::DeserializeStreamResponse envelope;
        envelope.mutable_array_chunk()->set_node(node);
        envelope.mutable_array_chunk()->set_offset(offset);
        envelope.mutable_array_chunk()->set_data(data);
        EXPECT_EQ(Flatten(EncodeArrayChunk(node, offset, Buffer::Copy(data))),
                  envelope.SerializeAsString())
            << node << " " << offset << " " << n;
      }
    }
  }
}

TEST(ChunkWireTest, TheDataIsASliceOverTheSendersBufferKeptAliveUntilSent) {
  std::atomic<bool> released{false};
  std::string storage = Pattern(4096);
  grpc::ByteBuffer message;
  {
    Buffer data = Buffer::Wrap(storage.data(), storage.size(), [&] { released = true; });
    message = EncodeArrayChunk(3, 8192, data);
  }
  EXPECT_FALSE(released) << "the message must keep the sender's buffer alive";
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(message.Dump(&slices).ok());
  ASSERT_EQ(slices.size(), 2u);
  EXPECT_EQ(reinterpret_cast<const char*>(slices[1].begin()), storage.data())
      << "the data must not be copied";
  slices.clear();
  message.Clear();
  EXPECT_TRUE(released);
}

TEST(ChunkWireTest, ProtobufsFormIsDecodedInPlaceAcrossAnySlices) {
  v1::SerializeStreamRequest envelope;
  envelope.mutable_array_chunk()->set_node(7);
  envelope.mutable_array_chunk()->set_offset(1 << 20);
  envelope.mutable_array_chunk()->set_data(Pattern(3000));
  const std::string bytes = envelope.SerializeAsString();
  for (std::vector<size_t> cuts : std::vector<std::vector<size_t>>{
           {}, {1}, {2, 3, 4, 5, 6, 7, 8}, {9, 10, 500, 501, 2999}, {bytes.size() - 1}}) {
    grpc::ByteBuffer message = Received(bytes, cuts);
    ReceivedChunk chunk;
    v1::SerializeStreamRequest other;
    absl::StatusOr<bool> is_chunk = ReadChunkOr(message, &chunk, &other);
    ASSERT_TRUE(is_chunk.ok()) << is_chunk.status();
    EXPECT_TRUE(*is_chunk);
    EXPECT_EQ(chunk.node, 7u);
    EXPECT_EQ(chunk.offset, uint64_t{1} << 20);
    EXPECT_EQ(Joined(chunk), Pattern(3000));
    EXPECT_TRUE(chunk.parsed.empty()) << "decoded in place, not through protobuf";
    // Every piece lies inside one of the received slices.
    for (std::string_view piece : chunk.pieces) {
      bool inside = false;
      for (const grpc::Slice& slice : chunk.slices) {
        const char* begin = reinterpret_cast<const char*>(slice.begin());
        inside = inside ||
                 (piece.data() >= begin && piece.data() + piece.size() <= begin + slice.size());
      }
      EXPECT_TRUE(inside);
    }
  }
}

TEST(ChunkWireTest, OtherPartsOfTheEnvelopeAreParsedByProtobuf) {
  v1::ConvertStreamRequest options;
  options.mutable_options()->mutable_input()->set_input_size(42);
  grpc::ByteBuffer message = Received(options.SerializeAsString());
  ReceivedChunk chunk;
  v1::ConvertStreamRequest other;
  absl::StatusOr<bool> is_chunk = ReadChunkOr(message, &chunk, &other);
  ASSERT_TRUE(is_chunk.ok()) << is_chunk.status();
  EXPECT_FALSE(*is_chunk);
  EXPECT_EQ(other.options().input().input_size(), 42u);
}

TEST(ChunkWireTest, AMessageProtobufCannotParseIsInvalidArgumentNamingItsType) {
  // A length past the end, and a varint cut short.
  for (std::string bytes : {std::string("\x12\x05\x0a\x09"
                                        "ab",
                                        6),
                            std::string("\x12\x80", 2)}) {
    grpc::ByteBuffer message = Received(bytes);
    ReceivedChunk chunk;
    v1::ConvertStreamRequest other;
    absl::StatusOr<bool> is_chunk = ReadChunkOr(message, &chunk, &other);
    ASSERT_FALSE(is_chunk.ok());
    EXPECT_EQ(is_chunk.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(is_chunk.status().message(),
                HasSubstr("not a valid seriald.v1.ConvertStreamRequest"));
  }
}

// Tags and lengths in more bytes than protobuf writes: it reads a tag of up to five bytes
// (keeping the low 32 bits of a larger value) and a length of up to five, and refuses six.
TEST(ChunkWireTest, TagsAndLengthsInLongerFormsAreReadAsProtobufReadsThem) {
  const std::string chunk = std::string("\x0a\x03", 2) + "abc";  // BytesChunk { data: "abc" }
  const std::string array =                                      // ArrayChunk { node: 1, data }
      std::string("\x08\x01\x1a\x03", 4) + "abc";
  struct Form {
    std::string tag_and_length;  // the envelope's field 2, before the chunk
    std::string chunk;
    bool parses;
  };
  const std::string t5("\x92\x80\x80\x80\x00", 5);       // tag 18 in five bytes
  const std::string t6("\x92\x80\x80\x80\x80\x00", 6);   // in six
  const std::string t5_high("\x92\x80\x80\x80\x10", 5);  // 18 + 2^32 in five
  const std::string l5("\x85\x80\x80\x80\x00", 5);       // length 5 in five bytes
  const std::string l6("\x85\x80\x80\x80\x80\x00", 6);   // in six
  const std::vector<Form> forms = {
      {t5 + "\x05", chunk, true},
      {t6 + "\x05", chunk, false},
      {t5_high + "\x05", chunk, true},
      {"\x12" + l5, chunk, true},
      {"\x12" + l6, chunk, false},
      // Inside the chunk: its data field's tag and length.
      {"\x12\x09", std::string("\x8a\x80\x80\x80\x00\x03", 6) + "abc", true},
      {"\x12\x0a", std::string("\x8a\x80\x80\x80\x80\x00\x03", 7) + "abc", false},
      {"\x12\x09", std::string("\x0a\x83\x80\x80\x80\x00", 6) + "abc", true},
      {"\x12\x0a", std::string("\x0a\x83\x80\x80\x80\x80\x00", 7) + "abc", false},
  };
  for (size_t i = 0; i < forms.size(); ++i) {
    const std::string bytes = forms[i].tag_and_length + forms[i].chunk;
    v1::ConvertStreamRequest expected;
    ASSERT_EQ(expected.ParseFromString(bytes), forms[i].parses) << i;
    grpc::ByteBuffer message = Received(bytes, {2});
    ReceivedChunk received;
    v1::ConvertStreamRequest other;
    absl::StatusOr<bool> is_chunk = ReadChunkOr(message, &received, &other);
    ASSERT_EQ(is_chunk.ok(), forms[i].parses) << i;
    if (!forms[i].parses) {
      EXPECT_EQ(is_chunk.status().code(), absl::StatusCode::kInvalidArgument) << i;
      continue;
    }
    ASSERT_TRUE(*is_chunk) << i;
    EXPECT_EQ(Joined(received), "abc") << i;
  }
  // An ArrayChunk's envelope tag in six bytes, and in five.
  for (const auto& [tag, parses] : {std::pair{t6, false}, std::pair{t5, true}}) {
    const std::string bytes = tag + static_cast<char>(array.size()) + array;
    grpc::ByteBuffer message = Received(bytes);
    ReceivedChunk received;
    v1::DeserializeStreamResponse other;
    absl::StatusOr<bool> is_chunk = ReadChunkOr(message, &received, &other);
    ASSERT_EQ(is_chunk.ok(), parses);
    if (!parses) continue;
    EXPECT_TRUE(*is_chunk);
    EXPECT_EQ(received.node, 1u);
    EXPECT_EQ(Joined(received), "abc");
  }
}

// Protobuf's wire format, written by hand to make forms protobuf itself does not write.
void PutVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}
void PutLength(uint32_t field, const std::string& bytes, std::string* out) {
  PutVarint((field << 3) | 2, out);
  PutVarint(bytes.size(), out);
  out->append(bytes);
}
void PutScalar(uint32_t field, uint64_t value, std::string* out) {
  PutVarint(field << 3, out);
  PutVarint(value, out);
}

// A random ArrayChunk or BytesChunk body: the chunk's own fields and unknown ones, in any order,
// some repeated, with values that overflow their type.
std::string RandomChunkBody(std::mt19937_64& random, bool array) {
  std::string body;
  const int fields = static_cast<int>(random() % 5);
  for (int i = 0; i < fields; ++i) {
    switch (random() % (array ? 5 : 3)) {
      case 0:
        PutLength(array ? 3 : 1, Pattern(random() % 300), &body);
        break;
      case 1:
        PutScalar(9, random(), &body);  // unknown
        break;
      case 2:
        PutLength(10, "unknown", &body);
        break;
      case 3:  // node, sometimes past 32 bits (protobuf keeps the low 32)
        PutScalar(1, random() % 2 ? random() % 1000 : random(), &body);
        break;
      case 4:
        PutScalar(2, random(), &body);
        break;
    }
  }
  return body;
}

template <typename Envelope>
void ExpectDecodedAsProtobufParses(std::mt19937_64& random, bool array) {
  for (int round = 0; round < 3000; ++round) {
    std::string bytes;
    const int parts = 1 + static_cast<int>(random() % 3);
    for (int part = 0; part < parts; ++part) {
      if (random() % 6 == 0) {
        PutLength(1, "", &bytes);  // the envelope's first part (options or header), empty
      } else {
        PutLength(2, RandomChunkBody(random, array), &bytes);
      }
    }
    // Sometimes truncated.
    if (random() % 4 == 0 && !bytes.empty()) bytes.resize(random() % bytes.size());
    std::vector<size_t> cuts;
    for (size_t cut = 0; cut < bytes.size(); cut += 1 + random() % 40) cuts.push_back(cut);

    Envelope expected;
    const bool parses = expected.ParseFromString(bytes);
    grpc::ByteBuffer message = Received(bytes, cuts);
    ReceivedChunk chunk;
    Envelope other;
    absl::StatusOr<bool> is_chunk = ReadChunkOr(message, &chunk, &other);
    ASSERT_EQ(is_chunk.ok(), parses) << round;
    if (!parses) continue;
    const auto* want = ChunkIn(expected);
    ASSERT_EQ(*is_chunk, want != nullptr) << round;
    if (want == nullptr) continue;
    EXPECT_EQ(Joined(chunk), want->data()) << round;
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(*want)>, v1::ArrayChunk>) {
      EXPECT_EQ(chunk.node, want->node()) << round;
      EXPECT_EQ(chunk.offset, want->offset()) << round;
    }
  }
}

TEST(ChunkWireTest, EveryFormDecodesAsProtobufParsesIt) {
  std::mt19937_64 random(20261130);
  ExpectDecodedAsProtobufParses<v1::DeserializeStreamResponse>(random, /*array=*/true);
  ExpectDecodedAsProtobufParses<v1::SerializeStreamRequest>(random, /*array=*/true);
  ExpectDecodedAsProtobufParses<v1::ConvertStreamRequest>(random, /*array=*/false);
  ExpectDecodedAsProtobufParses<v1::DeserializeStreamRequest>(random, /*array=*/false);
  ExpectDecodedAsProtobufParses<v1::InspectStreamRequest>(random, /*array=*/false);
  ExpectDecodedAsProtobufParses<v1::ConvertStreamResponse>(random, /*array=*/false);
}

TEST(ChunkWireTest, BareBytesChunksDecodeAsProtobufParsesThem) {
  std::mt19937_64 random(7);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes = RandomChunkBody(random, /*array=*/false);
    if (random() % 4 == 0 && !bytes.empty()) bytes.resize(random() % bytes.size());
    v1::BytesChunk expected;
    const bool parses = expected.ParseFromString(bytes);
    grpc::ByteBuffer message = Received(bytes, {bytes.size() / 2});
    ReceivedChunk chunk;
    v1::BytesChunk other;
    absl::StatusOr<bool> is_chunk = ReadChunkOr(message, &chunk, &other);
    ASSERT_EQ(is_chunk.ok(), parses) << round;
    if (!parses) continue;
    EXPECT_TRUE(*is_chunk);
    EXPECT_EQ(Joined(chunk), expected.data()) << round;
  }
}

TEST(ChunkWireTest, WhatIsEncodedDecodesInPlace) {
  const Buffer data = Buffer::Copy(Pattern(70000));
  grpc::ByteBuffer array = EncodeArrayChunk(12, 99, data);
  ReceivedChunk chunk;
  ASSERT_TRUE(DecodeChunkInPlace(array, ChunkEnvelope::kField2, ChunkKind::kArray, &chunk));
  EXPECT_EQ(chunk.node, 12u);
  EXPECT_EQ(chunk.offset, 99u);
  EXPECT_EQ(Joined(chunk), Pattern(70000));
  grpc::ByteBuffer bare = EncodeBytesChunk(ChunkEnvelope::kNone, {Buffer()});
  ASSERT_TRUE(DecodeChunkInPlace(bare, ChunkEnvelope::kNone, ChunkKind::kBytes, &chunk));
  EXPECT_EQ(chunk.size, 0u);
}

}  // namespace
}  // namespace seriald::wire
