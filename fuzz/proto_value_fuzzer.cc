// Fuzz target: the proto -> model conversion of a seriald.v1.Value message (FromProto, both the
// copying and the moving overload), then everything a client-made Value goes through
// (value_checks.h): proto and JSON round trips and every writer.
//
// Input: a binary (wire format) seriald.v1.Value message, as it is (no option bytes). Seeds
// (fuzz/make_seeds.sh): the messages of the Torch7 and R seed files (ToProto).
//
// Checks: parsing and FromProto never crash; both overloads agree (same error code, or equal
// Values); a Value they give passes CheckClientValue.
//
// Run: make fuzz (all targets), or by hand:
//   build-fuzz/fuzz/proto_value_fuzzer -max_len=65536 -rss_limit_mb=2048 \
//       build-fuzz/corpus/proto_value_fuzzer build-fuzz/seeds/proto_value_fuzzer
//   build-fuzz/fuzz/proto_value_fuzzer CRASH_FILE         # reproduce one input
#include <cstddef>
#include <cstdint>
#include <utility>

#include "fuzz/fuzz_common.h"
#include "fuzz/value_checks.h"
#include "proto/value_conversion.h"

namespace seriald::fuzz {
namespace {

void FuzzOne(const uint8_t* data, size_t size) {
  seriald::v1::Value message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return;
  absl::StatusOr<Value> copied = FromProto(message);
  seriald::v1::Value moved_from = message;
  absl::StatusOr<Value> moved = FromProto(std::move(moved_from));
  FUZZ_CHECK(copied.ok() == moved.ok(), "FromProto(const&) gave " + Describe(copied.status()) +
                                            " but FromProto(&&) gave " + Describe(moved.status()));
  if (!copied.ok()) {
    FUZZ_CHECK(
        copied.status().code() == absl::StatusCode::kInvalidArgument &&
            moved.status().code() == copied.status().code(),
        "FromProto failed with " + Describe(copied.status()) + " / " + Describe(moved.status()));
    return;
  }
  FUZZ_CHECK(*copied == *moved, "FromProto(const&) and FromProto(&&) gave different Values");
  CheckClientValue(*copied);
}

}  // namespace
}  // namespace seriald::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  seriald::fuzz::SilenceProtobufLog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seriald::fuzz::FuzzOne(data, size);
  return 0;
}
