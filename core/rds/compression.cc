#include "core/rds/compression.h"

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/growable_buffer.h"
#include "core/io/input_error.h"
#include "core/status_macros.h"

namespace seriald::rds {
namespace {

constexpr size_t kChunk = 1 << 20;

// Collects decompressed output in chunks under the limit.
class Sink {
 public:
  Sink(RCompression kind, uint64_t max_bytes, uint64_t input_size)
      : kind_(kind), max_bytes_(max_bytes) {
    // A guess that avoids regrowth for typical ratios without trusting the input.
    (void)buffer_.Reserve(static_cast<size_t>(
        std::min<uint64_t>(std::min<uint64_t>(input_size, uint64_t{1} << 28) * 4, max_bytes)));
  }
  uint8_t* chunk() { return chunk_; }
  absl::Status Flush(size_t n) {
    if (n > max_bytes_ - buffer_.size()) {
      return LimitExceeded(
          "max-decompressed-bytes",
          absl::StrCat("rds: ", AsAbsl(CompressionName(kind_)), " input decompresses to more than ",
                       max_bytes_, " bytes (ReadOptions::max_decompressed_bytes)"));
    }
    return buffer_.Append(chunk_, n);
  }
  Buffer Finish() && { return std::move(buffer_).Finish(); }

 private:
  RCompression kind_;
  uint64_t max_bytes_;
  GrowableBuffer buffer_;
  uint8_t chunk_[kChunk];
};

absl::Status Corrupt(RCompression kind, uint64_t offset, std::string_view detail) {
  return InputError(
      "rds", offset,
      absl::StrCat(AsAbsl(CompressionName(kind)), " data is corrupt (", AsAbsl(detail), ")"));
}

absl::StatusOr<Buffer> Gunzip(const Buffer& input, uint64_t max_bytes) {
  auto sink = std::make_unique<Sink>(RCompression::kGzip, max_bytes, input.size());
  uint64_t pos = 0;
  while (pos < input.size()) {
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return absl::InternalError("inflateInit2");
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      uint64_t take = std::min<uint64_t>(input.size() - pos, 1u << 30);
      z.next_in = const_cast<Bytef*>(input.data() + pos);
      z.avail_in = static_cast<uInt>(take);
      z.next_out = sink->chunk();
      z.avail_out = kChunk;
      rc = inflate(&z, Z_NO_FLUSH);
      pos += take - z.avail_in;
      if (absl::Status s = sink->Flush(kChunk - z.avail_out); !s.ok()) {
        inflateEnd(&z);
        return s;
      }
      if (rc == Z_STREAM_END) break;
      const bool stalled = rc == Z_BUF_ERROR || (rc == Z_OK && z.avail_out != 0);
      if (stalled && pos == input.size()) {
        inflateEnd(&z);
        return InputError("rds", pos, "gzip data ends before the end of its stream");
      }
      if (rc != Z_OK) {
        inflateEnd(&z);
        return Corrupt(RCompression::kGzip, pos, z.msg ? z.msg : "inflate failed");
      }
    }
    inflateEnd(&z);
    // Trailing zero padding after a member is ignored, as gzip does; anything else must be
    // another member.
    if (pos < input.size() && input.data()[pos] != 0x1f) {
      bool zeros = std::all_of(input.data() + pos, input.data() + input.size(),
                               [](uint8_t b) { return b == 0; });
      if (zeros) break;
      return InputError("rds", pos, "unexpected bytes after the gzip stream");
    }
  }
  return std::move(*sink).Finish();
}

absl::StatusOr<Buffer> Bunzip2(const Buffer& input, uint64_t max_bytes) {
  auto sink = std::make_unique<Sink>(RCompression::kBzip2, max_bytes, input.size());
  uint64_t pos = 0;
  while (pos < input.size()) {
    bz_stream b{};
    if (BZ2_bzDecompressInit(&b, 0, 0) != BZ_OK) return absl::InternalError("bzDecompressInit");
    int rc = BZ_OK;
    while (rc != BZ_STREAM_END) {
      uint64_t take = std::min<uint64_t>(input.size() - pos, 1u << 30);
      b.next_in = const_cast<char*>(reinterpret_cast<const char*>(input.data() + pos));
      b.avail_in = static_cast<unsigned>(take);
      b.next_out = reinterpret_cast<char*>(sink->chunk());
      b.avail_out = kChunk;
      rc = BZ2_bzDecompress(&b);
      pos += take - b.avail_in;
      if (rc != BZ_OK && rc != BZ_STREAM_END) {
        BZ2_bzDecompressEnd(&b);
        return Corrupt(RCompression::kBzip2, pos, absl::StrCat("error ", rc));
      }
      if (absl::Status s = sink->Flush(kChunk - b.avail_out); !s.ok()) {
        BZ2_bzDecompressEnd(&b);
        return s;
      }
      if (rc != BZ_STREAM_END && pos == input.size() && b.avail_out != 0) {
        BZ2_bzDecompressEnd(&b);
        return InputError("rds", pos, "bzip2 data ends before the end of its stream");
      }
    }
    BZ2_bzDecompressEnd(&b);
    if (pos < input.size() && input.data()[pos] != 'B') {
      return InputError("rds", pos, "unexpected bytes after the bzip2 stream");
    }
  }
  return std::move(*sink).Finish();
}

absl::StatusOr<Buffer> Unxz(const Buffer& input, uint64_t max_bytes) {
  auto sink = std::make_unique<Sink>(RCompression::kXz, max_bytes, input.size());
  lzma_stream x = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&x, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
    return absl::InternalError("lzma_stream_decoder");
  }
  x.next_in = input.data();
  x.avail_in = input.size();
  lzma_ret rc = LZMA_OK;
  while (rc != LZMA_STREAM_END) {
    x.next_out = sink->chunk();
    x.avail_out = kChunk;
    rc = lzma_code(&x, x.avail_in == 0 ? LZMA_FINISH : LZMA_RUN);
    uint64_t pos = input.size() - x.avail_in;
    if (rc != LZMA_OK && rc != LZMA_STREAM_END) {
      lzma_end(&x);
      if (rc == LZMA_BUF_ERROR) {
        return InputError("rds", pos, "xz data ends before the end of its stream");
      }
      return Corrupt(RCompression::kXz, pos, absl::StrCat("lzma error ", static_cast<int>(rc)));
    }
    if (absl::Status s = sink->Flush(kChunk - x.avail_out); !s.ok()) {
      lzma_end(&x);
      return s;
    }
  }
  lzma_end(&x);
  return std::move(*sink).Finish();
}

// Output side: hands compressed bytes to the ByteWriter in its own blocks.
template <typename Step>
absl::Status Drain(ByteWriter& out, Step step) {
  // `step(space, available)` returns {bytes produced, done}.
  while (true) {
    size_t available = 0;
    uint8_t* space = out.WritableSpace(ByteWriter::kDefaultBlockSize, &available);
    auto [produced, done, status] = step(space, available);
    if (!status.ok()) return status;
    out.Commit(produced);
    if (done) return absl::OkStatus();
  }
}

struct StepResult {
  size_t produced;
  bool done;
  absl::Status status;
};

absl::Status Gzip(const BufferChain& input, ByteWriter& out) {
  static constexpr uint8_t kHeader[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  out.Append(kHeader, sizeof kHeader);
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("deflateInit2 failed");
  }
  uLong crc = crc32(0, nullptr, 0);
  uint64_t total = 0;
  const auto& pieces = input.pieces();
  for (size_t i = 0; i <= pieces.size(); ++i) {
    const bool last = i == pieces.size();
    const uint8_t* data = last ? nullptr : pieces[i].data();
    uint64_t left = last ? 0 : pieces[i].size();
    if (!last) {
      for (uint64_t off = 0; off < left;) {
        uInt n = static_cast<uInt>(std::min<uint64_t>(left - off, 1u << 30));
        crc = crc32(crc, data + off, n);
        off += n;
      }
      total += left;
    }
    do {
      uInt n = static_cast<uInt>(std::min<uint64_t>(left, 1u << 30));
      z.next_in = const_cast<Bytef*>(data);
      z.avail_in = n;
      const int flush = last ? Z_FINISH : Z_NO_FLUSH;
      absl::Status s = Drain(out, [&](uint8_t* space, size_t available) {
        z.next_out = space;
        z.avail_out = static_cast<uInt>(available);
        int rc = deflate(&z, flush);
        size_t produced = available - z.avail_out;
        if (rc == Z_STREAM_ERROR) {
          return StepResult{0, true, absl::InternalError("deflate failed")};
        }
        bool done = last ? rc == Z_STREAM_END : (z.avail_in == 0 && z.avail_out != 0);
        return StepResult{produced, done, absl::OkStatus()};
      });
      if (!s.ok()) {
        deflateEnd(&z);
        return s;
      }
      data += n;
      left -= n;
    } while (left > 0);
  }
  deflateEnd(&z);
  uint8_t trailer[8];
  for (int k = 0; k < 4; ++k) trailer[k] = static_cast<uint8_t>(crc >> (8 * k));
  for (int k = 0; k < 4; ++k) trailer[4 + k] = static_cast<uint8_t>(total >> (8 * k));
  out.Append(trailer, 8);
  return absl::OkStatus();
}

absl::Status Bzip2(const BufferChain& input, ByteWriter& out) {
  bz_stream b{};
  if (BZ2_bzCompressInit(&b, 9, 0, 0) != BZ_OK) return absl::InternalError("bzCompressInit");
  const auto& pieces = input.pieces();
  for (size_t i = 0; i <= pieces.size(); ++i) {
    const bool last = i == pieces.size();
    const char* data = last ? nullptr : reinterpret_cast<const char*>(pieces[i].data());
    uint64_t left = last ? 0 : pieces[i].size();
    do {
      unsigned n = static_cast<unsigned>(std::min<uint64_t>(left, 1u << 30));
      b.next_in = const_cast<char*>(data);
      b.avail_in = n;
      absl::Status s = Drain(out, [&](uint8_t* space, size_t available) {
        b.next_out = reinterpret_cast<char*>(space);
        b.avail_out = static_cast<unsigned>(available);
        int rc = BZ2_bzCompress(&b, last ? BZ_FINISH : BZ_RUN);
        size_t produced = available - b.avail_out;
        if (rc < 0) return StepResult{0, true, absl::InternalError("bzip2 compression failed")};
        bool done = last ? rc == BZ_STREAM_END : b.avail_in == 0;
        return StepResult{produced, done, absl::OkStatus()};
      });
      if (!s.ok()) {
        BZ2_bzCompressEnd(&b);
        return s;
      }
      data += n;
      left -= n;
    } while (left > 0);
  }
  BZ2_bzCompressEnd(&b);
  return absl::OkStatus();
}

absl::Status Xz(const BufferChain& input, ByteWriter& out) {
  lzma_options_lzma options;
  if (lzma_lzma_preset(&options, 6)) return absl::InternalError("lzma preset");
  lzma_filter filters[2] = {{LZMA_FILTER_LZMA2, &options}, {LZMA_VLI_UNKNOWN, nullptr}};
  lzma_stream x = LZMA_STREAM_INIT;
  if (lzma_stream_encoder(&x, filters, LZMA_CHECK_CRC32) != LZMA_OK) {
    return absl::InternalError("lzma_stream_encoder failed");
  }
  const auto& pieces = input.pieces();
  for (size_t i = 0; i <= pieces.size(); ++i) {
    const bool last = i == pieces.size();
    x.next_in = last ? nullptr : pieces[i].data();
    x.avail_in = last ? 0 : pieces[i].size();
    absl::Status s = Drain(out, [&](uint8_t* space, size_t available) {
      x.next_out = space;
      x.avail_out = available;
      lzma_ret rc = lzma_code(&x, last ? LZMA_FINISH : LZMA_RUN);
      size_t produced = available - x.avail_out;
      if (rc != LZMA_OK && rc != LZMA_STREAM_END) {
        return StepResult{0, true, absl::InternalError("xz compression failed")};
      }
      bool done = last ? rc == LZMA_STREAM_END : x.avail_in == 0;
      return StepResult{produced, done, absl::OkStatus()};
    });
    if (!s.ok()) {
      lzma_end(&x);
      return s;
    }
  }
  lzma_end(&x);
  return absl::OkStatus();
}

}  // namespace

RCompression DetectCompression(std::string_view head) {
  if (head.size() >= 2 && head[0] == '\x1f' && head[1] == '\x8b') return RCompression::kGzip;
  if (head.substr(0, 3) == "BZh") return RCompression::kBzip2;
  if (head.substr(0, 6) == std::string_view("\xfd"
                                            "7zXZ\0",
                                            6))
    return RCompression::kXz;
  return RCompression::kNone;
}

std::string_view CompressionName(RCompression compression) {
  switch (compression) {
    case RCompression::kGzip:
      return "gzip";
    case RCompression::kBzip2:
      return "bzip2";
    case RCompression::kXz:
      return "xz";
    case RCompression::kNone:
      break;
  }
  return "none";
}

absl::StatusOr<Buffer> Decompress(const Buffer& input, RCompression compression,
                                  uint64_t max_bytes) {
  switch (compression) {
    case RCompression::kGzip:
      return Gunzip(input, max_bytes);
    case RCompression::kBzip2:
      return Bunzip2(input, max_bytes);
    case RCompression::kXz:
      return Unxz(input, max_bytes);
    case RCompression::kNone:
      break;
  }
  return input;
}

absl::Status Compress(const BufferChain& input, RCompression compression, ByteWriter& out) {
  switch (compression) {
    case RCompression::kGzip:
      return Gzip(input, out);
    case RCompression::kBzip2:
      return Bzip2(input, out);
    case RCompression::kXz:
      return Xz(input, out);
    case RCompression::kNone:
      break;
  }
  for (const Buffer& piece : input.pieces()) out.AppendShared(piece);
  return absl::OkStatus();
}

}  // namespace seriald::rds
