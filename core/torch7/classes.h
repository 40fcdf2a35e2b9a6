// File: core/torch7/classes.h
//
// The Torch7 class table: for a class name read after a TYPE_TORCH tag, what its payload looks
// like on the wire and which node kind holds it in the object model (see TorchObject in
// core/model/node.h). Reader and writer both dispatch on this table, so a class is added in one
// place.
//
//   class name                                   wire payload                 payload node
//   torch.{Byte..Double,Half}Storage,            long n, n elements           Array (element type)
//     torch.Cuda*Storage
//   torch.{Byte..Double,Half}Tensor,             tensor header, storage obj   Tensor
//     torch.Cuda*Tensor
//   torch.Generator                              sizeof(THGenerator) bytes    Opaque
//   tds.Hash, tds_hash                           long n, n x (key, value)     Table
//   tds.Vec                                      long n, n objects            List
//   tds.AtomicCounter                            long value                   Array of one int64
//   nn.GPU                                       two objects                  List of two
//   anything else                                one object                   that object
//
// Example:
//
//   torch7::ClassInfo info = torch7::ClassifyClass("torch.CudaHalfTensor");
//   // info.payload == torch7::Payload::kTensor, info.element_type == ElementType::kFloat16
#ifndef SERIALD_CORE_TORCH7_CLASSES_H_
#define SERIALD_CORE_TORCH7_CLASSES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/model/element_type.h"

namespace seriald::torch7 {

// The shape of a class's payload.
enum class Payload : uint8_t {
  kStorage,           // torch.*Storage: Array of `element_type`
  kTensor,            // torch.*Tensor: Tensor viewing a storage of `element_type`
  kGenerator,         // torch.Generator: Opaque THGenerator struct
  kTdsHash,           // tds.Hash / tds_hash: Table
  kTdsVec,            // tds.Vec: List
  kTdsAtomicCounter,  // tds.AtomicCounter: Array of one int64
  kGpuModule,         // nn.GPU: List of two objects (header, fields)
  kObject,            // every other class: the one object it wrote (normally a field table)
};

struct ClassInfo {
  Payload payload = Payload::kObject;
  // Storages and tensors: the element type (Long is always int64 in the model, whatever the
  // stream's long size).
  ElementType element_type = ElementType::kUint8;
};

// What `class_name` carries. Never fails: unknown classes are kObject.
ClassInfo ClassifyClass(std::string_view class_name);

// The type stem of the Torch7 tensor and storage classes of `type` (torch.<Stem>Tensor over
// torch.<Stem>Storage): "Byte", "Char", "Short", "Int", "Long", "Half", "Float", "Double";
// empty for the element types Torch7 has no class for (R's logical, raw and complex).
std::string_view TypeStem(ElementType type);

// True when `storage_class` is the storage class Torch7 accepts under a tensor of class
// `tensor_class` (same prefix, "Tensor" replaced by "Storage": torch.CudaTensor holds a
// torch.CudaStorage, torch.FloatTensor a torch.FloatStorage).
bool IsStorageClassOf(std::string_view tensor_class, std::string_view storage_class);

// sizeof(THGenerator) (torch7 lib/TH/THRandom.h) for a C long of `long_size` bytes:
//   8 (LP64):  unsigned long seed, int left, int seeded, unsigned long next,
//              unsigned long state[624], 3 doubles, int  -> 5048 bytes
//   4:         the same with 4-byte longs and 8-byte aligned doubles (Windows, 32-bit ARM)
//              -> 2544 bytes. 32-bit x86 Linux aligns doubles to 4 and has 2540; such files
//              cannot be told apart and are not supported.
uint64_t GeneratorStateSize(int long_size);

// The memory layout of a THGenerator state: the writing machine's C long size and byte order.
struct GeneratorLayout {
  int long_size = 8;  // 4 or 8
  bool big_endian = false;
  friend bool operator==(const GeneratorLayout&, const GeneratorLayout&) = default;
};

// Re-lays `state` (GeneratorStateSize(from.long_size) bytes, a THGenerator written by a machine
// of layout `from`) as a machine of layout `to` would hold the same generator, field by field:
// a Windows checkpoint's generator then loads in Torch7 on 64-bit Linux with the same seed and
// Mersenne Twister position. Narrowing to 4-byte longs fails (InvalidArgument, naming the field)
// when the seed or a state word does not fit in 32 bits; the padding after the final int is
// written as zeros.
absl::StatusOr<std::string> RelayGeneratorState(std::string_view state, GeneratorLayout from,
                                                GeneratorLayout to);

// The text after "V " when `first` (the first string of a torch object) is a version string:
// "V " then something Lua's tonumber accepts ("1", "1.0", " 2 ", "0x10"), as File.lua:333-341
// tests. nullopt when `first` is the class name of a legacy object written before versions
// existed. The writer refuses versions and class names this would misread.
std::optional<std::string> VersionOf(std::string_view first);

// Describes a payload shape for messages: "storage", "tensor", "tds.Hash", ...
std::string_view PayloadName(Payload payload);

}  // namespace seriald::torch7

#endif  // SERIALD_CORE_TORCH7_CLASSES_H_
