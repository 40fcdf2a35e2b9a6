// File: tests/core/convert/convert_testing.h
//
// Helpers for conversion tests: converting bytes between registered formats, reading any format's
// plain data, and listing every array of plain data by path with its elements in logical order
// (index [0, 0, ...], [0, ..., 1], ...: row-major), computed from shape, strides and offset
// element by element, independently of the gathering code under test.
//
// Example:
//
//   absl::StatusOr<Converted> r = ConvertBytes(input, "t7", "rds");
//   std::map<std::string, ArrayValues> arrays = ArraysByPath(ReadPlain(r->bytes, "rds"));
#ifndef SERIALD_TESTS_CORE_CONVERT_CONVERT_TESTING_H_
#define SERIALD_TESTS_CORE_CONVERT_CONVERT_TESTING_H_

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/convert/array_codecs.h"
#include "core/convert/convert.h"
#include "core/convert/item_paths.h"
#include "core/data/mapping.h"
#include "core/torch7/primitives.h"
#include "gtest/gtest.h"

namespace seriald::testing {

struct Converted {
  Buffer bytes;
  std::vector<std::string> notes;
};

inline absl::StatusOr<Converted> ConvertBytes(const Buffer& input, std::string_view from,
                                              std::string_view to,
                                              const WriteOptions& options = {}) {
  static const CodecRegistry registry = CoreCodecs();
  absl::StatusOr<const Codec*> reader = registry.Find(from);
  if (!reader.ok()) return reader.status();
  absl::StatusOr<const Codec*> writer = registry.Find(to);
  if (!writer.ok()) return writer.status();
  ByteWriter out;
  ConversionNotes notes;
  absl::StatusOr<std::string> read_as =
      ConvertInput(**reader, **writer, input, ReadOptions{}, options, out, notes);
  if (!read_as.ok()) return read_as.status();
  BufferChain chain;
  if (absl::Status status = out.Finish(&chain); !status.ok()) return status;
  return Converted{Buffer::FromString(chain.ToString()), notes.Lines()};
}

// `plain` written as `format` of `family` (FromData, then the codec's writer): the twins of a
// byte-order test, one input written big-endian and one little-endian.
inline Buffer WrittenAs(const data::Data& plain, DataFamily family, std::string_view format,
                        const WriteOptions& options = {}) {
  static const CodecRegistry registry = CoreCodecs();
  absl::StatusOr<Value> value = FromData(plain, family);
  EXPECT_TRUE(value.ok()) << value.status();
  if (!value.ok()) return Buffer();
  ByteWriter out;
  absl::Status status = (*registry.Find(format))->Write(*value, options, out);
  EXPECT_TRUE(status.ok()) << status;
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return Buffer::FromString(chain.ToString());
}

// The plain data of `input` read as `format` (an array file's own, else its family's mapping).
inline data::Data ReadPlain(const Buffer& input, std::string_view format) {
  static const CodecRegistry registry = CoreCodecs();
  const Codec* codec = *registry.Find(format);
  if (const ArrayCodec* arrays = codec->AsArrayCodec()) {
    absl::StatusOr<data::Data> plain = arrays->ReadData(input, ReadOptions{});
    EXPECT_TRUE(plain.ok()) << plain.status();
    return plain.ok() ? *std::move(plain) : data::Data();
  }
  absl::StatusOr<Value> value = codec->Read(input, ReadOptions{});
  EXPECT_TRUE(value.ok()) << value.status();
  if (!value.ok()) return {};
  absl::StatusOr<data::Data> plain = ToData(*value);
  EXPECT_TRUE(plain.ok()) << plain.status();
  return plain.ok() ? *std::move(plain) : data::Data();
}

// Element `index` of `array`'s data as a double (complex: the real part).
inline double ElementAsDouble(const data::NdArray& array, uint64_t index) {
  const uint8_t* p = array.data.data() + index * ElementSize(array.dtype);
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  switch (array.dtype) {
    case ElementType::kUint8:
    case ElementType::kRaw:
      return load(uint8_t{});
    case ElementType::kInt8:
      return load(int8_t{});
    case ElementType::kInt16:
      return load(int16_t{});
    case ElementType::kInt32:
    case ElementType::kLogical:
      return load(int32_t{});
    case ElementType::kInt64:
      return static_cast<double>(load(int64_t{}));
    case ElementType::kFloat16:
      return torch7::HalfToFloat(load(uint16_t{}));
    case ElementType::kFloat32:
      return load(float{});
    case ElementType::kFloat64:
    case ElementType::kComplex128:
      return load(double{});
  }
  return 0;
}

struct ArrayValues {
  ElementType dtype;
  std::vector<int64_t> shape;
  std::vector<double> values;  // logical order: the last index varies fastest
};

// The logical elements of `array`, walking every index by hand.
inline std::vector<double> LogicalValues(const data::NdArray& array) {
  std::vector<double> values;
  uint64_t count = 1;
  for (int64_t size : array.shape) count *= static_cast<uint64_t>(size);
  std::vector<int64_t> index(array.shape.size(), 0);
  for (uint64_t n = 0; n < count; ++n) {
    int64_t at = static_cast<int64_t>(array.offset);
    for (size_t d = 0; d < index.size(); ++d) at += index[d] * array.strides[d];
    values.push_back(ElementAsDouble(array, static_cast<uint64_t>(at)));
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < array.shape[d]) break;
      index[d] = 0;
    }
  }
  return values;
}

// Every array reachable from the roots as a value (not an attribute), by path.
inline std::map<std::string, ArrayValues> ArraysByPath(const data::Data& plain) {
  std::map<std::string, ArrayValues> arrays;
  const ItemPaths paths(plain);
  for (ItemId id : paths.Order()) {
    const auto* array = plain.GetIf<data::NdArray>(id);
    if (array == nullptr || paths.RoleOf(id) == ItemPaths::Role::kPart) continue;
    arrays[*paths.PathOf(id)] = {array->dtype, array->shape, LogicalValues(*array)};
  }
  return arrays;
}

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_CORE_CONVERT_CONVERT_TESTING_H_
