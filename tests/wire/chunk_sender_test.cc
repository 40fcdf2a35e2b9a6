// ChunkSender (wire/chunk_sender.h): output cut into pieces of any size goes out as whole chunks,
// small pieces gathered as slices (not copied), large ones cut, in order; arrays go out as
// ArrayChunks with their offsets, big-endian ones swapped a chunk of whole elements at a time.
#include "wire/chunk_sender.h"

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace seriald::wire {
namespace {

struct Sent {
  std::string data;
  size_t data_bytes;
  uint32_t node;
  uint64_t offset;
  std::vector<const char*> slice_starts;
};

WriteMessageFn Recorder(std::vector<Sent>* sent, ChunkEnvelope envelope, ChunkKind kind) {
  return [sent, envelope, kind](grpc::ByteBuffer message, size_t data_bytes) {
    ReceivedChunk chunk;
    EXPECT_TRUE(DecodeChunkInPlace(message, envelope, kind, &chunk));
    Sent record{"", data_bytes, chunk.node, chunk.offset, {}};
    for (std::string_view piece : chunk.pieces) {
      record.data.append(piece);
      record.slice_starts.push_back(piece.data());
    }
    sent->push_back(std::move(record));
    return absl::OkStatus();
  };
}

std::string Pattern(size_t n, int seed) {
  std::string bytes(n, '\0');
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>(i * 31 + seed);
  return bytes;
}

TEST(ChunkSenderTest, PiecesOfAnySizeGoOutAsWholeChunksInOrder) {
  constexpr size_t kChunk = 1 << 20;
  std::vector<std::string> pieces;
  for (int i = 0; i < 40; ++i) pieces.push_back(Pattern(64 << 10, i));  // a writer's blocks
  pieces.push_back(Pattern(3, 99));
  pieces.push_back(Pattern(kChunk * 3 / 2, 7));  // larger than a chunk
  pieces.push_back(Pattern(10, 5));
  std::vector<Buffer> buffers;
  std::string whole;
  for (const std::string& piece : pieces) {
    buffers.push_back(Buffer::Copy(piece));
    whole += piece;
  }
  std::vector<Sent> sent;
  ChunkSender sender(ChunkEnvelope::kField2, kChunk,
                     Recorder(&sent, ChunkEnvelope::kField2, ChunkKind::kBytes));
  for (const Buffer& buffer : buffers) ASSERT_TRUE(sender.Send(buffer).ok());
  ASSERT_TRUE(sender.Flush().ok());
  ASSERT_TRUE(sender.Flush().ok());  // nothing left: no empty message

  ASSERT_EQ(sent.size(), (whole.size() + kChunk - 1) / kChunk);
  std::string joined;
  for (size_t i = 0; i < sent.size(); ++i) {
    if (i + 1 < sent.size()) {
      EXPECT_EQ(sent[i].data.size(), kChunk) << i;
    }
    EXPECT_EQ(sent[i].data_bytes, sent[i].data.size());
    joined += sent[i].data;
    // Every slice is a piece's own memory.
    for (const char* start : sent[i].slice_starts) {
      bool inside = false;
      for (const Buffer& buffer : buffers) {
        const char* begin = reinterpret_cast<const char*>(buffer.data());
        inside = inside || (start >= begin && start < begin + buffer.size());
      }
      EXPECT_TRUE(inside) << "message " << i << " copied its data";
    }
  }
  EXPECT_EQ(joined, whole);
  EXPECT_EQ(sender.bytes(), whole.size());
}

TEST(ChunkSenderTest, BareChunksAndAWriteErrorStopTheSending) {
  std::vector<Sent> sent;
  int writes = 0;
  ChunkSender sender(ChunkEnvelope::kNone, 4, [&](grpc::ByteBuffer message, size_t) {
    return ++writes == 2 ? absl::CancelledError("gone") : absl::OkStatus();
  });
  absl::Status status = sender.Send(Buffer::Copy(std::string("abcdefghijkl")));
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(writes, 2);

  ChunkSender bare(ChunkEnvelope::kNone, 4,
                   Recorder(&sent, ChunkEnvelope::kNone, ChunkKind::kBytes));
  ASSERT_TRUE(bare.Send(Buffer::Copy(std::string("abcdef"))).ok());
  ASSERT_TRUE(bare.Flush().ok());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].data, "abcd");
  EXPECT_EQ(sent[1].data, "ef");
}

TEST(ChunkSenderTest, ArraysGoOutAsArrayChunksWithTheirOffsets) {
  std::vector<Sent> sent;
  const std::string data = Pattern(10, 1);
  ASSERT_TRUE(SendArrayChunks(5, Buffer::Copy(data), 4,
                              Recorder(&sent, ChunkEnvelope::kField2, ChunkKind::kArray))
                  .ok());
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].offset, 0u);
  EXPECT_EQ(sent[1].offset, 4u);
  EXPECT_EQ(sent[2].offset, 8u);
  for (const Sent& chunk : sent) EXPECT_EQ(chunk.node, 5u);
  EXPECT_EQ(sent[0].data + sent[1].data + sent[2].data, data);
}

TEST(ChunkSenderTest, BigEndianArraysGoOutLittleEndianInChunksOfWholeElements) {
  std::vector<Sent> sent;
  // Three big-endian doubles, 1.5, 2.5 and -3.
  std::string big_endian;
  for (double value : {1.5, 2.5, -3.0}) {
    uint64_t bits;
    std::memcpy(&bits, &value, 8);
    bits = __builtin_bswap64(bits);
    big_endian.append(reinterpret_cast<const char*>(&bits), 8);
  }
  const Buffer data = Buffer::Copy(big_endian.data(), big_endian.size());
  // 12-byte chunks hold one and a half doubles: each goes out with one.
  ASSERT_TRUE(SendArrayChunks(7, data, 12,
                              Recorder(&sent, ChunkEnvelope::kField2, ChunkKind::kArray),
                              /*swap_bytes=*/8)
                  .ok());
  ASSERT_EQ(sent.size(), 3u);
  std::string little_endian;
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].node, 7u);
    EXPECT_EQ(sent[i].offset, 8 * i);
    EXPECT_EQ(sent[i].data.size(), 8u);
    little_endian += sent[i].data;
  }
  double values[3];
  std::memcpy(values, little_endian.data(), 24);
  EXPECT_EQ(values[0], 1.5);
  EXPECT_EQ(values[1], 2.5);
  EXPECT_EQ(values[2], -3.0);
  EXPECT_EQ(data.view(), big_endian);  // the array itself is not swapped
}

}  // namespace
}  // namespace seriald::wire
