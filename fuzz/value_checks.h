// File: fuzz/value_checks.h
//
// The checks the JSON and proto fuzz targets run on a Value that came from a client (a JSON text
// or a seriald.v1.Value message) rather than from a reader: such a Value may hold any graph the
// model allows, which the readers would never produce, so every writer is tried on it.
//
// Example:
//
//   absl::StatusOr<Value> value = FromProto(message);
//   if (value.ok()) CheckClientValue(*value);
#ifndef SERIALD_FUZZ_VALUE_CHECKS_H_
#define SERIALD_FUZZ_VALUE_CHECKS_H_

#include "core/model/value.h"

namespace seriald::fuzz {

// Aborts (through FUZZ_CHECK) unless:
//   * `value` is valid;
//   * it converts to a seriald.v1.Value message and back, and to JSON (compact and pretty) and
//     back, equal to itself;
//   * every writer (t7, t7-ascii, a second Torch7 layout, the five R writers, R version 2,
//     json, npy, npz, safetensors) either refuses it cleanly or writes output that reads back,
//     and, for the Torch7, R and JSON writers, is a fixpoint.
void CheckClientValue(const Value& value);

}  // namespace seriald::fuzz

#endif  // SERIALD_FUZZ_VALUE_CHECKS_H_
