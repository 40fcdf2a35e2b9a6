// File: core/rds/serialize.h
//
// The equivalents of R's own entry points (serialize.R, saveload.c):
//
//   serialize(x, NULL, ...)    SerializeR(value, format, version)    -> bytes in memory
//   unserialize(bytes)         UnserializeR(bytes)
//   saveRDS(x, file, ...)      SaveRds(path, value, options)          (gzip, XDR, version 3)
//   readRDS(file)              ReadRds(path)
//   save(..., file)            SaveRData(path, value, options)        (root: tagged pairlist)
//   load(file)                 LoadRData(path)
//
// Reading accepts any R input (see reader.h); LoadRData additionally requires a save() file.
// The writer version in headers is the source's (else R 4.2.2), see rds::SettingsFor.
//
// Example:
//
//   ASSIGN_OR_RETURN(Value value, ReadRds("model.rds"));
//   ASSIGN_OR_RETURN(std::string bytes, SerializeR(value, RFormat::kAscii, /*version=*/2));
//   RETURN_IF_ERROR(SaveRds("copy.rds", value, {.compression = RCompression::kXz}));
#ifndef SERIALD_CORE_RDS_SERIALIZE_H_
#define SERIALD_CORE_RDS_SERIALIZE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/format/codec.h"
#include "core/model/value.h"

namespace seriald {

// saveRDS()/save() settings; the defaults are R's.
struct SaveROptions {
  RFormat format = RFormat::kXdr;  // ascii = TRUE: kAscii (saveRDS never writes B)
  int version = 3;
  RCompression compression = RCompression::kGzip;
};

// serialize(x, NULL, ...): the bare stream (no compression).
absl::StatusOr<std::string> SerializeR(const Value& value, RFormat format = RFormat::kXdr,
                                       int version = 3);

// unserialize(): any R input held in memory (copied).
absl::StatusOr<Value> UnserializeR(std::string_view bytes, const ReadOptions& options = {});

// saveRDS(): the root of `value` to `path`.
absl::Status SaveRds(const std::string& path, const Value& value, const SaveROptions& options = {});

// readRDS(): the file at `path` (memory-mapped).
absl::StatusOr<Value> ReadRds(const std::string& path, const ReadOptions& options = {});

// save(): `value`'s root must be a pairlist tagged with the objects' names.
absl::Status SaveRData(const std::string& path, const Value& value,
                       const SaveROptions& options = {});

// load(): a save() file; INVALID_ARGUMENT when the file is a plain stream.
absl::StatusOr<Value> LoadRData(const std::string& path, const ReadOptions& options = {});

}  // namespace seriald

#endif  // SERIALD_CORE_RDS_SERIALIZE_H_
