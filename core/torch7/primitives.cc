#include "core/torch7/primitives.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/absl_compat.h"
#include "core/io/byte_order.h"
#include "core/status_macros.h"

namespace seriald::torch7 {
namespace {

bool IsSpace(uint8_t c) { return IsAsciiSpace(c); }

// A number longer than this is not something printf wrote; refusing it bounds the copy that
// strtod's fallback needs.
constexpr size_t kMaxTokenChars = 512;

template <typename T>
T Load(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

template <typename T>
void Store(uint8_t* p, T value) {
  std::memcpy(p, &value, sizeof(T));
}

// Single values (bulk element data goes through core/io/byte_order.h).
uint32_t Swap(uint32_t v) { return __builtin_bswap32(v); }
uint64_t Swap(uint64_t v) { return __builtin_bswap64(v); }

std::string Printable(uint8_t c) {
  if (c >= 0x20 && c < 0x7f) return absl::StrFormat("'%c'", c);
  return absl::StrFormat("byte 0x%02x", c);
}

}  // namespace

// --- number formatting ------------------------------------------------------------------------
// std::to_chars with a precision is specified to produce printf's output in the C locale; the
// tests check it against snprintf on random values and the corpus.

size_t FormatDouble(double value, char* out) {
  return std::to_chars(out, out + kMaxNumberChars, value, std::chars_format::general, 17).ptr - out;
}

size_t FormatFloat(float value, char* out) {
  return std::to_chars(out, out + kMaxNumberChars, static_cast<double>(value),
                       std::chars_format::general, 9)
             .ptr -
         out;
}

size_t FormatInteger(int64_t value, char* out) {
  return std::to_chars(out, out + kMaxNumberChars, value).ptr - out;
}

bool IsAsciiSpace(uint8_t c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

// --- element conversion -----------------------------------------------------------------------

bool ElementsNeedConversion(const Torch7Layout& layout, ElementType type) {
  if (layout.ascii) return false;
  if (type == ElementType::kInt64 && layout.long_size == 4) return true;
  return layout.big_endian && ElementSize(type) > 1;
}

Buffer ConvertElements(const Torch7Layout& layout, ElementType type, uint64_t count,
                       const Buffer& wire) {
  if (!ElementsNeedConversion(layout, type) || count == 0) return wire;
  auto [buffer, out] = Buffer::Allocate(count * ElementSize(type));
  const uint8_t* in = wire.data();
  if (type == ElementType::kInt64 && layout.long_size == 4) {
    for (uint64_t i = 0; i < count; ++i) {
      uint32_t bits = Load<uint32_t>(in + 4 * i);
      if (layout.big_endian) bits = Swap(bits);
      Store<int64_t>(out + 8 * i, static_cast<int32_t>(bits));
    }
    wire.DropPages();
  } else {
    SwapCopy(wire, out, count, ElementSize(type));
  }
  return buffer;
}

// --- reader -----------------------------------------------------------------------------------

PrimitiveReader::PrimitiveReader(Buffer input, const Torch7Layout& layout, uint64_t base)
    : in_(std::move(input), "torch7", base), layout_(layout) {}

bool PrimitiveReader::AtEnd() const {
  if (!layout_.ascii) return in_.AtEnd();
  const uint8_t* p = in_.current();
  const uint8_t* end = p + in_.remaining();
  while (p < end && IsSpace(*p)) ++p;
  return p == end;
}

bool PrimitiveReader::OnlyNulRemains() const { return in_.remaining() == 1 && *in_.current() == 0; }

uint64_t PrimitiveReader::WireSize(ElementType type) const {
  return type == ElementType::kInt64 ? layout_.long_size : ElementSize(type);
}

uint64_t PrimitiveReader::MinElementBytes(ElementType type) const {
  if (!layout_.ascii) return WireSize(type);
  return 1;  // raw bytes take one byte each, numbers at least one digit
}

absl::Status PrimitiveReader::CheckRoom(uint64_t count, uint64_t bytes_each, std::string_view what,
                                        uint64_t at) const {
  if (count > in_.remaining() / bytes_each) {
    return ErrorAt(at, absl::StrCat(AsAbsl(what), " ", count, " is more than the remaining ",
                                    in_.remaining(), " bytes can hold"));
  }
  return absl::OkStatus();
}

void PrimitiveReader::SkipSpace() {
  uint64_t skip = 0;
  const uint8_t* p = in_.current();
  while (skip < in_.remaining() && IsSpace(p[skip])) ++skip;
  in_.Skip(skip);
}

void PrimitiveReader::SwallowNewline() {
  if (in_.remaining() > 0 && *in_.current() == '\n') in_.Skip(1);
}

absl::StatusOr<std::string_view> PrimitiveReader::NumberToken(std::string_view what) {
  SkipSpace();
  if (in_.AtEnd()) {
    return Error(absl::StrCat("input ends where ", AsAbsl(what), " (a number) was expected"));
  }
  // The token is the run of characters that can appear in a printf number; the parsers below
  // take the longest valid prefix of it, as fscanf does.
  const char* begin = reinterpret_cast<const char*>(in_.current());
  size_t length = 0;
  while (length < in_.remaining() && !IsSpace(static_cast<uint8_t>(begin[length])) &&
         length <= kMaxTokenChars) {
    ++length;
  }
  return std::string_view(begin, length);
}

absl::StatusOr<int64_t> PrimitiveReader::ParseInteger(int64_t min, int64_t max,
                                                      std::string_view what) {
  ASSIGN_OR_RETURN(std::string_view token, NumberToken(what));
  size_t start = token.size() > 0 && token[0] == '+' ? 1 : 0;  // from_chars takes no '+'
  int64_t value = 0;
  auto [end, error] = std::from_chars(token.data() + start, token.data() + token.size(), value);
  if (error == std::errc::invalid_argument || (start == 1 && token.size() > 1 && token[1] == '-')) {
    return Error(absl::StrCat("expected ", AsAbsl(what), " (an integer), found ",
                              Printable(static_cast<uint8_t>(token[0]))));
  }
  if (error == std::errc::result_out_of_range || value < min || value > max) {
    return Error(absl::StrCat(AsAbsl(what), " ", std::string(token.substr(0, end - token.data())),
                              " is out of range"));
  }
  in_.Skip(end - token.data());
  return value;
}

namespace {

// Parses the longest number at the start of `token` as fscanf("%lg"/"%g") would: decimal, with
// glibc's "inf"/"nan" spellings and a sign (kept on NaN). Returns the characters used, 0 if none.
template <typename T>
size_t ParseFloatingToken(std::string_view token, T* value) {
  size_t start = 0;
  bool negative = false;
  if (!token.empty() && (token[0] == '+' || token[0] == '-')) {
    negative = token[0] == '-';
    start = 1;
  }
  const char* first = token.data() + start;
  const char* last = token.data() + token.size();
  if (first < last && (*first == '+' || *first == '-')) return 0;  // "--1" is not a number
  T parsed{};
  auto [end, error] = std::from_chars(first, last, parsed);
  if (error == std::errc::invalid_argument) return 0;
  if (error == std::errc::result_out_of_range) {
    // Overflow or underflow: strtod gives +-HUGE_VAL or the nearest subnormal/zero, as fscanf.
    std::string copy(first, end);
    parsed = std::is_same_v<T, float> ? std::strtof(copy.c_str(), nullptr)
                                      : std::strtod(copy.c_str(), nullptr);
  }
  // Negate rather than parse the '-' so that "-nan" keeps its sign bit.
  *value = negative ? -parsed : parsed;
  return end - token.data();
}

}  // namespace

template <typename T>
absl::StatusOr<T> PrimitiveReader::ParseFloating(std::string_view what) {
  ASSIGN_OR_RETURN(std::string_view token, NumberToken(what));
  T value = 0;
  size_t used = ParseFloatingToken(token, &value);
  if (used == 0) {
    return Error(absl::StrCat("expected ", AsAbsl(what), " (a number), found ",
                              Printable(static_cast<uint8_t>(token[0]))));
  }
  in_.Skip(used);
  return value;
}

absl::StatusOr<double> PrimitiveReader::ParseDouble(std::string_view what) {
  return ParseFloating<double>(what);
}

absl::StatusOr<float> PrimitiveReader::ParseFloat(std::string_view what) {
  return ParseFloating<float>(what);
}

absl::StatusOr<int32_t> PrimitiveReader::ReadInt(std::string_view what) {
  if (layout_.ascii) {
    ASSIGN_OR_RETURN(int64_t value, ParseInteger(INT32_MIN, INT32_MAX, what));
    SwallowNewline();
    return static_cast<int32_t>(value);
  }
  ASSIGN_OR_RETURN(std::string_view bytes, in_.ReadBytes(4, what));
  uint32_t bits = Load<uint32_t>(reinterpret_cast<const uint8_t*>(bytes.data()));
  return static_cast<int32_t>(layout_.big_endian ? Swap(bits) : bits);
}

absl::StatusOr<int64_t> PrimitiveReader::ReadLong(std::string_view what) {
  if (layout_.ascii) {
    ASSIGN_OR_RETURN(int64_t value, ParseInteger(INT64_MIN, INT64_MAX, what));
    SwallowNewline();
    return value;
  }
  ASSIGN_OR_RETURN(std::string_view bytes, in_.ReadBytes(layout_.long_size, what));
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (layout_.long_size == 4) {
    // Read with 4-byte longs on a 64-bit host, torch7 sign-extends (THDiskFile.c:383-391).
    uint32_t bits = Load<uint32_t>(p);
    return static_cast<int32_t>(layout_.big_endian ? Swap(bits) : bits);
  }
  uint64_t bits = Load<uint64_t>(p);
  return static_cast<int64_t>(layout_.big_endian ? Swap(bits) : bits);
}

absl::StatusOr<double> PrimitiveReader::ReadDouble(std::string_view what) {
  if (layout_.ascii) {
    ASSIGN_OR_RETURN(double value, ParseDouble(what));
    SwallowNewline();
    return value;
  }
  ASSIGN_OR_RETURN(std::string_view bytes, in_.ReadBytes(8, what));
  uint64_t bits = Load<uint64_t>(reinterpret_cast<const uint8_t*>(bytes.data()));
  if (layout_.big_endian) bits = Swap(bits);
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

absl::Status PrimitiveReader::ReadLongs(uint64_t count, std::vector<int64_t>* out,
                                        std::string_view what) {
  RETURN_IF_ERROR(CheckRoom(count, MinLongBytes(), what, offset()));
  out->resize(count);
  if (layout_.ascii) {
    for (uint64_t i = 0; i < count; ++i) {
      ASSIGN_OR_RETURN((*out)[i], ParseInteger(INT64_MIN, INT64_MAX, what));
    }
    if (count > 0) SwallowNewline();
    return absl::OkStatus();
  }
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN((*out)[i], ReadLong(what));
  }
  return absl::OkStatus();
}

absl::StatusOr<Buffer> PrimitiveReader::ReadRaw(uint64_t size, std::string_view what) {
  ASSIGN_OR_RETURN(Buffer bytes, in_.ReadSlice(size, what));
  if (layout_.ascii && size > 0) SwallowNewline();
  return bytes;
}

absl::Status PrimitiveReader::ParseElements(ElementType type, uint64_t count, uint8_t* out,
                                            std::string_view what) {
  for (uint64_t i = 0; i < count; ++i) {
    switch (type) {
      case ElementType::kInt16: {
        ASSIGN_OR_RETURN(int64_t v, ParseInteger(INT16_MIN, INT16_MAX, what));
        Store<int16_t>(out + 2 * i, static_cast<int16_t>(v));
        break;
      }
      case ElementType::kInt32: {
        ASSIGN_OR_RETURN(int64_t v, ParseInteger(INT32_MIN, INT32_MAX, what));
        Store<int32_t>(out + 4 * i, static_cast<int32_t>(v));
        break;
      }
      case ElementType::kInt64: {
        ASSIGN_OR_RETURN(int64_t v, ParseInteger(INT64_MIN, INT64_MAX, what));
        Store<int64_t>(out + 8 * i, v);
        break;
      }
      case ElementType::kFloat16: {
        ASSIGN_OR_RETURN(float v, ParseFloat(what));
        Store<uint16_t>(out + 2 * i, FloatToHalf(v));
        break;
      }
      case ElementType::kFloat32: {
        ASSIGN_OR_RETURN(float v, ParseFloat(what));
        Store<float>(out + 4 * i, v);
        break;
      }
      case ElementType::kFloat64: {
        ASSIGN_OR_RETURN(double v, ParseDouble(what));
        Store<double>(out + 8 * i, v);
        break;
      }
      default:
        return Error(absl::StrCat(AsAbsl(ElementTypeName(type)),
                                  " elements are not numbers in Torch7 ascii"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> PrimitiveReader::ReadSomeElements(ElementType type, uint64_t max_count,
                                                           uint8_t* out, std::string_view what) {
  const size_t size = ElementSize(type);
  uint64_t count = 0;
  while (count < max_count && !AtEnd()) {
    RETURN_IF_ERROR(ParseElements(type, 1, out + count * size, what));
    ++count;
  }
  return count;
}

absl::StatusOr<Buffer> PrimitiveReader::ReadElements(ElementType type, uint64_t count,
                                                     std::string_view what) {
  RETURN_IF_ERROR(CheckRoom(count, MinElementBytes(type), what, offset()));
  if (!layout_.ascii) return in_.ReadSlice(count * WireSize(type), what);
  if (ElementSize(type) == 1) return ReadRaw(count, what);  // char and byte arrays are raw
  if (count == 0) return Buffer();
  auto [buffer, out] = Buffer::Allocate(count * ElementSize(type));
  RETURN_IF_ERROR(ParseElements(type, count, out, what));
  SwallowNewline();
  return buffer;
}

// --- writer -----------------------------------------------------------------------------------

PrimitiveWriter::PrimitiveWriter(ByteWriter& out, const Torch7Layout& layout)
    : out_(out), layout_(layout) {}

void PrimitiveWriter::WriteAsciiLine(std::string_view text) {
  size_t available = 0;
  uint8_t* space = out_.WritableSpace(text.size() + 1, &available);
  std::memcpy(space, text.data(), text.size());
  space[text.size()] = '\n';
  out_.Commit(text.size() + 1);
}

void PrimitiveWriter::WriteInt(int32_t value) {
  if (layout_.ascii) {
    char text[kMaxNumberChars];
    WriteAsciiLine(std::string_view(text, FormatInteger(value, text)));
    return;
  }
  uint32_t bits = static_cast<uint32_t>(value);
  if (layout_.big_endian) bits = Swap(bits);
  out_.Append(&bits, 4);
}

void PrimitiveWriter::WriteLong(int64_t value) {
  if (layout_.ascii) {
    char text[kMaxNumberChars];
    WriteAsciiLine(std::string_view(text, FormatInteger(value, text)));
    return;
  }
  if (layout_.long_size == 4) {
    WriteInt(static_cast<int32_t>(static_cast<uint32_t>(value)));  // low 32 bits, as torch7
    return;
  }
  uint64_t bits = static_cast<uint64_t>(value);
  if (layout_.big_endian) bits = Swap(bits);
  out_.Append(&bits, 8);
}

void PrimitiveWriter::WriteDouble(double value) {
  if (layout_.ascii) {
    char text[kMaxNumberChars];
    WriteAsciiLine(std::string_view(text, FormatDouble(value, text)));
    return;
  }
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if (layout_.big_endian) bits = Swap(bits);
  out_.Append(&bits, 8);
}

void PrimitiveWriter::WriteLongs(std::span<const int64_t> values) {
  if (!layout_.ascii) {
    for (int64_t v : values) WriteLong(v);
    return;
  }
  WriteAsciiElements(ElementType::kInt64, values.size(),
                     reinterpret_cast<const uint8_t*>(values.data()));
}

void PrimitiveWriter::WriteRaw(std::string_view bytes) {
  out_.Append(bytes);
  if (layout_.ascii && !bytes.empty()) out_.AppendByte('\n');
}

void PrimitiveWriter::WriteRaw(const Buffer& bytes) {
  out_.AppendShared(bytes);
  if (layout_.ascii && !bytes.empty()) out_.AppendByte('\n');
}

void PrimitiveWriter::WriteTruncatedLongs(const uint8_t* data, uint64_t count) {
  while (count > 0 && out_.ok()) {
    size_t available = 0;
    uint8_t* space = out_.WritableSpace(4, &available);
    uint64_t n = std::min<uint64_t>(count, available / 4);
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t low = static_cast<uint32_t>(Load<uint64_t>(data + 8 * i));
      Store<uint32_t>(space + 4 * i, layout_.big_endian ? Swap(low) : low);
    }
    out_.Commit(n * 4);
    data += n * 8;
    count -= n;
  }
}

void PrimitiveWriter::WriteAsciiElements(ElementType type, uint64_t count, const uint8_t* data,
                                         bool ends_call) {
  // Each element is formatted straight into the writer's block: "e0 e1 ... en\n", the newline
  // only once the call's last element is written.
  uint64_t i = 0;
  while (i < count && out_.ok()) {
    size_t available = 0;
    uint8_t* space = out_.WritableSpace(kMaxNumberChars + 1, &available);
    char* begin = reinterpret_cast<char*>(space);
    char* p = begin;
    char* limit = begin + available - (kMaxNumberChars + 1);
    for (; i < count && p <= limit; ++i) {
      switch (type) {
        case ElementType::kInt16:
          p += FormatInteger(Load<int16_t>(data + 2 * i), p);
          break;
        case ElementType::kInt32:
          p += FormatInteger(Load<int32_t>(data + 4 * i), p);
          break;
        case ElementType::kInt64:
          p += FormatInteger(Load<int64_t>(data + 8 * i), p);
          break;
        case ElementType::kFloat16:
          p += FormatFloat(HalfToFloat(Load<uint16_t>(data + 2 * i)), p);
          break;
        case ElementType::kFloat32:
          p += FormatFloat(Load<float>(data + 4 * i), p);
          break;
        default:  // kFloat64; the writer only passes Torch7 element types
          p += FormatDouble(Load<double>(data + 8 * i), p);
          break;
      }
      *p++ = i + 1 == count && ends_call ? '\n' : ' ';
    }
    out_.Commit(p - begin);
  }
}

void PrimitiveWriter::WriteElements(ElementType type, uint64_t count, const Buffer& data,
                                    bool big_endian, bool ends_call) {
  if (count == 0) return;
  const size_t size = ElementSize(type);
  if (size == 1) {
    // Bytes have no order, and ascii writes char and byte arrays raw.
    out_.AppendShared(data);
    if (layout_.ascii && ends_call) out_.AppendByte('\n');
    return;
  }
  const bool narrows = type == ElementType::kInt64 && layout_.long_size == 4;
  if (layout_.ascii || narrows) {
    // These need the values: big-endian input is swapped a step at a time.
    uint64_t done = 0;
    ForEachLittleEndianStep(Array{type, count, data, big_endian},
                            [&](const uint8_t* values, uint64_t n) {
                              done += n;
                              if (layout_.ascii) {
                                WriteAsciiElements(type, n, values, done == count && ends_call);
                              } else {
                                WriteTruncatedLongs(values, n);
                              }
                            });
  } else if (layout_.big_endian != big_endian) {
    AppendSwapped(data, count, size, out_);
  } else {
    out_.AppendShared(data);
  }
}

}  // namespace seriald::torch7
