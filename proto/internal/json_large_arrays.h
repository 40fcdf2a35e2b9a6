// File: proto/internal/json_large_arrays.h
//
// Reading the JSON form of a Value (value_json.h) without protobuf holding large arrays' data:
// protobuf's JSON parser decodes every bytes field into its binary form and then into the
// message, two copies of the data on top of the text (2.1 GB to read 400 MB of doubles). Here the
// base64 strings of nodes[i].array.data longer than kJsonInlineArrayBytes are found in the text
// (json_path.h, FindLongArrayData), protobuf parses the rest with those strings left empty, and
// each is decoded once, into the Buffer the array then holds (FromProto's streamed data).
//
// The result is the Value protobuf's whole parse gives. Whenever this reading cannot vouch for
// that (no large array, a field spread over several keys, a string in another form than plain
// base64, any error at all), it returns nullopt and the caller parses the whole text as before,
// so errors keep protobuf's wording and their byte offset in the text.
//
// Example:
//
//   if (std::optional<Value> value = internal::ReadJsonDecodingLargeArrays(text)) return *value;
//   // else: ParseJsonMessage(text, &message) and FromProto, as for any JSON
#ifndef SERIALD_PROTO_INTERNAL_JSON_LARGE_ARRAYS_H_
#define SERIALD_PROTO_INTERNAL_JSON_LARGE_ARRAYS_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/io/buffer.h"
#include "core/model/value.h"
#include "proto/value_json.h"

namespace seriald::internal {

// The Value `json` describes, its large arrays decoded here; nullopt when the text is to be read
// whole by protobuf (see above). `input`, when given, is the Buffer `json` views (a mapped file):
// the pages of each array's text are given back as it is decoded (Buffer::DropPages). Strings
// of at least `min_length` bytes are decoded here (the fuzzer sets a small one, so that its
// inputs reach this code).
std::optional<Value> ReadJsonDecodingLargeArrays(std::string_view json,
                                                 const Buffer* input = nullptr,
                                                 uint64_t min_length = kJsonInlineArrayBytes);

}  // namespace seriald::internal

#endif  // SERIALD_PROTO_INTERNAL_JSON_LARGE_ARRAYS_H_
