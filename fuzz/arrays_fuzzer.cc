// Fuzz target: the array file readers and writers (npy; npz stored and deflated, through libzip;
// safetensors with its JSON header), and one conversion from the array file to another format.
//
// Input: one option byte, then the array file.
//   byte 0, bits 0-1  reader: 1 npy, 2 npz, 3 safetensors, 0 whichever array codec recognises
//                     the input (npy when none does)
//           bits 2-4  conversion target: t7, t7-ascii, rds, rds-ascii, rdata, json, npz,
//                     safetensors
//           bit  5    conversion: strict arrays
//           bit  6    conversion: drop what the target cannot hold
//           bit  7    conversion: allow inexact integers
// Seeds (fuzz/make_seeds.sh): npy, npz and safetensors files of the Torch7 and R seeds, with a
// zero byte in front.
//
// Checks: reading never crashes or extracts more than BoundedReadOptions allows; data it gives
// is valid; every array writer (npy when there is one array, npz, npz-compressed, safetensors)
// refuses it cleanly or writes output that reads back and is a fixpoint (read and written again,
// the same bytes); the conversion's output reads back in the target format.
//
// Run: make fuzz (all targets), or by hand:
//   build-fuzz/fuzz/arrays_fuzzer -max_len=65536 -rss_limit_mb=2048 \
//       build-fuzz/corpus/arrays_fuzzer build-fuzz/seeds/arrays_fuzzer
//   build-fuzz/fuzz/arrays_fuzzer CRASH_FILE              # reproduce one input
#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "core/convert/array_codecs.h"
#include "core/convert/conversion_notes.h"
#include "fuzz/fuzz_common.h"

namespace seriald::fuzz {
namespace {

constexpr const char* kReaders[] = {"npy", "npz", "safetensors"};
constexpr const char* kWriters[] = {"npy", "npz", "npz-compressed", "safetensors"};
constexpr const char* kConversionTargets[] = {"t7",    "t7-ascii", "rds", "rds-ascii",
                                              "rdata", "json",     "npz", "safetensors"};

// Writes `plain` with `codec`; output must read back, and writing what was read must give the
// same bytes.
void CheckArrayWrite(const ArrayCodec& codec, const data::Data& plain) {
  auto write = [&codec](const data::Data& from) {
    return BoundedWrite([&](ByteWriter& out) {
      ConversionNotes notes;
      return codec.WriteData(from, BoundedWriteOptions(), out, notes);
    });
  };
  absl::StatusOr<Buffer> first = write(plain);
  if (!first.ok()) return;
  absl::StatusOr<data::Data> again = codec.ReadData(*first, ReadBackOptions());
  FUZZ_CHECK(again.ok(), absl::StrCat("output of ", AsAbsl(codec.name()), " (", first->size(),
                                      " bytes) does not read back: ", Describe(again.status())));
  absl::StatusOr<Buffer> second = write(*again);
  FUZZ_CHECK(second.ok(), absl::StrCat("what ", AsAbsl(codec.name()),
                                       " wrote and read back does not write again: ",
                                       Describe(second.status())));
  FUZZ_CHECK(*first == *second,
             absl::StrCat(AsAbsl(codec.name()), " is not a fixpoint: wrote ", first->size(),
                          " bytes, then ", second->size(), " different bytes"));
}

void FuzzOne(const uint8_t* data, size_t size) {
  OptionBytes options(data, size, 1);
  const Buffer& input = options.Rest();

  const Codec* reader = nullptr;
  if (const uint32_t which = options.Bits(0, 2); which != 0) {
    reader = &CodecNamed(kReaders[which - 1]);
  } else {
    for (const char* name : kReaders) {
      const Codec& codec = CodecNamed(name);
      if (codec.Recognize(input).verdict == Recognition::kYes) {
        reader = &codec;
        break;
      }
    }
    if (reader == nullptr) reader = &CodecNamed("npy");
  }
  const ArrayCodec& from = *reader->AsArrayCodec();
  const ReadOptions read_options = BoundedReadOptions();
  absl::StatusOr<data::Data> plain = from.ReadData(input, read_options);
  if (!plain.ok()) return;
  const absl::Status valid = plain->Validate();
  FUZZ_CHECK(valid.ok(),
             absl::StrCat(AsAbsl(from.name()), " gave invalid data: ", Describe(valid)));

  for (const char* name : kWriters) CheckArrayWrite(*CodecNamed(name).AsArrayCodec(), *plain);

  WriteOptions convert = BoundedWriteOptions();
  convert.strict_arrays = options.Bit(5);
  convert.drop_unconvertible = options.Bit(6);
  convert.allow_inexact_integers = options.Bit(7);
  (void)CheckConvert(from, CodecNamed(kConversionTargets[options.Bits(2, 3)]), input, read_options,
                     convert);
}

}  // namespace
}  // namespace seriald::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seriald::fuzz::FuzzOne(data, size);
  return 0;
}
