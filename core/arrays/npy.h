// File: core/arrays/npy.h
//
// numpy's .npy format (numpy/lib/format.py, NEP 1): the magic "\x93NUMPY", a version (1.0, 2.0 or
// 3.0), the length of a header (u16 little-endian for 1.0, u32 after), the header itself — a
// Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded
// with spaces and a final '\n' — and then the elements, C or Fortran order as the header says.
//
// Element types, as numpy descr:
//   '|u1' kUint8   '|i1' kInt8    '<i2' kInt16    '<i4' kInt32    '<i8' kInt64
//   '<f2' kFloat16 '<f4' kFloat32 '<f8' kFloat64  '<c16' kComplex128
//   '|b1' kLogical (read: int32 0/1 in a new buffer; written from R logicals, NA refused)
//   kRaw is written as '|u1' (and so reads back as kUint8).
// Big-endian descrs ('>f8') are read and swapped once into a new buffer; '=' and '|' count as
// little-endian. Every other dtype — Python objects ('O', never unpickled), strings ('U', 'S'),
// records, unsigned integers wider than a byte, complex64, datetimes — is refused.
//
// Reading never copies little-endian data: the array is a slice of the input. Writing follows
// np.save byte for byte (the header numpy 1.24 writes, data at a multiple of 64 bytes); a view
// that is contiguous in C or Fortran order is written by reference, any other is gathered in C
// order first.
//
// The input is untrusted: every problem is an INVALID_ARGUMENT InputError "npy: <problem> at byte
// <offset>" (the dtype refusal included), and nothing is allocated that the input's size does not
// justify.
//
// Example:
//
//   ASSIGN_OR_RETURN(Buffer input, ReadFile("weights.npy"));
//   ASSIGN_OR_RETURN(data::NdArray array, arrays::ReadNpy(input));   // a view of `input`
//   ByteWriter out;
//   RETURN_IF_ERROR(arrays::WriteNpy(array, out));
#ifndef SERIALD_CORE_ARRAYS_NPY_H_
#define SERIALD_CORE_ARRAYS_NPY_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/arrays/internal/elements.h"
#include "core/data/data.h"
#include "core/io/buffer.h"
#include "core/io/byte_writer.h"

namespace seriald::arrays {

// True when `input` starts with the npy magic "\x93NUMPY".
bool LooksLikeNpy(const Buffer& input);

// The array `input` holds: shape and order from the header, strides contiguous in that order,
// offset 0, data a slice of `input` (a new buffer for big-endian and bool data). The input must
// end where the data does. INVALID_ARGUMENT InputError "npy: ..." otherwise (see the file
// comment).
absl::StatusOr<data::NdArray> ReadNpy(const Buffer& input);
// The same, with messages that name the array ("npy: array 'w': unsupported dtype ...").
absl::StatusOr<data::NdArray> ReadNpy(const Buffer& input, std::string_view array_name);

// Appends the .npy bytes np.save would write for `array` to `out`. INVALID_ARGUMENT when the
// view does not lie inside its data (data::CheckView), or for an R logical NA ("element [i] is
// NA; numpy bool has no NA").
absl::Status WriteNpy(const data::NdArray& array, ByteWriter& out);
// The same, with messages that name the array.
absl::Status WriteNpy(const data::NdArray& array, std::string_view array_name, ByteWriter& out);

// The .npy bytes of `array` in two parts, for a writer that hands them out itself (npz's entries,
// read by libzip a step at a time): the preamble (magic, version, header), and the elements
// (a big-endian array's swapped only as they are handed out). What WriteNpy appends, with its
// errors.
struct NpyParts {
  std::string preamble;
  internal::ArrayBody body;
  uint64_t size() const { return preamble.size() + body.size(); }
};
absl::StatusOr<NpyParts> NpyPartsOf(const data::NdArray& array, std::string_view array_name);

}  // namespace seriald::arrays

#endif  // SERIALD_CORE_ARRAYS_NPY_H_
