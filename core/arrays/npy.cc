#include "core/arrays/npy.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/arrays/internal/elements.h"
#include "core/data/ndarray.h"
#include "core/io/byte_order.h"
#include "core/io/input_error.h"
#include "core/model/element_type.h"
#include "core/status_macros.h"

namespace seriald::arrays {
namespace {

constexpr std::string_view kMagic("\x93NUMPY", 6);
// A header this long is no array's: numpy itself refuses more than 10000 bytes unless told
// otherwise, and the largest legitimate ones (32 dimensions, a long record descr) stay far below.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// numpy pads the header so that the data starts at a multiple of this (format.ARRAY_ALIGN).
constexpr uint64_t kArrayAlign = 64;
// numpy leaves room after the dict for the growing axis to reach this many digits, so that an
// array can be appended to in place (format.GROWTH_AXIS_MAX_DIGITS).
constexpr size_t kGrowthAxisMaxDigits = 21;

// The descr np.save writes for each element type.
std::string_view WrittenDescr(ElementType type) {
  switch (type) {
    case ElementType::kUint8:
    case ElementType::kRaw:
      return "|u1";
    case ElementType::kInt8:
      return "|i1";
    case ElementType::kInt16:
      return "<i2";
    case ElementType::kInt32:
      return "<i4";
    case ElementType::kInt64:
      return "<i8";
    case ElementType::kFloat16:
      return "<f2";
    case ElementType::kFloat32:
      return "<f4";
    case ElementType::kFloat64:
      return "<f8";
    case ElementType::kComplex128:
      return "<c16";
    case ElementType::kLogical:
      return "|b1";
  }
  return "";
}

// A descr this reader understands.
struct Descr {
  ElementType type;
  size_t wire_size;  // bytes per element in the file
  bool big_endian;
  bool is_bool;
};

std::optional<Descr> ParseDescr(std::string_view descr) {
  char order = '=';
  if (!descr.empty() &&
      (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=')) {
    order = descr[0];
    descr.remove_prefix(1);
  }
  struct Code {
    std::string_view code;
    ElementType type;
    bool is_bool;
  };
  static constexpr Code kCodes[] = {
      {"b1", ElementType::kLogical, true},  {"u1", ElementType::kUint8, false},
      {"i1", ElementType::kInt8, false},    {"i2", ElementType::kInt16, false},
      {"i4", ElementType::kInt32, false},   {"i8", ElementType::kInt64, false},
      {"f2", ElementType::kFloat16, false}, {"f4", ElementType::kFloat32, false},
      {"f8", ElementType::kFloat64, false}, {"c16", ElementType::kComplex128, false},
  };
  for (const Code& code : kCodes) {
    if (code.code != descr) continue;
    const size_t wire_size = code.is_bool ? 1 : ElementSize(code.type);
    return Descr{code.type, wire_size, order == '>' && wire_size > 1, code.is_bool};
  }
  return std::nullopt;
}

// What an unsupported descr stands for, to make the refusal clear.
std::string_view DescribeUnsupported(std::string_view descr) {
  if (!descr.empty() &&
      (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=')) {
    descr.remove_prefix(1);
  }
  if (descr == "u2") return " (uint16)";
  if (descr == "u4") return " (uint32)";
  if (descr == "u8") return " (uint64)";
  if (descr == "c8") return " (complex64)";
  if (descr == "f16" || descr == "f12") return " (long double)";
  if (descr == "c32" || descr == "c24") return " (complex long double)";
  if (descr.empty()) return "";
  switch (descr[0]) {
    case 'O':
      return " (Python objects, which seriald never unpickles)";
    case 'U':
      return " (unicode strings)";
    case 'S':
    case 'a':
      return " (byte strings)";
    case 'V':
      return " (raw records)";
    case 'M':
      return " (datetime64)";
    case 'm':
      return " (timedelta64)";
    default:
      return "";
  }
}

std::string ShapeRepr(const std::vector<int64_t>& shape) {
  // Python's repr of a tuple: "()", "(3,)", "(2, 3)".
  if (shape.size() == 1) return absl::StrCat("(", shape[0], ",)");
  return absl::StrCat("(", absl::StrJoin(shape, ", "), ")");
}

bool IsHeaderSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Reads one .npy file. Header offsets are reported relative to the start of `input`.
class NpyReader {
 public:
  NpyReader(const Buffer& input, std::string_view name) : input_(input), name_(name) {}

  absl::StatusOr<data::NdArray> Read() {
    const uint64_t size = input_.size();
    if (size < kMagic.size() || input_.view().substr(0, kMagic.size()) != kMagic) {
      return Error(0, "not a numpy file (it does not start with \"\\x93NUMPY\")");
    }
    if (size < 8) return Error(size, "input ends inside the version (needs 2 bytes)");
    const uint8_t major = input_.data()[6];
    const uint8_t minor = input_.data()[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0) {
      return Error(6, absl::StrCat("unsupported format version ", major, ".", minor,
                                   " (1.0, 2.0 and 3.0 are known)"));
    }
    const uint64_t length_size = major == 1 ? 2 : 4;
    if (size < 8 + length_size) {
      return Error(size, absl::StrCat("input ends inside the header length (needs ", length_size,
                                      " bytes)"));
    }
    uint64_t header_size = 0;
    for (uint64_t i = 0; i < length_size; ++i) {
      header_size |= uint64_t{input_.data()[8 + i]} << (8 * i);
    }
    const uint64_t header_start = 8 + length_size;
    if (header_size > kMaxHeaderBytes) {
      return Error(8, absl::StrCat("header length ", header_size, " exceeds the limit of ",
                                   kMaxHeaderBytes, " bytes"));
    }
    if (header_size > size - header_start) {
      return Error(8,
                   absl::StrCat("header length ", header_size, " runs past the end of the input (",
                                size - header_start, " bytes follow the length)"));
    }
    text_ = input_.view().substr(header_start, header_size);
    base_ = header_start;
    RETURN_IF_ERROR(ParseHeader());
    return ReadData(header_start + header_size);
  }

 private:
  absl::Status Error(uint64_t offset, std::string_view problem) const {
    if (name_.empty()) return InputError("npy", offset, problem);
    return InputError("npy", offset,
                      absl::StrCat("array '", AsAbsl(name_), "': ", AsAbsl(problem)));
  }
  absl::Status HeaderError(std::string_view problem) const {
    return Error(base_ + pos_, absl::StrCat("header: ", AsAbsl(problem)));
  }

  // The header: exactly the dict literal numpy writes, keys in any order, a trailing comma
  // allowed, whitespace (the padding) after it.
  absl::Status ParseHeader() {
    SkipSpace();
    if (!Consume('{')) return HeaderError("expected '{' starting the dict");
    bool have_descr = false;
    bool have_fortran = false;
    bool have_shape = false;
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      const uint64_t key_pos = pos_;
      ASSIGN_OR_RETURN(std::string_view key, ParseString("a key"));
      SkipSpace();
      if (!Consume(':'))
        return HeaderError(absl::StrCat("expected ':' after key '", AsAbsl(key), "'"));
      SkipSpace();
      bool* seen = nullptr;
      if (key == "descr") {
        seen = &have_descr;
      } else if (key == "fortran_order") {
        seen = &have_fortran;
      } else if (key == "shape") {
        seen = &have_shape;
      } else {
        pos_ = key_pos;
        return HeaderError(absl::StrCat("unknown key '", AsAbsl(key),
                                        "' (descr, fortran_order and shape are known)"));
      }
      if (*seen) {
        pos_ = key_pos;
        return HeaderError(absl::StrCat("key '", AsAbsl(key), "' appears twice"));
      }
      *seen = true;
      if (key == "descr") {
        RETURN_IF_ERROR(ParseDescrValue());
      } else if (key == "fortran_order") {
        RETURN_IF_ERROR(ParseBool());
      } else {
        RETURN_IF_ERROR(ParseShape());
      }
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume('}')) break;
      return HeaderError("expected ',' or '}' after a value");
    }
    SkipSpace();
    if (pos_ != text_.size()) return HeaderError("unexpected text after the dict");
    const std::string_view missing = !have_descr     ? "descr"
                                     : !have_fortran ? "fortran_order"
                                     : !have_shape   ? "shape"
                                                     : "";
    if (!missing.empty()) {
      pos_ = 0;
      return HeaderError(absl::StrCat("the dict has no '", AsAbsl(missing), "' key"));
    }
    return absl::OkStatus();
  }

  void SkipSpace() {
    while (pos_ < text_.size() && IsHeaderSpace(text_[pos_])) ++pos_;
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  // A quoted string without escapes (no key or descr numpy writes needs one).
  absl::StatusOr<std::string_view> ParseString(std::string_view what) {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      return HeaderError(absl::StrCat("expected a quoted string as ", AsAbsl(what)));
    }
    const char quote = text_[pos_];
    const size_t start = pos_ + 1;
    for (size_t i = start; i < text_.size(); ++i) {
      const char c = text_[i];
      if (c == quote) {
        pos_ = i + 1;
        return text_.substr(start, i - start);
      }
      if (c == '\\' || c == '\n') {
        pos_ = i;
        return HeaderError(
            absl::StrCat("escapes and line breaks are not allowed in ", AsAbsl(what)));
      }
    }
    return HeaderError(absl::StrCat("unterminated string as ", AsAbsl(what)));
  }

  absl::Status ParseDescrValue() {
    descr_pos_ = base_ + pos_;
    if (pos_ < text_.size() && text_[pos_] == '[') {
      return HeaderError(
          absl::StrCat("descr ", AsAbsl(text_.substr(pos_, 40)),
                       "... is a structured (record) dtype, which is not supported"));
    }
    ASSIGN_OR_RETURN(descr_, ParseString("descr"));
    return absl::OkStatus();
  }

  absl::Status ParseBool() {
    if (ConsumeWord("True")) {
      fortran_order_ = true;
    } else if (ConsumeWord("False")) {
      fortran_order_ = false;
    } else {
      return HeaderError("fortran_order is neither True nor False");
    }
    return absl::OkStatus();
  }

  absl::Status ParseShape() {
    shape_pos_ = base_ + pos_;
    if (!Consume('(')) return HeaderError("shape is not a tuple");
    size_t items = 0;
    bool trailing_comma = false;
    while (true) {
      SkipSpace();
      if (Consume(')')) break;
      ASSIGN_OR_RETURN(int64_t size, ParseSize());
      shape_.push_back(size);
      ++items;
      SkipSpace();
      if (Consume(',')) {
        trailing_comma = true;
        continue;
      }
      trailing_comma = false;
      if (Consume(')')) break;
      return HeaderError("expected ',' or ')' in shape");
    }
    // "(3)" is the number 3 to Python, not a tuple; numpy refuses it.
    if (items == 1 && !trailing_comma) {
      pos_ = shape_pos_ - base_;
      return HeaderError("shape is a parenthesised number, not a tuple (a 1-tuple is \"(3,)\")");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> ParseSize() {
    const size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') {
      return HeaderError("shape has a negative size");
    }
    uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(text_[pos_] - '0');
      if (value > (uint64_t{INT64_MAX} - digit) / 10) {
        pos_ = start;
        return HeaderError("a size in shape does not fit in 64 bits");
      }
      value = value * 10 + digit;
      ++pos_;
    }
    if (pos_ == start) return HeaderError("expected a size in shape");
    Consume('L');  // Python 2's long suffix, in files numpy wrote under Python 2
    return static_cast<int64_t>(value);
  }

  absl::StatusOr<data::NdArray> ReadData(uint64_t data_start) {
    const std::optional<Descr> descr = ParseDescr(descr_);
    if (!descr.has_value()) {
      return Error(descr_pos_, absl::StrCat("unsupported dtype '", AsAbsl(descr_), "'",
                                            AsAbsl(DescribeUnsupported(descr_))));
    }
    const std::optional<uint64_t> count = internal::CheckedElementCount(shape_);
    if (!count.has_value()) {
      return Error(shape_pos_,
                   absl::StrCat("shape ", ShapeRepr(shape_), " has more than 2^62 elements"));
    }
    const data::Order order = fortran_order_ ? data::Order::kColumnMajor : data::Order::kRowMajor;
    const uint64_t remaining = input_.size() - data_start;
    if (*count > remaining / descr->wire_size) {
      return Error(data_start, absl::StrCat("data of ", *count, " elements of ", descr->wire_size,
                                            " bytes runs past the end of the input (", remaining,
                                            " bytes remain)"));
    }
    const uint64_t wire_bytes = *count * descr->wire_size;
    if (remaining != wire_bytes) {
      return Error(data_start + wire_bytes,
                   absl::StrCat(remaining - wire_bytes, " bytes follow the array data"));
    }
    const uint8_t* wire = input_.data() + data_start;
    Buffer data;
    if (*count == 0) {
      // Nothing to refer to; an empty buffer keeps no part of the input alive.
    } else if (descr->is_bool) {
      std::optional<uint64_t> bad;
      data = internal::BoolToLogical(wire, *count, &bad);
      if (bad.has_value()) {
        return Error(data_start + *bad,
                     absl::StrCat("bool element ", internal::IndexText(*bad, shape_, order),
                                  " is byte ", wire[*bad], ", not 0 or 1"));
      }
    } else if (descr->big_endian) {
      auto [buffer, bytes] = Buffer::Allocate(wire_bytes);
      // A complex number is two float64 halves, each swapped in place.
      const bool complex = descr->type == ElementType::kComplex128;
      SwapCopy(wire, bytes, complex ? 2 * *count : *count, complex ? 8 : descr->wire_size);
      data = std::move(buffer);
    } else {
      data = input_.Slice(data_start, wire_bytes);
    }
    data::NdArray array;
    array.dtype = descr->type;
    array.shape = shape_;
    array.strides = data::ContiguousStrides(shape_, order);
    array.length = *count;
    array.data = std::move(data);
    RETURN_IF_ERROR(data::CheckView(array, name_.empty() ? "npy array" : name_));
    return array;
  }

  const Buffer& input_;
  std::string_view name_;
  std::string_view text_;  // the header
  uint64_t base_ = 0;      // offset of text_ in the input
  size_t pos_ = 0;         // in text_
  std::string_view descr_;
  uint64_t descr_pos_ = 0;
  bool fortran_order_ = false;
  std::vector<int64_t> shape_;
  uint64_t shape_pos_ = 0;
};

// The magic, version, header length and padded header np.save writes before the data.
absl::StatusOr<std::string> Preamble(std::string_view descr, bool fortran_order,
                                     const std::vector<int64_t>& shape) {
  std::string dict = absl::StrCat("{'descr': '", AsAbsl(descr),
                                  "', 'fortran_order': ", fortran_order ? "True" : "False",
                                  ", 'shape': ", ShapeRepr(shape), ", }");
  if (!shape.empty()) {
    const size_t digits = absl::StrCat(shape[fortran_order ? shape.size() - 1 : 0]).size();
    if (digits < kGrowthAxisMaxDigits) dict.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  // Version 1.0 has a u16 header length; numpy moves to 2.0 (u32) only when that overflows.
  const uint64_t text_size = dict.size() + 1;  // with the final '\n'
  uint8_t major = 1;
  uint64_t prefix = kMagic.size() + 2 + 2;
  // Always 1..64 spaces, never 0: numpy's formula, kept for byte-identical output.
  uint64_t padding = kArrayAlign - (prefix + text_size) % kArrayAlign;
  if (text_size + padding > 0xFFFF) {
    major = 2;
    prefix = kMagic.size() + 2 + 4;
    padding = kArrayAlign - (prefix + text_size) % kArrayAlign;
    if (text_size + padding > 0xFFFFFFFF) {
      return absl::InvalidArgumentError(
          absl::StrCat("npy header of ", text_size, " bytes is too long for any npy version"));
    }
  }
  const uint64_t header_size = text_size + padding;
  std::string out;
  out.reserve(prefix + header_size);
  out.append(kMagic);
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  for (uint64_t i = 0; i < prefix - kMagic.size() - 2; ++i) {
    out.push_back(static_cast<char>((header_size >> (8 * i)) & 0xFF));
  }
  out.append(dict);
  out.append(padding, ' ');
  out.push_back('\n');
  return out;
}

}  // namespace

bool LooksLikeNpy(const Buffer& input) {
  return input.size() >= kMagic.size() && input.view().substr(0, kMagic.size()) == kMagic;
}

absl::StatusOr<data::NdArray> ReadNpy(const Buffer& input) { return ReadNpy(input, ""); }

absl::StatusOr<data::NdArray> ReadNpy(const Buffer& input, std::string_view array_name) {
  return NpyReader(input, array_name).Read();
}

absl::Status WriteNpy(const data::NdArray& array, ByteWriter& out) {
  return WriteNpy(array, "", out);
}

absl::Status WriteNpy(const data::NdArray& array, std::string_view array_name, ByteWriter& out) {
  ASSIGN_OR_RETURN(NpyParts parts, NpyPartsOf(array, array_name));
  out.Append(parts.preamble);
  internal::AppendBody(parts.body, out);
  return absl::OkStatus();
}

absl::StatusOr<NpyParts> NpyPartsOf(const data::NdArray& array, std::string_view array_name) {
  const std::string what =
      array_name.empty() ? std::string("array") : absl::StrCat("array '", AsAbsl(array_name), "'");
  RETURN_IF_ERROR(data::CheckView(array, what));
  // As numpy decides: C order when the view is C-contiguous (a vector is both), else Fortran
  // order when it is Fortran-contiguous, else gathered into C order.
  const bool fortran_order = !data::IsContiguous(array, data::Order::kRowMajor) &&
                             data::IsContiguous(array, data::Order::kColumnMajor);
  const data::Order order = fortran_order ? data::Order::kColumnMajor : data::Order::kRowMajor;
  NpyParts parts;
  ASSIGN_OR_RETURN(parts.body, internal::BodyOf(array, order, what, "numpy bool"));
  ASSIGN_OR_RETURN(parts.preamble, Preamble(WrittenDescr(array.dtype), fortran_order, array.shape));
  return parts;
}

}  // namespace seriald::arrays
