// File: core/model/utf8.h
//
// Strict UTF-8 validation, as protobuf requires of `string` fields: well-formed sequences only,
// no overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF. Used to decide
// whether a string travels as `text` or `raw`, and to refuse non-UTF-8 bytes in `string` fields.
// Also the one transcoding into UTF-8 seriald does: from latin1 and Windows-1252, the 8-bit
// encodings R streams declare (a CHARSXP's LATIN1 flag, a version-3 header's native encoding).
//
// Example:
//
//   IsValidUtf8("caf\xc3\xa9");        // true
//   FirstInvalidUtf8("ab\xff");        // 2
#ifndef SERIALD_CORE_MODEL_UTF8_H_
#define SERIALD_CORE_MODEL_UTF8_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/model/strings.h"

namespace seriald {

// The offset of the first byte that does not begin a well-formed UTF-8 sequence, or
// `bytes.size()` when all of `bytes` is well-formed.
size_t FirstInvalidUtf8(std::string_view bytes);

inline bool IsValidUtf8(std::string_view bytes) { return FirstInvalidUtf8(bytes) == bytes.size(); }

// `bytes` in latin1 (ISO-8859-1) as UTF-8; with `windows_1252`, 0x80..0x9F are Windows-1252's
// characters (the euro sign, curly quotes...) rather than C1 controls, as R reads "CP1252".
std::string Latin1ToUtf8(std::string_view bytes, bool windows_1252 = false);

// The 8-bit encodings an R stream's native encoding can name (a version-3 header written by R in
// a latin1 or Windows-1252 locale: "ISO-8859-1", "latin1", "CP1252", ...); kOther for UTF-8 and
// anything else, whose strings need no translation here.
enum class NativeEncoding : uint8_t { kOther, kLatin1, kWindows1252 };
NativeEncoding NativeEncodingFromName(std::string_view name);

// Whether R shows an R string as other bytes than its own: declared latin1, or undeclared
// (native) in a stream whose native encoding is latin1 or Windows-1252, and not plain ASCII.
// Looks at the bytes only for those encodings.
bool RStringNeedsUtf8(std::string_view bytes, StringEncoding encoding, NativeEncoding native);

// The UTF-8 text R shows for an R string when its bytes are not that already
// (RStringNeedsUtf8); nullopt when the bytes are to be shown as they are.
std::optional<std::string> RStringAsUtf8(std::string_view bytes, StringEncoding encoding,
                                         NativeEncoding native);

}  // namespace seriald

#endif  // SERIALD_CORE_MODEL_UTF8_H_
