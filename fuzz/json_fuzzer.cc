// Fuzz target: the JSON form of a Value (the "json" codec: ValueFromJson through protobuf's JSON
// parser, FromProto, the depth check), then everything a client-made Value goes through
// (value_checks.h): proto and JSON round trips and every writer.
//
// Input: the JSON text, as it is (no option bytes). Seeds (fuzz/make_seeds.sh): the JSON form of
// the Torch7 and R seed files, compact and pretty.
//
// Checks: reading never crashes; a Value it gives passes CheckClientValue (round trips equal,
// every writer refuses cleanly or writes output that reads back and is a fixpoint).
//
// Run: make fuzz (all targets), or by hand:
//   build-fuzz/fuzz/json_fuzzer -max_len=65536 -rss_limit_mb=2048 \
//       build-fuzz/corpus/json_fuzzer build-fuzz/seeds/json_fuzzer
//   build-fuzz/fuzz/json_fuzzer CRASH_FILE                # reproduce one input
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "fuzz/value_checks.h"

namespace seriald::fuzz {
namespace {

void FuzzOne(const uint8_t* data, size_t size) {
  const Buffer input = Buffer::Copy(data, size);
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
