// File: core/data/torch7_mapping.h
//
// Torch7 objects <-> plain data (data.h), both directions. The README's "Plain data" table lists
// every case; in short:
//
//   Torch7                                     plain data
//   nil, boolean, number, string               Null, Boolean, Number, String
//   torch.*Tensor                              NdArray: the storage's bytes as `data` (shared, not
//                                                copied), the tensor's sizes, strides and offset
//   torch.*Storage                             NdArray of one dimension
//   table with keys exactly 1..n               Sequence, in key order
//   any other table                            Map (keys of any kind, file order)
//   class object (nn.Linear, a user class)     Map of its fields, classes = {class name}
//   tds.Hash / tds.Vec                         Map / Sequence, classes = {"tds.Hash" / "tds.Vec"}
//   function, torch.Generator                  Opaque
//
// The reverse writes tensors over typed storages: a view whose strides are all non-negative keeps
// them (and its storage: two arrays over one buffer share one storage); other views, logical and
// raw arrays become contiguous tensors. Strings arrays, lists, data frames (a table of columns)
// and factors (a table {codes, levels}) become tables; nils inside a list leave holes, as Lua
// tables do. R-only information (names, dates, attributes) has no place in Torch7 and is not
// written. Opaque items and complex numbers are refused, naming the item.
//
// Neither direction recurses; shared items and cycles (a table that contains itself) stay shared.
//
// Example:
//
//   ASSIGN_OR_RETURN(Value model, ReadTorch7(input));
//   ASSIGN_OR_RETURN(data::Data plain, Torch7ToData(model));
//   ASSIGN_OR_RETURN(Value back, DataToTorch7(plain));
#ifndef SERIALD_CORE_DATA_TORCH7_MAPPING_H_
#define SERIALD_CORE_DATA_TORCH7_MAPPING_H_

#include "absl/status/statusor.h"
#include "core/data/data.h"
#include "core/model/value.h"

namespace seriald {

// The plain data of the Torch7 value `value` (every root). FAILED_PRECONDITION naming the node
// for a malformed value (a tensor whose view leaves its storage).
absl::StatusOr<data::Data> Torch7ToData(const Value& value);

// The Torch7 value of `plain` (validated first). INVALID_ARGUMENT naming the item for what Torch7
// cannot hold.
absl::StatusOr<Value> DataToTorch7(const data::Data& plain);

}  // namespace seriald

#endif  // SERIALD_CORE_DATA_TORCH7_MAPPING_H_
