// Fuzz target: the R reader (serialize() streams in XDR, native, ascii and asciihex encodings,
// versions 2 and 3; gzip, bzip2 and xz containers; save() files) and every R writer ("rds",
// "rds-native", "rds-ascii", "rds-asciihex", "rdata"), plus one conversion to another family.
//
// Input: two option bytes, then the R input.
//   byte 0, bit  0    read with ReadOptions::r_normalize (what R's unserialize() changes)
//           bits 1-2  variant write: version 1 -> 2, 2 -> 3, otherwise the source's
//           bits 3-4  variant write: compression none, gzip, bzip2, xz (none for streams over
//                     kMaxCompressedRewriteBytes)
//           bits 5-7  conversion target: t7, t7-ascii, safetensors, npz, npz-compressed, npy,
//                     json, t7
//   byte 1, bits 0-2  variant write codec: rds, rds-native, rds-ascii, rds-asciihex, rdata
//                     (5-7: rds)
//           bit  3    conversion: drop what the target cannot hold
//           bit  4    conversion: allow inexact integers
//           bit  5    conversion: strict arrays
//           bits 6-7  chunk size of the transcoder's input: 1, 7, 512, 65536 bytes
// Seeds (fuzz/make_seeds.sh) are R files with two zero bytes in front.
//
// Checks: reading never crashes or exceeds the limits of BoundedReadOptions, and a copy of the
// input lent to the reader (ReadOptions::input_is_scratch) reads to the same value or error; when
// it succeeds,
// each R writer (uncompressed), the value's own format with the source's compression, and the
// variant write work or fail cleanly, and each output reads back and is a fixpoint (written,
// read and written again gives the same bytes; for R's lossy ascii doubles, from the second
// generation on); the conversion's output reads back in the target format. Without r_normalize,
// the R transcoder (core/rds/transcoder.h) gives the variant write's bytes (uncompressed), or
// stops having written a prefix of them, and never refuses what the reader reads.
//
// Run: make fuzz (all targets), or by hand:
//   build-fuzz/fuzz/rds_fuzzer -max_len=65536 -rss_limit_mb=2048 \
//       build-fuzz/corpus/rds_fuzzer build-fuzz/seeds/rds_fuzzer
//   build-fuzz/fuzz/rds_fuzzer CRASH_FILE                 # reproduce one input
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/io/chunked_input.h"
#include "core/rds/codec.h"
#include "core/rds/compression.h"
#include "core/rds/reader.h"
#include "core/rds/transcoder.h"
#include "core/rds/writer.h"
#include "fuzz/fuzz_common.h"

namespace seriald::fuzz {
namespace {

constexpr const char* kWriters[] = {"rds", "rds-native", "rds-ascii", "rds-asciihex", "rdata"};
constexpr const char* kConversionTargets[] = {
    "t7", "t7-ascii", "safetensors", "npz", "npz-compressed", "npy", "json", "t7"};

constexpr size_t kTranscoderSteps[] = {1, 7, 512, 65536};

// The R transcoder (core/rds/transcoder.h) on the uncompressed stream of an input the reader
// reads, cut into `step`-byte chunks: it writes exactly what the object graph writes with the
// codec and options (uncompressed), or stops having written a prefix of that; it never refuses
// what the reader reads.
void CheckTranscoder(const Buffer& input, const Value& value, const Codec& codec,
                     const WriteOptions& options, const ReadOptions& read_options, size_t step) {
  rds::RWriteSettings settings = rds::CodecWriteSettings(codec.name(), value.source().r, options);
  settings.compression = RCompression::kNone;
  ByteWriter graph_out;
  if (!WriteR(value, settings, graph_out).ok()) return;
  BufferChain graph_chain;
  FUZZ_CHECK(graph_out.Finish(&graph_chain).ok(), "ByteWriter::Finish failed");
  const std::string graph = graph_chain.ToString();

  absl::StatusOr<Buffer> stream =
      rds::Decompress(input, rds::DetectCompression(input.view()), read_options);
  FUZZ_CHECK(stream.ok(), "the reader read what does not decompress: " + Describe(stream.status()));
  ChunkedInput in(ChunkedInput::ChunksOf(*stream, step), "rds", stream->size());
  ByteWriter out;
  auto settings_for = [&](const RStreamInfo& source) -> absl::StatusOr<rds::RWriteSettings> {
    RStreamInfo with_container = source;
    with_container.compression = value.source().r->compression;
    with_container.gzip_header = value.source().r->gzip_header;
    rds::RWriteSettings s = rds::CodecWriteSettings(codec.name(), with_container, options);
    s.compression = RCompression::kNone;
    return s;
  };
  absl::StatusOr<RTranscodeOutcome> outcome = TranscodeR(in, settings_for, out, read_options);
  FUZZ_CHECK(outcome.ok(), "TranscodeR refused what ReadR reads: " + Describe(outcome.status()));
  BufferChain chain;
  FUZZ_CHECK(out.Finish(&chain).ok(), "ByteWriter::Finish failed");
  const std::string written = chain.ToString();
  if (outcome->complete) {
    FUZZ_CHECK(written == graph, "TranscodeR wrote other bytes than the object graph");
  } else {
    FUZZ_CHECK(written.size() == outcome->emitted && graph.compare(0, written.size(), written) == 0,
               "TranscodeR stopped (" + outcome->reason +
                   ") having written what the object graph does not start with");
  }
}

void FuzzOne(const uint8_t* data, size_t size) {
  OptionBytes options(data, size, 2);
  const Buffer& input = options.Rest();

  ReadOptions read_options = BoundedReadOptions();
  read_options.max_decompressed_bytes = uint64_t{4} << 20;
  read_options.r_normalize = options.Bit(0);
  absl::StatusOr<Value> value = ReadR(input, read_options);
  // Lent a copy of its input (ReadOptions::input_is_scratch), the reader swaps XDR vectors where
  // they are: the same value, or the same error.
  ReadOptions lent_options = read_options;
  lent_options.input_is_scratch = true;
  const absl::StatusOr<Value> lent = ReadR(Buffer::Copy(input.view()), lent_options);
  FUZZ_CHECK(
      lent.ok() == value.ok() && (value.ok() ? *lent == *value : lent.status() == value.status()),
      "a lent input read otherwise: " + (lent.ok() ? "OK" : Describe(lent.status())) + " against " +
          (value.ok() ? "OK" : Describe(value.status())));
  if (!value.ok()) return;
  FUZZ_CHECK(value->Validate().ok(), "ReadR gave an invalid Value: " + Describe(value->Validate()));
  FUZZ_CHECK(value->roots().size() == 1,
             "ReadR gave " + std::to_string(value->roots().size()) + " roots");
  FUZZ_CHECK(value->source().r.has_value(), "ReadR left source().r unset");

  // Every writer without compression, then the value's own format with the source's
  // compression (gzip, bzip2, xz) and the variant, while the stream is small enough to compress
  // quickly.
  WriteOptions uncompressed = BoundedWriteOptions();
  uncompressed.r_compression = RCompression::kNone;
  bool small = false;
  for (const char* name : kWriters) {
    absl::StatusOr<Buffer> stream =
        CheckWrite(CodecNamed(name), *value, uncompressed, /*fixpoint=*/true);
    if (std::string_view(name) == "rds") {
      small = stream.ok() && stream->size() <= kMaxCompressedRewriteBytes;
    }
  }
  const Codec& own = CodecNamed(CodecNamed("rds").FormatOf(*value));
  (void)CheckWrite(own, *value, small ? BoundedWriteOptions() : uncompressed, /*fixpoint=*/true);

  WriteOptions variant = BoundedWriteOptions();
  switch (options.Bits(1, 2)) {
    case 1:
      variant.r_version = 2;
      break;
    case 2:
      variant.r_version = 3;
      break;
  }
  const RCompression compressions[] = {RCompression::kNone, RCompression::kGzip,
                                       RCompression::kBzip2, RCompression::kXz};
  variant.r_compression = small ? compressions[options.Bits(3, 2)] : RCompression::kNone;
  const uint32_t writer = options.Bits(8, 3);
  const Codec& variant_codec = CodecNamed(kWriters[writer < 5 ? writer : 0]);
  (void)CheckWrite(variant_codec, *value, variant, /*fixpoint=*/true);
  if (!read_options.r_normalize) {
    CheckTranscoder(input, *value, variant_codec, variant, read_options,
                    kTranscoderSteps[options.Bits(14, 2)]);
  }

  WriteOptions convert = BoundedWriteOptions();
  convert.drop_unconvertible = options.Bit(11);
  convert.allow_inexact_integers = options.Bit(12);
  convert.strict_arrays = options.Bit(13);
  (void)CheckConvert(CodecNamed("rds"), CodecNamed(kConversionTargets[options.Bits(5, 3)]), input,
                     read_options, convert);
}

}  // namespace
}  // namespace seriald::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seriald::fuzz::FuzzOne(data, size);
  return 0;
}
