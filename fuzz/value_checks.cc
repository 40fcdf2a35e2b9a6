#include "fuzz/value_checks.h"

#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/inspect.h"
#include "fuzz/fuzz_common.h"
#include "proto/value_conversion.h"
#include "proto/value_json.h"

namespace seriald::fuzz {
namespace {

constexpr const char* kFixpointWriters[] = {"t7",        "t7-ascii",     "rds",   "rds-native",
                                            "rds-ascii", "rds-asciihex", "rdata", "json"};
constexpr const char* kArrayWriters[] = {"npy", "npz", "safetensors"};

}  // namespace

void CheckClientValue(const Value& value) {
  const absl::Status valid = value.Validate();
  FUZZ_CHECK(valid.ok(), "client Value is not valid: " + Describe(valid));

  seriald::v1::Value message;
  const absl::Status to_proto = ToProto(value, &message);
  FUZZ_CHECK(to_proto.ok(),
             "ToProto refused a Value FromProto/ValueFromJson gave: " + Describe(to_proto));
  absl::StatusOr<Value> from_proto = FromProto(message);
  FUZZ_CHECK(from_proto.ok(),
             "FromProto refused what ToProto wrote: " + Describe(from_proto.status()));
  FUZZ_CHECK(*from_proto == value, "ToProto then FromProto changed the Value");

  for (bool pretty : {false, true}) {
    absl::StatusOr<std::string> json = ValueToJson(value, pretty);
    FUZZ_CHECK(json.ok(), "ValueToJson failed: " + Describe(json.status()));
    absl::StatusOr<Value> parsed = ValueFromJson(*json);
    FUZZ_CHECK(parsed.ok(),
               "ValueFromJson refused what ValueToJson wrote: " + Describe(parsed.status()));
    FUZZ_CHECK(*parsed == value, absl::StrCat("ValueToJson (pretty ", pretty,
                                              ") then ValueFromJson changed the Value"));
  }

  (void)Inspect(value);

  // Every writer uncompressed (R's container is the rds target's business), then "rds" with the
  // source's compression while the stream is small enough to compress quickly.
  WriteOptions base = BoundedWriteOptions();
  base.r_compression = RCompression::kNone;
  bool small = false;
  for (const char* name : kFixpointWriters) {
    absl::StatusOr<Buffer> output = CheckWrite(CodecNamed(name), value, base, /*fixpoint=*/true);
    if (std::string_view(name) == "rds") {
      small = output.ok() && output->size() <= kMaxCompressedRewriteBytes;
    }
  }
  if (small) (void)CheckWrite(CodecNamed("rds"), value, BoundedWriteOptions(), /*fixpoint=*/true);
  WriteOptions torch7_variant = base;
  torch7_variant.torch7_long_size = 4;
  torch7_variant.torch7_big_endian = true;
  torch7_variant.torch7_referenced = false;
  (void)CheckWrite(CodecNamed("t7"), value, torch7_variant, /*fixpoint=*/true);
  WriteOptions r_version2 = base;
  r_version2.r_version = 2;
  (void)CheckWrite(CodecNamed("rds"), value, r_version2, /*fixpoint=*/true);
  for (const char* name : kArrayWriters) {
    (void)CheckWrite(CodecNamed(name), value, base, /*fixpoint=*/false);
  }
}

}  // namespace seriald::fuzz
