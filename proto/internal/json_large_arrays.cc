#include "proto/internal/json_large_arrays.h"

#include <cstdint>
#include <cstring>
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

// The 6 bits a base64 character stands for (either alphabet; IsPlainBase64 checked it is one).
int Base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '+' || c == '-' ? 62 : 63;
}

// Whether `text` is base64 as protobuf reads a bytes field: the standard or the URL-safe
// alphabet, not both, then at most two '='; and canonical, as protobuf's strict decoding wants
// (it encodes what it decoded again and compares): the bits of a last partial group that no
// byte takes are zero ("AB==" is refused, "AA==" read). Anything else is left to protobuf, which
// words its own error.
bool IsPlainBase64(std::string_view text, bool* url_safe) {
  size_t end = text.size();
  while (end > 0 && text.size() - end < 2 && text[end - 1] == '=') --end;
  bool standard = false, safe = false;
  for (size_t i = 0; i < end; ++i) {
    const char c = text[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) continue;
    if (c == '+' || c == '/') {
      standard = true;
    } else if (c == '-' || c == '_') {
      safe = true;
    } else {
      return false;
    }
  }
  *url_safe = safe;
  if (standard && safe) return false;
  switch (end % 4) {
    case 1:
      return false;
    case 2:  // one byte: the last character's low 4 bits are left over
      return (Base64Digit(text[end - 1]) & 0xF) == 0;
    case 3:  // two bytes: its low 2 bits
      return (Base64Digit(text[end - 1]) & 0x3) == 0;
    default:
      return true;
  }
}

// 4 MiB of base64: whole groups of four characters, 3 MiB of bytes.
constexpr size_t kDecodeStepChars = size_t{4} << 20;

// The bytes of the plain base64 `text` (IsPlainBase64), decoded a step at a time into one
// buffer; each step's pages of `input` (the text's Buffer, when it has one) are given back once
// decoded, so that a mapped input is not all resident beside what it decodes to. nullopt when
// the decoder refuses it.
std::optional<Buffer> DecodeBase64(std::string_view text, bool url_safe, const Buffer* input,
                                   uint64_t input_offset) {
  size_t chars = text.size();
  while (chars > 0 && text[chars - 1] == '=') --chars;
  auto [buffer, out] = Buffer::Allocate(chars / 4 * 3 + (chars % 4 == 0 ? 0 : chars % 4 - 1));
  std::string step_bytes;
  size_t written = 0;
  for (size_t at = 0; at < text.size(); at += kDecodeStepChars) {
    const std::string_view step = text.substr(at, kDecodeStepChars);
    const bool ok = url_safe ? absl::WebSafeBase64Unescape(AsAbsl(step), &step_bytes)
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
  const std::vector<ArrayDataText> large = FindLongArrayData(json, min_length);
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
    bool url_safe = false;
    if (!IsPlainBase64(text, &url_safe)) return std::nullopt;
    std::optional<Buffer> bytes = DecodeBase64(text, url_safe, input, data.begin);
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
