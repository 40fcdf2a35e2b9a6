#include "core/torch7/classes.h"

#include <array>
#include <utility>

namespace seriald::torch7 {
namespace {

// The type stems of torch.<Stem>Storage / torch.<Stem>Tensor (torch7 Storage.c/Tensor.c
// instantiations, cutorch THCGenerate*Type.h: "Cuda" alone is float).
constexpr std::array<std::pair<std::string_view, ElementType>, 16> kStems = {{
    {"Byte", ElementType::kUint8},
    {"Char", ElementType::kInt8},
    {"Short", ElementType::kInt16},
    {"Int", ElementType::kInt32},
    {"Long", ElementType::kInt64},
    {"Float", ElementType::kFloat32},
    {"Double", ElementType::kFloat64},
    {"Half", ElementType::kFloat16},
    {"Cuda", ElementType::kFloat32},
    {"CudaByte", ElementType::kUint8},
    {"CudaChar", ElementType::kInt8},
    {"CudaShort", ElementType::kInt16},
    {"CudaInt", ElementType::kInt32},
    {"CudaLong", ElementType::kInt64},
    {"CudaDouble", ElementType::kFloat64},
    {"CudaHalf", ElementType::kFloat16},
}};

constexpr std::string_view kTorchPrefix = "torch.";
constexpr std::string_view kStorageSuffix = "Storage";
constexpr std::string_view kTensorSuffix = "Tensor";

// The stem of "torch.<Stem><suffix>", or empty.
std::string_view StemOf(std::string_view class_name, std::string_view suffix) {
  if (!class_name.starts_with(kTorchPrefix) || !class_name.ends_with(suffix) ||
      class_name.size() <= kTorchPrefix.size() + suffix.size()) {
    return {};
  }
  return class_name.substr(kTorchPrefix.size(),
                           class_name.size() - kTorchPrefix.size() - suffix.size());
}

const ElementType* ElementTypeOfStem(std::string_view stem) {
  for (const auto& [name, type] : kStems) {
    if (name == stem) return &type;
  }
  return nullptr;
}

}  // namespace

std::string_view TypeStem(ElementType type) {
  switch (type) {
    case ElementType::kUint8:
      return "Byte";
    case ElementType::kInt8:
      return "Char";
    case ElementType::kInt16:
      return "Short";
    case ElementType::kInt32:
      return "Int";
    case ElementType::kInt64:
      return "Long";
    case ElementType::kFloat16:
      return "Half";
    case ElementType::kFloat32:
      return "Float";
    case ElementType::kFloat64:
      return "Double";
    default:
      return "";
  }
}

ClassInfo ClassifyClass(std::string_view class_name) {
  if (const ElementType* type = ElementTypeOfStem(StemOf(class_name, kStorageSuffix))) {
    return {Payload::kStorage, *type};
  }
  if (const ElementType* type = ElementTypeOfStem(StemOf(class_name, kTensorSuffix))) {
    return {Payload::kTensor, *type};
  }
  if (class_name == "torch.Generator") return {Payload::kGenerator};
  if (class_name == "tds.Hash" || class_name == "tds_hash") return {Payload::kTdsHash};
  if (class_name == "tds.Vec") return {Payload::kTdsVec};
  if (class_name == "tds.AtomicCounter") return {Payload::kTdsAtomicCounter};
  if (class_name == "nn.GPU") return {Payload::kGpuModule};
  return {Payload::kObject};
}

bool IsStorageClassOf(std::string_view tensor_class, std::string_view storage_class) {
  std::string_view tensor_stem = StemOf(tensor_class, kTensorSuffix);
  return !tensor_stem.empty() && ElementTypeOfStem(tensor_stem) != nullptr &&
         StemOf(storage_class, kStorageSuffix) == tensor_stem;
}

uint64_t GeneratorStateSize(int long_size) { return long_size == 4 ? 2544 : 5048; }

std::string_view PayloadName(Payload payload) {
  switch (payload) {
    case Payload::kStorage:
      return "storage";
    case Payload::kTensor:
      return "tensor";
    case Payload::kGenerator:
      return "torch.Generator";
    case Payload::kTdsHash:
      return "tds.Hash";
    case Payload::kTdsVec:
      return "tds.Vec";
    case Payload::kTdsAtomicCounter:
      return "tds.AtomicCounter";
    case Payload::kGpuModule:
      return "nn.GPU";
    case Payload::kObject:
      return "object";
  }
  return "object";
}

}  // namespace seriald::torch7
