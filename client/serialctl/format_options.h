// File: client/serialctl/format_options.h
//
// serialctl's format options: their values as parsed from the command line, which formats each
// applies to, and the core ReadOptions / WriteOptions they become. Applicability is decided by
// codec family, so a format added to the registry within an existing family needs no change here:
//   Torch7 (family "t7")        --long-size, --big-endian (output; with --from also the input),
//                               --unreferenced (output)
//   R (families "rds", "rdata") --version, --compress (output)
//   JSON (family "json")        --pretty (output)
//   array files (npy, npz, safetensors)  --strict (output)
//   any conversion              --drop-unconvertible, --allow-inexact-integers (they matter
//                               only between families; a same-family conversion loses nothing)
//   any input                   --max-depth, --max-decompressed-bytes, --spill-dir,
//                               --resolve-reference (R persistent references; an input that has
//                               none is unaffected)
//
// Example:
//
//   FormatFlags flags;  // filled by CLI11
//   RETURN_IF_ERROR(CheckApplicable(flags, registry));          // a usage error otherwise
//   ReadOptions read = ToReadOptions(flags, registry);
//   WriteOptions write = ToWriteOptions(flags);
#ifndef SERIALD_CLIENT_SERIALCTL_FORMAT_OPTIONS_H_
#define SERIALD_CLIENT_SERIALCTL_FORMAT_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/format/codec.h"

namespace seriald::serialctl {

inline constexpr std::string_view kTorch7Family = "t7";
inline constexpr std::string_view kJsonFamily = "json";
inline const std::vector<std::string_view> kRFamilies = {"rds", "rdata"};
inline const std::vector<std::string_view> kArrayFamilies = {"npy", "npz", "safetensors"};

// The values of --compress.
struct CompressionName {
  std::string_view name;
  RCompression compression;
};
inline constexpr CompressionName kCompressions[] = {{"none", RCompression::kNone},
                                                    {"gzip", RCompression::kGzip},
                                                    {"bzip2", RCompression::kBzip2},
                                                    {"xz", RCompression::kXz}};

struct FormatFlags {
  std::string from;  // empty: detect from the content
  std::string to;    // empty: no output (inspect)
  std::optional<int> long_size;
  // Torch7 byte order: --byte-order little|big, or --big-endian[=true|false] (its synonym).
  std::string byte_order;          // "", "little" or "big"
  std::optional<bool> big_endian;  // --big-endian as given

  bool unreferenced = false;
  std::optional<int> r_version;
  std::string compress;  // a name from kCompressions; empty when not given
  std::optional<uint32_t> max_depth;
  std::optional<uint64_t> max_decompressed_bytes;
  std::optional<uint64_t> max_decompression_ratio;
  std::optional<std::string> spill_dir;  // --spill-dir; default DefaultSpillDir()
  uint64_t max_output_bytes = uint64_t{64} << 30;
  bool r_normalize = false;  // --normalize
  bool pretty = false;
  bool drop_unconvertible = false;
  bool allow_inexact_integers = false;
  bool strict = false;  // array output: refuse non-array values
  // --resolve-reference NAMES=FILE, as given (checked by ParseReferenceFlag).
  std::vector<std::string> resolve_references;
};

// One --resolve-reference: the names of persistent references (NAMES split at commas) and the
// file holding the R object they stand for.
struct ReferenceFlag {
  std::vector<std::string> names;
  std::string file;
};

// "a,b=path" -> {{"a", "b"}, "path"}. INVALID_ARGUMENT (a usage error) without "=", with no
// names or no file.
absl::StatusOr<ReferenceFlag> ParseReferenceFlag(std::string_view text);

// The Torch7 byte order the flags ask for (true: big-endian); nullopt when neither --byte-order
// nor --big-endian was given. INVALID_ARGUMENT when the two disagree.
absl::StatusOr<std::optional<bool>> BigEndianOf(const FormatFlags& flags);

// INVALID_ARGUMENT saying which option was given for formats it does not apply to, or asking for
// what cannot be honoured (a byte order for t7-ascii output, which has none), or naming a
// malformed --resolve-reference.
absl::Status CheckApplicable(const FormatFlags& flags, const CodecRegistry& registry);

// How to read the input: limits, and the Torch7 layout forced when --from names a Torch7 format.
// Requires flags that passed CheckApplicable.
ReadOptions ToReadOptions(const FormatFlags& flags, const CodecRegistry& registry);

// How to write the output. Requires flags that passed CheckApplicable.
WriteOptions ToWriteOptions(const FormatFlags& flags);

}  // namespace seriald::serialctl

#endif  // SERIALD_CLIENT_SERIALCTL_FORMAT_OPTIONS_H_
