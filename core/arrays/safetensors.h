// File: core/arrays/safetensors.h
//
// Hugging Face safetensors (github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of UTF-8 JSON, then the data buffer.
//
//   {"__metadata__": {"format": "pt"},
//    "weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
//
// Offsets count from the start of the data buffer; tensors are C order, contiguous,
// little-endian, and together they tile the data buffer exactly (no gap, no overlap, nothing
// left over). Writers pad the JSON with spaces so that the data starts at a multiple of 8.
//
// Element types: BOOL kLogical (read: int32 0/1 in a new buffer; written from R logicals, NA
// refused), U8 kUint8 (and kRaw, written only), I8, I16, I32, I64, F16, F32, F64. Every other
// safetensors dtype (U16..U64, BF16, the F8/F6/F4 variants, C64) is refused, and so is writing
// kComplex128, for which safetensors has no type.
//
// Reading checks the header as the reference implementation does (length at most 100,000,000
// bytes and inside the input, JSON object, offsets tiling the data buffer, each tensor's byte
// span equal to its element count times its element size), refuses duplicate names, and returns
// the tensors in header order as slices of the input (no copy; BOOL excepted). Problems are
// INVALID_ARGUMENT InputErrors "safetensors: <problem> at byte <offset>": offsets inside the data
// buffer for layout problems, the start of the JSON (byte 8) for what is wrong with a tensor's
// entry. The JSON is parsed by nlohmann-json as a stream of events, so that a header of many
// tensors costs time in proportion to its size.
//
// Writing appends contiguous tensors by reference (a 1 GiB tensor is never copied) and gathers
// other views in C order first; "__metadata__" comes first, only when there is metadata, and the
// tensors follow in the order given.
//
// Example:
//
//   ASSIGN_OR_RETURN(Buffer input, ReadFile("model.safetensors"));
//   ASSIGN_OR_RETURN(arrays::SafetensorsFile file, arrays::ReadSafetensors(input));
//   ByteWriter out;
//   RETURN_IF_ERROR(arrays::WriteSafetensors(file.arrays, file.metadata, out));
#ifndef SERIALD_CORE_ARRAYS_SAFETENSORS_H_
#define SERIALD_CORE_ARRAYS_SAFETENSORS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/arrays/named_array.h"
#include "core/io/buffer.h"
#include "core/io/byte_writer.h"

namespace seriald::arrays {

struct SafetensorsFile {
  std::vector<NamedArray> arrays;                             // in header order
  std::vector<std::pair<std::string, std::string>> metadata;  // "__metadata__", in header order
};

// True when `input` starts like a safetensors file: a header length n with 2 <= n <= 100 MB
// that fits in the input, and a header that starts with '{'.
bool LooksLikeSafetensors(const Buffer& input);

// The tensors and metadata of `input` (see the file comment).
absl::StatusOr<SafetensorsFile> ReadSafetensors(const Buffer& input);

// Appends a safetensors file of `arrays` and `metadata` to `out`. INVALID_ARGUMENT for two
// arrays (or two metadata keys) of one name, an array named "__metadata__", a name or metadata
// string that is not UTF-8, a complex array, an R logical NA, or a view outside its data.
absl::Status WriteSafetensors(const std::vector<NamedArray>& arrays,
                              const std::vector<std::pair<std::string, std::string>>& metadata,
                              ByteWriter& out);

}  // namespace seriald::arrays

#endif  // SERIALD_CORE_ARRAYS_SAFETENSORS_H_
