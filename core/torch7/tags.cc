#include "core/torch7/tags.h"

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"

namespace seriald::torch7 {

std::string_view IndexedTagName(int32_t tag) {
  switch (tag) {
    case kTableTag:
      return "table";
    case kTorchTag:
      return "torch object";
    default:
      return "function";
  }
}

std::string ReferenceMismatch(int32_t tag, int32_t index, std::string_view what) {
  return absl::StrCat("type tag ", tag, " (", AsAbsl(IndexedTagName(tag)),
                      ") refers to object index ", index, ", which is a ", AsAbsl(what));
}

std::string MissingReference(int32_t index, int32_t last_index) {
  return absl::StrCat("reference to object index ", index,
                      ", which no earlier object has (last index ", last_index, ")");
}

std::string StorageMismatch(std::string_view tensor_class, std::string_view found) {
  return absl::StrCat("the storage of a ", AsAbsl(tensor_class),
                      " must be nil or its own storage type, found ", AsAbsl(found));
}

}  // namespace seriald::torch7
