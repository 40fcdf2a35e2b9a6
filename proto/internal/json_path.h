// File: proto/internal/json_path.h
//
// Finds where a field named by a protobuf path ("nodes[3].torch_object.payload") sits in a JSON
// text, so that errors protobuf's JSON parser reports by path ("invalid value", "Cannot find
// field") can name a byte offset. Only used on text protobuf's parser has already accepted as
// JSON syntax, and it accepts the same liberties that parser does: single-quoted strings, unquoted
// keys, trailing commas, a field given by its proto name or its lowerCamelCase JSON name, and a
// repeated field spread over several keys of one object. It never recurses.
//
// Example:
//
//   LocateJsonPath(R"({"nodes": [{"nil": {}}, {"boolean": 3}]})", "nodes[1].boolean")  // 36
//   LocateJsonPath(json, "nodes[0]", "nul")   // where the key "nul" of nodes[0] starts
#ifndef SERIALD_PROTO_INTERNAL_JSON_PATH_H_
#define SERIALD_PROTO_INTERNAL_JSON_PATH_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/io/buffer.h"

namespace seriald::internal {

// The byte offset of the value at `path` in `json` ("" = the top-level value), or, when `key` is
// not empty, of the member `key` inside that value. When part of the path cannot be found (an
// escaped key, say), the offset of the deepest part that could.
uint64_t LocateJsonPath(std::string_view json, std::string_view path, std::string_view key = {});

// Where a large array's data sits in the JSON text of a seriald.v1.Value: the contents (between
// the quotes) of the string at nodes[node].array.data.
struct ArrayDataText {
  uint64_t node;
  uint64_t begin;
  uint64_t end;
};

// The nodes[i].array.data strings of at least `min_length` bytes that hold no escape, in text
// order, for a reader that decodes them itself and leaves protobuf the rest of the text. Empty
// when "nodes", or "array" or "data" in one of them, occurs under more than one key of its
// object (protobuf merges those): the text is then protobuf's to read whole. Used before the text
// is parsed, so it never reads past the text; on text that is not JSON, what it finds is only
// trusted once protobuf has accepted the rest. `pages`, when given, is the Buffer `json` views (a
// mapped file): the pages of each string of 64 KiB or more are given back once it is scanned
// (Buffer::DropPages), each such string being read once however deep the search.
std::vector<ArrayDataText> FindLongArrayData(std::string_view json, uint64_t min_length,
                                             const Buffer* pages = nullptr);

}  // namespace seriald::internal

#endif  // SERIALD_PROTO_INTERNAL_JSON_PATH_H_
