// File: proto/data_conversion.h
//
// Conversion between plain data (core/data/data.h) and its schema, seriald.v1.Data
// (proto/seriald/v1/data.proto). The two are mirrors: item ids are kept, so sharing and cycles
// survive, and array data travels as the same little-endian bytes.
//
// DataFromProto treats its input as hostile: an item with no kind, an undeclared enum value, an
// NA index out of range, a string code out of range, a reference to a missing item, an array view
// that leaves its data are INVALID_ARGUMENT naming the item, and the result passes
// data::Data::Validate(). String arrays in dictionary form (CodedStrings items) may expand only to
// DataFromProtoLimits::max_coded_string_bytes in all.
//
// String arrays: DataToProto writes a StringArray item, or, with ToProtoOptions::string_codes, a
// CodedStrings item where at most half of an array's (16 or more) elements are distinct, its
// values in order of first appearance. DataFromProto reads either as data::Strings.
//
// Copies: DataToProto copies each array's bytes once, into the message, or leaves large ones out
// for a streaming sender (DataArraysLeftOut lists them). DataFromProto on an rvalue message moves
// array and binary bytes out of it without copying.
//
// Example:
//
//   v1::Data message;
//   RETURN_IF_ERROR(DataToProto(plain, &message));
//   ...
//   ASSIGN_OR_RETURN(data::Data received, DataFromProto(std::move(message)));
#ifndef SERIALD_PROTO_DATA_CONVERSION_H_
#define SERIALD_PROTO_DATA_CONVERSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/data/data.h"
#include "proto/value_conversion.h"
#include "seriald/v1/data.pb.h"

namespace seriald {

// Replaces `*message` with the mirror of `plain`; arrays over options.max_inline_array_bytes get
// empty data. INVALID_ARGUMENT naming the item when a `string` field (a class, a column or
// attribute name, a time zone) is not UTF-8.
absl::Status DataToProto(const data::Data& plain, seriald::v1::Data* message,
                         const ToProtoOptions& options = {});

// The ids of the array items DataToProto leaves without data under `options`, increasing.
std::vector<ItemId> DataArraysLeftOut(const data::Data& plain, const ToProtoOptions& options);

// What DataFromProto may build beyond the bytes of the message itself.
struct DataFromProtoLimits {
  // The bytes the string arrays in dictionary form (CodedStrings) may expand to, over the whole
  // message: a 4-byte code can stand for a value of any length, as often as it likes. Beyond it:
  // RESOURCE_EXHAUSTED (LimitExceeded `limit_name`) naming the item. The service passes its
  // --max-request-bytes: what the same strings sent one value per element could take.
  uint64_t max_coded_string_bytes = uint64_t{1} << 30;
  std::string limit_name = "max-coded-string-bytes";
};

// The Data `message` describes, validated; array and binary bytes are moved out of `message`.
absl::StatusOr<data::Data> DataFromProto(seriald::v1::Data&& message,
                                         const DataFromProtoLimits& limits = {});

// Like DataFromProto(&&), with the data of the array items in `streamed` (by item id) taken from
// there: each must name an array item whose data in `message` is empty (INVALID_ARGUMENT
// otherwise), and is validated like any array's.
absl::StatusOr<data::Data> DataFromProto(seriald::v1::Data&& message,
                                         const StreamedArrayData& streamed,
                                         const DataFromProtoLimits& limits = {});

}  // namespace seriald

#endif  // SERIALD_PROTO_DATA_CONVERSION_H_
