// Values the schema tests convert: one holding every node kind and every tricky byte pattern, the
// README's small example, and a deep chain.
#ifndef SERIALD_TESTS_PROTO_SAMPLE_VALUES_H_
#define SERIALD_TESTS_PROTO_SAMPLE_VALUES_H_

#include <cstdint>
#include <string>

#include "core/model/value.h"

namespace seriald::testing {

// A double with the given bits.
double DoubleFromBits(uint64_t bits);

// Every node kind, a shared storage, a table that contains itself (as a value and as a key), an
// environment whose frame refers back to it, attributes and flags on nodes and pairlist cells, a
// dotted pairlist tail, strings in every encoding including non-UTF-8 bytes and NA, an array of
// every element type holding edge bit patterns (NaN payloads, -0, R's NA_real_, integer
// extremes), numbers that JSON cannot spell (-0, NaN payloads), several roots, and source facts
// of both formats.
Value EveryKind();

// Ids of some nodes of EveryKind(), for tests that look at one.
inline constexpr NodeId kEveryKindTable = 0;

// The README example: the Torch7 table {name = "net", t = <FloatTensor of 2 elements>,
// self = <the table itself>} as read from a little-endian 8-byte-long binary file.
Value NetExample();

// The JSON ValueToJson(NetExample(), /*pretty=*/true) prints.
extern const char kNetExampleJson[];

// `depth` tables, each holding the next under key "next" (the first is the root).
Value Chain(uint32_t depth);

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_PROTO_SAMPLE_VALUES_H_
