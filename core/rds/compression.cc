#include "core/rds/compression.h"

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/format/codec.h"
#include "core/io/spillable_buffer.h"
#include "core/io/input_error.h"
#include "core/status_macros.h"

namespace seriald::rds {
namespace {

constexpr size_t kChunk = 1 << 20;

// How much decompressed output is allowed, and which option says so.
struct DecompressionBudget {
  uint64_t max_bytes = 0;
  bool by_ratio = false;  // the ratio bound is the tighter one
  uint64_t ratio = 0;
  const std::function<absl::Status(uint64_t)>* reserve = nullptr;
  const std::function<absl::Status(uint64_t)>* reserve_spill = nullptr;
  std::string spill_dir;  // see ReadOptions::spill_dir
  uint64_t spill_above = 0;
};

// Collects decompressed output in chunks under the limit.
class Sink {
 public:
  Sink(RCompression kind, const DecompressionBudget& budget, uint64_t input_size)
      : kind_(kind),
        budget_(budget),
        input_size_(input_size),
        max_bytes_(budget.max_bytes),
        buffer_(budget.spill_dir, budget.spill_above,
                budget.reserve_spill != nullptr ? *budget.reserve_spill : nullptr) {
    // A guess that avoids regrowth for typical ratios without trusting the input.
    (void)buffer_.Reserve(static_cast<size_t>(
        std::min<uint64_t>(std::min<uint64_t>(input_size, uint64_t{1} << 28) * 4, max_bytes_)));
  }
  uint8_t* chunk() { return chunk_; }
  absl::Status Flush(size_t n) {
    if (n > max_bytes_ - buffer_.size()) {
      if (budget_.by_ratio) {
        return LimitExceeded(
            "max-decompression-ratio",
            absl::StrCat("rds: ", AsAbsl(CompressionName(kind_)), " input of ", input_size_,
                         " bytes decompresses to more than ", max_bytes_, " bytes, ",
                         budget_.ratio, " times its size (--max-decompression-ratio)"));
      }
      return LimitExceeded(
          "max-decompressed-bytes",
          absl::StrCat("rds: ", AsAbsl(CompressionName(kind_)), " input decompresses to more than ",
                       max_bytes_, " bytes (--max-decompressed-bytes)"));
    }
    // Memory is reserved here; a spill file's bytes are page cache, which the buffer counts as
    // disk itself (ReadOptions::reserve_spill).
    if (budget_.reserve != nullptr && *budget_.reserve && !buffer_.Spills(buffer_.size() + n)) {
      RETURN_IF_ERROR((*budget_.reserve)(n));
    }
    return buffer_.Append(chunk_, n);
  }
  absl::StatusOr<Buffer> Finish() && { return std::move(buffer_).Finish(); }

 private:
  RCompression kind_;
  DecompressionBudget budget_;
  uint64_t input_size_;
  uint64_t max_bytes_;
  SpillableBuffer buffer_;
  uint8_t chunk_[kChunk];
};

absl::Status Corrupt(RCompression kind, uint64_t offset, std::string_view detail) {
  return InputError(
      "rds", offset,
      absl::StrCat(AsAbsl(CompressionName(kind)), " data is corrupt (", AsAbsl(detail), ")"));
}

absl::StatusOr<Buffer> Gunzip(const Buffer& input, const DecompressionBudget& budget) {
  auto sink = std::make_unique<Sink>(RCompression::kGzip, budget, input.size());
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
      // A mapped input is resident only as far as inflate has not read it.
      input.Slice(pos, take - z.avail_in).DropPages();
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

absl::StatusOr<Buffer> Bunzip2(const Buffer& input, const DecompressionBudget& budget) {
  auto sink = std::make_unique<Sink>(RCompression::kBzip2, budget, input.size());
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
      input.Slice(pos, take - b.avail_in).DropPages();
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

absl::StatusOr<Buffer> Unxz(const Buffer& input, const DecompressionBudget& budget) {
  auto sink = std::make_unique<Sink>(RCompression::kXz, budget, input.size());
  lzma_stream x = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&x, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
    return absl::InternalError("lzma_stream_decoder");
  }
  x.next_in = input.data();
  x.avail_in = input.size();
  lzma_ret rc = LZMA_OK;
  uint64_t read = 0;
  while (rc != LZMA_STREAM_END) {
    x.next_out = sink->chunk();
    x.avail_out = kChunk;
    rc = lzma_code(&x, x.avail_in == 0 ? LZMA_FINISH : LZMA_RUN);
    uint64_t pos = input.size() - x.avail_in;
    input.Slice(read, pos - read).DropPages();
    read = pos;
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

// Output side: runs `step(space, available)` -> {bytes produced, done} into the ByteWriter's own
// blocks until it is done.
struct StepResult {
  size_t produced;
  bool done;
  absl::Status status;
};

template <typename Step>
absl::Status Drain(ByteWriter& out, Step step) {
  while (true) {
    size_t available = 0;
    uint8_t* space = out.WritableSpace(ByteWriter::kDefaultBlockSize, &available);
    StepResult result = step(space, available);
    if (!result.status.ok()) return result.status;
    out.Commit(result.produced);
    if (result.done) return absl::OkStatus();
  }
}

// The inputs the compression libraries take at once (their length fields are 32-bit).
constexpr uint64_t kMaxStep = uint64_t{1} << 30;

// The member header R's gzfile() writes: no optional fields, no time stamp, OS 3 (Unix).
constexpr uint8_t kRGzipHeader[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};

class GzipCompressor : public Compressor {
 public:
  GzipCompressor(ByteWriter& out, std::string_view header) : out_(out), header_(header) {}
  ~GzipCompressor() override {
    if (started_) deflateEnd(&z_);
  }

  absl::Status Start() {
    if (header_.size() == sizeof kRGzipHeader) {
      out_.Append(header_);
    } else {
      out_.Append(kRGzipHeader, sizeof kRGzipHeader);
    }
    if (deflateInit2(&z_, 6, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
      return absl::InternalError("deflateInit2 failed");
    }
    started_ = true;
    crc_ = crc32(0, nullptr, 0);
    return absl::OkStatus();
  }

  absl::Status Add(std::string_view bytes) override {
    while (!bytes.empty()) {
      const uInt n = static_cast<uInt>(std::min<uint64_t>(bytes.size(), kMaxStep));
      crc_ = crc32(crc_, reinterpret_cast<const Bytef*>(bytes.data()), n);
      total_ += n;
      RETURN_IF_ERROR(Run(reinterpret_cast<const Bytef*>(bytes.data()), n, Z_NO_FLUSH));
      bytes.remove_prefix(n);
    }
    return absl::OkStatus();
  }

  absl::Status Finish() override {
    RETURN_IF_ERROR(Run(nullptr, 0, Z_FINISH));
    uint8_t trailer[8];
    for (int k = 0; k < 4; ++k) trailer[k] = static_cast<uint8_t>(crc_ >> (8 * k));
    for (int k = 0; k < 4; ++k) trailer[4 + k] = static_cast<uint8_t>(total_ >> (8 * k));
    out_.Append(trailer, 8);
    return absl::OkStatus();
  }

 private:
  absl::Status Run(const Bytef* data, uInt size, int flush) {
    z_.next_in = const_cast<Bytef*>(data);
    z_.avail_in = size;
    return Drain(out_, [&](uint8_t* space, size_t available) {
      z_.next_out = space;
      z_.avail_out = static_cast<uInt>(std::min<size_t>(available, kMaxStep));
      const uInt offered = z_.avail_out;
      int rc = deflate(&z_, flush);
      size_t produced = offered - z_.avail_out;
      if (rc == Z_STREAM_ERROR) return StepResult{0, true, absl::InternalError("deflate failed")};
      bool done = flush == Z_FINISH ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0);
      return StepResult{produced, done, absl::OkStatus()};
    });
  }

  ByteWriter& out_;
  const std::string_view header_;
  z_stream z_{};
  bool started_ = false;
  uLong crc_ = 0;
  uint64_t total_ = 0;
};

class Bzip2Compressor : public Compressor {
 public:
  explicit Bzip2Compressor(ByteWriter& out) : out_(out) {}
  ~Bzip2Compressor() override {
    if (started_) BZ2_bzCompressEnd(&b_);
  }

  absl::Status Start() {
    if (BZ2_bzCompressInit(&b_, 9, 0, 0) != BZ_OK) return absl::InternalError("bzCompressInit");
    started_ = true;
    return absl::OkStatus();
  }

  absl::Status Add(std::string_view bytes) override {
    while (!bytes.empty()) {
      const unsigned n = static_cast<unsigned>(std::min<uint64_t>(bytes.size(), kMaxStep));
      RETURN_IF_ERROR(Run(bytes.data(), n, BZ_RUN));
      bytes.remove_prefix(n);
    }
    return absl::OkStatus();
  }

  absl::Status Finish() override { return Run(nullptr, 0, BZ_FINISH); }

 private:
  absl::Status Run(const char* data, unsigned size, int action) {
    b_.next_in = const_cast<char*>(data);
    b_.avail_in = size;
    return Drain(out_, [&](uint8_t* space, size_t available) {
      b_.next_out = reinterpret_cast<char*>(space);
      b_.avail_out = static_cast<unsigned>(std::min<size_t>(available, kMaxStep));
      const unsigned offered = b_.avail_out;
      int rc = BZ2_bzCompress(&b_, action);
      size_t produced = offered - b_.avail_out;
      if (rc < 0) return StepResult{0, true, absl::InternalError("bzip2 compression failed")};
      bool done = action == BZ_FINISH ? rc == BZ_STREAM_END : b_.avail_in == 0;
      return StepResult{produced, done, absl::OkStatus()};
    });
  }

  ByteWriter& out_;
  bz_stream b_{};
  bool started_ = false;
};

class XzCompressor : public Compressor {
 public:
  explicit XzCompressor(ByteWriter& out) : out_(out) {}
  ~XzCompressor() override { lzma_end(&x_); }

  absl::Status Start() {
    lzma_options_lzma options;
    if (lzma_lzma_preset(&options, 6)) return absl::InternalError("lzma preset");
    lzma_filter filters[2] = {{LZMA_FILTER_LZMA2, &options}, {LZMA_VLI_UNKNOWN, nullptr}};
    if (lzma_stream_encoder(&x_, filters, LZMA_CHECK_CRC32) != LZMA_OK) {
      return absl::InternalError("lzma_stream_encoder failed");
    }
    return absl::OkStatus();
  }

  absl::Status Add(std::string_view bytes) override {
    return Run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), LZMA_RUN);
  }

  absl::Status Finish() override { return Run(nullptr, 0, LZMA_FINISH); }

 private:
  absl::Status Run(const uint8_t* data, size_t size, lzma_action action) {
    x_.next_in = data;
    x_.avail_in = size;
    return Drain(out_, [&](uint8_t* space, size_t available) {
      x_.next_out = space;
      x_.avail_out = available;
      lzma_ret rc = lzma_code(&x_, action);
      size_t produced = available - x_.avail_out;
      if (rc != LZMA_OK && rc != LZMA_STREAM_END) {
        return StepResult{0, true, absl::InternalError("xz compression failed")};
      }
      bool done = action == LZMA_FINISH ? rc == LZMA_STREAM_END : x_.avail_in == 0;
      return StepResult{produced, done, absl::OkStatus()};
    });
  }

  ByteWriter& out_;
  lzma_stream x_ = LZMA_STREAM_INIT;
};

// kNone: the bytes as they are.
class CopyingCompressor : public Compressor {
 public:
  explicit CopyingCompressor(ByteWriter& out) : out_(out) {}
  absl::Status Add(std::string_view bytes) override {
    out_.Append(bytes);
    return absl::OkStatus();
  }
  absl::Status Finish() override { return absl::OkStatus(); }

 private:
  ByteWriter& out_;
};

template <typename T, typename... Args>
absl::StatusOr<std::unique_ptr<Compressor>> Started(ByteWriter& out, Args... args) {
  auto compressor = std::make_unique<T>(out, args...);
  RETURN_IF_ERROR(compressor->Start());
  return std::unique_ptr<Compressor>(std::move(compressor));
}

}  // namespace

std::string DistinctGzipHeader(std::string_view input) {
  // FLG (byte 3) 0: no name, comment, extra field or header CRC follows the 10 bytes.
  if (input.size() < sizeof kRGzipHeader || input[0] != '\x1f' || input[1] != '\x8b' ||
      input[3] != 0) {
    return {};
  }
  const std::string_view header = input.substr(0, sizeof kRGzipHeader);
  if (header ==
      std::string_view(reinterpret_cast<const char*>(kRGzipHeader), sizeof kRGzipHeader)) {
    return {};
  }
  return std::string(header);
}

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
                                  const ReadOptions& options) {
  DecompressionBudget budget;
  budget.max_bytes = options.DecompressionLimit(input.size());
  budget.by_ratio = budget.max_bytes < options.max_decompressed_bytes;
  budget.ratio = options.max_decompression_ratio;
  budget.reserve = &options.reserve_memory;
  budget.reserve_spill = &options.reserve_spill;
  budget.spill_dir = options.spill_dir;
  budget.spill_above = options.spill_above_bytes;
  switch (compression) {
    case RCompression::kGzip:
      return Gunzip(input, budget);
    case RCompression::kBzip2:
      return Bunzip2(input, budget);
    case RCompression::kXz:
      return Unxz(input, budget);
    case RCompression::kNone:
      break;
  }
  return input;
}

absl::StatusOr<Buffer> Decompress(const Buffer& input, RCompression compression,
                                  uint64_t max_bytes, uint64_t max_ratio,
                                  const std::function<absl::Status(uint64_t bytes)>& reserve) {
  ReadOptions options;
  options.max_decompressed_bytes = max_bytes;
  options.max_decompression_ratio = max_ratio;
  options.reserve_memory = reserve;
  return Decompress(input, compression, options);
}

absl::StatusOr<std::unique_ptr<Compressor>> Compressor::Create(RCompression compression,
                                                               ByteWriter& out,
                                                               std::string_view gzip_header) {
  switch (compression) {
    case RCompression::kGzip:
      return Started<GzipCompressor>(out, gzip_header);
    case RCompression::kBzip2:
      return Started<Bzip2Compressor>(out);
    case RCompression::kXz:
      return Started<XzCompressor>(out);
    case RCompression::kNone:
      break;
  }
  return std::unique_ptr<Compressor>(std::make_unique<CopyingCompressor>(out));
}

absl::Status Compress(const BufferChain& input, RCompression compression, ByteWriter& out) {
  ASSIGN_OR_RETURN(std::unique_ptr<Compressor> compressor, Compressor::Create(compression, out));
  for (const Buffer& piece : input.pieces()) RETURN_IF_ERROR(compressor->Add(piece.view()));
  return compressor->Finish();
}

}  // namespace seriald::rds
