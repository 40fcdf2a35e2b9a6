// File: core/torch7/serialize.h
//
// The equivalents of torch7's convenience functions (File.lua:380-454):
//
//   torch.serialize(obj, mode)     SerializeTorch7(value, mode)     -> bytes in memory
//   torch.deserialize(str, mode)   DeserializeTorch7(bytes, mode)   <- one object from memory
//   torch.save(path, obj, ...)     SaveTorch7File(path, value, ...)
//   torch.load(path, mode)         LoadTorch7File(path, ...)
//
// torch.serialize writes through a MemoryFile: native layout (little-endian, 8-byte longs here),
// referenced, the same bytes torch.save writes. Before torch7 commit 235ccdb (2016-04-14) its
// string had one extra trailing NUL; DeserializeTorch7 accepts that NUL, and nothing else, after
// the object.
//
// Example:
//
//   ASSIGN_OR_RETURN(std::string bytes, SerializeTorch7(value, Torch7Mode::kAscii));
//   ASSIGN_OR_RETURN(Value copy, DeserializeTorch7(bytes, Torch7Mode::kAscii));
//
//   ASSIGN_OR_RETURN(Value model, LoadTorch7File("model.t7"));
//   RETURN_IF_ERROR(SaveTorch7File("model-long4.t7", model, Torch7Layout{.long_size = 4}));
#ifndef SERIALD_CORE_TORCH7_SERIALIZE_H_
#define SERIALD_CORE_TORCH7_SERIALIZE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/format/codec.h"
#include "core/model/value.h"
#include "core/torch7/reader.h"

namespace seriald {

// torch.serialize: `value` as one contiguous string, binary (little-endian, 8-byte longs) or
// ascii. `mode` must not be kDetect.
absl::StatusOr<std::string> SerializeTorch7(const Value& value,
                                            Torch7Mode mode = Torch7Mode::kBinary);

// torch.deserialize: exactly one object from `bytes`, optionally followed by the NUL old
// torch.serialize appended. The bytes are copied (a string_view owns nothing). In binary mode
// the long size and byte order are detected as by ReadTorch7 unless `options` force them.
absl::StatusOr<Value> DeserializeTorch7(std::string_view bytes,
                                        Torch7Mode mode = Torch7Mode::kBinary,
                                        const ReadOptions& options = {});

// torch.save: writes `value` to `path` in `layout`.
absl::Status SaveTorch7File(const std::string& path, const Value& value,
                            const Torch7Layout& layout = {}, bool referenced = true);

// torch.load: reads every object of the file at `path` (memory-mapped when large, so storage
// data stays in the page cache). See ReadTorch7.
absl::StatusOr<Value> LoadTorch7File(const std::string& path, const ReadOptions& options = {},
                                     Torch7Mode mode = Torch7Mode::kDetect);

}  // namespace seriald

#endif  // SERIALD_CORE_TORCH7_SERIALIZE_H_
