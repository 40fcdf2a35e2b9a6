#include "core/data/mapping.h"

#include "core/data/torch7_mapping.h"

namespace seriald {

DataFamily FamilyOf(const Value& value) {
  if (value.source().r.has_value()) return DataFamily::kR;
  if (value.source().torch7.has_value()) return DataFamily::kTorch7;
  for (const Node& node : value.nodes()) {
    if (node.attributes != kNoNode) return DataFamily::kR;
    switch (node.kind()) {
      case NodeKind::kTable:
      case NodeKind::kTorchObject:
      case NodeKind::kTensor:
      case NodeKind::kLuaFunction:
      case NodeKind::kBoolean:
      case NodeKind::kNumber:
        return DataFamily::kTorch7;
      case NodeKind::kStringVector:
      case NodeKind::kPairlist:
      case NodeKind::kSymbol:
      case NodeKind::kEnvironment:
      case NodeKind::kClosure:
      case NodeKind::kAltrep:
        return DataFamily::kR;
      default:
        break;
    }
  }
  return DataFamily::kR;
}

absl::StatusOr<data::Data> ToData(const Value& value, const RToDataOptions& r_options) {
  return FamilyOf(value) == DataFamily::kR ? RToData(value, r_options) : Torch7ToData(value);
}

absl::StatusOr<Value> FromData(const data::Data& plain, DataFamily family,
                               const DataToROptions& r_options) {
  return family == DataFamily::kR ? DataToR(plain, r_options) : DataToTorch7(plain);
}

}  // namespace seriald
