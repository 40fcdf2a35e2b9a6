// File: core/arrays/named_array.h
//
// NamedArray: an array with the name a container gives it (an .npz entry without its ".npy", a
// safetensors tensor name). Containers hold these in their own order, which readers keep and
// writers follow, so a file read and written again lists its arrays the same way.
//
// Example:
//
//   std::vector<arrays::NamedArray> weights;
//   weights.push_back({"bias", data::NdArray::Vector(ElementType::kFloat32, 4, bytes)});
//   RETURN_IF_ERROR(arrays::WriteSafetensors(weights, /*metadata=*/{}, out));
#ifndef SERIALD_CORE_ARRAYS_NAMED_ARRAY_H_
#define SERIALD_CORE_ARRAYS_NAMED_ARRAY_H_

#include <string>

#include "core/data/data.h"

namespace seriald::arrays {

struct NamedArray {
  std::string name;
  data::NdArray array;

  friend bool operator==(const NamedArray&, const NamedArray&) = default;
};

}  // namespace seriald::arrays

#endif  // SERIALD_CORE_ARRAYS_NAMED_ARRAY_H_
