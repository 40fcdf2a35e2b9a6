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
// the same bytes); the conversion's output reads back in the target format.
//
// Run: make fuzz (all targets), or by hand:
//   build-fuzz/fuzz/torch7_fuzzer -max_len=65536 -rss_limit_mb=2048 \
//       build-fuzz/corpus/torch7_fuzzer build-fuzz/seeds/torch7_fuzzer
//   build-fuzz/fuzz/torch7_fuzzer CRASH_FILE              # reproduce one input
#include <cstddef>
#include <cstdint>

#include "core/torch7/reader.h"
#include "fuzz/fuzz_common.h"

namespace seriald::fuzz {
namespace {

constexpr const char* kConversionTargets[] = {"rds", "rds-ascii", "rdata", "safetensors",
                                              "npz", "npy",       "json",  "t7-ascii"};

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
  if (!value.ok()) return;
  FUZZ_CHECK(value->Validate().ok(),
             "ReadTorch7 gave an invalid Value: " + Describe(value->Validate()));
  FUZZ_CHECK(value->source().torch7.has_value(), "ReadTorch7 left source().torch7 unset");

  const WriteOptions defaults = BoundedWriteOptions();
  (void)CheckWrite(CodecNamed("t7"), *value, defaults, /*fixpoint=*/true);
  (void)CheckWrite(CodecNamed("t7-ascii"), *value, defaults, /*fixpoint=*/true);

  WriteOptions variant = BoundedWriteOptions();
  variant.torch7_long_size = options.Bit(8) ? 4 : 8;
  variant.torch7_big_endian = options.Bit(9);
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
