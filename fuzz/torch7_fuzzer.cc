// Fuzz target: the Torch7 reader (binary and ascii, every layout) and both Torch7 writers, plus
// one conversion to another family.
//
// Input: two option bytes, then the Torch7 stream.
//   byte 0, bits 0-1  read mode: 1 binary, 2 ascii, otherwise detect
//           bits 2-3  forced long size: 1 -> 4, 2 -> 8, otherwise detected
//           bits 4-5  forced byte order: 1 little, 2 big, otherwise detected
//           bit  6    read exactly one object (torch.serialize's extent) instead of the stream
//   byte 1, bit  0    variant write: 4-byte longs (else 8)
//           bit  1    variant write: big-endian
//           bit  2    variant write: unreferenced (torch.save(..., referenced = false))
//           bits 3-5  conversion target: rds, rds-ascii, rdata, safetensors, npz, npy, json,
//                     t7-ascii
//           bit  6    conversion: drop what the target cannot hold
//           bit  7    conversion: allow inexact integers
// Seeds (fuzz/make_seeds.sh) are the Torch7 corpus with two zero bytes in front.
//
// Checks: reading never crashes or exceeds the limits of BoundedReadOptions; when it succeeds,
// writing the value as "t7" (its layout), "t7-ascii" and the variant layout works or fails
// cleanly, and each output reads back and is a fixpoint (written, read and written again gives
// the same bytes); the conversion's output reads back in the target format. The streamed
// conversion (TranscodeTorch7, the input cut into chunks of 1 to 8 bytes or 512 bytes to
// 64 KiB) into the variant layout (referenced) and into ascii agrees with the object graph's: it
// fails exactly where ReadTorch7 or WriteTorch7 does, and otherwise writes the same bytes; so
// does the conversion into the variant layout with the input's layout decided from its first
// half (at least 4 KiB), as the service decides it, where it must also fail when ReadTorch7 takes
// another layout.
//
// Run: make fuzz (all targets), or by hand:
//   build-fuzz/fuzz/torch7_fuzzer -max_len=65536 -rss_limit_mb=2048 \
//       build-fuzz/corpus/torch7_fuzzer build-fuzz/seeds/torch7_fuzzer
//   build-fuzz/fuzz/torch7_fuzzer CRASH_FILE              # reproduce one input
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/io/byte_writer.h"
#include "core/io/chunked_input.h"
#include "core/torch7/codec.h"
#include "core/torch7/reader.h"
#include "core/torch7/transcoder.h"
#include "core/torch7/writer.h"
#include "fuzz/fuzz_common.h"

namespace seriald::fuzz {
namespace {

constexpr const char* kConversionTargets[] = {"rds", "rds-ascii", "rdata", "safetensors",
                                              "npz", "npy",       "json",  "t7-ascii"};

// Written through the object graph: WriteTorch7(value) in `layout`.
absl::StatusOr<std::string> ThroughValue(const Value& value, const Torch7Layout& layout) {
  ByteWriter out;
  absl::Status written = WriteTorch7(value, layout, out);
  BufferChain bytes;
  absl::Status finished = out.Finish(&bytes);
  if (!written.ok()) return written;
  if (!finished.ok()) return finished;
  return bytes.ToString();
}

// The streamed conversion of `input` into `layout`, in chunks of `step` bytes.
absl::StatusOr<std::string> Streamed(const Buffer& input, const Torch7StreamLayout& from,
                                     const Torch7Layout& layout, size_t step,
                                     const ReadOptions& options) {
  ChunkedInput in(ChunkedInput::ChunksOf(input, step), "torch7", input.size());
  ByteWriter out;
  absl::Status status = TranscodeTorch7(in, from, layout, out, options);
  BufferChain bytes;
  absl::Status finished = out.Finish(&bytes);
  if (!status.ok()) return status;
  if (!finished.ok()) return finished;
  return bytes.ToString();
}

// The streamed conversion of a value ReadTorch7 read fails exactly when WriteTorch7 does, and
// otherwise writes its bytes.
void CheckAgainstGraph(const absl::StatusOr<std::string>& streamed, const Value& value,
                       const Torch7Layout& layout, const std::string& what) {
  absl::StatusOr<std::string> expected = ThroughValue(value, layout);
  FUZZ_CHECK(streamed.ok() == expected.ok(),
             what + " and WriteTorch7(ReadTorch7()) disagree: " + Describe(streamed.status()) +
                 " vs " + Describe(expected.status()));
  if (streamed.ok()) {
    FUZZ_CHECK(*streamed == *expected, what + " wrote other bytes than WriteTorch7(ReadTorch7())");
  }
}

void CheckTranscoder(const Buffer& input, const ReadOptions& read_options, Torch7Mode mode,
                     const absl::StatusOr<Value>& value, const WriteOptions& variant, size_t step) {
  absl::StatusOr<std::optional<Torch7StreamLayout>> decided =
      DecideTorch7StreamLayout(input, /*whole_input=*/true, input.size(), read_options, mode);
  if (!decided.ok()) {
    FUZZ_CHECK(!value.ok(), "DecideTorch7StreamLayout refused what ReadTorch7 read: " +
                                Describe(decided.status()));
    return;
  }
  if (!decided->has_value()) return;  // left to ReadTorch7
  FUZZ_CHECK(!(*decided)->check_other_long_size,
             "a whole input was decided needing the other long size checked");
  if (value.ok()) {
    const Torch7Layout& read_as = *value->source().torch7;
    FUZZ_CHECK(read_as.ascii == (*decided)->layout.ascii &&
                   read_as.long_size == (*decided)->layout.long_size &&
                   read_as.big_endian == (*decided)->layout.big_endian,
               "the streamed conversion decided another layout than ReadTorch7");
  }
  for (bool ascii : {false, true}) {
    const Torch7Layout layout = Torch7OutputLayout((*decided)->layout, variant, ascii);
    absl::StatusOr<std::string> streamed = Streamed(input, **decided, layout, step, read_options);
    if (!value.ok()) {
      FUZZ_CHECK(!streamed.ok(),
                 "TranscodeTorch7 accepted what ReadTorch7 refuses: " + Describe(value.status()));
      return;
    }
    CheckAgainstGraph(streamed, *value, layout, "TranscodeTorch7");
  }
}

// Decided from the first half of the input (at least the 4 KiB detection looks at), as the
// service decides from a stream's first chunks: the conversion succeeds exactly when ReadTorch7
// reads the whole input with the layout the prefix took (TranscodeTorch7 checks the other long size
// as it goes when the prefix could not be sure), and then writes WriteTorch7(ReadTorch7())'s bytes.
void CheckTranscoderFromPrefix(const Buffer& input, const ReadOptions& read_options,
                               Torch7Mode mode, const absl::StatusOr<Value>& value,
                               const WriteOptions& variant, size_t step) {
  // The service decides from at least 64 KiB, past what detection looks at (the first 4 KiB):
  // shorter prefixes may tell binary from ascii otherwise than the whole input.
  constexpr size_t kSniffedBytes = 4096;
  const size_t prefix = std::max(input.size() / 2, kSniffedBytes);
  if (prefix >= input.size()) return;
  absl::StatusOr<std::optional<Torch7StreamLayout>> decided = DecideTorch7StreamLayout(
      input.Slice(0, prefix), /*whole_input=*/false, std::nullopt, read_options, mode);
  if (!decided.ok() || !decided->has_value()) return;
  const Torch7Layout layout = Torch7OutputLayout((*decided)->layout, variant, /*ascii=*/false);
  absl::StatusOr<std::string> streamed = Streamed(input, **decided, layout, step, read_options);
  const bool read_alike = value.ok() && value->source().torch7->ascii == (*decided)->layout.ascii &&
                          value->source().torch7->long_size == (*decided)->layout.long_size &&
                          value->source().torch7->big_endian == (*decided)->layout.big_endian;
  if (!read_alike) {
    FUZZ_CHECK(!streamed.ok(),
               "a conversion decided from a prefix succeeded where ReadTorch7 of the whole input " +
                   (value.ok() ? std::string("took another layout") : Describe(value.status())));
    return;
  }
  CheckAgainstGraph(streamed, *value, layout, "TranscodeTorch7 decided from a prefix");
}

void FuzzOne(const uint8_t* data, size_t size) {
  OptionBytes options(data, size, 2);
  const Buffer& input = options.Rest();

  ReadOptions read_options = BoundedReadOptions();
  Torch7Mode mode = Torch7Mode::kDetect;
  switch (options.Bits(0, 2)) {
    case 1:
      mode = Torch7Mode::kBinary;
      break;
    case 2:
      mode = Torch7Mode::kAscii;
      break;
  }
  switch (options.Bits(2, 2)) {
    case 1:
      read_options.torch7_long_size = 4;
      break;
    case 2:
      read_options.torch7_long_size = 8;
      break;
  }
  switch (options.Bits(4, 2)) {
    case 1:
      read_options.torch7_big_endian = false;
      break;
    case 2:
      read_options.torch7_big_endian = true;
      break;
  }
  const Torch7Extent extent =
      options.Bit(6) ? Torch7Extent::kOneObject : Torch7Extent::kWholeStream;

  absl::StatusOr<Value> value = ReadTorch7(input, read_options, mode, extent);
  WriteOptions variant = BoundedWriteOptions();
  variant.torch7_long_size = options.Bit(8) ? 4 : 8;
  variant.torch7_big_endian = options.Bit(9);
  if (extent == Torch7Extent::kWholeStream) {
    // Tiny chunks (every read gathers) or large ones (reads are slices of the chunk).
    const size_t step =
        options.Bit(14) ? 1 + options.Bits(11, 3) : size_t{512} << options.Bits(11, 3);
    CheckTranscoder(input, read_options, mode, value, variant, step);
    CheckTranscoderFromPrefix(input, read_options, mode, value, variant, step);
  }
  if (!value.ok()) return;
  FUZZ_CHECK(value->Validate().ok(),
             "ReadTorch7 gave an invalid Value: " + Describe(value->Validate()));
  FUZZ_CHECK(value->source().torch7.has_value(), "ReadTorch7 left source().torch7 unset");

  const WriteOptions defaults = BoundedWriteOptions();
  (void)CheckWrite(CodecNamed("t7"), *value, defaults, /*fixpoint=*/true);
  (void)CheckWrite(CodecNamed("t7-ascii"), *value, defaults, /*fixpoint=*/true);

  variant.torch7_referenced = !options.Bit(10);
  (void)CheckWrite(CodecNamed("t7"), *value, variant, /*fixpoint=*/true);

  // The codec reads the whole stream with detection (ascii only for "t7-ascii"); a read that
  // needed forced options or one object may fail there, which is fine.
  const Codec& from = CodecNamed(mode == Torch7Mode::kAscii ? "t7-ascii" : "t7");
  WriteOptions convert = BoundedWriteOptions();
  convert.drop_unconvertible = options.Bit(14);
  convert.allow_inexact_integers = options.Bit(15);
  (void)CheckConvert(from, CodecNamed(kConversionTargets[options.Bits(11, 3)]), input, read_options,
                     convert);
}

}  // namespace
}  // namespace seriald::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seriald::fuzz::FuzzOne(data, size);
  return 0;
}
