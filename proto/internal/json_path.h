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

namespace seriald::internal {

// The byte offset of the value at `path` in `json` ("" = the top-level value), or, when `key` is
// not empty, of the member `key` inside that value. When part of the path cannot be found (an
// escaped key, say), the offset of the deepest part that could.
uint64_t LocateJsonPath(std::string_view json, std::string_view path, std::string_view key = {});

}  // namespace seriald::internal

#endif  // SERIALD_PROTO_INTERNAL_JSON_PATH_H_
