// File: core/rds/altrep.h
//
// ALTREP objects of base R's classes (altclasses.c), as far as a serialization library needs
// them: what R's reader makes of a serialized ALTREP object (NormalizeAltrep, see reader.h), and
// what the object stands for when it must be written as an ordinary vector (version 2 streams,
// WriteItem's fallback, serialize.c:1037-1052):
//   compact_intseq / compact_realseq   state c(n, first, incr)   -> first + incr * i
//   wrap_{integer,logical,real,complex,raw,string,list}   state (wrapped . meta)  -> the wrapped
//                                      vector's elements, with the wrapper's own attributes
//   deferred_string                    state (numbers . scipen)  -> as.character(numbers), R 4.2's
//                                      formatting of doubles (15 significant digits, fixed or
//                                      scientific by width and scipen, trailing zeros dropped)
// Other classes (third-party packages, mmap) cannot be expanded: an error names the class.
//
// Example:
//
//   ASSIGN_OR_RETURN(rds::AltrepExpansion e, rds::ExpandAltrep(value, id));
//   if (e.kind == rds::AltrepExpansion::kSequence) { ... e.length, e.first, e.increment ... }
//   std::string s = rds::FormatRealAsR(0.1 + 0.2, /*scipen=*/0, ".");   // "0.3"
#ifndef SERIALD_CORE_RDS_ALTREP_H_
#define SERIALD_CORE_RDS_ALTREP_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/value.h"

namespace seriald::rds {

struct AltrepExpansion {
  enum Kind : uint8_t {
    kSequence,        // compact_intseq (int32) / compact_realseq (float64)
    kWrapped,         // wrap_*: the elements of `source`
    kDeferredString,  // deferred_string: as.character() of the numbers in `source`
  };
  Kind kind = kSequence;
  int32_t base_type = 0;  // SEXPTYPE of the vector the object stands for
  uint64_t length = 0;
  double first = 0;
  double increment = 1;
  NodeId source = kNoNode;  // kWrapped, kDeferredString: an Array, StringVector, List or Altrep
  int32_t scipen = 0;       // kDeferredString
  std::string decimal_mark = ".";
};

// How to expand the Altrep node `id`; FAILED_PRECONDITION naming the class when it is not one
// of base R's expandable classes or its state is malformed.
absl::StatusOr<AltrepExpansion> ExpandAltrep(const Value& value, NodeId id);

// Whether a base ALTREP class is one of R's wrappers (wrap_integer, wrap_real, ...), whose state
// (data . metadata) the reader checks.
bool IsWrapperClass(std::string_view class_name);

// The check the reader makes of an ALTREP object it reads (NormalizeAltrep), for writers: OK
// unless `id` is a compact sequence or wrapper of base R whose state is malformed (a
// compact_intseq state that is not c(n, first, increment), a wrapper without its
// (data . metadata) pair), which R's unserialize would misread and seriald's reader refuses;
// then InvalidArgument naming the class and the problem. Other classes' states are opaque.
absl::Status CheckAltrepStateReadable(const Value& value, NodeId id);

// Applies what R 4.2's unserialize() followed by serialize() does to the Altrep node `id` that
// was just read (see reader.h); may turn the node into an ordinary vector in place. Errors are
// InputErrors at `offset`.
// With `apply` false, only checks what normalising needs (the state's shape), changing nothing:
// the reader keeps the source form unless asked to normalise.
absl::Status NormalizeAltrep(Value& value, NodeId id, uint64_t offset, bool apply = true);

// The number of elements and their type for a vector-like node (Array, StringVector, List,
// Altrep of an expandable class); FAILED_PRECONDITION otherwise.
absl::StatusOr<uint64_t> VectorLength(const Value& value, NodeId id);

// Fills `out` with elements [begin, begin + count) of a numeric vector-like node (an Array, or
// an Altrep sequence or wrapper over one) as model bytes of `type`.
absl::Status FillElements(const Value& value, NodeId id, ElementType type, uint64_t begin,
                          uint64_t count, uint8_t* out);

// Hands `each` the elements [begin, begin + count) of the deferred_string that `e` expands
// (ExpandAltrep): as.character() of its numbers (altclasses.c ExpandDeferredStringElt), each as
// its bytes, or nullopt for NA_character_. FAILED_PRECONDITION when its numbers do not hold them.
absl::Status ForEachDeferredString(
    const Value& value, const AltrepExpansion& e, uint64_t begin, uint64_t count,
    const std::function<void(std::optional<std::string_view>)>& each);

// as.character() of one integer (coerce.c StringFromInteger), written into `text`; nullopt for
// NA.
std::optional<std::string_view> FormatIntegerAsR(int32_t v, char (&text)[12]);

// as.character() of one double in R 4.2 (coerce.c StringFromReal with R_print.digits = 15:
// formatReal + EncodeRealDrop0), `decimal_mark` replacing ".". Not for NA (NA_character_).
std::string FormatRealAsR(double x, int scipen, std::string_view decimal_mark = ".");

}  // namespace seriald::rds

#endif  // SERIALD_CORE_RDS_ALTREP_H_
