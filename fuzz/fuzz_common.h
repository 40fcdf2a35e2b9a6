// File: fuzz/fuzz_common.h
//
// What every fuzz target shares: bounded read options, a writer that gives up once the output
// passes kMaxOutputBytes, option bytes taken from the front of the input, and checks that abort
// (so libFuzzer reports the input) when an invariant does not hold.
//
// Limits: the readers and writers accept legitimate amplification (a 100-byte xz stream of a
// gigabyte of zeros, a compact R sequence of 2^40 elements, a Torch7 table shared 2^30 times and
// written unreferenced). Those are not bugs, but they would make the fuzzer run out of memory
// or time, so the targets read with small limits (BoundedReadOptions) and write through
// BoundedWrite, which fails the write once it produced kMaxOutputBytes. What still exhausts
// memory or time under these limits is a finding.
//
// Example:
//
//   OptionBytes options(data, size);          // consumes the first byte(s) of the input
//   const bool ascii = options.Bit(0);
//   Buffer input = options.Rest();
//   absl::StatusOr<Value> value = ReadTorch7(input, BoundedReadOptions());
//   if (!value.ok()) return 0;
//   absl::StatusOr<Buffer> bytes = BoundedWrite(
//       [&](ByteWriter& out) { return codec.Write(*value, BoundedWriteOptions(), out); });
#ifndef SERIALD_FUZZ_FUZZ_COMMON_H_
#define SERIALD_FUZZ_FUZZ_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/absl_compat.h"
#include "core/format/codec.h"
#include "core/io/buffer.h"
#include "core/io/byte_writer.h"
#include "core/model/value.h"

namespace seriald::fuzz {

// Output past this is refused by BoundedWrite. Inputs are at most -max_len (64 KiB) and the
// readers' limits 16 MiB, so only amplification (a Torch7 graph written unreferenced, a compact
// R sequence expanded for version 2, ascii of a big decompressed stream) comes near it.
inline constexpr uint64_t kMaxOutputBytes = uint64_t{16} << 20;
// Compressing with bzip2 or xz is slow under the sanitizers (an xz encoder alone allocates and
// clears 90 MB): the targets compress at most twice per input, and only streams up to this size.
inline constexpr uint64_t kMaxCompressedRewriteBytes = uint64_t{256} << 10;

// Prints `what` and aborts: libFuzzer then reports a crash and saves the input.
[[noreturn]] inline void Fail(const std::string& what) {
  std::fprintf(stderr, "\nFUZZ INVARIANT FAILED: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

inline std::string Describe(const absl::Status& status) { return status.ToString(); }

// Fails unless `condition`, with the message built lazily.
#define FUZZ_CHECK(condition, message)                                             \
  do {                                                                             \
    if (!(condition)) {                                                            \
      ::seriald::fuzz::Fail(std::string(__FILE__ ":") + std::to_string(__LINE__) + \
                            ": " #condition ": " + (message));                     \
    }                                                                              \
  } while (false)

// Reading limits small enough that a fuzzer process stays well under -rss_limit_mb.
inline ReadOptions BoundedReadOptions() {
  ReadOptions options;
  options.max_depth = 256;
  options.max_decompressed_bytes = uint64_t{16} << 20;
  options.max_expanded_bytes = uint64_t{16} << 20;
  return options;
}

// For reading back what a writer wrote (already bounded by kMaxOutputBytes): the writer may nest
// deeper than BoundedReadOptions allows (an R pairlist counts every cell), so only the
// decompression and expansion limits stay.
inline ReadOptions ReadBackOptions() {
  ReadOptions options;
  options.max_decompressed_bytes = kMaxOutputBytes;
  options.max_expanded_bytes = uint64_t{16} << 20;
  return options;
}

inline WriteOptions BoundedWriteOptions() {
  WriteOptions options;
  options.max_output_bytes = kMaxOutputBytes;
  return options;
}

// Installs a silent log handler for protobuf, which logs every string field with invalid UTF-8
// it parses: the targets that parse messages (from LLVMFuzzerInitialize) would fill their logs
// with such lines.
void SilenceProtobufLog();

// Runs `write` on a ByteWriter whose piece callback fails once more than kMaxOutputBytes were
// delivered, and returns the whole output. The write's own error comes first, then the
// callback's (RESOURCE_EXHAUSTED). Checks that the writer's byte count matches what it delivered.
inline absl::StatusOr<Buffer> BoundedWrite(const std::function<absl::Status(ByteWriter&)>& write) {
  BufferChain collected;
  ByteWriter out([&collected](Buffer piece) -> absl::Status {
    if (collected.size() + piece.size() > kMaxOutputBytes) {
      return absl::ResourceExhaustedError("fuzz: output over kMaxOutputBytes");
    }
    collected.Append(std::move(piece));
    return absl::OkStatus();
  });
  absl::Status status = write(out);
  absl::Status finished = out.Finish();
  if (!status.ok()) return status;
  if (!finished.ok()) return finished;
  FUZZ_CHECK(collected.size() == out.size(), "ByteWriter::size() " + std::to_string(out.size()) +
                                                 " but delivered " +
                                                 std::to_string(collected.size()));
  return collected.Flatten();
}

// Option bits taken from the first bytes of the input; the rest is the payload.
class OptionBytes {
 public:
  // Takes `count` bytes (missing ones read as 0).
  OptionBytes(const uint8_t* data, size_t size, size_t count = 1) {
    for (size_t i = 0; i < count; ++i) bytes_.push_back(i < size ? data[i] : 0);
    const size_t skip = count < size ? count : size;
    rest_ = Buffer::Copy(data + skip, size - skip);
  }
  // Bits [first, first + width) of the option bytes, byte 0 holding bits 0..7.
  uint32_t Bits(int first, int width) const {
    uint32_t value = 0;
    for (int i = 0; i < width; ++i) {
      const int bit = first + i;
      const size_t byte = static_cast<size_t>(bit / 8);
      if (byte < bytes_.size() && (bytes_[byte] >> (bit % 8)) & 1) value |= uint32_t{1} << i;
    }
    return value;
  }
  bool Bit(int bit) const { return Bits(bit, 1) != 0; }
  // The input after the option bytes, in a Buffer of its own (exactly sized, so that
  // AddressSanitizer sees any read past its end).
  const Buffer& Rest() const { return rest_; }

 private:
  std::vector<uint8_t> bytes_;
  Buffer rest_;
};

// The codecs the targets use: every core codec and "json".
const CodecRegistry& Registry();

// The codec named `name` (a fuzz target's own table of names: aborts when unknown).
const Codec& CodecNamed(std::string_view name);

// Reads `bytes` with `codec` (its ReadData for an array codec): what was written must read back.
absl::Status ReadBack(const Codec& codec, const Buffer& bytes);

// Writes `value` with `codec`. When that works, the output must read back with the codec, and
// (when `fixpoint`) writing what was read back with the same options must give the same bytes.
// Returns the output (or the write's error, which is allowed: not every value fits every
// format).
absl::StatusOr<Buffer> CheckWrite(const Codec& codec, const Value& value,
                                  const WriteOptions& options, bool fixpoint);

// ConvertInput from `from` to `to` with bounded options; when it works, the output must read
// back with `to`. Returns the conversion's status.
absl::Status CheckConvert(const Codec& from, const Codec& to, const Buffer& input,
                          const ReadOptions& read_options, const WriteOptions& write_options);

}  // namespace seriald::fuzz

#endif  // SERIALD_FUZZ_FUZZ_COMMON_H_
