// File: core/rds/codec.h
//
// The R codecs for the CodecRegistry, all of family "rds". Each of them reads every R input
// (a serialize() stream in any encoding, saveRDS() files compressed or not, save() files; see
// reader.h); they differ in what they write:
//   "rds"           XDR stream (serialize(x, NULL), saveRDS(x))
//   "rds-native"    native little-endian stream (serialize(x, NULL, xdr = FALSE))
//   "rds-ascii"     ascii stream (serialize(x, NULL, ascii = TRUE), saveRDS(x, ascii = TRUE))
//   "rds-asciihex"  ascii with hex doubles (serialize(x, NULL, ascii = NA))
//   "rdata"         a save() file: the root must be the tagged pairlist of named objects; the
//                   encoding is the source's (RDX/RDA/RDB), else XDR
// WriteOptions::r_version picks version 2 or 3 (default: the source's, else 3);
// WriteOptions::r_compression the container (default: the source's, so a serialize() stream
// stays bare and a gzip-compressed saveRDS() file stays gzip-compressed; "rdata" defaults to
// gzip, as save() does, unless the source was a save() file).
//
// Example:
//
//   CodecRegistry registry;
//   RegisterRdsCodecs(registry);
//   ASSIGN_OR_RETURN(Value value, ReadAs(registry, "rds", input, ReadOptions{}));
//   WriteOptions options;
//   options.r_version = 2;
//   ASSIGN_OR_RETURN(BufferChain text, WriteAs(registry, "rds-ascii", value, options));
#ifndef SERIALD_CORE_RDS_CODEC_H_
#define SERIALD_CORE_RDS_CODEC_H_

#include <optional>
#include <string_view>

#include "core/format/codec.h"
#include "core/rds/writer.h"

namespace seriald {

namespace rds {

// The codec name of the format a stream with header `source` was in: "rds", "rds-native",
// "rds-ascii", "rds-asciihex", or "rdata" for a save() file (Codec::FormatOf).
std::string_view CodecNameOf(const RStreamInfo& source);

// The settings the R codec named `codec` writes a value read from a stream with header `source`
// with (see the file comment).
RWriteSettings CodecWriteSettings(std::string_view codec, const std::optional<RStreamInfo>& source,
                                  const WriteOptions& options);

}  // namespace rds

// Adds "rds", "rds-native", "rds-ascii", "rds-asciihex" and "rdata" to `registry`.
void RegisterRdsCodecs(CodecRegistry& registry);

}  // namespace seriald

#endif  // SERIALD_CORE_RDS_CODEC_H_
