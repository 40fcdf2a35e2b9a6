// File: core/rds/compression.h
//
// The compressed containers R's connections read and write (gzfile, bzfile, xzfile): detection
// by magic bytes, bounded decompression, and compression with the settings R uses so that files
// come out as saveRDS()/save() write them:
//   gzip   R's own gzio (connections.c, gzio.h): a 10-byte header with no name and no time,
//          OS byte 3, raw deflate at level 6 (memLevel 9, default strategy), CRC-32 and size
//   bzip2  BZ2_bzWriteOpen with blockSize100k 9, workFactor 0
//   xz     lzma_stream_encoder with an LZMA2 filter at preset 6 and a CRC-32 check
// Concatenated members/streams are read as R does (one after the other).
//
// Example:
//
//   RCompression kind = rds::DetectCompression(input.view());
//   ASSIGN_OR_RETURN(Buffer plain, rds::Decompress(input, kind, options.max_decompressed_bytes));
//
//   ByteWriter out;
//   ASSIGN_OR_RETURN(auto xz, rds::Compressor::Create(RCompression::kXz, out));
//   RETURN_IF_ERROR(xz->Add(piece));        // as the stream is produced
//   RETURN_IF_ERROR(xz->Finish());
#ifndef SERIALD_CORE_RDS_COMPRESSION_H_
#define SERIALD_CORE_RDS_COMPRESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/io/buffer.h"
#include "core/format/codec.h"
#include "core/io/byte_writer.h"
#include "core/io/chunked_input.h"
#include "core/model/value.h"

namespace seriald::rds {

// The compression whose magic `head` starts with (gzip 1f 8b, bzip2 "BZh", xz fd 37 7a 58 5a 00),
// else kNone.
RCompression DetectCompression(std::string_view head);

// "gzip", "bzip2", "xz", "none".
std::string_view CompressionName(RCompression compression);

// The decompressed bytes of `input`. INVALID_ARGUMENT (an InputError at the compressed offset)
// when the data is corrupt or truncated; RESOURCE_EXHAUSTED as soon as the output would exceed
// `max_bytes` (LimitExceeded "max-decompressed-bytes") or `max_ratio` times the input's size,
// when that is larger than ReadOptions::kDecompressionFloorBytes ("max-decompression-ratio";
// max_ratio 0: no such bound).
// `reserve`, when set, is called with each piece's size before it is added to the output.
absl::StatusOr<Buffer> Decompress(
    const Buffer& input, RCompression compression, uint64_t max_bytes, uint64_t max_ratio = 0,
    const std::function<absl::Status(uint64_t bytes)>& reserve = nullptr);
// The same with ReadOptions' bounds and reservation, spilling output larger than
// options.spill_above_bytes to a file in options.spill_dir (not reserved).
absl::StatusOr<Buffer> Decompress(const Buffer& input, RCompression compression,
                                  const ReadOptions& options);

// Decompresses a whole compressed input a piece at a time, as the pieces are asked for, under
// the bounds Decompress applies (the same errors): readers that convert as they read (the R
// transcoder) never hold the decompressed stream whole. A mapped input's pages are given back
// behind the decoder.
class Decoder;
class Decompressor {
 public:
  static constexpr size_t kPieceBytes = size_t{1} << 20;

  // `compression` is not kNone. `options` gives the bounds (DecompressionLimit); nothing is
  // reserved or spilled: the pieces belong to the caller.
  static absl::StatusOr<std::unique_ptr<Decompressor>> Create(const Buffer& input,
                                                              RCompression compression,
                                                              const ReadOptions& options);
  // The same over compressed input that arrives a chunk at a time; `input_size`, when known,
  // gives the ratio bound (without it only options.max_decompressed_bytes applies). Error
  // offsets count from the first chunk.
  static absl::StatusOr<std::unique_ptr<Decompressor>> Create(ChunkedInput::NextChunk input,
                                                              RCompression compression,
                                                              const ReadOptions& options,
                                                              std::optional<uint64_t> input_size);
  ~Decompressor();

  // The next piece of the decompressed stream (at most kPieceBytes, a buffer of its own), or
  // nullopt at its end.
  absl::StatusOr<std::optional<Buffer>> Next();

 private:
  Decompressor() = default;

  std::unique_ptr<Decoder> decoder_;
  RCompression compression_ = RCompression::kNone;
  uint64_t input_size_ = 0;
  uint64_t max_bytes_ = 0;
  bool by_ratio_ = false;
  uint64_t ratio_ = 0;
  uint64_t produced_ = 0;
  bool ended_ = false;
};

// The 10-byte header of a gzip file when it is a plain one (no optional fields) that differs from
// the header R writes; empty otherwise.
std::string DistinctGzipHeader(std::string_view input);

// Compresses a stream as R would, taking it piece by piece as it is produced so that the
// uncompressed stream never has to exist whole, and appending the result to `out`.
class Compressor {
 public:
  // kNone copies the bytes as they are. `gzip_header`, when not empty, is the 10-byte gzip member
  // header to write instead of the one R writes (a source's, to reproduce it).
  static absl::StatusOr<std::unique_ptr<Compressor>> Create(RCompression compression,
                                                            ByteWriter& out,
                                                            std::string_view gzip_header = {});
  virtual ~Compressor() = default;
  virtual absl::Status Add(std::string_view bytes) = 0;
  // Ends the compressed stream (trailers, checksums).
  virtual absl::Status Finish() = 0;
};

// Appends `input` compressed as R would to `out`. kNone appends the bytes as they are.
absl::Status Compress(const BufferChain& input, RCompression compression, ByteWriter& out);

}  // namespace seriald::rds

#endif  // SERIALD_CORE_RDS_COMPRESSION_H_
