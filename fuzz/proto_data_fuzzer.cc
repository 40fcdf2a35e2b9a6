// Fuzz target: the proto -> plain data conversion of a seriald.v1.Data message (DataFromProto),
// then writing the plain data in every format, as the service's Serialize call with plain data
// does (WritePlainData: array files directly, Torch7 and R through their mappings, JSON as R).
//
// Input: a binary (wire format) seriald.v1.Data message, as it is (no option bytes). Seeds
// (fuzz/make_seeds.sh): the plain data of the Torch7 and R seed files (ToData, DataToProto).
//
// Checks: parsing and DataFromProto never crash; data it gives is valid, converts back to a
// message and again to equal data; every format either refuses it cleanly or writes output that
// reads back.
//
// Run: make fuzz (all targets), or by hand:
//   build-fuzz/fuzz/proto_data_fuzzer -max_len=65536 -rss_limit_mb=2048 \
//       build-fuzz/corpus/proto_data_fuzzer build-fuzz/seeds/proto_data_fuzzer
//   build-fuzz/fuzz/proto_data_fuzzer CRASH_FILE          # reproduce one input
#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/convert/convert.h"
#include "fuzz/fuzz_common.h"
#include "proto/data_conversion.h"

namespace seriald::fuzz {
namespace {

constexpr const char* kTargets[] = {
    "npy", "npz",        "npz-compressed", "safetensors",  "t7",    "t7-ascii",
    "rds", "rds-native", "rds-ascii",      "rds-asciihex", "rdata", "json"};

void FuzzOne(const uint8_t* data, size_t size) {
  seriald::v1::Data message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return;
  absl::StatusOr<data::Data> plain = DataFromProto(std::move(message));
  if (!plain.ok()) {
    FUZZ_CHECK(plain.status().code() == absl::StatusCode::kInvalidArgument,
               "DataFromProto failed with " + Describe(plain.status()));
    return;
  }
  const absl::Status valid = plain->Validate();
  FUZZ_CHECK(valid.ok(), "DataFromProto gave invalid data: " + Describe(valid));

  seriald::v1::Data again;
  const absl::Status to_proto = DataToProto(*plain, &again);
  FUZZ_CHECK(to_proto.ok(), "DataToProto refused what DataFromProto gave: " + Describe(to_proto));
  absl::StatusOr<data::Data> copy = DataFromProto(std::move(again));
  FUZZ_CHECK(copy.ok(), "DataFromProto refused what DataToProto wrote: " + Describe(copy.status()));
  FUZZ_CHECK(*copy == *plain, "DataToProto then DataFromProto changed the data");

  for (const char* name : kTargets) {
    const Codec& to = CodecNamed(name);
    for (bool root_as_pairlist : {false, true}) {
      // The pairlist root is what "rdata" asks for; elsewhere it is tried once.
      if (root_as_pairlist && to.name() != "rdata") continue;
      DataToROptions r_options;
      r_options.root_as_pairlist = root_as_pairlist;
      ConversionNotes notes;
      absl::StatusOr<Buffer> output = BoundedWrite([&](ByteWriter& out) {
        return WritePlainData(*plain, to, BoundedWriteOptions(), r_options, out, notes);
      });
      if (!output.ok()) continue;
      const absl::Status back = ReadBack(to, *output);
      FUZZ_CHECK(back.ok(), absl::StrCat("WritePlainData to ", name, " gave ", output->size(),
                                         " bytes that do not read back: ", Describe(back)));
    }
  }
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
