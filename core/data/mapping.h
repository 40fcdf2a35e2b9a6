// File: core/data/mapping.h
//
// The entry points of the plain-data mapping for callers that hold a Value from either format:
// ToData picks the mapping of the family the value came from, FromData the one of the family
// being written. The mappings themselves are r_mapping.h and torch7_mapping.h.
//
// Example:
//
//   ASSIGN_OR_RETURN(data::Data plain, ToData(value));               // any stream's value
//   ASSIGN_OR_RETURN(Value r, FromData(plain, DataFamily::kR));      // written with WriteR
#ifndef SERIALD_CORE_DATA_MAPPING_H_
#define SERIALD_CORE_DATA_MAPPING_H_

#include "absl/status/statusor.h"
#include "core/data/data.h"
#include "core/data/r_mapping.h"
#include "core/model/value.h"

namespace seriald {

// The two families of formats, each with its own conventions for plain data.
enum class DataFamily : uint8_t { kTorch7, kR };

// The family of `value`: its source's, else (a value built by hand, or from JSON) R when any node
// is of an R-only kind or carries R attributes, else Torch7.
DataFamily FamilyOf(const Value& value);

// The plain data of `value` with its family's mapping.
absl::StatusOr<data::Data> ToData(const Value& value, const RToDataOptions& r_options = {});

// The value `plain` stands for in `family`.
absl::StatusOr<Value> FromData(const data::Data& plain, DataFamily family,
                               const DataToROptions& r_options = {});

}  // namespace seriald

#endif  // SERIALD_CORE_DATA_MAPPING_H_
