// File: proto/service_options.h
//
// The service's format enum and option messages (seriald.v1.Format, ReadOptions, WriteOptions in
// serializer.proto) next to the core's codec names and option structs (core/format/codec.h), in
// both directions: clients build requests from command-line choices, the server turns requests
// back into core options. Both sides use these functions, so a format or option means the same
// thing locally and through the service.
//
// Example:
//
//   std::optional<v1::Format> format = FormatFromName("t7-ascii");     // FORMAT_T7_ASCII
//   v1::WriteOptions request;
//   WriteOptionsToProto(WriteOptions{.torch7_long_size = 4}, "t7", &request);
//   ASSIGN_OR_RETURN(WriteOptions options, WriteOptionsFromProto(request));
//   RETURN_IF_ERROR(ApplyPersistentReferences(request, value));     // before writing `value`
#ifndef SERIALD_PROTO_SERVICE_OPTIONS_H_
#define SERIALD_PROTO_SERVICE_OPTIONS_H_

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/format/codec.h"
#include "core/model/value.h"
#include "seriald/v1/serializer.pb.h"

namespace seriald {

// "t7" -> FORMAT_T7, ...; nullopt for names the service does not know.
std::optional<v1::Format> FormatFromName(std::string_view name);
// FORMAT_T7 -> "t7", ...; empty for FORMAT_UNSPECIFIED and unknown values.
std::string_view FormatName(v1::Format format);

// Core read options from a request. INVALID_ARGUMENT for values out of range (a long size other
// than 0, 4 or 8, an unknown format or byte order). A max_depth of 0 takes `default_max_depth`.
absl::StatusOr<ReadOptions> ReadOptionsFromProto(const v1::ReadOptions& message,
                                                 uint32_t default_max_depth);
// Core write options from a request; the format itself is checked by the caller.
absl::StatusOr<WriteOptions> WriteOptionsFromProto(const v1::WriteOptions& message);

// Resolves the persistent references of `value`, just read for a request, with the request's
// reference_bindings (see serializer.proto): each binding's data is read as R with `options`
// (the request's limits), then core/rds/refhook.h binds them. INVALID_ARGUMENT naming the
// binding, and the node whose names it carries when the input has one, for data that does not
// read (RESOURCE_EXHAUSTED for a limit), a binding without names, or two with the same names.
// The bound objects' arrays may view the bytes of `message` (no copy): `message` must outlive
// `value`.
absl::Status ApplyReferenceBindings(const v1::ReadOptions& message, const ReadOptions& options,
                                    Value& value);

// Turns the nodes a request's persistent_references names into persistent references with those
// names. INVALID_ARGUMENT naming the node for a node that does not exist or is not an
// environment, external pointer or weak reference, or an entry without names.
absl::Status ApplyPersistentReferences(const v1::WriteOptions& message, Value& value);

// Request messages from core options and a format name ("" = detect, for reading).
void ReadOptionsToProto(const ReadOptions& options, std::string_view format,
                        v1::ReadOptions* message);
void WriteOptionsToProto(const WriteOptions& options, std::string_view format,
                         v1::WriteOptions* message);

}  // namespace seriald

#endif  // SERIALD_PROTO_SERVICE_OPTIONS_H_
