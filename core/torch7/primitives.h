// File: core/torch7/primitives.h
//
// The primitive layer of Torch7 streams (torch7 lib/TH/THDiskFile.c, THMemoryFile.c): ints,
// longs, doubles, raw bytes and typed element arrays, in one of the layouts a THFile can have.
//
//   binary   native bytes of each element; little- or big-endian; C long of 8 or 4 bytes
//   ascii    numbers as printf text: int "%d", long "%ld", short "%hd", float "%.9g",
//            double "%.17g", half "%.9g" of its float value; char and byte arrays as raw bytes.
//            Within one array call elements are separated by one space, and a non-empty call
//            ends with "\n" (so every scalar ends with "\n"); an empty call writes nothing.
//            Reading skips whitespace before each number and swallows one "\n" after each
//            non-empty array.
//
// PrimitiveReader checks every count against what remains before reading or allocating, and
// reports errors as InputError("torch7", offset, problem). PrimitiveWriter appends to a
// ByteWriter: little-endian element data is appended by reference, big-endian data is swapped
// straight into the writer's blocks.
//
// Element data in the object model is little-endian with 8-byte Long elements (see
// core/model/element_type.h), or big-endian as written when the reader is asked to keep it so
// (Array::big_endian). In binary mode ReadElements returns the elements as written (a slice of
// the input); ConvertElements turns them into model bytes when the layout differs (big-endian,
// or LongStorage with 4-byte longs). The reader converts only once it knows the layout is right,
// so trying a long size costs no copies.
//
// Example:
//
//   torch7::PrimitiveReader in(input, Torch7Layout{.ascii = true});
//   ASSIGN_OR_RETURN(int32_t tag, in.ReadInt("type tag"));
//
//   ByteWriter bytes;
//   torch7::PrimitiveWriter out(bytes, Torch7Layout{});
//   out.WriteInt(4);
//   out.WriteElements(ElementType::kFloat32, array.length, array.data);
#ifndef SERIALD_CORE_TORCH7_PRIMITIVES_H_
#define SERIALD_CORE_TORCH7_PRIMITIVES_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/io/buffer.h"
#include "core/io/byte_reader.h"
#include "core/io/byte_writer.h"
#include "core/model/element_type.h"
#include "core/model/value.h"

namespace seriald::torch7 {

// Half precision (core/model/element_type.h), as Torch7 code has always named it.
using ::seriald::FloatToHalf;
using ::seriald::HalfToFloat;

// Enough room for any number Format* writes.
inline constexpr size_t kMaxNumberChars = 32;
// printf("%.17g") (glibc spellings: "inf", "-inf", "nan", "-nan", "-0", "1e+308").
size_t FormatDouble(double value, char* out);
// printf("%.9g") of the float's value.
size_t FormatFloat(float value, char* out);
// printf("%ld") (also "%d" and "%hd" for values of those types).
size_t FormatInteger(int64_t value, char* out);

// Whether elements of `type` read by PrimitiveReader::ReadElements in `layout` are not yet model
// bytes: binary big-endian elements wider than a byte, and Long elements of 4 bytes.
bool ElementsNeedConversion(const Torch7Layout& layout, ElementType type);
// Model bytes (little-endian, Long as int64, sign-extended from 4 bytes) of `count` elements
// read by ReadElements in `layout`; `wire` itself when no conversion is needed.
Buffer ConvertElements(const Torch7Layout& layout, ElementType type, uint64_t count,
                       const Buffer& wire);

// Whether `c` is whitespace to Torch7 ascii (fscanf's: space, \t, \n, \v, \f, \r).
bool IsAsciiSpace(uint8_t c);

class PrimitiveReader {
 public:
  // `layout.long_size` must be 4 or 8 (only binary mode uses it). `base`: where `input` starts in
  // the whole stream, when it is a window of a streamed input; offsets are the stream's.
  PrimitiveReader(Buffer input, const Torch7Layout& layout, uint64_t base = 0);

  const Torch7Layout& layout() const { return layout_; }
  uint64_t offset() const { return in_.offset(); }
  uint64_t remaining() const { return in_.remaining(); }
  const Buffer& input() const { return in_.input(); }
  // True when nothing but (in ascii mode) whitespace remains.
  bool AtEnd() const;
  // True when exactly one NUL byte remains (the terminator old torch.serialize appended).
  bool OnlyNulRemains() const;

  // Scalars: binary int32 / C long / double, or one ascii number followed by an optional "\n".
  // `what` names the field in errors ("type tag", "string length").
  absl::StatusOr<int32_t> ReadInt(std::string_view what);
  absl::StatusOr<int64_t> ReadLong(std::string_view what);
  absl::StatusOr<double> ReadDouble(std::string_view what);
  // `count` longs (tensor sizes and strides).
  absl::Status ReadLongs(uint64_t count, std::vector<int64_t>* out, std::string_view what);
  // `size` raw bytes (strings, bytecode, char arrays), a slice of the input.
  absl::StatusOr<Buffer> ReadRaw(uint64_t size, std::string_view what);

  // `count` elements of `type`. Binary: the bytes as written (see ConvertElements); ascii: model
  // bytes.
  absl::StatusOr<Buffer> ReadElements(ElementType type, uint64_t count, std::string_view what);

  // Ascii: parses up to `max_count` elements of `type` (not 1-byte types) into `out` as model
  // bytes, stopping early where only whitespace remains; returns how many it parsed. For an
  // array read in pieces from a window of the input (core/torch7/transcoder.h), which then ends
  // the array with SwallowNewline.
  absl::StatusOr<uint64_t> ReadSomeElements(ElementType type, uint64_t max_count, uint8_t* out,
                                            std::string_view what);
  // Ascii: skips the "\n" that ends a non-empty array call, if it is there.
  void SwallowNewline();

  // The least number of input bytes one element of `type` (or one long, one int) takes in this
  // layout, for checking counts against what remains.
  uint64_t MinElementBytes(ElementType type) const;
  uint64_t MinIntBytes() const { return layout_.ascii ? 1 : 4; }
  uint64_t MinLongBytes() const { return layout_.ascii ? 1 : layout_.long_size; }
  // INVALID_ARGUMENT unless `count` items of at least `bytes_each` bytes fit in what remains;
  // the error names `what` and the offset `at` of the count.
  absl::Status CheckRoom(uint64_t count, uint64_t bytes_each, std::string_view what,
                         uint64_t at) const;

  absl::Status Error(std::string_view problem) const { return in_.Error(problem); }
  absl::Status ErrorAt(uint64_t offset, std::string_view problem) const {
    return in_.ErrorAt(offset, problem);
  }

 private:
  uint64_t WireSize(ElementType type) const;
  void SkipSpace();
  absl::StatusOr<int64_t> ParseInteger(int64_t min, int64_t max, std::string_view what);
  absl::StatusOr<double> ParseDouble(std::string_view what);
  absl::StatusOr<float> ParseFloat(std::string_view what);
  template <typename T>
  absl::StatusOr<T> ParseFloating(std::string_view what);
  absl::Status ParseElements(ElementType type, uint64_t count, uint8_t* out, std::string_view what);
  absl::StatusOr<std::string_view> NumberToken(std::string_view what);

  ByteReader in_;
  Torch7Layout layout_;
};

class PrimitiveWriter {
 public:
  // `layout.long_size` must be 4 or 8. Writing a long with 4 bytes keeps its low 32 bits, as
  // torch7 does.
  PrimitiveWriter(ByteWriter& out, const Torch7Layout& layout);

  const Torch7Layout& layout() const { return layout_; }

  void WriteInt(int32_t value);
  void WriteLong(int64_t value);
  void WriteDouble(double value);
  void WriteLongs(std::span<const int64_t> values);
  void WriteRaw(std::string_view bytes);
  // Like WriteRaw, by reference when large.
  void WriteRaw(const Buffer& bytes);
  // `count` elements of `type` from `data`: model bytes, or big-endian ones when `big_endian`
  // (Array::big_endian). An array may be written in pieces: `ends_call` false for all but the
  // last (in ascii, the last piece's last element ends the line; binary has no such mark).
  void WriteElements(ElementType type, uint64_t count, const Buffer& data, bool big_endian = false,
                     bool ends_call = true);

 private:
  void WriteAsciiLine(std::string_view text);
  void WriteTruncatedLongs(const uint8_t* data, uint64_t count);
  // `ends_call`: the last of these elements ends the array call (written with "\n", not " ").
  void WriteAsciiElements(ElementType type, uint64_t count, const uint8_t* data,
                          bool ends_call = true);

  ByteWriter& out_;
  Torch7Layout layout_;
};

}  // namespace seriald::torch7

#endif  // SERIALD_CORE_TORCH7_PRIMITIVES_H_
