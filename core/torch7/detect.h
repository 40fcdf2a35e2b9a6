// File: core/torch7/detect.h
//
// Tells from the first bytes whether an input is a Torch7 stream and in which primitive encoding.
// A Torch7 file has no magic number: it starts with the int32 type tag (0..8) of its first object.
// Binary little-endian starts `0T 00 00 00`, binary big-endian `00 00 00 0T`, ascii with the digit
// T and a newline. Leading nil objects (tag 0 reads the same either way) are skipped to find the
// first tag that tells the byte order. Nothing here can tell the long size; the reader finds that
// by parsing (see reader.h).
//
// Example:
//
//   torch7::Sniff sniff = torch7::SniffStream(input);
//   if (sniff.encoding == torch7::Sniff::kNotTorch7) return error(sniff.reason);
#ifndef SERIALD_CORE_TORCH7_DETECT_H_
#define SERIALD_CORE_TORCH7_DETECT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/format/codec.h"
#include "core/io/buffer.h"
#include "core/torch7/reader.h"

namespace seriald::torch7 {

struct Sniff {
  enum Encoding { kNotTorch7, kBinaryLittleEndian, kBinaryBigEndian, kAscii };
  Encoding encoding = kNotTorch7;
  // Why, in a few words ("binary type tag 4 (little-endian) at byte 0").
  std::string reason;
  // Where the deciding type tag starts (for kNotTorch7: the invalid one; see DescribeBadTag).
  uint64_t tag_offset = 0;
};

// Looks at the first bytes of `input` only (at most a few KiB, for inputs that start with many
// nil objects).
Sniff SniffStream(const Buffer& input);

// Explains an invalid type tag `tag` read at `offset`: the tag, its four bytes (binary), and, for
// the first tag of the input, what the input looks like instead ("it is a Python pickle ...").
std::string DescribeBadTag(const Buffer& input, uint64_t offset, int64_t tag, bool binary);
// The same, for a reader that holds only the bytes from the tag on (`at`): `whole_input` is the
// input from its start when this is its first tag (nothing but nils, or whitespace, before it),
// else nullopt.
std::string DescribeBadTagAt(const Buffer& at, int64_t tag, bool binary,
                             const std::optional<Buffer>& whole_input);

// The layout a stream is read with, as far as its first bytes (`sniff`), the mode asked for and
// the options decide it: ascii or binary; the byte order; the long size when the options give it
// or the stream is ascii (which records none: 8 unless the options say otherwise), else
// `long_size_known` false and the readers try both. INVALID_ARGUMENT for a long size other than
// 4 or 8 in the options. In kDetect mode, input that is not Torch7 reads as binary (and then fails
// on its first tag, in DescribeBadTag's words).
struct StartingLayout {
  Torch7Layout layout;
  bool long_size_known = false;
};
absl::StatusOr<StartingLayout> LayoutToStartWith(const Sniff& sniff, const ReadOptions& options,
                                                  Torch7Mode mode);

}  // namespace seriald::torch7

#endif  // SERIALD_CORE_TORCH7_DETECT_H_
