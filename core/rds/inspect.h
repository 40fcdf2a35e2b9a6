// File: core/rds/inspect.h
//
// How Inspect (core/inspect.h) prints R's kinds, in the manner of str(): vectors on one line with
// their first elements ("num [1:3] 1.5 NA -Inf", "chr [1:2] \"a\" NA", "cplx 1-2i"), lists as
// "List of N" with "$name" or "[[i]]" children, pairlists and calls by cell, environments by
// binding then "[enclosure]", closures, promises, byte code, external pointers and ALTREP objects
// by their parts, the special environments and markers by name ("<environment: R_GlobalEnv>",
// "<missing argument>"), and the attributes any node may carry as "attr(\"name\")" children. The
// walker in core/inspect.cc calls these for each node; see core/internal/inspect_expansion.h.
//
// Example:
//
//   inspect_internal::Expansion out(value, id, options);  // id: list(a = 1:3)
//   rds::ExpandForInspect(out);                            // out.head == "List of 1",
//   rds::AddAttributesForInspect(out);                     // children "$a", "attr(\"names\")"
#ifndef SERIALD_CORE_RDS_INSPECT_H_
#define SERIALD_CORE_RDS_INSPECT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/internal/inspect_expansion.h"
#include "core/model/element_type.h"

namespace seriald::rds {

// Fills `out` for a node of an R kind: StringVector, List, Pairlist, Symbol, Environment,
// Special, Namespace, PackageEnvironment, PersistentReference, Closure, Promise, Builtin,
// Bytecode, ExternalPointer, WeakReference, S4Object or Altrep.
void ExpandForInspect(inspect_internal::Expansion& out);

// Appends the R attributes of `out`'s node, of any kind, as "attr(\"name\")" children.
void AddAttributesForInspect(inspect_internal::Expansion& out);

// str()'s name of an R vector's element type: "int", "num", "logi", "cplx", "raw"; empty for the
// types R does not have (Torch7's uint8, int8, int16, int64, float16, float32).
std::string_view StrTypeName(ElementType type);

// One element of an R vector type at `element` (little-endian, not necessarily aligned) as str()
// shows it: "NA", "TRUE", "1.5", "-Inf", "NaN", "1-2i", "ff". `type` must have a StrTypeName.
std::string ElementText(ElementType type, const uint8_t* element);

}  // namespace seriald::rds

#endif  // SERIALD_CORE_RDS_INSPECT_H_
