// File: core/data/r_mapping.h
//
// R objects <-> plain data (data.h), both directions, with R's own conventions. The README's
// "Plain data" table lists every case; in short:
//
//   R                                          plain data
//   NULL                                       Null
//   logical/integer/double/complex vector      NdArray (LOGICAL/INT32/FLOAT64/COMPLEX128), shape
//     matrix, array (dim)                        from dim, column-major strides (1, nrow, ...)
//     names, dimnames                            Item::names, Item::dim_names
//   raw vector (no attributes)                 Binary; with attributes: NdArray of RAW
//   character vector/matrix                    Strings (latin1 and CP1252 transcoded to UTF-8)
//   list                                       Sequence (+ names)
//   data.frame, tibble                         DataFrame (compact row names -> automatic)
//   factor, ordered factor                     Factor (int32 codes + levels)
//   Date, POSIXct (+ tzone)                    NdArray with Temporal kDate / kDateTime
//   a class attribute on anything else         Item::classes (an lm fit: a classed Sequence)
//   other attributes                           Item::attributes
//   ALTREP compact sequences, wrappers,        expanded (a sequence is the only case that costs
//     deferred strings                           memory: its elements must be materialised)
//   closure, environment, formula, call,       Opaque naming the R type
//     symbol, S4, external pointer, ...
//   persistent reference (PERSISTSXP)          Opaque "persistent reference", its names in
//                                                Item::names (refhook.h resolves them)
//
// The reverse builds what R builds: the class attribute with the OBJECT bit, compact row names
// c(NA, -n), factor levels, dim as integer. Plain integers that fit become R integers; int64
// arrays become integer when every element fits, else double when every element is below 2^53,
// else they are refused; float32 and float16 widen to double. Opaque items are refused, naming
// the item, except an opaque "persistent reference" with names, which is that reference again.
//
// Neither direction recurses. Arrays are shared, not copied, wherever R's layout allows (an R
// vector's bytes are the array's data; a column-major array's data becomes the vector's).
//
// Example:
//
//   ASSIGN_OR_RETURN(Value value, ReadR(input));
//   ASSIGN_OR_RETURN(data::Data plain, RToData(value));
//   ...
//   ASSIGN_OR_RETURN(Value back, DataToR(plain));
//   RETURN_IF_ERROR(WriteR(back, settings, out));
#ifndef SERIALD_CORE_DATA_R_MAPPING_H_
#define SERIALD_CORE_DATA_R_MAPPING_H_

#include <functional>
#include <string>

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/data/data.h"
#include "core/model/value.h"

namespace seriald {

struct RToDataOptions {
  // ALTREP compact sequences are materialised; one whose elements would take more bytes than
  // this is refused (a 122-byte stream can declare 2^52 elements).
  uint64_t max_expanded_bytes = uint64_t{4} << 30;
  // The limit's name in the RESOURCE_EXHAUSTED error (LimitExceeded): the service names the
  // option its callers know.
  std::string expansion_limit = "max-expanded-bytes";
  // Called with the bytes an expansion is about to allocate; an error stops the conversion.
  std::function<absl::Status(uint64_t bytes)> reserve_memory = nullptr;
};

// The plain data of the R value `value` (every root). Fails only for malformed values (an ALTREP
// object that cannot be expanded, a sequence over the limit), naming the node.
absl::StatusOr<data::Data> RToData(const Value& value, const RToDataOptions& options = {});

struct DataToROptions {
  // save() files hold a pairlist of named objects: the root must then be a named list (or map
  // with string keys) and becomes that pairlist.
  bool root_as_pairlist = false;
};

// The R value of `plain` (validated first). INVALID_ARGUMENT naming the item for what R cannot
// hold: opaque items, cycles, int64 elements beyond 2^53, columns of the wrong length...
absl::StatusOr<Value> DataToR(const data::Data& plain, const DataToROptions& options = {});

}  // namespace seriald

#endif  // SERIALD_CORE_DATA_R_MAPPING_H_
