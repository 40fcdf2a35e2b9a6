// Fuzz target: format detection (CodecRegistry::Detect over every core codec and "json",
// Codec::Recognize, DescribeForeignInput), then reading with the detected codec and printing the
// result with Inspect, as `serialctl inspect` does.
//
// Input: the bytes of a file, as they are (no option bytes). Seeds (fuzz/make_seeds.sh): Torch7
// and R files, JSON, npy, npz and safetensors files.
//
// Checks: nothing crashes; when Detect picks a codec, that codec recognises the input and no
// codec of another family does (Detect must refuse inputs two families claim); a value read by
// the detected codec is valid, and Codec::FormatOf names a codec of the same family.
//
// Run: make fuzz (all targets), or by hand:
//   build-fuzz/fuzz/detect_fuzzer -max_len=65536 -rss_limit_mb=2048 \
//       build-fuzz/corpus/detect_fuzzer build-fuzz/seeds/detect_fuzzer
//   build-fuzz/fuzz/detect_fuzzer CRASH_FILE              # reproduce one input
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/convert/array_codecs.h"
#include "core/inspect.h"
#include "fuzz/fuzz_common.h"

namespace seriald::fuzz {
namespace {

void FuzzOne(const uint8_t* data, size_t size) {
  const Buffer input = Buffer::Copy(data, size);
  const CodecRegistry& registry = Registry();

  std::optional<std::string> foreign = DescribeForeignInput(input);
  (void)foreign;
  absl::StatusOr<const Codec*> detected = registry.Detect(input);
  if (!detected.ok()) {
    FUZZ_CHECK(detected.status().code() == absl::StatusCode::kInvalidArgument,
               "Detect failed with " + Describe(detected.status()));
    return;
  }
  const Codec& codec = **detected;
  for (const Codec* other : registry.codecs()) {
    const Recognition recognition = other->Recognize(input);
    if (other->family() == codec.family()) continue;
    FUZZ_CHECK(recognition.verdict == Recognition::kNo,
               absl::StrCat("Detect chose ", AsAbsl(codec.name()), " but ", AsAbsl(other->name()),
                            " of another family recognises the input (", recognition.reason, ")"));
  }
  FUZZ_CHECK(codec.Recognize(input).verdict == Recognition::kYes,
             absl::StrCat("Detect chose ", AsAbsl(codec.name()), ", which does not recognise it"));

  if (const ArrayCodec* arrays = codec.AsArrayCodec()) {
    absl::StatusOr<data::Data> plain = arrays->ReadData(input, BoundedReadOptions());
    if (plain.ok()) {
      FUZZ_CHECK(
          plain->Validate().ok(),
          absl::StrCat(AsAbsl(codec.name()), " gave invalid data: ", Describe(plain->Validate())));
    }
  }
  absl::StatusOr<Value> value = codec.Read(input, BoundedReadOptions());
  if (!value.ok()) return;
  FUZZ_CHECK(
      value->Validate().ok(),
      absl::StrCat(AsAbsl(codec.name()), " gave an invalid Value: ", Describe(value->Validate())));
  absl::StatusOr<const Codec*> format = registry.Find(codec.FormatOf(*value));
  FUZZ_CHECK(format.ok() && (*format)->family() == codec.family(),
             absl::StrCat("FormatOf gave '", AsAbsl(codec.FormatOf(*value)), "' for ",
                          AsAbsl(codec.name())));
  const std::string tree = Inspect(*value);
  FUZZ_CHECK(!tree.empty() || value->roots().empty(), "Inspect printed nothing");
}

}  // namespace
}  // namespace seriald::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seriald::fuzz::FuzzOne(data, size);
  return 0;
}
