// File: core/torch7/tags.h
//
// The type tags of a Torch7 object stream (torch7 File.lua:15-23), and the rules about tags and
// object indices that both of its readers apply (ReadTorch7, core/torch7/reader.h, which builds
// a Value; TranscodeTorch7, core/torch7/transcoder.h, which converts as it reads), worded once so
// that both refuse the same input with the same words.
//
// Example:
//
//   if (tag == torch7::kTorchTag) ...
//   return InputError("torch7", offset, torch7::StorageMismatch("torch.FloatTensor", "a table"));
#ifndef SERIALD_CORE_TORCH7_TAGS_H_
#define SERIALD_CORE_TORCH7_TAGS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace seriald::torch7 {

enum Tag : int32_t {
  kNilTag = 0,
  kNumberTag = 1,
  kStringTag = 2,
  kTableTag = 3,
  kTorchTag = 4,
  kBooleanTag = 5,
  kFunctionTag = 6,             // before mid-2014: no index
  kLegacyRecurFunctionTag = 7,  // 2014-2015: index, plain upvalue values
  kRecurFunctionTag = 8,        // current: index, {name, value, id} upvalues
};

// What an indexed tag introduces: "table", "torch object" or "function".
std::string_view IndexedTagName(int32_t tag);

// A back-reference whose tag (`tag`) is not the kind of the object under `index` (`what`:
// "table", "torch_object", "function with tag 8").
std::string ReferenceMismatch(int32_t tag, int32_t index, std::string_view what);
// An index at or below the last one that no object has: torch7 numbers new objects 1, 2, 3, ...
// in stream order, so it can only be a reference to an object that does not exist.
std::string MissingReference(int32_t index, int32_t last_index);
// A tensor's storage object that is neither nil nor a storage of the tensor's class
// (luaT_checkudata in generic/Tensor.c); `found`: "a torch.DoubleStorage", "a table".
std::string StorageMismatch(std::string_view tensor_class, std::string_view found);

}  // namespace seriald::torch7

#endif  // SERIALD_CORE_TORCH7_TAGS_H_
