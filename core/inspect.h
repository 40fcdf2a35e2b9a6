// File: core/inspect.h
//
// Inspect: a human-readable tree of a Value, the way Torch7 prints objects (tables as
// "[key] = value" lines, tensors as "FloatTensor - size: 2x3", torch classes by name followed by
// their fields) and R objects the way str() does ("num [1:3] 1 2 3", "chr \"a\"", "List of 2").
// Tensor and vector data is never copied: at most a few elements of R vectors are shown, loaded
// one at a time from arrays in either byte order (Array::big_endian), so that a reader asked to
// keep arrays as written (ReadOptions::keep_array_byte_order) need not swap any for Inspect.
//
// Shared objects and cycles are printed once: the first occurrence of an object that is
// referenced more than once is marked "<node N>", later ones print "<table node N, see above>".
// Depth and width are limited by InspectOptions, and the walk keeps its own stack, so any Value
// (a 200000-deep chain, a cycle, a million-entry table) gives bounded output without recursion.
//
// Example:
//
//   std::cout << Inspect(value);
//   // nn.Linear {
//   //   [weight] = DoubleTensor - size: 2x3
//   //   [bias] = DoubleTensor - size: 2
//   //   [_type] = "torch.DoubleTensor"
//   // }
#ifndef SERIALD_CORE_INSPECT_H_
#define SERIALD_CORE_INSPECT_H_

#include <cstdint>
#include <string>

#include "core/model/value.h"

namespace seriald {

struct InspectOptions {
  // Levels of nesting expanded; deeper containers print as "{...}".
  uint32_t max_depth = 16;
  // Entries shown per table, list or object; the rest are counted ("... (N more)").
  uint32_t max_entries = 100;
  // Elements shown of an R vector on its line.
  uint32_t max_elements = 10;
  // Bytes shown of a string.
  uint32_t max_string_bytes = 200;
  // Spaces per level.
  uint32_t indent = 2;
};

// The tree of every root of `value`, one line per node, ending with "\n". A Value with several
// roots (a Torch7 stream of several objects) prints each as "[root N] = ...". The Value need
// not be valid: references to missing nodes print as "<missing node N>".
std::string Inspect(const Value& value, const InspectOptions& options = {});

// The tree below one node.
std::string InspectNode(const Value& value, NodeId id, const InspectOptions& options = {});

}  // namespace seriald

#endif  // SERIALD_CORE_INSPECT_H_
