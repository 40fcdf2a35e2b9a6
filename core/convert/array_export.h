// File: core/convert/array_export.h
//
// Plain data <-> the flat, named arrays of npz and safetensors files. Exporting walks the data in
// file order and names each array by its dotted key path from the root (item_paths.h):
// `modules.1.weight` for a Torch7 nn.Sequential, `coefficients` for an lm fit, `df.x` for a data
// frame column. What is not an array (numbers, strings, booleans, factors, functions) is skipped
// and noted, or refused when strict; an array reachable by several paths (a shared tensor) is
// written once, under its first path, and the others are noted. A root that is itself an array
// is named "arr_0", as numpy.savez names unnamed arrays.
//
// Importing gives one item per array under a root map from name to array, which the Torch7 mapping
// writes as a flat table of tensors and the R mapping as a named list of arrays.
//
// Example:
//
//   ConversionNotes notes;
//   ASSIGN_OR_RETURN(std::vector<arrays::NamedArray> named, ExportArrays(plain, {}, notes));
//   RETURN_IF_ERROR(arrays::WriteSafetensors(named, {}, out));
#ifndef SERIALD_CORE_CONVERT_ARRAY_EXPORT_H_
#define SERIALD_CORE_CONVERT_ARRAY_EXPORT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "core/arrays/named_array.h"
#include "core/convert/conversion_notes.h"
#include "core/data/data.h"

namespace seriald {

struct ArrayExportOptions {
  // Refuse (INVALID_ARGUMENT naming the first one) instead of skipping what is not an array.
  bool strict = false;
};

// The arrays of `plain`, named by path, in file order. INVALID_ARGUMENT when there are none.
absl::StatusOr<std::vector<arrays::NamedArray>> ExportArrays(const data::Data& plain,
                                                             const ArrayExportOptions& options,
                                                             ConversionNotes& notes);

// Plain data holding `named` under a root map from name to array.
data::Data ImportArrays(std::vector<arrays::NamedArray> named);

}  // namespace seriald

#endif  // SERIALD_CORE_CONVERT_ARRAY_EXPORT_H_
