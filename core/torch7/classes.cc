#include "core/torch7/classes.h"

#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

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
  // kStems lists each type's CPU stem first ("Float" before "Cuda").
  for (const auto& [name, stem_type] : kStems) {
    if (stem_type == type) return name;
  }
  return "";
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

namespace {

// THGenerator's fields in declaration order (torch7 lib/TH/THRandom.h), each at its natural
// alignment; the struct's size is rounded up to a double's alignment.
enum class GeneratorFieldKind { kUnsignedLong, kInt, kDouble };
struct GeneratorField {
  const char* name;
  GeneratorFieldKind kind;
  int count;
};
constexpr GeneratorField kGeneratorFields[] = {
    {"the_initial_seed", GeneratorFieldKind::kUnsignedLong, 1},
    {"left", GeneratorFieldKind::kInt, 1},
    {"seeded", GeneratorFieldKind::kInt, 1},
    {"next", GeneratorFieldKind::kUnsignedLong, 1},
    {"state", GeneratorFieldKind::kUnsignedLong, 624},
    {"normal_x", GeneratorFieldKind::kDouble, 1},
    {"normal_y", GeneratorFieldKind::kDouble, 1},
    {"normal_rho", GeneratorFieldKind::kDouble, 1},
    {"normal_is_valid", GeneratorFieldKind::kInt, 1},
};

uint64_t FieldSize(GeneratorFieldKind kind, int long_size) {
  switch (kind) {
    case GeneratorFieldKind::kUnsignedLong:
      return long_size == 4 ? 4 : 8;
    case GeneratorFieldKind::kInt:
      return 4;
    case GeneratorFieldKind::kDouble:
      return 8;
  }
  return 8;
}

uint64_t AlignUp(uint64_t offset, uint64_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;
}

uint64_t LoadUnsigned(const char* at, uint64_t size, bool big_endian) {
  uint64_t value = 0;
  for (uint64_t i = 0; i < size; ++i) {
    const uint64_t byte = static_cast<uint8_t>(at[big_endian ? i : size - 1 - i]);
    value = (value << 8) | byte;
  }
  return value;
}

void StoreUnsigned(char* at, uint64_t value, uint64_t size, bool big_endian) {
  for (uint64_t i = 0; i < size; ++i) {
    at[big_endian ? size - 1 - i : i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

}  // namespace

uint64_t GeneratorStateSize(int long_size) {
  uint64_t offset = 0;
  for (const GeneratorField& field : kGeneratorFields) {
    const uint64_t size = FieldSize(field.kind, long_size);
    offset = AlignUp(offset, size) + size * field.count;
  }
  return AlignUp(offset, 8);
}

absl::StatusOr<std::string> RelayGeneratorState(std::string_view state, GeneratorLayout from,
                                                GeneratorLayout to) {
  if (state.size() != GeneratorStateSize(from.long_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a torch.Generator state written with ", from.long_size, "-byte longs has ",
        GeneratorStateSize(from.long_size), " bytes, not ", state.size()));
  }
  std::string relaid(GeneratorStateSize(to.long_size), '\0');
  uint64_t from_offset = 0;
  uint64_t to_offset = 0;
  for (const GeneratorField& field : kGeneratorFields) {
    const uint64_t from_size = FieldSize(field.kind, from.long_size);
    const uint64_t to_size = FieldSize(field.kind, to.long_size);
    from_offset = AlignUp(from_offset, from_size);
    to_offset = AlignUp(to_offset, to_size);
    for (int i = 0; i < field.count; ++i) {
      const uint64_t value = LoadUnsigned(state.data() + from_offset, from_size, from.big_endian);
      if (to_size < 8 && (value >> (8 * to_size)) != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            field.name,
            field.count > 1 ? absl::StrCat("[", i, "]") : std::string(), " (", value,
            ") does not fit in a ", to_size, "-byte long"));
      }
      StoreUnsigned(relaid.data() + to_offset, value, to_size, to.big_endian);
      from_offset += from_size;
      to_offset += to_size;
    }
  }
  return relaid;
}

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

std::optional<std::string> VersionOf(std::string_view first) {
  if (!first.starts_with("V ")) return std::nullopt;
  std::string_view number = first.substr(2);
  auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (!number.empty() && is_space(number.front())) number.remove_prefix(1);
  while (!number.empty() && is_space(number.back())) number.remove_suffix(1);
  if (!number.empty() && (number.front() == '-' || number.front() == '+')) number.remove_prefix(1);
  if (number.empty()) return std::nullopt;
  const char* end = number.data() + number.size();
  if (number.size() > 2 && number[0] == '0' && (number[1] == 'x' || number[1] == 'X')) {
    uint64_t ignored;
    auto result = std::from_chars(number.data() + 2, end, ignored, 16);
    if (result.ec != std::errc() || result.ptr != end) return std::nullopt;
  } else {
    double ignored;
    auto result = std::from_chars(number.data(), end, ignored);
    if (result.ec == std::errc::invalid_argument || result.ptr != end) return std::nullopt;
  }
  return std::string(first.substr(2));
}


}  // namespace seriald::torch7
