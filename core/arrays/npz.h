// File: core/arrays/npz.h
//
// numpy's .npz format (numpy.savez, numpy.savez_compressed): a ZIP archive with one .npy file per
// array, named "<name>.npy". savez stores the entries (ZIP_STORED), savez_compressed deflates
// them. The ZIP side is libzip's; each entry is read and written as npy.h does.
//
// Reading extracts every entry into a buffer of its own (the arrays are views of those buffers)
// and treats the archive as hostile: an entry's declared size counts against
// ArrayReadLimits::max_decompressed_bytes before anything is extracted, extraction stops at the
// declared size (an entry that inflates to more is refused, so a zip bomb costs at most its
// declared size), and memory grows with the bytes actually extracted, never with what a header
// claims. Problems are INVALID_ARGUMENT InputErrors: "npz: <problem> at byte 0" for the archive
// (libzip reports no offsets; the message carries libzip's own), and npy's own errors, which
// name the array and give the offset inside its entry, for an entry's contents. The limit is
// RESOURCE_EXHAUSTED (LimitExceeded "max-decompressed-bytes").
//
// Writing builds the archive with libzip (ZIP64 where sizes need it) and then appends it to the
// output: libzip writes each entry's local header again once the entry is written, so the archive
// is put together first, in memory or, when large, in a spill file (NpzWriteOptions). libzip reads
// each entry from its array a step at a time (internal/zip_sources.h): no npy copy of an entry
// is made, and a big-endian array is swapped a MiB at a time. Entries get numpy's fixed time
// stamp (1980-01-01 00:00), so the same arrays always give the same bytes.
//
// Example:
//
//   ASSIGN_OR_RETURN(Buffer input, ReadFile("checkpoint.npz"));
//   ASSIGN_OR_RETURN(std::vector<arrays::NamedArray> arrays, arrays::ReadNpz(input, {}));
//   ByteWriter out;
//   RETURN_IF_ERROR(arrays::WriteNpz(arrays, {.compressed = true, .spill_dir = "/var/tmp"}, out));
#ifndef SERIALD_CORE_ARRAYS_NPZ_H_
#define SERIALD_CORE_ARRAYS_NPZ_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/arrays/named_array.h"
#include "core/io/buffer.h"
#include "core/io/byte_writer.h"

namespace seriald::arrays {

struct ArrayReadLimits {
  // The most bytes all entries of an archive may extract to, together.
  uint64_t max_decompressed_bytes = uint64_t{64} << 30;
};

// True when `input` is a ZIP archive whose entries all end in ".npy" (an empty archive, which
// numpy.savez writes for no arrays, included). A PyTorch checkpoint (archive/data.pkl, ...) is
// not an npz.
bool LooksLikeNpz(const Buffer& input);

// The arrays of the archive, in the archive's order, named without ".npy". An entry whose name
// does not end in ".npy", an encrypted or corrupt entry, or one whose contents are not a
// readable npy file is refused (see the file comment for the errors).
absl::StatusOr<std::vector<NamedArray>> ReadNpz(const Buffer& input, const ArrayReadLimits& limits);

struct NpzWriteOptions {
  // Deflated entries, as numpy.savez_compressed writes; else stored ones, as numpy.savez.
  bool compressed = false;
  // An archive of more than `spill_above` bytes of entries is put together in an unnamed file in
  // `spill_dir` (core/io/spill_file.h) and appended to the output as the file's mapping; empty:
  // in memory.
  std::string spill_dir;
  uint64_t spill_above = uint64_t{64} << 20;
  // Called with the bytes about to go to the spill file; its error stops the writing. May be
  // null.
  std::function<absl::Status(uint64_t bytes)> reserve_spill = nullptr;
};

// Appends an .npz archive of `arrays` (entries "<name>.npy", in order) to `out`. INVALID_ARGUMENT
// for two arrays of one name, a name holding a NUL byte, or an array WriteNpy refuses; a mapped
// input that cannot be read, or a spill file that cannot be written, fails with its own error.
absl::Status WriteNpz(const std::vector<NamedArray>& arrays, const NpzWriteOptions& options,
                      ByteWriter& out);

}  // namespace seriald::arrays

#endif  // SERIALD_CORE_ARRAYS_NPZ_H_
