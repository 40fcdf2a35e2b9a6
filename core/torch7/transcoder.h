// File: core/torch7/transcoder.h
//
// Converts a Torch7 object stream from one layout to another (binary <-> ascii, 8 <-> 4-byte
// longs, little <-> big-endian) as its bytes arrive: each object is written as soon as it is
// read, and storage data goes from the input chunk it arrived in to the output a piece at a
// time. Memory is a chunk and the objects' index table, whatever the size of the stream; this is
// what serialctl and the service use for Torch7 to Torch7 conversions (core/convert/convert.h).
//
// The output is byte for byte what WriteTorch7(ReadTorch7(input)) gives (referenced = true):
// objects renumbered 1, 2, 3, ... in stream order, back-references kept, booleans written as
// 0/1, versions as "V <n>", a torch.Generator's state re-laid for the output's longs and byte
// order. Input is checked as ReadTorch7 checks it (tags, indices, back-reference kinds, a
// tensor's storage class, negative counts, depth), with errors naming the byte offset; counts
// are checked against what remains only when the total size is known (ChunkedInput's
// total_size), and otherwise fail where the input ends. Since output is written as the input is
// read, a stream that turns out bad partway has already produced output: callers discard it on
// error (serialctl writes to a temporary file; the service ends the call with the error).
//
// The layout of the input must be known before the first byte of output. Torch7 records no long
// size, so for binary input without one Torch7StreamLayout decides it from a prefix, by
// checking the structure with both long sizes, and says when the prefix cannot decide.
//
// Example:
//
//   ChunkedInput in(ChunkedInput::ChunksOf(input, 1 << 20), "torch7", input.size());
//   ASSIGN_OR_RETURN(std::optional<Torch7StreamLayout> source,
//                    DecideTorch7StreamLayout(input, true, input.size(), ReadOptions{},
//                                             Torch7Mode::kDetect));
//   if (!source) ...;  // read the whole input with ReadTorch7 instead
//   RETURN_IF_ERROR(TranscodeTorch7(in, *source, Torch7Layout{.ascii = true}, out, ReadOptions{}));
#ifndef SERIALD_CORE_TORCH7_TRANSCODER_H_
#define SERIALD_CORE_TORCH7_TRANSCODER_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/format/codec.h"
#include "core/io/buffer.h"
#include "core/io/byte_writer.h"
#include "core/io/chunked_input.h"
#include "core/model/value.h"
#include "core/torch7/reader.h"

namespace seriald {

// The layout of a Torch7 input, as decided before it is converted.
struct Torch7StreamLayout {
  Torch7Layout layout;
  // The long size was taken from a prefix because, with the other one, the first object ends
  // early and more follow, where torch.save writes one object. Only the whole stream can confirm
  // it: TranscodeTorch7 then reads the stream with the other long size too, structure only, as
  // it converts, and at the end applies ReadTorch7's rule for an input that reads both ways.
  bool check_other_long_size = false;
};

// What checking the other long size (Torch7StreamLayout::check_other_long_size) holds of the
// input, at most, besides one chunk waiting and the one it reads: chunks the conversion has
// passed, queued for the second reading.
inline constexpr uint64_t kTorch7RivalQueuedBytes = uint64_t{4} << 20;

// Decides the layout of the Torch7 input that starts with `prefix` (the whole input when
// `whole_input`; `total_size` is its size when known), as ReadTorch7 would for the whole input:
//   ascii, and the byte order, from the first bytes (or `mode` and the options);
//   the long size from the options, or by checking the structure with 8- and 4-byte longs:
//   the one that reads when the other fails, or, within a prefix, the one still inside its first
//   object when the other has finished its first object and gone on to more.
// When both read the whole input: if neither met a long, the readings are one and the same and 8
// is taken; else the one that reads a single object when the other reads several; as ReadTorch7
// does. nullopt when this cannot be decided here: both long sizes read
// the prefix alike, or (for the whole input) both read it completely, differently, or both fail;
// ReadTorch7 on the whole input then decides, or reports the error, with its own rules.
absl::StatusOr<std::optional<Torch7StreamLayout>> DecideTorch7StreamLayout(
    const Buffer& prefix, bool whole_input, std::optional<uint64_t> total_size,
    const ReadOptions& options, Torch7Mode mode);

// Reads the Torch7 stream in `in` (all of its objects), laid out as `from`, and writes it into
// `out` laid out as `to` (long_size 4 or 8). `out` is not finished. With
// `from.check_other_long_size`, the end of the stream is checked against ReadTorch7's choice for
// the whole input: it fails (having written output) where ReadTorch7 would take the other long
// size or refuse the input, and an input error says whether the other long size reads the whole
// stream.
absl::Status TranscodeTorch7(ChunkedInput& in, const Torch7StreamLayout& from,
                             const Torch7Layout& to, ByteWriter& out, const ReadOptions& options);

}  // namespace seriald

#endif  // SERIALD_CORE_TORCH7_TRANSCODER_H_
