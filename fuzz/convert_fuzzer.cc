// Fuzz target: ConvertInput, the one conversion path of serialctl and the service, between any
// two formats (Torch7 <-> R <-> npy/npz/safetensors <-> JSON), with small limits.
//
// Input: two option bytes, then the input file.
//   byte 0, bits 0-2  input codec: detected, t7, t7-ascii, rds, safetensors, npz, npy, json
//           bits 3-6  output codec: t7, t7-ascii, rds, rds-native, rds-ascii, rds-asciihex,
//                     rdata, npy, npz, npz-compressed, safetensors, json (12-15: rds, t7,
//                     safetensors, npz)
//           bit  7    drop what the target cannot hold
//   byte 1, bit  0    allow inexact integers
//           bit  1    strict arrays
//           bits 2-3  R version: 1 -> 2, 2 -> 3, otherwise the input's
//           bit  4    R compression gzip (else none: bzip2 and xz are left to rds_fuzzer, whose
//                     outputs are small enough to compress quickly)
//           bit  5    Torch7: 4-byte longs
//           bit  6    Torch7: big-endian
//           bit  7    Torch7: unreferenced
// Seeds (fuzz/make_seeds.sh): Torch7, R and array files, each with option bytes naming its own
// codec and a target of another family.
//
// Checks: conversion never crashes or exceeds its limits (1 MiB of expanded R sequences, 4 MiB
// decompressed, 64 MiB of output); when it succeeds, the output reads back in the target format.
//
// Run: make fuzz (all targets), or by hand:
//   build-fuzz/fuzz/convert_fuzzer -max_len=65536 -rss_limit_mb=2048 \
//       build-fuzz/corpus/convert_fuzzer build-fuzz/seeds/convert_fuzzer
//   build-fuzz/fuzz/convert_fuzzer CRASH_FILE             # reproduce one input
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"

namespace seriald::fuzz {
namespace {

constexpr const char* kInputs[] = {"",    "t7",  "t7-ascii", "rds", "safetensors",
                                   "npz", "npy", "json"};
constexpr const char* kOutputs[] = {
    "t7",           "t7-ascii", "rds", "rds-native", "rds-ascii",
    "rds-asciihex", "rdata",    "npy", "npz",        "npz-compressed",
    "safetensors",  "json",     "rds", "t7",         "safetensors",
    "npz"};

void FuzzOne(const uint8_t* data, size_t size) {
  OptionBytes options(data, size, 2);
  const Buffer& input = options.Rest();

  const Codec* from = nullptr;
  if (const uint32_t which = options.Bits(0, 3); which != 0) {
    from = &CodecNamed(kInputs[which]);
  } else {
    absl::StatusOr<const Codec*> detected = Registry().Detect(input);
    if (!detected.ok()) return;
    from = *detected;
  }
  const Codec& to = CodecNamed(kOutputs[options.Bits(3, 4)]);

  ReadOptions read_options = BoundedReadOptions();
  read_options.max_decompressed_bytes = uint64_t{4} << 20;
  read_options.max_expanded_bytes = uint64_t{1} << 20;
  WriteOptions write_options = BoundedWriteOptions();
  write_options.drop_unconvertible = options.Bit(7);
  write_options.allow_inexact_integers = options.Bit(8);
  write_options.strict_arrays = options.Bit(9);
  switch (options.Bits(10, 2)) {
    case 1:
      write_options.r_version = 2;
      break;
    case 2:
      write_options.r_version = 3;
      break;
  }
  write_options.r_compression = options.Bit(12) ? RCompression::kGzip : RCompression::kNone;
  if (options.Bit(13)) write_options.torch7_long_size = 4;
  if (options.Bit(14)) write_options.torch7_big_endian = true;
  write_options.torch7_referenced = !options.Bit(15);
  (void)CheckConvert(*from, to, input, read_options, write_options);
}

}  // namespace
}  // namespace seriald::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seriald::fuzz::FuzzOne(data, size);
  return 0;
}
