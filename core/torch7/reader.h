// File: core/torch7/reader.h
//
// Reads Torch7 object streams (what torch.save / File:writeObject write, torch7 File.lua) into a
// Value. The input is untrusted: every count is checked against what remains before anything is
// allocated, nesting costs no stack (the reader keeps its own), and every problem is an
// INVALID_ARGUMENT InputError naming the byte offset.
//
// A stream holds one or more objects back to back; each becomes a root of the Value, in order.
// Object indices are shared across the roots of one stream, as on a torch7 File, so a later root
// may be the same node as an earlier object. Shared objects and cycles are shared NodeIds.
//
// Layout detection (Torch7 files record none of it; the result is stored in
// value.source().torch7 so that writing the Value back reproduces the input):
//   mode        ascii if the input starts with a one-digit tag and whitespace, else binary
//   byte order  from the first non-nil binary type tag, unless ReadOptions forces it
//   long size   unless ReadOptions forces it, the input is parsed with 8-byte and with 4-byte
//               longs; if exactly one parse succeeds it is used; if both succeed with the same
//               objects, 8; if both succeed with different objects and exactly one of them reads
//               the input as a single object (what torch.save writes), that one; otherwise the
//               input is ambiguous and refused (pass ReadOptions::torch7_long_size).
//
// Storage data is not copied when the layout is little-endian with 8-byte longs: Array buffers
// are slices of `input`. Big-endian data and LongStorage written with 4-byte longs are converted
// once.
//
// Example:
//
//   ASSIGN_OR_RETURN(Buffer input, ReadFile("model.t7"));
//   ASSIGN_OR_RETURN(Value value, ReadTorch7(input));
//   const auto& model = value.Get<TorchObject>(value.roots()[0]);   // "nn.Sequential"
//   bool windows_file = value.source().torch7->long_size == 4;
#ifndef SERIALD_CORE_TORCH7_READER_H_
#define SERIALD_CORE_TORCH7_READER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/format/codec.h"
#include "core/io/buffer.h"
#include "core/model/value.h"

namespace seriald {

// The primitive encoding of a Torch7 stream, when the caller knows it.
enum class Torch7Mode : uint8_t {
  kDetect,  // look at the first bytes
  kBinary,
  kAscii,
};

// Reads every object of the stream in `input`. See the file comment for detection.
absl::StatusOr<Value> ReadTorch7(const Buffer& input, const ReadOptions& options = {},
                                 Torch7Mode mode = Torch7Mode::kDetect);

// How much of the input a read covers.
enum class Torch7Extent : uint8_t {
  kWholeStream,  // all objects up to the end of the input (torch.load, several writeObject calls)
  // Exactly one object, optionally followed by one NUL byte: torch.serialize output, which had a
  // trailing NUL before torch7 commit 235ccdb (2016).
  kOneObject,
};

// ReadTorch7 with the extent spelled out.
absl::StatusOr<Value> ReadTorch7(const Buffer& input, const ReadOptions& options, Torch7Mode mode,
                                 Torch7Extent extent);

}  // namespace seriald

#endif  // SERIALD_CORE_TORCH7_READER_H_
