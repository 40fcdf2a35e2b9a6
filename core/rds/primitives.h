// File: core/rds/primitives.h
//
// The primitive layer of R serialization streams (serialize.c:248-559): ints, doubles, strings
// and whole vectors of elements in one of the stream encodings.
//
//   X (XDR)     big-endian 4-byte ints and 8-byte IEEE doubles; string and raw bytes verbatim
//   B (native)  the same in little-endian order
//   A (ascii)   one token per line: ints "%d" ("NA" for INT_MIN), doubles "%.16g" (asciihex:
//               "%a") with the tokens NA, NaN, Inf, -Inf; raw bytes "%02x"; strings escaped as
//               OutString does (\n \t \v \b \r \f \a \\ \? \' \" and \ooo for bytes <= 32 or
//               > 126), each followed by "\n"
//
// InputStream checks every count against what remains before reading or allocating and reports
// problems as InputError("rds", offset, problem). Element data comes back as model bytes
// (little-endian): B vectors are slices of the input (no copy), X vectors are byte-swapped once
// into a new buffer, or kept as slices when asked (Array::big_endian), ascii vectors are parsed.
// OutputStream appends to a ByteWriter: data already in the output's order goes by reference,
// other data is swapped straight into the writer's blocks: one pass, no intermediate copy.
//
// Example:
//
//   rds::InputStream in(input, /*offset=*/2);
//   in.set_format(RFormat::kXdr);
//   ASSIGN_OR_RETURN(int32_t version, in.ReadInt("version"));
//   ASSIGN_OR_RETURN(Buffer data, in.ReadElements(ElementType::kFloat64, n, "double vector"));
//
//   ByteWriter bytes;
//   rds::OutputStream out(bytes, RFormat::kAscii);
//   out.WriteInt(3);
//   out.WriteDouble(0.1);   // "0.1\n"
#ifndef SERIALD_CORE_RDS_PRIMITIVES_H_
#define SERIALD_CORE_RDS_PRIMITIVES_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/io/buffer.h"
#include "core/io/byte_reader.h"
#include "core/io/byte_writer.h"
#include "core/model/element_type.h"
#include "core/model/value.h"

namespace seriald::rds {

// R's NaN as R 4.2 produces it (R_NaN, arithmetic.c); ascii "NaN" reads as this.
inline constexpr uint64_t kRNaNBits = 0x7FF8000000000000ULL;

// True for R's NA_real_ (a NaN whose low word is 1954), whatever its sign and quiet bit.
bool IsRNa(double value);

// The level bits R 4.2 gives a CHARSXP of these bytes and declared encoding (mkCharLenCE,
// serialize.c:1162-1169): ASCII whenever the bytes are, else the declared encoding's mask.
uint16_t CharLevels(std::string_view bytes, StringEncoding encoding, bool is_na);

// ---- ascii tokens as R reads them (serialize.c:387-470: InWord, InInteger, InReal, InString),
// for the readers of ascii streams: InputStream over a whole input, the transcoder over chunks.

// InWord's buffer: a token is at most this many chars, and is followed by whitespace.
inline constexpr size_t kMaxAsciiWord = 127;
inline bool IsAsciiSpace(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// An int token: "NA" (NA_integer_) or a decimal number in int range.
std::optional<int32_t> ParseAsciiInt(std::string_view word);

// How a double token is written: one of NA, NaN, Inf, -Inf (the same in both ascii forms), a
// decimal number, or a hex float. An ascii stream is asciihex when its first number that is not
// one of the four tokens is a hex float: R writes every such number of a stream in one form.
enum class AsciiDoubleForm : uint8_t { kToken, kDecimal, kHex };
// A double token: the four tokens, else what strtod reads whole (as sscanf "%lg" does).
std::optional<double> ParseAsciiDouble(std::string_view word, AsciiDoubleForm* form);

// A raw byte's token: one or two hex digits.
std::optional<uint8_t> ParseAsciiByte(std::string_view word);

// Token `i` of an ascii vector of `type` (a complex element is two tokens, its parts) parsed
// into `values` (model bytes, little-endian), for both readers. `*form` is the token's form for
// doubles, kToken for other types. False when `word` is not such a token.
bool ParseAsciiElement(ElementType type, std::string_view word, uint64_t i, uint8_t* values,
                       AsciiDoubleForm* form);
// What a token of an ascii vector of `type` must be, for messages: "a hex byte", "an integer" or
// "a number".
std::string_view AsciiTokenKind(ElementType type);

// Decodes OutString's escapes from `text` onto `out` until `out` holds `length` bytes or `text`
// is used up; returns the chars of `text` used. An escape that may go on past `text` (less than
// four chars left, and `text_ends` false) is left unused, with `cut_escape` set: the caller
// comes back with more text. With `text_ends`, a backslash that ends the text sets it too.
struct AsciiUnescaped {
  size_t used = 0;
  bool cut_escape = false;
};
AsciiUnescaped UnescapeAscii(std::string_view text, uint64_t length, bool text_ends,
                             std::string& out);

class InputStream {
 public:
  // Reads `input` from byte `offset` on; set_format must be called before anything but
  // ReadBytes.
  InputStream(Buffer input, uint64_t offset);

  // The input's bytes, once read, are this stream's to overwrite (ReadOptions::input_is_scratch):
  // ReadElements then swaps XDR elements where they are when the memory is writable
  // (Buffer::WritableBytes) instead of into new memory.
  void set_may_overwrite_input(bool may) { may_overwrite_input_ = may; }

  // kAsciiHex reads like kAscii.
  void set_format(RFormat format) { format_ = format; }
  RFormat format() const { return format_; }
  bool ascii() const { return format_ == RFormat::kAscii || format_ == RFormat::kAsciiHex; }
  // True when the stream's first number written as a double (not NA, NaN, Inf or -Inf) is a
  // hex float: the stream is asciihex (AsciiDoubleForm).
  bool saw_hex_double() const { return double_form_ == AsciiDoubleForm::kHex; }

  uint64_t offset() const { return in_.offset(); }
  uint64_t remaining() const { return in_.remaining(); }
  bool AtEnd() const { return in_.AtEnd(); }
  const Buffer& input() const { return in_.input(); }

  // The unread input, for decoding loops that check bounds themselves; Advance(n) moves past n
  // bytes of it (n <= remaining()).
  const uint8_t* current() const { return in_.current(); }
  void Advance(uint64_t n) { in_.Skip(n); }

  // Raw bytes regardless of the format (the format line, RData magic).
  absl::StatusOr<std::string_view> ReadBytes(uint64_t size, std::string_view what) {
    return in_.ReadBytes(size, what);
  }

  absl::StatusOr<int32_t> ReadInt(std::string_view what);
  absl::StatusOr<double> ReadDouble(std::string_view what);
  // `length` string bytes (a CHARSXP's, a builtin's name). In ascii the escapes are decoded
  // and the view stays valid until the next ReadString; otherwise it points into the input.
  absl::StatusOr<std::string_view> ReadString(uint64_t length, std::string_view what);
  // `count` elements of `type` as model bytes (see the file comment), or with `as_written` the
  // binary input's bytes in its own order (big-endian in XDR: see Array::big_endian).
  absl::StatusOr<Buffer> ReadElements(ElementType type, uint64_t count, std::string_view what,
                                      bool as_written = false);

  // INVALID_ARGUMENT unless `count` items of at least `bytes_each` wire bytes (as binary; ascii
  // tokens count as 2 bytes, a token and its separator: like R, every ascii token must be
  // followed by whitespace) can still follow.
  absl::Status CheckRoom(uint64_t count, uint64_t bytes_each, std::string_view what) const;

  absl::Status Error(std::string_view problem) const { return in_.Error(problem); }
  absl::Status ErrorAt(uint64_t offset, std::string_view problem) const {
    return in_.ErrorAt(offset, problem);
  }

 private:
  absl::StatusOr<std::string_view> Word(std::string_view what);
  absl::StatusOr<int32_t> ParseInt(std::string_view word, uint64_t start, std::string_view what);
  absl::StatusOr<double> ParseDouble(std::string_view word, uint64_t start, std::string_view what);

  ByteReader in_;
  RFormat format_ = RFormat::kXdr;
  AsciiDoubleForm double_form_ = AsciiDoubleForm::kToken;  // until a number shows the form
  bool may_overwrite_input_ = false;
  std::string scratch_;
};

class OutputStream {
 public:
  OutputStream(ByteWriter& out, RFormat format) : out_(out), format_(format) {}

  RFormat format() const { return format_; }
  bool ascii() const { return format_ == RFormat::kAscii || format_ == RFormat::kAsciiHex; }

  void WriteInt(int32_t value);
  void WriteDouble(double value);
  // The bytes of a string (its length is written separately, as an int): verbatim in binary,
  // escaped and followed by "\n" in ascii.
  void WriteString(std::string_view bytes);
  // A whole CHARSXP: its flags word, then -1 for NA, else its length and bytes. In binary the
  // header and the bytes go into the output in one reservation: ten million strings are ten
  // million small writes, and this is the loop they spend their time in.
  void WriteCharsxp(int32_t flags, std::string_view bytes, bool is_na) {
    const size_t size = is_na ? 0 : bytes.size();  // an NA has no bytes, whatever it is given
    if (!ascii() && size <= kDirectStringBytes) {
      size_t available = 0;
      uint8_t* space = out_.WritableSpace(8 + size, &available);
      const uint32_t words[2] = {Ordered(static_cast<uint32_t>(flags)),
                                 Ordered(is_na ? 0xFFFFFFFFu : static_cast<uint32_t>(size))};
      std::memcpy(space, words, 8);
      if (size != 0) std::memcpy(space + 8, bytes.data(), size);
      out_.Commit(8 + size);
      return;
    }
    WriteInt(flags);
    if (is_na) {
      WriteInt(-1);
      return;
    }
    WriteInt(static_cast<int32_t>(bytes.size()));
    WriteString(bytes);
  }
  // `count` elements of `type` from `data`: model bytes, or big-endian ones when `big_endian`
  // (Array::big_endian).
  void WriteElements(ElementType type, uint64_t count, const Buffer& data, bool big_endian = false);
  // `count` elements of a type R has no vector of but holds exactly in a wider one
  // (WidenedForR: float32 and float16 as doubles, int8, int16 and uint8 as integers), widened a
  // step at a time straight into the output, from model bytes or big-endian ones. A mapped
  // input is read a step at a time; its read error is returned.
  absl::Status WriteWidenedElements(ElementType type, uint64_t count, const Buffer& data,
                                    bool big_endian);
  // Bytes written as they are (the format line, RData magic).
  void WriteRaw(std::string_view bytes) { out_.Append(bytes); }

  ByteWriter& writer() { return out_; }

 private:
  void WriteAsciiElements(ElementType type, uint64_t count, const uint8_t* data);
  // A binary word in the stream's byte order.
  uint32_t Ordered(uint32_t word) const {
    return format_ == RFormat::kXdr ? __builtin_bswap32(word) : word;
  }

  // Strings up to this long take WriteCharsxp's one reservation (within ByteWriter's smallest
  // block); longer ones are appended in pieces.
  static constexpr size_t kDirectStringBytes = ByteWriter::kDefaultBlockSize - 8;

  ByteWriter& out_;
  RFormat format_;
};

// The element type R holds `type`'s elements as, exactly, when it has no vector of `type`:
// double for float32 and float16, integer for int8, int16 and uint8; nullopt for R's own types
// and for int64, which doubles hold exactly only up to 2^53.
std::optional<ElementType> WidenedForR(ElementType type);
// Widens `count` little-endian elements of `type` (one WidenedForR names) at `from` into
// little-endian WidenedForR(type) elements at `to`: how R's writer writes them, and how a value
// read before it is written (a factor's codes) is widened.
void WidenForR(ElementType type, const uint8_t* from, uint64_t count, uint8_t* to);

// The ascii token of a double as OutReal writes it, without the newline: "NA", "NaN", "Inf",
// "-Inf", else printf("%.16g") (hex: "%a"). Returns the number of chars written to `out`
// (at least 40 bytes).
size_t FormatAsciiDouble(double value, bool hex, char* out);

// RESOURCE_EXHAUSTED (LimitExceeded "max-depth"): an object at `offset` nested deeper than
// `max_depth` (ReadOptions::max_depth), for the readers of R streams.
absl::Status NestedTooDeep(uint64_t max_depth, uint64_t offset);

}  // namespace seriald::rds

#endif  // SERIALD_CORE_RDS_PRIMITIVES_H_
