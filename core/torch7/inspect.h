// File: core/torch7/inspect.h
//
// How Inspect (core/inspect.h) prints Torch7's kinds, the way Torch7 prints objects: a table as
// its "[key] = value" lines (string and number keys as Torch prints them, other keys by kind and
// node), a torch class by name and version followed by its fields, storages and tensors on one
// line ("HalfStorage - size: 3", "DoubleTensor - size: 3x2, stride: 1x3"), generators, tds
// containers and nn.GPU by their contents, Lua functions with the VM their bytecode is for. The
// walker in core/inspect.cc calls these for each such node; see core/internal/inspect_expansion.h.
//
// Example:
//
//   inspect_internal::Expansion out(value, id, options);  // id: a torch.FloatTensor object
//   torch7::ExpandForInspect(out);
//   // out.head == "FloatTensor - size: 2x3", no children
#ifndef SERIALD_CORE_TORCH7_INSPECT_H_
#define SERIALD_CORE_TORCH7_INSPECT_H_

#include <cstdint>
#include <string>

#include "core/internal/inspect_expansion.h"
#include "core/model/element_type.h"
#include "core/model/node.h"

namespace seriald::torch7 {

// Fills `out` for a node of kind Table, TorchObject, Tensor or LuaFunction.
void ExpandForInspect(inspect_internal::Expansion& out);

// The name markers give `node` of one of those kinds: its class for a torch object ("nn.Linear"),
// "function" for a Lua function, else the kind's name ("table").
std::string MarkerName(const Node& node);

// One element of a Torch storage type (uint8, int8, int16, int64, float16, float32) at `element`
// (little-endian, not necessarily aligned), as Lua prints numbers: "255", "-7", "0.5"; "?" for
// other types.
std::string ElementText(ElementType type, const uint8_t* element);

}  // namespace seriald::torch7

#endif  // SERIALD_CORE_TORCH7_INSPECT_H_
