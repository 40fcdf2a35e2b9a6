// File: proto/internal/utf8.h
//
// Strict UTF-8 validation, as protobuf requires of `string` fields: well-formed sequences only,
// no overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF. Used to decide
// whether a string travels as `text` or `raw`, and to refuse non-UTF-8 bytes in `string` fields.
//
// Example:
//
//   IsValidUtf8("caf\xc3\xa9");        // true
//   FirstInvalidUtf8("ab\xff");        // 2
#ifndef SERIALD_PROTO_INTERNAL_UTF8_H_
#define SERIALD_PROTO_INTERNAL_UTF8_H_

#include <cstddef>
#include <string_view>

namespace seriald::internal {

// The offset of the first byte that does not begin a well-formed UTF-8 sequence, or
// `bytes.size()` when all of `bytes` is well-formed.
size_t FirstInvalidUtf8(std::string_view bytes);

inline bool IsValidUtf8(std::string_view bytes) { return FirstInvalidUtf8(bytes) == bytes.size(); }

}  // namespace seriald::internal

#endif  // SERIALD_PROTO_INTERNAL_UTF8_H_
