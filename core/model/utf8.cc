#include "core/model/utf8.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>

namespace seriald {

size_t FirstInvalidUtf8(std::string_view bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t size = bytes.size();
  size_t i = 0;
  while (i < size) {
    // ASCII runs dominate real strings: check eight bytes at a time.
    if (i + 8 <= size) {
      uint64_t word;
      std::memcpy(&word, data + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const uint8_t lead = data[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // Length and the allowed range of the second byte (Unicode Table 3-7), which excludes
    // overlong forms, surrogates and code points above U+10FFFF.
    size_t length;
    uint8_t second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;
      if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;
      if (lead == 0xF4) second_max = 0x8F;
    } else {
      return i;
    }
    if (size - i < length) return i;
    if (data[i + 1] < second_min || data[i + 1] > second_max) return i;
    for (size_t k = 2; k < length; ++k) {
      if (data[i + k] < 0x80 || data[i + k] > 0xBF) return i;
    }
    i += length;
  }
  return size;
}

std::string Latin1ToUtf8(std::string_view bytes, bool windows_1252) {
  // Windows-1252 0x80..0x9F; 0 where the code page leaves a byte undefined (kept as the C1
  // control of the same value, as latin1 would).
  static constexpr uint16_t kWindows1252High[32] = {
      0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (char c : bytes) {
    uint32_t code = static_cast<uint8_t>(c);
    if (windows_1252 && code >= 0x80 && code < 0xA0 && kWindows1252High[code - 0x80] != 0) {
      code = kWindows1252High[code - 0x80];
    }
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }
  return out;
}

NativeEncoding NativeEncodingFromName(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "ISO-8859-1" || upper == "ISO8859-1" || upper == "LATIN1" || upper == "LATIN-1") {
    return NativeEncoding::kLatin1;
  }
  if (upper == "CP1252" || upper == "WINDOWS-1252") return NativeEncoding::kWindows1252;
  return NativeEncoding::kOther;
}

bool RStringNeedsUtf8(std::string_view bytes, StringEncoding encoding, NativeEncoding native) {
  const bool eight_bit = encoding == StringEncoding::kLatin1 ||
                         (encoding == StringEncoding::kNative && native != NativeEncoding::kOther);
  return eight_bit && !std::all_of(bytes.begin(), bytes.end(),
                                   [](char c) { return static_cast<uint8_t>(c) < 0x80; });
}

std::optional<std::string> RStringAsUtf8(std::string_view bytes, StringEncoding encoding,
                                         NativeEncoding native) {
  if (!RStringNeedsUtf8(bytes, encoding, native)) return std::nullopt;
  // Undeclared bytes follow the stream's native encoding; declared latin1 is latin1.
  return Latin1ToUtf8(
      bytes, encoding == StringEncoding::kNative && native == NativeEncoding::kWindows1252);
}

}  // namespace seriald
