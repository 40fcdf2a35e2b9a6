// File: core/convert/convert.h
//
// Converting an input from one format to another, whatever their families: the one path
// serialctl and the service share.
//
//   same family (t7 -> t7-ascii, rds -> rds-ascii), or JSON either way:
//       the Value as read is written: lossless, byte for byte where the format allows
//   Torch7 <-> R:
//       plain data (core/data) in the source family's conventions, rewritten into the target's
//       (cross_family.h), written with the target's mapping
//   either -> npy / npz / safetensors:
//       the arrays of the plain data, named by path (array_export.h)
//   npy / npz / safetensors -> either:
//       a flat table of tensors (Torch7) or a named list of arrays (R)
//
// What a cross-family conversion leaves out or changes is in `notes`; what it cannot do without
// losing something unasked (a Lua function into R, int64 beyond 2^53, an R closure into Torch7)
// fails with INVALID_ARGUMENT naming the item's path and the option that allows it.
//
// Example:
//
//   ConversionNotes notes;
//   ByteWriter out(...);
//   ASSIGN_OR_RETURN(std::string read_as,
//                    ConvertInput(*from, *to, input, ReadOptions{}, WriteOptions{}, out, notes));
//   RETURN_IF_ERROR(out.Finish());
#ifndef SERIALD_CORE_CONVERT_CONVERT_H_
#define SERIALD_CORE_CONVERT_CONVERT_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/convert/conversion_notes.h"
#include "core/data/data.h"
#include "core/data/mapping.h"
#include "core/format/codec.h"
#include "core/io/chunked_input.h"
#include "core/torch7/transcoder.h"

namespace seriald {

// Steps a caller adds on the object graph: after it is read (binding R persistent references),
// and before it is written (naming nodes as persistent references). Not called for array files,
// which have no object graph. Set them only when they have work to do: a Torch7 to Torch7
// conversion builds no object graph unless one is set (it streams, core/torch7/transcoder.h).
struct ConvertHooks {
  std::function<absl::Status(Value&)> after_read;
  std::function<absl::Status(Value&)> before_write;
  // Told the format the input is read as (what ConvertInput returns) before any output.
  std::function<void(std::string_view read_as)> on_read_as;
};

// Read for another family, an array file or an inspection, a big-endian input's arrays up to
// this size are swapped as read (MakeArraysLittleEndian), for the code that takes their values
// (a dim attribute, a factor's levels, a lone number); larger ones stay as written
// (ReadOptions::keep_array_byte_order) and are swapped a step at a time as they are written.
inline constexpr uint64_t kSwappedAsReadBytes = uint64_t{1} << 20;

// The family whose conventions a codec writes plain data with; nullopt for JSON (which writes
// Values of either family) and for array files.
std::optional<DataFamily> FamilyOfCodec(const Codec& codec);

// Reads `input` with `from`, writes it with `to` into `out` (not finished). Returns the format
// the input was read as (Codec::FormatOf: "t7-ascii" for an ascii Torch7 file read by "t7").
// Torch7 to Torch7 (referenced output, no hooks) is converted as it is read, a step of the input
// at a time (core/torch7/transcoder.h), and so is R to R (not normalising, no hooks;
// core/rds/transcoder.h), byte for byte as through the object graph.
absl::StatusOr<std::string> ConvertInput(const Codec& from, const Codec& to, const Buffer& input,
                                         const ReadOptions& read_options,
                                         const WriteOptions& write_options, ByteWriter& out,
                                         ConversionNotes& notes, const ConvertHooks& hooks = {});

// Whether a conversion into `to` with `options` can be made as the input is read, for a Torch7
// input: Torch7 output, referenced (unreferenced output writes a shared object again at each
// occurrence, which needs the object).
bool ConvertsTorch7AsRead(const Codec& to, const WriteOptions& options);

// Converts the Torch7 stream in `in`, laid out as `source` (DecideTorch7StreamLayout), into `to`
// ("t7" or "t7-ascii") with `write_options` as it reads (core/torch7/transcoder.h), into `out`
// (not finished). What ConvertInput does for a Torch7 input it holds whole; the service calls it
// for one that is still arriving.
absl::Status ConvertTorch7Stream(ChunkedInput& in, const Torch7StreamLayout& source,
                                 const Codec& to, const ReadOptions& read_options,
                                 const WriteOptions& write_options, ByteWriter& out);

// Whether an R input can be converted into `to` as it is read: R output, and the input read in
// its own form (not ReadOptions::r_normalize).
bool ConvertsRAsRead(const Codec& to, const ReadOptions& read_options);

// What surrounds an R stream: the compression it came in (the output's default), and a gzip
// member header that differs from R's.
struct RContainer {
  RCompression compression = RCompression::kNone;
  std::string gzip_header;
};

// Converts the R stream in `in` (uncompressed: decompressed by the caller if `container` says
// it was compressed) into `to` as it reads (core/rds/transcoder.h), into `out` (not finished).
// Where the transcoder stops, or finds the input bad, `whole_input` gives the whole (compressed)
// input, which is read as a Value and written on from where the transcoder stopped, so the
// output is always the object graph's and an error the reader's. When `whole_input` fails (the
// service could not keep the input), a bad input gets the transcoder's error, and a stop fails
// with `whole_input`'s status, its message after where and why the transcoder stopped. `on_read_as`
// is told the format the input is read as before any output. Returns that format. What ConvertInput
// does for an R input it holds whole; the service calls it for one that is still arriving.
absl::StatusOr<std::string> ConvertRStream(
    ChunkedInput& in, const RContainer& container, const Codec& to, const ReadOptions& read_options,
    const WriteOptions& write_options, ByteWriter& out,
    const std::function<absl::StatusOr<Buffer>()>& whole_input,
    const std::function<void(std::string_view read_as)>& on_read_as = nullptr);

// Writes plain data from a client (no family's conventions) with `to`: an array file, or the
// value it stands for in `to`'s family (R for JSON). `r_options` apply when that is R.
absl::Status WritePlainData(const data::Data& plain, const Codec& to,
                            const WriteOptions& write_options, const DataToROptions& r_options,
                            ByteWriter& out, ConversionNotes& notes,
                            const ConvertHooks& hooks = {});

}  // namespace seriald

#endif  // SERIALD_CORE_CONVERT_CONVERT_H_
