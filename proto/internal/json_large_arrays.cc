#include "proto/internal/json_large_arrays.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "core/absl_compat.h"
#include "proto/internal/json_parse.h"
#include "proto/internal/json_path.h"
#include "proto/value_conversion.h"
#include "proto/value_json.h"
#include "seriald/v1/value.pb.h"

namespace seriald::internal {
namespace {

// The 6 bits a base64 character stands for (either alphabet).
int Base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '+' || c == '-' ? 62 : 63;
}

// What a character is to base64 as protobuf reads a bytes field: a letter or digit (either
// alphabet), '+' or '/' (the standard one), '-' or '_' (the URL-safe one), or anything else. As
// bits, so that a string's classes are an OR over its characters.
enum Base64Class : uint8_t { kEither = 0, kStandard = 1, kUrlSafe = 2, kOther = 4 };

// The classes of the characters of `text`, OR'ed. Compares and ORs without branches, which the
// compiler makes 16 or 32 characters at a time: testing each character with branches read 533
// MB of base64 at a quarter of a GB/s, and a table lookup per character, which it vectorises
// through the stack, at about one.
uint8_t ClassesOf(std::string_view text) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  uint8_t standard = 0, url_safe = 0, other = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t c = bytes[i];
    const uint8_t letter_or_digit = static_cast<uint8_t>((static_cast<uint8_t>(c - 'A') < 26) |
                                                         (static_cast<uint8_t>(c - 'a') < 26) |
                                                         (static_cast<uint8_t>(c - '0') < 10));
    const uint8_t is_standard = static_cast<uint8_t>((c == '+') | (c == '/'));
    const uint8_t is_url_safe = static_cast<uint8_t>((c == '-') | (c == '_'));
    standard |= is_standard;
    url_safe |= is_url_safe;
    other |= static_cast<uint8_t>((letter_or_digit | is_standard | is_url_safe) ^ 1);
  }
  return static_cast<uint8_t>((standard != 0 ? kStandard : 0) | (url_safe != 0 ? kUrlSafe : 0) |
                              (other != 0 ? kOther : 0));
}

// Whether classes seen so far are base64 of one alphabet.
bool OneAlphabet(uint8_t classes) {
  return (classes & kOther) == 0 && (classes & (kStandard | kUrlSafe)) != (kStandard | kUrlSafe);
}

// The characters of `text` before its padding (at most two '='), when what they end with is
// canonical as protobuf's strict decoding wants (it encodes what it decoded again and compares):
// not a lone character, and the bits of a last partial group that no byte takes zero ("AB==" is
// refused, "AA==" read). The characters' classes, the last one's included, are checked as they
// are decoded: a last character of neither alphabet gives Base64Digit a meaningless value here,
// and the string is refused there.
std::optional<size_t> CanonicalLength(std::string_view text) {
  size_t end = text.size();
  while (end > 0 && text.size() - end < 2 && text[end - 1] == '=') --end;
  switch (end % 4) {
    case 1:
      return std::nullopt;
    case 2:  // one byte: the last character's low 4 bits are left over
      if ((Base64Digit(text[end - 1]) & 0xF) != 0) return std::nullopt;
      return end;
    case 3:  // two bytes: its low 2 bits
      if ((Base64Digit(text[end - 1]) & 0x3) != 0) return std::nullopt;
      return end;
    default:
      return end;
  }
}

// 4 MiB of base64: whole groups of four characters, 3 MiB of bytes.
constexpr size_t kDecodeStepChars = size_t{4} << 20;

// The bytes of `text` decoded a step at a time into one buffer, when it is base64 as protobuf
// reads a bytes field (the standard or the URL-safe alphabet, not both, then at most two '=',
// canonical): each step's characters are checked while they are in the cache, then decoded.
// Each step's pages of `input` (the text's Buffer, when it has one) are given back once decoded,
// so that a mapped input is not all resident beside what it decodes to. nullopt for anything
// else, which is left to protobuf to word its own error.
std::optional<Buffer> DecodeBase64(std::string_view text, const Buffer* input,
                                   uint64_t input_offset) {
  const std::optional<size_t> chars = CanonicalLength(text);
  if (!chars.has_value()) return std::nullopt;
  auto [buffer, out] = Buffer::Allocate(*chars / 4 * 3 + (*chars % 4 == 0 ? 0 : *chars % 4 - 1));
  std::string step_bytes;
  size_t written = 0;
  uint8_t seen = 0;
  for (size_t at = 0; at < text.size(); at += kDecodeStepChars) {
    const std::string_view step = text.substr(at, kDecodeStepChars);
    const uint8_t classes = at < *chars ? ClassesOf(step.substr(0, *chars - at)) : 0;
    seen |= classes;
    if (!OneAlphabet(seen)) return std::nullopt;
    const bool ok = (classes & kUrlSafe) != 0
                        ? absl::WebSafeBase64Unescape(AsAbsl(step), &step_bytes)
                        : absl::Base64Unescape(AsAbsl(step), &step_bytes);
    if (!ok || step_bytes.size() > buffer.size() - written) return std::nullopt;
    if (!step_bytes.empty()) std::memcpy(out + written, step_bytes.data(), step_bytes.size());
    written += step_bytes.size();
    if (input != nullptr) input->Slice(input_offset + at, step.size()).DropPages();
  }
  if (written != buffer.size()) return std::nullopt;
  return buffer;
}

}  // namespace

std::optional<Value> ReadJsonDecodingLargeArrays(std::string_view json, const Buffer* input,
                                                 uint64_t min_length) {
  const std::vector<ArrayDataText> large = FindLongArrayData(json, min_length, input);
  if (large.empty()) return std::nullopt;
  std::string skeleton;
  size_t taken = 0;
  for (const ArrayDataText& data : large) {
    skeleton.append(json.substr(taken, data.begin - taken));
    taken = data.end;
  }
  skeleton.append(json.substr(taken));
  seriald::v1::Value message;
  if (!ParseJsonMessage(skeleton, &message).ok()) return std::nullopt;
  skeleton = std::string();
  StreamedArrayData decoded;
  for (const ArrayDataText& data : large) {
    const std::string_view text = json.substr(data.begin, data.end - data.begin);
    std::optional<Buffer> bytes = DecodeBase64(text, input, data.begin);
    if (!bytes.has_value() ||
        !decoded.emplace(static_cast<uint32_t>(data.node), *std::move(bytes)).second) {
      return std::nullopt;
    }
  }
  absl::StatusOr<Value> value = FromProto(std::move(message), decoded);
  if (!value.ok()) return std::nullopt;
  return *std::move(value);
}

}  // namespace seriald::internal
