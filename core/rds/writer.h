// File: core/rds/writer.h
//
// Writes a Value as an R serialization stream, byte for byte as R 4.2's serialize() writes the
// object the Value describes (serialize.c:1006-1417):
//   * header: format line, version 2 or 3, writer and minimal reader versions, and for version 3
//     the native encoding name;
//   * the reference table in R's order: symbols interned by name; environments, external
//     pointers, weak references, namespaces and package environments by node identity; a
//     PersistentReference is written in full at every occurrence (R calls the refhook each
//     time) and entered each time; REFSXP indices above 8388607 use the long form;
//   * CHARSXP flags as mkCharLenCE leaves them: ASCII strings get only the ASCII bit whatever
//     their declared encoding, others their UTF-8/latin1/bytes bit, NA is length -1;
//   * byte code with the reps of shared language cells numbered as ScanForCircles/WriteBCLang do;
//   * ALTREP nodes: version 3 writes them as they are (class, state, attributes); version 2
//     writes the vector they stand for (compact sequences, wrappers, deferred strings with R's
//     number formatting). A class that cannot be expanded is an error naming it.
// The value must pass Value::Validate() (checked first) and have one root; save() files (a
// non-empty rdata_magic) must have a pairlist root.
//
// Large B vectors are appended to the ByteWriter by reference; X vectors are byte-swapped in one
// pass into buffers the ByteWriter takes (see primitives.h). The writer keeps its own stack, so
// depth costs no C++ stack.
//
// What R cannot hold is refused with INVALID_ARGUMENT naming the node: Torch7 kinds (Boolean,
// Number, Table, TorchObject, Tensor, LuaFunction), Opaque, and Arrays of element types R has
// no vector for (int8/16/64, uint8, float16/32).
//
// Example:
//
//   rds::RWriteSettings settings = rds::SettingsFor(value, RFormat::kXdr, /*version=*/2);
//   ByteWriter out;
//   RETURN_IF_ERROR(WriteR(value, settings, out));
#ifndef SERIALD_CORE_RDS_WRITER_H_
#define SERIALD_CORE_RDS_WRITER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "core/io/byte_writer.h"
#include "core/model/value.h"
#include "core/rds/sexptype.h"

namespace seriald {
namespace rds {

struct RWriteSettings {
  RFormat format = RFormat::kXdr;
  int32_t version = 3;
  int32_t writer_version = kRVersion422;
  int32_t min_reader_version = kMinReaderVersion3;
  std::string native_encoding = "UTF-8";  // version 3 only
  RCompression compression = RCompression::kNone;
  std::string rdata_magic;  // "RDX3", ... for save() files; empty for a stream
  Buffer trailing_bytes;    // written after the object (the source's, in its own format)
  std::string gzip_header;  // gzip member header to write instead of R's (the source's)
  // A compact sequence expanded for version 2 whose elements would pass this many bytes is
  // refused before anything of it is written (WriteOptions::max_output_bytes), naming
  // `output_limit`.
  uint64_t max_output_bytes = UINT64_MAX;
  std::string output_limit = "max-output-bytes";
  // Where output that must wait for a word read after it is kept once it passes 16 MiB (an
  // ALTREP wrapper's vector converted as read into version 2, rds/transcoder.h): an unnamed file
  // there, each byte counted first with `reserve_spill` (may be null). Empty: such output is held
  // in memory up to 16 MiB, and beyond that the object graph writes it (WriteOptions::spill_dir).
  std::string spill_dir;
  std::function<absl::Status(uint64_t bytes)> reserve_spill = nullptr;
};

// The settings for writing `value` in `format`: the version, header and compression of the
// stream it was read from where they apply (writer version always; minimal reader version when
// the version is unchanged; native encoding when the source was version 3; compression), else
// version 3, R 4.2.2, "UTF-8", no compression. `version` and `compression` override.
RWriteSettings SettingsFor(const Value& value, RFormat format, std::optional<int> version = {},
                           std::optional<RCompression> compression = {});

// The same for a value read from a stream with header `source` (none: built by hand).
RWriteSettings SettingsForSource(const std::optional<RStreamInfo>& source, RFormat format,
                                 std::optional<int> version = {},
                                 std::optional<RCompression> compression = {});

// The save() magic for a stream in `format` and `version`: "RDX3", "RDB2", "RDA3", ...
std::string RDataMagic(RFormat format, int version);

}  // namespace rds

// Appends the stream (compressed and with the save() magic as `settings` say) to `out`. On
// error `out` may hold part of the stream.
absl::Status WriteR(const Value& value, const rds::RWriteSettings& settings, ByteWriter& out);

}  // namespace seriald

#endif  // SERIALD_CORE_RDS_WRITER_H_
