#include "core/rds/compression.h"

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/format/codec.h"
#include "core/io/input_error.h"
#include "core/io/spillable_buffer.h"
#include "core/status_macros.h"

namespace seriald::rds {

// One compression library's decoder over a whole input: Produce fills `out` with up to `size`
// bytes of what follows, returning how many (0 only at the end of the data).
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual absl::StatusOr<size_t> Produce(uint8_t* out, size_t size) = 0;
};

namespace {

absl::Status Corrupt(RCompression kind, uint64_t offset, std::string_view detail) {
  return InputError(
      "rds", offset,
      absl::StrCat(AsAbsl(CompressionName(kind)), " data is corrupt (", AsAbsl(detail), ")"));
}

// The compressed input a decoder reads: chunks taken as they are needed, with the offset of the
// cursor for errors. A mapped chunk's pages are given back behind the cursor.
class CompressedSource {
 public:
  explicit CompressedSource(ChunkedInput::NextChunk next) : next_(std::move(next)) {}

  // Makes sure a byte is at the cursor; false at the end of the input.
  absl::StatusOr<bool> Fill() {
    while (pos_ == current_.size()) {
      if (ended_) return false;
      ASSIGN_OR_RETURN(std::optional<Buffer> chunk, next_());
      offset_ += current_.size();
      current_ = Buffer();
      pos_ = 0;
      if (!chunk.has_value()) {
        ended_ = true;
        return false;
      }
      current_ = *std::move(chunk);
    }
    return true;
  }
  // The bytes of the chunk at the cursor (after Fill).
  const uint8_t* data() const { return current_.data() + pos_; }
  size_t size() const { return current_.size() - pos_; }
  void Advance(size_t n) {
    current_.Slice(pos_, n).DropPages();
    pos_ += n;
  }
  uint64_t offset() const { return offset_ + pos_; }

 private:
  ChunkedInput::NextChunk next_;
  Buffer current_;
  size_t pos_ = 0;
  uint64_t offset_ = 0;
  bool ended_ = false;
};

// The most a compression library takes at once (its length fields are 32-bit).
constexpr size_t kMaxTake = size_t{1} << 30;

// Concatenated gzip members, then nothing or zero padding (as gzip reads them).
class GzipDecoder : public Decoder {
 public:
  explicit GzipDecoder(ChunkedInput::NextChunk input) : in_(std::move(input)) {}
  ~GzipDecoder() override {
    if (in_member_) inflateEnd(&z_);
  }

  absl::StatusOr<size_t> Produce(uint8_t* out, size_t size) override {
    while (true) {
      if (!in_member_) {
        ASSIGN_OR_RETURN(bool more, in_.Fill());
        if (!more) return 0;
        // Trailing zero padding after a member is ignored, as gzip does; anything else must be
        // another member.
        if (members_ > 0 && *in_.data() != 0x1f) {
          const uint64_t at = in_.offset();
          while (true) {
            ASSIGN_OR_RETURN(bool rest, in_.Fill());
            if (!rest) return 0;
            if (!std::all_of(in_.data(), in_.data() + in_.size(),
                             [](uint8_t b) { return b == 0; })) {
              return InputError("rds", at, "unexpected bytes after the gzip stream");
            }
            in_.Advance(in_.size());
          }
        }
        z_ = z_stream{};
        if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) return absl::InternalError("inflateInit2");
        in_member_ = true;
      }
      ASSIGN_OR_RETURN(bool more, in_.Fill());
      const size_t take = more ? std::min(in_.size(), kMaxTake) : 0;
      z_.next_in = more ? const_cast<Bytef*>(in_.data()) : nullptr;
      z_.avail_in = static_cast<uInt>(take);
      z_.next_out = out;
      z_.avail_out = static_cast<uInt>(size);
      const int rc = inflate(&z_, Z_NO_FLUSH);
      // A mapped input is resident only as far as inflate has not read it.
      in_.Advance(take - z_.avail_in);
      const size_t produced = size - z_.avail_out;
      if (rc == Z_STREAM_END) {
        inflateEnd(&z_);
        in_member_ = false;
        ++members_;
        if (produced > 0) return produced;
        continue;
      }
      if (produced > 0) return produced;
      const bool stalled = rc == Z_BUF_ERROR || rc == Z_OK;
      if (stalled && !more) {
        return InputError("rds", in_.offset(), "gzip data ends before the end of its stream");
      }
      if (rc != Z_OK) {
        return Corrupt(RCompression::kGzip, in_.offset(), z_.msg ? z_.msg : "inflate failed");
      }
    }
  }

 private:
  CompressedSource in_;
  z_stream z_{};
  bool in_member_ = false;
  uint64_t members_ = 0;
};

// Concatenated bzip2 streams.
class Bzip2Decoder : public Decoder {
 public:
  explicit Bzip2Decoder(ChunkedInput::NextChunk input) : in_(std::move(input)) {}
  ~Bzip2Decoder() override {
    if (in_stream_) BZ2_bzDecompressEnd(&b_);
  }

  absl::StatusOr<size_t> Produce(uint8_t* out, size_t size) override {
    while (true) {
      if (!in_stream_) {
        ASSIGN_OR_RETURN(bool more, in_.Fill());
        if (!more) return 0;
        if (streams_ > 0 && *in_.data() != 'B') {
          return InputError("rds", in_.offset(), "unexpected bytes after the bzip2 stream");
        }
        b_ = bz_stream{};
        if (BZ2_bzDecompressInit(&b_, 0, 0) != BZ_OK) {
          return absl::InternalError("bzDecompressInit");
        }
        in_stream_ = true;
      }
      ASSIGN_OR_RETURN(bool more, in_.Fill());
      const size_t take = more ? std::min(in_.size(), kMaxTake) : 0;
      b_.next_in = more ? const_cast<char*>(reinterpret_cast<const char*>(in_.data())) : nullptr;
      b_.avail_in = static_cast<unsigned>(take);
      b_.next_out = reinterpret_cast<char*>(out);
      b_.avail_out = static_cast<unsigned>(size);
      const int rc = BZ2_bzDecompress(&b_);
      in_.Advance(take - b_.avail_in);
      if (rc != BZ_OK && rc != BZ_STREAM_END) {
        return Corrupt(RCompression::kBzip2, in_.offset(), absl::StrCat("error ", rc));
      }
      const size_t produced = size - b_.avail_out;
      if (rc == BZ_STREAM_END) {
        BZ2_bzDecompressEnd(&b_);
        in_stream_ = false;
        ++streams_;
        if (produced > 0) return produced;
        continue;
      }
      if (produced > 0) return produced;
      if (!more) {
        return InputError("rds", in_.offset(), "bzip2 data ends before the end of its stream");
      }
    }
  }

 private:
  CompressedSource in_;
  bz_stream b_{};
  bool in_stream_ = false;
  uint64_t streams_ = 0;
};

// One or more concatenated xz streams (LZMA_CONCATENATED).
class XzDecoder : public Decoder {
 public:
  explicit XzDecoder(ChunkedInput::NextChunk input) : in_(std::move(input)) {}
  ~XzDecoder() override { lzma_end(&x_); }

  absl::Status Start() {
    if (lzma_stream_decoder(&x_, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
      return absl::InternalError("lzma_stream_decoder");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Produce(uint8_t* out, size_t size) override {
    while (!ended_) {
      ASSIGN_OR_RETURN(bool more, in_.Fill());
      const size_t take = more ? in_.size() : 0;
      x_.next_in = more ? in_.data() : nullptr;
      x_.avail_in = take;
      x_.next_out = out;
      x_.avail_out = size;
      // The end of the input is the end of the last stream.
      const lzma_ret rc = lzma_code(&x_, more ? LZMA_RUN : LZMA_FINISH);
      in_.Advance(take - x_.avail_in);
      if (rc != LZMA_OK && rc != LZMA_STREAM_END) {
        if (rc == LZMA_BUF_ERROR) {
          return InputError("rds", in_.offset(), "xz data ends before the end of its stream");
        }
        return Corrupt(RCompression::kXz, in_.offset(),
                       absl::StrCat("lzma error ", static_cast<int>(rc)));
      }
      ended_ = rc == LZMA_STREAM_END;
      const size_t produced = size - x_.avail_out;
      if (produced > 0) return produced;
    }
    return 0;
  }

 private:
  CompressedSource in_;
  lzma_stream x_ = LZMA_STREAM_INIT;
  bool ended_ = false;
};

// Collects decompressed output whole, in memory or in a spill file, reserving memory as it goes.
class Sink {
 public:
  Sink(const ReadOptions& options, uint64_t input_size, uint64_t max_bytes)
      : options_(options),
        buffer_(options.spill_dir, options.spill_above_bytes, options.reserve_spill) {
    // A guess that avoids regrowth for typical ratios without trusting the input.
    (void)buffer_.Reserve(static_cast<size_t>(
        std::min<uint64_t>(std::min<uint64_t>(input_size, uint64_t{1} << 28) * 4, max_bytes)));
  }
  absl::Status Add(const Buffer& piece) {
    // Memory is reserved here; a spill file's bytes are page cache, which the buffer counts as
    // disk itself (ReadOptions::reserve_spill).
    if (options_.reserve_memory && !buffer_.Spills(buffer_.size() + piece.size())) {
      RETURN_IF_ERROR(options_.reserve_memory(piece.size()));
    }
    return buffer_.Append(piece.data(), piece.size());
  }
  absl::StatusOr<Buffer> Finish() && { return std::move(buffer_).Finish(); }

 private:
  const ReadOptions& options_;
  SpillableBuffer buffer_;
};

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

absl::StatusOr<std::unique_ptr<Decompressor>> Decompressor::Create(const Buffer& input,
                                                                   RCompression compression,
                                                                   const ReadOptions& options) {
  // A MiB at a time: a mapped file's read from the file into a chunk used again (a slice of
  // memory would cost nothing at any size).
  return Create(ChunkedInput::ChunksOf(input, size_t{1} << 20), compression, options, input.size());
}

absl::StatusOr<std::unique_ptr<Decompressor>> Decompressor::Create(
    ChunkedInput::NextChunk input, RCompression compression, const ReadOptions& options,
    std::optional<uint64_t> input_size) {
  std::unique_ptr<Decompressor> d(new Decompressor());
  d->compression_ = compression;
  d->input_size_ = input_size.value_or(0);
  d->max_bytes_ = input_size.has_value() ? options.DecompressionLimit(*input_size)
                                         : options.max_decompressed_bytes;
  d->by_ratio_ = d->max_bytes_ < options.max_decompressed_bytes;
  d->ratio_ = options.max_decompression_ratio;
  switch (compression) {
    case RCompression::kGzip:
      d->decoder_ = std::make_unique<GzipDecoder>(std::move(input));
      break;
    case RCompression::kBzip2:
      d->decoder_ = std::make_unique<Bzip2Decoder>(std::move(input));
      break;
    case RCompression::kXz: {
      auto xz = std::make_unique<XzDecoder>(std::move(input));
      RETURN_IF_ERROR(xz->Start());
      d->decoder_ = std::move(xz);
      break;
    }
    case RCompression::kNone:
      return absl::InvalidArgumentError("Decompressor: the input is not compressed");
  }
  return d;
}

Decompressor::~Decompressor() = default;

absl::StatusOr<std::optional<Buffer>> Decompressor::Next() {
  if (ended_) return std::optional<Buffer>();
  auto [piece, bytes] = Buffer::Allocate(kPieceBytes);
  ASSIGN_OR_RETURN(size_t produced, decoder_->Produce(bytes, kPieceBytes));
  if (produced == 0) {
    ended_ = true;
    return std::optional<Buffer>();
  }
  if (produced > max_bytes_ - produced_) {
    ended_ = true;
    if (by_ratio_) {
      return LimitExceeded(
          "max-decompression-ratio",
          absl::StrCat("rds: ", AsAbsl(CompressionName(compression_)), " input of ", input_size_,
                       " bytes decompresses to more than ", max_bytes_, " bytes, ", ratio_,
                       " times its size (--max-decompression-ratio)"));
    }
    return LimitExceeded("max-decompressed-bytes",
                         absl::StrCat("rds: ", AsAbsl(CompressionName(compression_)),
                                      " input decompresses to more than ", max_bytes_,
                                      " bytes (--max-decompressed-bytes)"));
  }
  produced_ += produced;
  return std::optional<Buffer>(piece.Slice(0, produced));
}

absl::StatusOr<Buffer> Decompress(const Buffer& input, RCompression compression,
                                  const ReadOptions& options) {
  if (compression == RCompression::kNone) return input;
  ASSIGN_OR_RETURN(std::unique_ptr<Decompressor> decompressor,
                   Decompressor::Create(input, compression, options));
  auto sink =
      std::make_unique<Sink>(options, input.size(), options.DecompressionLimit(input.size()));
  while (true) {
    ASSIGN_OR_RETURN(std::optional<Buffer> piece, decompressor->Next());
    if (!piece.has_value()) break;
    RETURN_IF_ERROR(sink->Add(*piece));
  }
  return std::move(*sink).Finish();
}

absl::StatusOr<Buffer> Decompress(const Buffer& input, RCompression compression, uint64_t max_bytes,
                                  uint64_t max_ratio,
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
