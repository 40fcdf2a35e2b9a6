// File: core/convert/cross_family.h
//
// Moving plain data (core/data/data.h) from one family's conventions to the other's, so that a
// Torch7 model becomes the R object an R user would have built, and back. The plain-data
// mappings (core/data/mapping.h) already write any Data in either family; what they cannot know
// is what a value *meant* in the other family. These rewrites decide that, item by item, in one
// flat pass (no recursion), before FromData writes the target family.
//
// Torch7 -> R (AdaptTorch7DataForR):
//   tensor of sizes (2, 3)       -> array with dim c(2, 3), x[i, j] == t[i-1][j-1] (FromData
//                                   gathers column-major); 1-d -> a plain vector (one element:
//                                   a 1-d array, dim 1, so that it comes back as a tensor)
//   Double, Int                  -> double, integer
//   Float, Half                  -> double; Byte, Char, Short -> integer; with attribute
//                                   torch7_type = "torch.FloatTensor" (etc.), which the way back
//                                   uses to restore the type; storages likewise
//   Long                         -> double, exact up to 2^53; beyond that refused unless
//                                   allow_inexact_integers (then rounded, with a note)
//   table keys 1..n / strings / other   -> unnamed list / named list / list of list(key, value)
//   number, string, boolean      -> length-1 double, character, logical vectors
//   class object (nn.Linear)     -> named list, class c("nn.Linear", "torch7_object")
//   function                     -> refused, naming it, unless drop_unconvertible (then NULL)
// R -> Torch7 (AdaptRDataForTorch7):
//   double, integer, logical, raw vector/array -> Double, Int, Byte, Byte tensor (sizes from
//                                   dim; a column-major view, which Torch7 allows); a
//                                   torch7_type attribute restores the type it names
//   length-1 vector without attributes -> number, string, boolean (NA -> nil)
//   list / named list            -> table with keys 1..n / names (unnamed elements by position)
//   list with class c(X, "torch7_object") -> object of class X; other classes are dropped (noted)
//   data.frame, factor, character vector -> table of columns, {codes, levels}, table of strings
//   Date, POSIXct                -> numbers (days, seconds since 1970), noted
//   names and other attributes of vectors -> dropped, noted
//   logical NA, complex, closure, environment, formula, ... -> refused, naming the item, unless
//                                   drop_unconvertible (then left out, noted)
// Arrays read from npy/npz/safetensors go to R like Torch7 tensors (AdaptArraysForR: int64 ->
// double) and to Torch7 as they are (numpy bool -> ByteTensor, as Torch7's comparisons give).
//
// Example:
//
//   ASSIGN_OR_RETURN(data::Data plain, ToData(model));                 // a Torch7 Value
//   ConversionNotes notes;
//   RETURN_IF_ERROR(AdaptTorch7DataForR(plain, CrossFamilyOptions{}, notes));
//   ASSIGN_OR_RETURN(Value r, FromData(plain, DataFamily::kR));
#ifndef SERIALD_CORE_CONVERT_CROSS_FAMILY_H_
#define SERIALD_CORE_CONVERT_CROSS_FAMILY_H_

#include <string_view>

#include "absl/status/status.h"
#include "core/convert/conversion_notes.h"
#include "core/data/data.h"

namespace seriald {

struct CrossFamilyOptions {
  // What the target family cannot hold (Lua functions in R; closures, environments, complex
  // numbers, logical NA in Torch7) is left out with a note instead of failing the conversion.
  bool drop_unconvertible = false;
  // int64 elements beyond 2^53 become the nearest double instead of failing the conversion.
  bool allow_inexact_integers = false;
};

// The class R lists carry after the Torch7 class name, marking them as Torch7 objects.
inline constexpr std::string_view kTorch7ObjectClass = "torch7_object";
// The attribute naming the Torch7 type of an R vector whose R type differs from it.
inline constexpr std::string_view kTorch7TypeAttribute = "torch7_type";

// Rewrites `plain` (read from Torch7) in R's conventions. INVALID_ARGUMENT naming the item's path
// for what R cannot hold.
absl::Status AdaptTorch7DataForR(data::Data& plain, const CrossFamilyOptions& options,
                                 ConversionNotes& notes);

// Rewrites `plain` (read from npy/npz/safetensors) in R's conventions.
absl::Status AdaptArraysForR(data::Data& plain, const CrossFamilyOptions& options,
                             ConversionNotes& notes);

// Rewrites `plain` (read from R) in Torch7's conventions. INVALID_ARGUMENT naming the item's path
// for what Torch7 cannot hold.
absl::Status AdaptRDataForTorch7(data::Data& plain, const CrossFamilyOptions& options,
                                 ConversionNotes& notes);

}  // namespace seriald

#endif  // SERIALD_CORE_CONVERT_CROSS_FAMILY_H_
