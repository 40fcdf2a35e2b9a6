#include "core/rds/primitives.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/byte_order.h"
#include "core/io/input_error.h"
#include "core/io/step_reader.h"
#include "core/rds/sexptype.h"
#include "core/status_macros.h"

namespace seriald::rds {
namespace {

double FromBits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}
uint64_t ToBits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return bits;
}

template <typename T>
T LoadSwapped(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (sizeof(T) == 4) {
    return __builtin_bswap32(v);
  } else {
    return __builtin_bswap64(v);
  }
}

}  // namespace

namespace {

bool IsAscii(std::string_view bytes) {
  const char* p = bytes.data();
  size_t n = bytes.size();
  uint64_t acc = 0;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    acc |= w;
  }
  for (; n > 0; --n, ++p) acc |= static_cast<uint8_t>(*p);
  return (acc & 0x8080808080808080ULL) == 0;
}

}  // namespace

uint16_t CharLevels(std::string_view bytes, StringEncoding encoding, bool is_na) {
  if (is_na) return 0;
  if (IsAscii(bytes)) return kAsciiMask;
  switch (encoding) {
    case StringEncoding::kUtf8:
      return kUtf8Mask;
    case StringEncoding::kLatin1:
      return kLatin1Mask;
    case StringEncoding::kBytes:
      return kBytesMask;
    default:
      return 0;
  }
}

absl::Status NestedTooDeep(uint64_t max_depth, uint64_t offset) {
  return LimitExceeded("max-depth",
                       absl::StrCat("rds: objects nested more than ", max_depth,
                                    " deep (ReadOptions::max_depth) at byte ", offset));
}

bool IsRNa(double value) { return std::isnan(value) && (ToBits(value) & 0xFFFFFFFFu) == 1954; }

size_t FormatAsciiDouble(double value, bool hex, char* out) {
  const char* token = nullptr;
  if (!std::isfinite(value)) {
    if (IsRNa(value)) {
      token = "NA";
    } else if (std::isnan(value)) {
      token = "NaN";
    } else {
      token = value < 0 ? "-Inf" : "Inf";
    }
    size_t n = std::strlen(token);
    std::memcpy(out, token, n);
    return n;
  }
  int n = std::snprintf(out, 40, hex ? "%a" : "%.16g", value);
  return static_cast<size_t>(n);
}

// ---------------------------------------------------------------------------------------------
// Ascii tokens

std::optional<int32_t> ParseAsciiInt(std::string_view word) {
  if (word == "NA") return kNaInteger;
  int64_t v = 0;
  const char* begin = word.data();
  if (!word.empty() && word[0] == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, word.data() + word.size(), v);
  if (ec != std::errc() || ptr != word.data() + word.size() || v < INT32_MIN || v > INT32_MAX) {
    return std::nullopt;
  }
  return static_cast<int32_t>(v);
}

std::optional<double> ParseAsciiDouble(std::string_view word, AsciiDoubleForm* form) {
  *form = AsciiDoubleForm::kToken;
  if (word == "NA") return FromBits(kNaRealBits);
  if (word == "NaN") return FromBits(kRNaNBits);
  if (word == "Inf") return HUGE_VAL;
  if (word == "-Inf") return -HUGE_VAL;
  if (word.empty() || word.size() > kMaxAsciiWord) return std::nullopt;
  // A finite decimal number that from_chars reads whole, in range, is what strtod reads (both
  // round correctly), read several times faster; anything else (hex floats, a leading '+',
  // words out of range, inf and nan spelled otherwise than R writes them) goes to strtod, as
  // R's sscanf("%lg") does.
  double v = 0;
  const auto [ptr, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (ec == std::errc() && ptr == word.data() + word.size() && std::isfinite(v)) {
    *form = AsciiDoubleForm::kDecimal;
    return v;
  }
  char buf[kMaxAsciiWord + 1];
  std::memcpy(buf, word.data(), word.size());
  buf[word.size()] = '\0';
  char* end = nullptr;
  v = std::strtod(buf, &end);
  if (end != buf + word.size()) return std::nullopt;
  *form = word.find_first_of("xX") != std::string_view::npos ? AsciiDoubleForm::kHex
                                                             : AsciiDoubleForm::kDecimal;
  return v;
}

std::optional<uint8_t> ParseAsciiByte(std::string_view word) {
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(word.data(), word.data() + word.size(), v, 16);
  if (ec != std::errc() || ptr != word.data() + word.size() || word.size() > 2) {
    return std::nullopt;
  }
  return static_cast<uint8_t>(v);
}

bool ParseAsciiElement(ElementType type, std::string_view word, uint64_t i, uint8_t* values,
                       AsciiDoubleForm* form) {
  *form = AsciiDoubleForm::kToken;
  switch (type) {
    case ElementType::kRaw: {
      const std::optional<uint8_t> v = ParseAsciiByte(word);
      if (!v.has_value()) return false;
      values[i] = *v;
      return true;
    }
    case ElementType::kInt32:
    case ElementType::kLogical: {
      const std::optional<int32_t> v = ParseAsciiInt(word);
      if (!v.has_value()) return false;
      std::memcpy(values + 4 * i, &*v, 4);
      return true;
    }
    default: {
      const std::optional<double> v = ParseAsciiDouble(word, form);
      if (!v.has_value()) return false;
      std::memcpy(values + 8 * i, &*v, 8);
      return true;
    }
  }
}

std::string_view AsciiTokenKind(ElementType type) {
  switch (type) {
    case ElementType::kRaw:
      return "a hex byte";
    case ElementType::kInt32:
    case ElementType::kLogical:
      return "an integer";
    default:
      return "a number";
  }
}

AsciiUnescaped UnescapeAscii(std::string_view text, uint64_t length, bool text_ends,
                             std::string& out) {
  const char* const begin = text.data();
  const char* p = begin;
  const char* const end = begin + text.size();
  while (out.size() < length && p != end) {
    // A run without escapes, at once.
    const size_t want = static_cast<size_t>(
        std::min<uint64_t>(length - out.size(), static_cast<uint64_t>(end - p)));
    const void* slash = std::memchr(p, '\\', want);
    const size_t run = slash == nullptr ? want : static_cast<const char*>(slash) - p;
    out.append(p, run);
    p += run;
    if (out.size() == length || p == end) break;
    // An escape: \ and up to three more chars.
    if (end - p < 4 && (!text_ends || end - p == 1)) return {static_cast<size_t>(p - begin), true};
    char c = p[1];
    p += 2;
    switch (c) {
      case 'n':
        c = '\n';
        break;
      case 't':
        c = '\t';
        break;
      case 'v':
        c = '\v';
        break;
      case 'b':
        c = '\b';
        break;
      case 'r':
        c = '\r';
        break;
      case 'f':
        c = '\f';
        break;
      case 'a':
        c = '\a';
        break;
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7': {
        unsigned d = c - '0';
        for (int j = 1; j < 3 && p != end && *p >= '0' && *p < '8'; ++j) d = d * 8 + (*p++ - '0');
        c = static_cast<char>(d);
        break;
      }
      default:  // \\ \? \' \" and any unknown escape stand for the char itself
        break;
    }
    out.push_back(c);
  }
  return {static_cast<size_t>(p - begin), false};
}

// ---------------------------------------------------------------------------------------------
// InputStream

InputStream::InputStream(Buffer input, uint64_t offset) : in_(std::move(input), "rds") {
  in_.Seek(offset);
}

absl::Status InputStream::CheckRoom(uint64_t count, uint64_t bytes_each,
                                    std::string_view what) const {
  const uint64_t each = ascii() ? 2 : bytes_each;  // a token and its separator
  if (each != 0 && count > remaining() / each) {
    return Error(absl::StrCat(AsAbsl(what), " of ", count, " elements needs at least ",
                              count * each, " more bytes, but only ", remaining(), " remain"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string_view> InputStream::Word(std::string_view what) {
  while (!in_.AtEnd() && IsAsciiSpace(*in_.current())) in_.Skip(1);
  if (in_.AtEnd()) return in_.Error(absl::StrCat("input ends before ", AsAbsl(what)));
  const char* start = reinterpret_cast<const char*>(in_.current());
  size_t n = 0;
  const uint64_t left = in_.remaining();
  while (n < left && !IsAsciiSpace(static_cast<uint8_t>(start[n]))) {
    if (++n > kMaxAsciiWord)
      return in_.Error(absl::StrCat(AsAbsl(what), " is longer than 127 chars"));
  }
  in_.Skip(n);
  // InWord reads up to and including the separator; a token the input ends in may be cut short,
  // so R refuses it, and so does this reader.
  if (in_.AtEnd()) return in_.Error(absl::StrCat("input ends inside ", AsAbsl(what)));
  in_.Skip(1);
  return std::string_view(start, n);
}

absl::StatusOr<int32_t> InputStream::ParseInt(std::string_view word, uint64_t start,
                                              std::string_view what) {
  std::optional<int32_t> v = ParseAsciiInt(word);
  if (!v.has_value()) {
    return in_.ErrorAt(start,
                       absl::StrCat(AsAbsl(what), ": \"", AsAbsl(word), "\" is not an integer"));
  }
  return *v;
}

absl::StatusOr<double> InputStream::ParseDouble(std::string_view word, uint64_t start,
                                                std::string_view what) {
  AsciiDoubleForm form;
  std::optional<double> v = ParseAsciiDouble(word, &form);
  if (!v.has_value()) {
    return in_.ErrorAt(start,
                       absl::StrCat(AsAbsl(what), ": \"", AsAbsl(word), "\" is not a number"));
  }
  if (double_form_ == AsciiDoubleForm::kToken) double_form_ = form;
  return *v;
}

absl::StatusOr<int32_t> InputStream::ReadInt(std::string_view what) {
  if (ascii()) {
    uint64_t start = offset();
    ASSIGN_OR_RETURN(std::string_view word, Word(what));
    return ParseInt(word, start, what);
  }
  ASSIGN_OR_RETURN(std::string_view bytes, in_.ReadBytes(4, what));
  uint32_t v;
  std::memcpy(&v, bytes.data(), 4);
  if (format_ == RFormat::kXdr) v = __builtin_bswap32(v);
  return static_cast<int32_t>(v);
}

absl::StatusOr<double> InputStream::ReadDouble(std::string_view what) {
  if (ascii()) {
    uint64_t start = offset();
    ASSIGN_OR_RETURN(std::string_view word, Word(what));
    return ParseDouble(word, start, what);
  }
  ASSIGN_OR_RETURN(std::string_view bytes, in_.ReadBytes(8, what));
  uint64_t v;
  std::memcpy(&v, bytes.data(), 8);
  if (format_ == RFormat::kXdr) v = __builtin_bswap64(v);
  return FromBits(v);
}

absl::StatusOr<std::string_view> InputStream::ReadString(uint64_t length, std::string_view what) {
  if (!ascii()) return in_.ReadBytes(length, what);
  scratch_.clear();
  if (length == 0) return std::string_view();
  // Each byte takes at least one input char.
  while (!in_.AtEnd() && IsAsciiSpace(*in_.current())) in_.Skip(1);
  if (length > in_.remaining()) return in_.Truncated(length, what);
  scratch_.reserve(length);
  const AsciiUnescaped done = UnescapeAscii(
      std::string_view(reinterpret_cast<const char*>(in_.current()), in_.remaining()), length,
      /*text_ends=*/true, scratch_);
  if (done.cut_escape || scratch_.size() < length) {
    in_.Seek(in_.input().size());
    return in_.Error(absl::StrCat(
        done.cut_escape ? "input ends inside an escape in " : "input ends inside ", AsAbsl(what)));
  }
  in_.Skip(done.used);
  return std::string_view(scratch_);
}

absl::StatusOr<Buffer> InputStream::ReadElements(ElementType type, uint64_t count,
                                                 std::string_view what, bool as_written) {
  const size_t size = ElementSize(type);
  if (!ascii()) {
    RETURN_IF_ERROR(CheckRoom(count, size, what));
    ASSIGN_OR_RETURN(Buffer wire, in_.ReadSlice(count * size, what));
    if (as_written || format_ == RFormat::kNative || type == ElementType::kRaw || count == 0) {
      return wire;
    }
    const uint64_t units = size == 16 ? count * 2 : count;
    const size_t unit = size == 16 ? 8 : size;
    // Each byte of the stream is read once, so an array's bytes are its own: swapped where they
    // are, no other node sees them change.
    if (uint8_t* writable = may_overwrite_input_ ? wire.WritableBytes() : nullptr) {
      SwapInPlace(writable, units, unit);
      return wire;
    }
    auto [buffer, bytes] = Buffer::Allocate(count * size);
    SwapCopy(wire, bytes, units, unit);
    return buffer;
  }
  const uint64_t tokens = type == ElementType::kComplex128 ? 2 * count : count;
  RETURN_IF_ERROR(CheckRoom(tokens, 1, what));
  if (count == 0) return Buffer();
  auto [buffer, bytes] = Buffer::Allocate(count * size);
  for (uint64_t i = 0; i < tokens; ++i) {
    uint64_t start = offset();
    ASSIGN_OR_RETURN(std::string_view word, Word(what));
    AsciiDoubleForm form;
    if (!ParseAsciiElement(type, word, i, bytes, &form)) {
      return in_.ErrorAt(start, absl::StrCat(AsAbsl(what), ": \"", AsAbsl(word), "\" is not ",
                                             AsAbsl(AsciiTokenKind(type))));
    }
    if (double_form_ == AsciiDoubleForm::kToken) double_form_ = form;
  }
  return buffer;
}

// ---------------------------------------------------------------------------------------------
// OutputStream

void OutputStream::WriteInt(int32_t value) {
  if (ascii()) {
    char buf[16];
    size_t n;
    if (value == kNaInteger) {
      std::memcpy(buf, "NA", 2);
      n = 2;
    } else {
      // At most 11 characters; one byte stays free for the newline.
      n = static_cast<size_t>(std::to_chars(buf, buf + sizeof buf - 1, value).ptr - buf);
    }
    buf[n++] = '\n';
    out_.Append(buf, n);
    return;
  }
  const uint32_t v = Ordered(static_cast<uint32_t>(value));
  out_.Append(&v, 4);
}

void OutputStream::WriteDouble(double value) {
  if (ascii()) {
    char buf[48];
    size_t n = FormatAsciiDouble(value, format_ == RFormat::kAsciiHex, buf);
    buf[n++] = '\n';
    out_.Append(buf, n);
    return;
  }
  uint64_t v = ToBits(value);
  if (format_ == RFormat::kXdr) v = __builtin_bswap64(v);
  out_.Append(&v, 8);
}

void OutputStream::WriteString(std::string_view bytes) {
  if (!ascii()) {
    if (!bytes.empty()) out_.Append(bytes);
    return;
  }
  std::string text;
  text.reserve(bytes.size() + 1);
  for (char ch : bytes) {
    switch (ch) {
      case '\n':
        text += "\\n";
        break;
      case '\t':
        text += "\\t";
        break;
      case '\v':
        text += "\\v";
        break;
      case '\b':
        text += "\\b";
        break;
      case '\r':
        text += "\\r";
        break;
      case '\f':
        text += "\\f";
        break;
      case '\a':
        text += "\\a";
        break;
      case '\\':
        text += "\\\\";
        break;
      case '?':
        text += "\\?";
        break;
      case '\'':
        text += "\\'";
        break;
      case '"':
        text += "\\\"";
        break;
      default: {
        auto s = static_cast<signed char>(ch);
        if (s <= 32 || s > 126) {
          auto u = static_cast<unsigned char>(ch);
          char oct[4] = {'\\', static_cast<char>('0' + (u >> 6)),
                         static_cast<char>('0' + ((u >> 3) & 7)), static_cast<char>('0' + (u & 7))};
          text.append(oct, 4);
        } else {
          text += ch;
        }
      }
    }
  }
  text += '\n';
  out_.Append(text);
}

void OutputStream::WriteAsciiElements(ElementType type, uint64_t count, const uint8_t* data) {
  const bool hex = format_ == RFormat::kAsciiHex;
  const uint64_t tokens = type == ElementType::kComplex128 ? 2 * count : count;
  for (uint64_t i = 0; i < tokens; ++i) {
    size_t available = 0;
    char* p = reinterpret_cast<char*>(out_.WritableSpace(64, &available));
    size_t n = 0;
    switch (type) {
      case ElementType::kRaw: {
        static constexpr char kHex[] = "0123456789abcdef";
        p[0] = kHex[data[i] >> 4];
        p[1] = kHex[data[i] & 15];
        n = 2;
        break;
      }
      case ElementType::kInt32:
      case ElementType::kLogical: {
        int32_t v;
        std::memcpy(&v, data + 4 * i, 4);
        if (v == kNaInteger) {
          p[0] = 'N';
          p[1] = 'A';
          n = 2;
        } else {
          n = static_cast<size_t>(std::to_chars(p, p + 16, v).ptr - p);
        }
        break;
      }
      default: {
        double v;
        std::memcpy(&v, data + 8 * i, 8);
        n = FormatAsciiDouble(v, hex, p);
        break;
      }
    }
    p[n++] = '\n';
    out_.Commit(n);
  }
}

std::optional<ElementType> WidenedForR(ElementType type) {
  switch (type) {
    case ElementType::kFloat32:
    case ElementType::kFloat16:
      return ElementType::kFloat64;
    case ElementType::kInt8:
    case ElementType::kInt16:
    case ElementType::kUint8:
      return ElementType::kInt32;
    default:
      return std::nullopt;
  }
}

void WidenForR(ElementType type, const uint8_t* from, uint64_t count, uint8_t* to) {
  auto each = [&](auto load, auto widen) {
    using From = decltype(load);
    for (uint64_t i = 0; i < count; ++i) {
      From value;
      std::memcpy(&value, from + i * sizeof(From), sizeof(From));
      const auto wide = widen(value);
      std::memcpy(to + i * sizeof(wide), &wide, sizeof(wide));
    }
  };
  switch (type) {
    case ElementType::kFloat32:
      each(float{}, [](float v) { return double{v}; });
      break;
    case ElementType::kFloat16:
      each(uint16_t{}, [](uint16_t v) { return double{HalfToFloat(v)}; });
      break;
    case ElementType::kInt8:
      each(int8_t{}, [](int8_t v) { return int32_t{v}; });
      break;
    case ElementType::kInt16:
      each(int16_t{}, [](int16_t v) { return int32_t{v}; });
      break;
    case ElementType::kUint8:
      each(uint8_t{}, [](uint8_t v) { return int32_t{v}; });
      break;
    default:
      break;
  }
}

namespace {

// Elements widened per step: 1 MiB of doubles.
constexpr uint64_t kWidenStepElements = uint64_t{1} << 17;

}  // namespace

absl::Status OutputStream::WriteWidenedElements(ElementType type, uint64_t count,
                                                const Buffer& data, bool big_endian) {
  const std::optional<ElementType> wide = WidenedForR(type);
  if (!wide.has_value() || count == 0) return absl::OkStatus();
  const size_t from_size = ElementSize(type);
  const size_t to_size = ElementSize(*wide);
  std::vector<uint8_t> widened;  // ascii: a step's numbers before they are formatted
  // Each step of the source little-endian (ReadInSteps swaps a big-endian one into its chunk; a
  // mapped input is read from its file), widened straight into the output's blocks, and swapped
  // there for XDR.
  return ReadInSteps(data.Slice(0, count * from_size), kWidenStepElements * from_size,
                     big_endian ? SwapUnit(type) : 0, [&](const Buffer& step) {
                       const uint64_t n = step.size() / from_size;
                       if (ascii()) {
                         widened.resize(n * to_size);
                         WidenForR(type, step.data(), n, widened.data());
                         WriteAsciiElements(*wide, n, widened.data());
                         return absl::OkStatus();
                       }
                       for (uint64_t done = 0; done < n && out_.ok();) {
                         size_t available = 0;
                         uint8_t* space = out_.WritableSpace(to_size, &available);
                         const uint64_t k = std::min<uint64_t>(n - done, available / to_size);
                         WidenForR(type, step.data() + done * from_size, k, space);
                         if (format_ == RFormat::kXdr) SwapInPlace(space, k, to_size);
                         out_.Commit(k * to_size);
                         done += k;
                       }
                       return absl::OkStatus();
                     });
}

void OutputStream::WriteElements(ElementType type, uint64_t count, const Buffer& data,
                                 bool big_endian) {
  const size_t size = ElementSize(type);
  if (count == 0) return;
  if (ascii()) {
    // Ascii needs the values: big-endian input is swapped a step at a time.
    ForEachLittleEndianStep(
        Array{type, count, data, big_endian},
        [&](const uint8_t* values, uint64_t n) { WriteAsciiElements(type, n, values); });
  } else if ((format_ == RFormat::kXdr) == big_endian || type == ElementType::kRaw) {
    out_.AppendShared(data);
  } else if (size == 16) {
    AppendSwapped(data, count * 2, 8, out_);
  } else {
    AppendSwapped(data, count, size, out_);
  }
}

}  // namespace seriald::rds
