// Fuzz target: the JSON form of a Value (the "json" codec: ValueFromJson through protobuf's JSON
// parser, FromProto, the depth check), then everything a client-made Value goes through
// (value_checks.h): proto and JSON round trips and every writer.
//
// Input: the JSON text, as it is (no option bytes). Seeds (fuzz/make_seeds.sh): the JSON form of
// the Torch7 and R seed files, compact and pretty.
//
// Checks: reading never crashes; a Value it gives passes CheckClientValue (round trips equal,
// every writer refuses cleanly or writes output that reads back and is a fixpoint); the reading
// that decodes large arrays' base64 itself, run with a bound of 4 bytes, gives only Values that
// protobuf's whole parse gives too.
//
// Run: make fuzz (all targets), or by hand:
//   build-fuzz/fuzz/json_fuzzer -max_len=65536 -rss_limit_mb=2048 \
//       build-fuzz/corpus/json_fuzzer build-fuzz/seeds/json_fuzzer
//   build-fuzz/fuzz/json_fuzzer CRASH_FILE                # reproduce one input
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "fuzz/fuzz_common.h"
#include "fuzz/value_checks.h"
#include "proto/internal/json_large_arrays.h"
#include "proto/internal/json_parse.h"
#include "proto/value_conversion.h"

namespace seriald::fuzz {
namespace {

// Arrays' base64 decoded outside protobuf (proto/internal/json_large_arrays.h), with a bound
// small enough for fuzz inputs: a Value it gives is the one protobuf's whole parse gives.
void CheckLargeArrayReading(const Buffer& input) {
  const std::optional<Value> decoded =
      internal::ReadJsonDecodingLargeArrays(input.view(), &input, /*min_length=*/4);
  if (!decoded.has_value()) return;
  seriald::v1::Value message;
  const absl::Status parsed = internal::ParseJsonMessage(input.view(), &message);
  FUZZ_CHECK(parsed.ok(), "protobuf refuses what the array decoding read: " + Describe(parsed));
  absl::StatusOr<Value> whole = FromProto(std::move(message));
  FUZZ_CHECK(whole.ok(),
             "FromProto refuses what the array decoding read: " + Describe(whole.status()));
  FUZZ_CHECK(*whole == *decoded, "the array decoding read another Value than protobuf");
}

void FuzzOne(const uint8_t* data, size_t size) {
  const Buffer input = Buffer::Copy(data, size);
  CheckLargeArrayReading(input);
  absl::StatusOr<Value> value = CodecNamed("json").Read(input, BoundedReadOptions());
  if (!value.ok()) return;
  CheckClientValue(*value);
}

}  // namespace
}  // namespace seriald::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seriald::fuzz::FuzzOne(data, size);
  return 0;
}
