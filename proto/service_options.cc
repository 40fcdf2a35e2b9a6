#include "proto/service_options.h"

#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/io/buffer.h"
#include "core/rds/reader.h"
#include "core/rds/refhook.h"
#include "core/status_macros.h"

namespace seriald {
namespace {

constexpr std::array<std::pair<v1::Format, std::string_view>, 12> kFormatNames = {{
    {v1::FORMAT_T7, "t7"},
    {v1::FORMAT_T7_ASCII, "t7-ascii"},
    {v1::FORMAT_RDS, "rds"},
    {v1::FORMAT_RDS_NATIVE, "rds-native"},
    {v1::FORMAT_RDS_ASCII, "rds-ascii"},
    {v1::FORMAT_RDS_ASCIIHEX, "rds-asciihex"},
    {v1::FORMAT_RDATA, "rdata"},
    {v1::FORMAT_JSON, "json"},
    {v1::FORMAT_NPY, "npy"},
    {v1::FORMAT_NPZ, "npz"},
    {v1::FORMAT_NPZ_COMPRESSED, "npz-compressed"},
    {v1::FORMAT_SAFETENSORS, "safetensors"},
}};

}  // namespace

std::optional<v1::Format> FormatFromName(std::string_view name) {
  for (const auto& [format, format_name] : kFormatNames) {
    if (format_name == name) return format;
  }
  return std::nullopt;
}

std::string_view FormatName(v1::Format format) {
  for (const auto& [known, name] : kFormatNames) {
    if (known == format) return name;
  }
  return {};
}

namespace {

// The long size and byte order fields, shared by ReadOptions and WriteOptions.
absl::Status Torch7LongSizeFromProto(uint32_t long_size, std::optional<int>* out) {
  if (long_size == 0) return absl::OkStatus();
  if (long_size != 4 && long_size != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("torch7_long_size must be 0, 4 or 8, not ", long_size));
  }
  *out = static_cast<int>(long_size);
  return absl::OkStatus();
}

absl::Status Torch7ByteOrderFromProto(v1::ByteOrder order, std::optional<bool>* big_endian) {
  switch (order) {
    case v1::BYTE_ORDER_UNSPECIFIED:
      return absl::OkStatus();
    case v1::BYTE_ORDER_LITTLE_ENDIAN:
      *big_endian = false;
      return absl::OkStatus();
    case v1::BYTE_ORDER_BIG_ENDIAN:
      *big_endian = true;
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown torch7_byte_order ", order));
  }
}

template <typename Message>
void Torch7LayoutToProto(std::optional<int> long_size, std::optional<bool> big_endian,
                         Message* message) {
  if (long_size) message->set_torch7_long_size(*long_size);
  if (big_endian) {
    message->set_torch7_byte_order(*big_endian ? v1::BYTE_ORDER_BIG_ENDIAN
                                               : v1::BYTE_ORDER_LITTLE_ENDIAN);
  }
}

}  // namespace

absl::StatusOr<ReadOptions> ReadOptionsFromProto(const v1::ReadOptions& message,
                                                 uint32_t default_max_depth) {
  ReadOptions options;
  if (message.format() != v1::FORMAT_UNSPECIFIED && FormatName(message.format()).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown input format ", message.format()));
  }
  RETURN_IF_ERROR(Torch7LongSizeFromProto(message.torch7_long_size(), &options.torch7_long_size));
  RETURN_IF_ERROR(
      Torch7ByteOrderFromProto(message.torch7_byte_order(), &options.torch7_big_endian));
  options.max_depth = message.max_depth() != 0 ? message.max_depth() : default_max_depth;
  options.r_normalize = message.r_normalize();
  return options;
}

absl::StatusOr<WriteOptions> WriteOptionsFromProto(const v1::WriteOptions& message) {
  WriteOptions options;
  RETURN_IF_ERROR(Torch7LongSizeFromProto(message.torch7_long_size(), &options.torch7_long_size));
  RETURN_IF_ERROR(
      Torch7ByteOrderFromProto(message.torch7_byte_order(), &options.torch7_big_endian));
  options.torch7_referenced = !message.torch7_unreferenced();
  options.json_pretty = message.json_pretty();
  options.drop_unconvertible = message.drop_unconvertible();
  options.allow_inexact_integers = message.allow_inexact_integers();
  options.strict_arrays = message.strict_arrays();
  switch (message.r_version()) {
    case 0:
      break;
    case 2:
    case 3:
      options.r_version = static_cast<int>(message.r_version());
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("r_version must be 0, 2 or 3, not ", message.r_version()));
  }
  if (message.has_r_compression()) {
    if (!v1::RCompression_IsValid(message.r_compression())) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown r_compression ", message.r_compression()));
    }
    options.r_compression = static_cast<RCompression>(message.r_compression());
  }
  return options;
}

namespace {

// `"a", "b"`: names for a message, escaped onto one line.
std::string QuotedNames(const google::protobuf::RepeatedPtrField<std::string>& names) {
  return absl::StrJoin(names, ", ", [](std::string* out, const std::string& name) {
    absl::StrAppend(out, "\"", absl::CHexEscape(name), "\"");
  });
}

// The first persistent reference node of `value` whose names are `names`, as ", for node N".
std::string NodeNamed(const Value& value, const std::vector<std::string>& names) {
  for (NodeId id = 0; id < value.size(); ++id) {
    const auto* reference = value.GetIf<PersistentReference>(id);
    if (reference != nullptr && PersistentNamesAsUtf8(reference->names) == names) {
      return absl::StrCat(", for node ", id);
    }
  }
  return "";
}

}  // namespace

absl::Status ApplyReferenceBindings(const v1::ReadOptions& message, const ReadOptions& options,
                                    Value& value) {
  if (message.reference_bindings().empty()) return absl::OkStatus();
  std::vector<ReferenceBinding> bindings;
  bindings.reserve(message.reference_bindings_size());
  for (int i = 0; i < message.reference_bindings_size(); ++i) {
    const v1::ReferenceBinding& binding = message.reference_bindings(i);
    std::vector<std::string> names(binding.names().begin(), binding.names().end());
    // The bytes are the request's, alive for the whole call: read in place, not copied.
    Buffer data = Buffer::Wrap(binding.data().data(), binding.data().size(), [] {});
    absl::StatusOr<Value> bound = ReadR(data, options);
    if (!bound.ok()) {
      // A new status: the byte offset of the problem is in the binding's data, not the input.
      return absl::Status(
          bound.status().code(),
          absl::StrCat("reference_bindings[", i, "] (names ", QuotedNames(binding.names()),
                       NodeNamed(value, names),
                       "): its data does not read as R: ", bound.status().message()));
    }
    bindings.push_back(ReferenceBinding{std::move(names), *std::move(bound)});
  }
  return BindPersistentReferences(value, bindings);
}

absl::Status ApplyPersistentReferences(const v1::WriteOptions& message, Value& value) {
  if (message.persistent_references().empty()) return absl::OkStatus();
  std::map<NodeId, StringVector> names;
  for (const auto& [id, entry] : message.persistent_references()) {
    names[id] = PersistentNamesFromUtf8({entry.names().begin(), entry.names().end()});
  }
  return MakePersistentReferences(value, names);
}

void ReadOptionsToProto(const ReadOptions& options, std::string_view format,
                        v1::ReadOptions* message) {
  message->set_format(FormatFromName(format).value_or(v1::FORMAT_UNSPECIFIED));
  Torch7LayoutToProto(options.torch7_long_size, options.torch7_big_endian, message);
  message->set_max_depth(options.max_depth);
  message->set_r_normalize(options.r_normalize);
}

void WriteOptionsToProto(const WriteOptions& options, std::string_view format,
                         v1::WriteOptions* message) {
  message->set_format(FormatFromName(format).value_or(v1::FORMAT_UNSPECIFIED));
  Torch7LayoutToProto(options.torch7_long_size, options.torch7_big_endian, message);
  message->set_torch7_unreferenced(!options.torch7_referenced);
  message->set_json_pretty(options.json_pretty);
  message->set_drop_unconvertible(options.drop_unconvertible);
  message->set_allow_inexact_integers(options.allow_inexact_integers);
  message->set_strict_arrays(options.strict_arrays);
  if (options.r_version) message->set_r_version(*options.r_version);
  if (options.r_compression) {
    message->set_r_compression(static_cast<v1::RCompression>(*options.r_compression));
  }
}

}  // namespace seriald
