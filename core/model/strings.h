// File: core/model/strings.h
//
// Strings as both formats carry them: bytes plus the encoding they are declared in, and R's NA.
// Torch7 strings are plain bytes (encoding kNative). R marks each string UTF-8, latin1, bytes,
// ASCII or nothing (the writer's native encoding). Bytes are never transcoded or validated here:
// what was read is what is written back.
//
// StringVector stores a whole R character vector compactly (one byte array, one offset and one
// tag per element) so that ten million strings cost ten million small records, not ten million
// allocations.
//
// Example:
//
//   StringVector names;
//   names.Append("caf\xc3\xa9", StringEncoding::kUtf8);
//   names.AppendNa();
//   StringVector::Element first = names.Get(0);   // bytes "café", kUtf8, is_na false
#ifndef SERIALD_CORE_MODEL_STRINGS_H_
#define SERIALD_CORE_MODEL_STRINGS_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seriald {

enum class StringEncoding : uint8_t {
  kNative = 0,  // no declaration (Torch7 strings; R strings in the writer's native encoding)
  kUtf8 = 1,
  kLatin1 = 2,
  kBytes = 3,
  kAscii = 4,
};

std::string_view StringEncodingName(StringEncoding encoding);  // "native", "utf8", ...
std::optional<StringEncoding> StringEncodingFromName(std::string_view name);

// One string: a Lua string, an R CHARSXP, a symbol's name.
struct StringValue {
  std::string bytes;
  StringEncoding encoding = StringEncoding::kNative;
  bool is_na = false;  // R's NA_character_; `bytes` is then empty
  // R: the CHARSXP's flags word as the stream had it, when it differs from what R 4.2 writes for
  // these bytes and this encoding (old R versions set other level and flag bits); kept so that
  // writing reproduces the stream.
  std::optional<uint32_t> char_flags = std::nullopt;

  static StringValue Na() { return StringValue{{}, StringEncoding::kNative, true}; }
  friend bool operator==(const StringValue& a, const StringValue& b) {
    return a.bytes == b.bytes && a.encoding == b.encoding && a.is_na == b.is_na &&
           a.char_flags == b.char_flags;
  }
};

// A vector of strings (R character vector).
class StringVector {
 public:
  struct Element {
    std::string_view bytes;
    StringEncoding encoding;
    bool is_na;
  };

  size_t size() const { return tags_.size(); }
  bool empty() const { return tags_.empty(); }
  // Total bytes of all elements.
  size_t byte_size() const { return data_.size(); }

  Element Get(size_t index) const {
    uint64_t begin = index == 0 ? 0 : ends_[index - 1];
    return Element{std::string_view(data_).substr(begin, ends_[index] - begin),
                   static_cast<StringEncoding>(tags_[index] & kEncodingMask),
                   (tags_[index] & kNaBit) != 0};
  }
  StringValue GetValue(size_t index) const {
    Element e = Get(index);
    return StringValue{std::string(e.bytes), e.encoding, e.is_na, CharFlagsOf(index)};
  }

  // R: element `index`'s CHARSXP flags word as its stream had it, when it differs from what R 4.2
  // writes (StringValue::char_flags). Rare, so kept aside, in increasing index order.
  std::optional<uint32_t> CharFlagsOf(size_t index) const {
    if (char_flags_.empty()) return std::nullopt;
    auto it = std::lower_bound(char_flags_.begin(), char_flags_.end(), index,
                               [](const auto& entry, size_t i) { return entry.first < i; });
    if (it == char_flags_.end() || it->first != index) return std::nullopt;
    return it->second;
  }
  // Records the CHARSXP flags word of the last element appended.
  void SetLastCharFlags(uint32_t flags) { char_flags_.emplace_back(tags_.size() - 1, flags); }
  // Forgets every element's CHARSXP flags word: for a copy whose strings are shown, not written
  // back as R wrote them.
  void ClearCharFlags() { char_flags_.clear(); }

  void Reserve(size_t count, size_t total_bytes) {
    ends_.reserve(count);
    tags_.reserve(count);
    data_.reserve(total_bytes);
  }
  void Append(std::string_view bytes, StringEncoding encoding = StringEncoding::kNative) {
    data_.append(bytes);
    ends_.push_back(data_.size());
    tags_.push_back(static_cast<uint8_t>(encoding));
  }
  void Append(const StringValue& value) {
    if (value.is_na) {
      AppendNa();
    } else {
      Append(value.bytes, value.encoding);
    }
    if (value.char_flags.has_value()) SetLastCharFlags(*value.char_flags);
  }
  void AppendNa() {
    ends_.push_back(data_.size());
    tags_.push_back(kNaBit);
  }

  friend bool operator==(const StringVector& a, const StringVector& b) {
    return a.data_ == b.data_ && a.ends_ == b.ends_ && a.tags_ == b.tags_ &&
           a.char_flags_ == b.char_flags_;
  }

 private:
  static constexpr uint8_t kEncodingMask = 0x0F;
  static constexpr uint8_t kNaBit = 0x80;

  std::string data_;
  std::vector<uint64_t> ends_;
  std::vector<uint8_t> tags_;
  std::vector<std::pair<uint64_t, uint32_t>> char_flags_;  // (index, flags), index increasing
};

}  // namespace seriald

#endif  // SERIALD_CORE_MODEL_STRINGS_H_
