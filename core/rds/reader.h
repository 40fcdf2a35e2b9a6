// File: core/rds/reader.h
//
// Reads R serialization streams (serialize(), saveRDS(), save()) into a Value, as R 4.2's
// unserialize() does (serialize.c:1764-2207). Any R input is
// accepted: a bare stream in X, B, A or asciihex encoding (also the "\nA" variant), version 2
// or 3; the same compressed with gzip, bzip2 or xz (detected by magic); and save() files
// (RDX2/RDX3/RDA2/RDA3/RDB2/RDB3), whose root is the tagged pairlist of the saved objects.
// value.source().r records the stream's format, version, header and container so that writing
// the Value back reproduces the input.
//
// The Value is what R would hold after unserialize(), so that writing it gives the bytes of R's
// serialize(unserialize(x)). The read-side normalisations R applies are applied here too:
//   * a closure or promise whose environment is NULL gets the base environment
//     (serialize.c:1886-1887): a forced promise re-serializes with env 241;
//   * an environment whose enclosure is NULL gets the base environment (serialize.c:1846);
//   * attributes on a CHARSXP are read and dropped (serialize.c:2015-2025);
//   * an attribute list or environment frame written as NULL with its flag set reads as none;
//   * byte code whose version R 4.2 cannot run (not < 2 and not 9..12) becomes its source
//     expression, constant 0 (R_BCVersionOK, serialize.c:2032);
//   * ALTREP objects become what their class's Unserialize method returns in R 4.2:
//     compact_intseq state written as an int vector (R 3.5) becomes the double state R writes;
//     a compact sequence of length 1 is a plain vector; a wrap_* object whose wrapped vector is
//     not ALTREP and whose metadata says nothing (unknown sortedness, no_na 0) is the plain
//     vector with the wrapper's attributes (wrapper_Serialized_state, PR18142).
// Strings are kept as their bytes and declared encoding; nothing is transcoded.
//
// The input is untrusted. Every length is checked against what remains before allocating (a
// STRSXP of n elements needs at least 8n more bytes in X/B), reference indices against the
// table, nesting against ReadOptions::max_depth (the reader keeps its own stack, so depth costs
// no C++ stack), decompressed size against ReadOptions::max_decompressed_bytes. Problems are
// INVALID_ARGUMENT InputErrors "rds: <problem> at byte <offset>" (offsets count in the
// decompressed stream for compressed input); limits are RESOURCE_EXHAUSTED (LimitExceeded).
// Numeric and raw vectors of B streams are slices of the input (no copy); X vectors are
// byte-swapped once.
//
// Example:
//
//   ASSIGN_OR_RETURN(Buffer input, ReadFile("model.rds"));
//   ASSIGN_OR_RETURN(Value value, ReadR(input));
//   const RStreamInfo& header = *value.source().r;     // format, version, compression ...
//   const Node& root = value.node(value.roots()[0]);
#ifndef SERIALD_CORE_RDS_READER_H_
#define SERIALD_CORE_RDS_READER_H_

#include "absl/status/statusor.h"
#include "core/format/codec.h"
#include "core/io/buffer.h"
#include "core/model/value.h"

namespace seriald {

// Reads any R input (see the file comment). The Value has exactly one root.
absl::StatusOr<Value> ReadR(const Buffer& input, const ReadOptions& options = {});

}  // namespace seriald

#endif  // SERIALD_CORE_RDS_READER_H_
