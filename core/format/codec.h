// File: core/format/codec.h
//
// Codec: one named serialization format ("t7", "t7-ascii", "rds", "json", ...) that can recognise,
// read and write Values. Every format plugs into serialctl and the service through this
// interface, so adding a format never changes the command line's structure. CodecRegistry holds
// the codecs a program offers and detects the format of an input without guessing: when no codec,
// or more than one family of codecs, recognises the input, the error says what was tried.
//
// Example:
//
//   CodecRegistry registry = CoreCodecs();              // Torch7 and R
//   ASSIGN_OR_RETURN(const Codec* from, registry.Detect(input));
//   ASSIGN_OR_RETURN(Value value, from->Read(input, ReadOptions{}));
//   ASSIGN_OR_RETURN(const Codec* to, registry.Find("t7-ascii"));
//   ByteWriter out;
//   RETURN_IF_ERROR(to->Write(value, WriteOptions{}, out));
#ifndef SERIALD_CORE_FORMAT_CODEC_H_
#define SERIALD_CORE_FORMAT_CODEC_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/io/buffer.h"
#include "core/io/byte_writer.h"
#include "core/model/value.h"

namespace seriald {

// Limits and overrides for reading. Defaults suit untrusted input.
struct ReadOptions {
  // Torch7 binary: force the long size (4 or 8) or the byte order instead of detecting them.
  std::optional<int> torch7_long_size = std::nullopt;
  std::optional<bool> torch7_big_endian = std::nullopt;
  // Deepest nesting of objects accepted. Readers do not recurse, so this bounds memory and the
  // depth of what callers must walk, not the stack.
  uint32_t max_depth = 1'000'000;
  // Upper bound on the size of decompressed input (R files compressed with gzip, bzip2, xz;
  // deflated npz entries).
  uint64_t max_decompressed_bytes = uint64_t{64} << 30;
  // Compressed input may also decompress to at most this many times its own size (or
  // kDecompressionFloorBytes, whichever is larger); 0 for no such bound. 4096 is above what gzip
  // can reach at all (about 1032:1) and far above real data under bzip2 or xz, and refuses the
  // bombs those allow (826 bytes of bzip2 holding 1 GiB of zeros: 1.3 million to one).
  uint64_t max_decompression_ratio = 4096;
  // Called before a reader allocates memory the input's size does not already account for
  // (decompressed input, as it grows), with the bytes about to be allocated; an error stops the
  // read with it. The service reserves them in its memory budget (--max-inflight-bytes).
  std::function<absl::Status(uint64_t bytes)> reserve_memory = nullptr;
  // Decompressed R input larger than spill_above_bytes waits in an unnamed temporary file in
  // spill_dir, read from its mapping, instead of memory (core/io/spillable_buffer.h); it is not
  // reserved with reserve_memory. Empty: always in memory.
  std::string spill_dir;
  uint64_t spill_above_bytes = uint64_t{64} << 20;
  // Called before bytes go to that spill file, with their count (on the move to the file, all
  // collected so far); an error stops the read with it. The service counts them against its
  // disk budget (--max-spill-bytes).
  std::function<absl::Status(uint64_t bytes)> reserve_spill = nullptr;
  // Up to this much decompressed input is always allowed, whatever the ratio.
  static constexpr uint64_t kDecompressionFloorBytes = uint64_t{64} << 20;

  // The decompressed size allowed for `compressed_size` bytes of compressed input.
  uint64_t DecompressionLimit(uint64_t compressed_size) const {
    uint64_t limit = max_decompressed_bytes;
    if (max_decompression_ratio != 0 &&
        compressed_size < (uint64_t{1} << 63) / max_decompression_ratio) {
      limit = std::min(
          limit, std::max(kDecompressionFloorBytes, compressed_size * max_decompression_ratio));
    }
    return limit;
  }
  // R: apply what R's unserialize() changes while reading (old byte code versions, ALTREP
  // wrappers without metadata, NULL environments, old CHARSXP flag bits; core/rds/reader.h), so
  // that writing gives the bytes of R's serialize(unserialize(x)). By default the stream's own
  // form is kept, and writing it back in its own format reproduces it.
  bool r_normalize = false;
  // Leave the arrays of a big-endian input (R's XDR, big-endian Torch7) big-endian, as written
  // (Array::big_endian), instead of swapping them into a copy. For a conversion: its writer takes
  // the input's own bytes, so an XDR array written as XDR is never copied and one written in
  // another order is swapped once, straight into the output (ConvertInput).
  bool keep_array_byte_order = false;
  // The caller lends the input's memory: a reader may overwrite bytes of the input it has read,
  // and swaps an R XDR stream's vectors where they are instead of into new memory (when the
  // input's memory is the process's own, Buffer::WritableBytes; a file mapping is never written).
  // Set only when nothing reads the input's bytes as they were after the read (the service's
  // unary Deserialize, whose request the response replaces). A compressed stream's decompressed
  // bytes are the reader's own and always swapped so.
  bool input_is_scratch = false;
  // Converting R to plain data (another family, an array file) materialises ALTREP compact
  // sequences; one whose elements would take more bytes than this is refused.
  uint64_t max_expanded_bytes = uint64_t{4} << 30;
};

// Choices for writing. Unset fields take the value the source stream had (Value::source()), and
// then the format's default.
struct WriteOptions {
  std::optional<int> torch7_long_size;    // 4 or 8 (default 8)
  std::optional<bool> torch7_big_endian;  // default little-endian
  // Torch7 "referenced" mode: when false, shared objects are written once per occurrence with
  // fresh indices (torch.save(..., referenced = false)); cycles are then an error.
  bool torch7_referenced = true;
  std::optional<int> r_version;               // 2 or 3 (default 3)
  std::optional<RCompression> r_compression;  // default: none for streams, gzip for saveRDS
  // Text formats (JSON): indent over several lines instead of one line.
  bool json_pretty = false;
  // Converting between families (core/convert/cross_family.h): leave out, with a note, what the
  // output family cannot hold (a Lua function in R, an R closure in Torch7) instead of failing.
  bool drop_unconvertible = false;
  // Converting to R: int64 beyond 2^53 rounds to the nearest double instead of failing.
  bool allow_inexact_integers = false;
  // Array files (npz, safetensors): refuse what is not an array instead of skipping it.
  bool strict_arrays = false;
  // Output a writer can tell in advance would pass this (an R compact sequence of 2^52 elements
  // expanded for version 2, from a 122-byte input) is refused before it is produced, with
  // RESOURCE_EXHAUSTED naming `output_limit`; callers that stream the output also count the bytes
  // against it (ConvertInput's callers, the service).
  uint64_t max_output_bytes = UINT64_MAX;
  std::string output_limit = "max-output-bytes";
  // Where a writer that must put its whole output together before handing it out (npz: libzip
  // goes back to each entry's header) keeps a large one: an unnamed file there, read out a step
  // at a time. Empty: in memory.
  std::string spill_dir;
  // Called with the bytes about to go to that file; its error stops the writer (the service
  // counts them against --max-spill-bytes). May be null.
  std::function<absl::Status(uint64_t bytes)> reserve_spill = nullptr;
};

// How sure a codec is that an input is its format.
struct Recognition {
  enum Verdict { kNo, kYes };
  Verdict verdict = kNo;
  std::string reason;  // why, in a few words ("starts with X\n", "first word is not a type tag")
};

class ArrayCodec;  // core/convert/array_codecs.h

class Codec {
 public:
  virtual ~Codec() = default;
  // The name used on the command line and in the schema ("t7", "rds-ascii").
  virtual std::string_view name() const = 0;
  // One line for --help.
  virtual std::string_view description() const = 0;
  // Codecs of one family read the same inputs ("rds" reads every R encoding); detection reports
  // the family's reading codec.
  virtual std::string_view family() const = 0;
  virtual Recognition Recognize(const Buffer& input) const = 0;
  // The name of the codec of this family that writes `value` (read by this codec) back in the
  // encoding it came in: an ascii Torch7 stream read by "t7" is "t7-ascii", an R text stream
  // read by "rds" is "rds-ascii". This is the format reported to users for an input.
  virtual std::string_view FormatOf(const Value& value) const { return name(); }
  virtual absl::StatusOr<Value> Read(const Buffer& input, const ReadOptions& options) const = 0;
  // Writes `value` (which must pass Value::Validate()). Errors name the node that cannot be
  // written in this format.
  virtual absl::Status Write(const Value& value, const WriteOptions& options,
                             ByteWriter& out) const = 0;
  // Whether Write takes arrays left big-endian (Array::big_endian) and swaps them a step at a
  // time as it writes them, so that a conversion into this format reads the input's arrays as
  // written (ReadOptions::keep_array_byte_order) instead of swapping them into a copy first.
  // Torch7 and R writers do, and conversions between them know it by their families.
  virtual bool WritesBigEndianArrays() const { return false; }
  // Formats of named arrays only (npy, npz, safetensors) are ArrayCodecs, which read and write
  // plain data; conversions (core/convert/convert.h) go through that rather than a Value.
  virtual const ArrayCodec* AsArrayCodec() const { return nullptr; }
};

class CodecRegistry {
 public:
  CodecRegistry() = default;
  CodecRegistry(CodecRegistry&&) = default;
  CodecRegistry& operator=(CodecRegistry&&) = default;

  void Register(std::unique_ptr<Codec> codec);
  // NOT_FOUND listing the known names when `name` is unknown.
  absl::StatusOr<const Codec*> Find(std::string_view name) const;
  std::vector<const Codec*> codecs() const;

  // The codec that reads `input`. INVALID_ARGUMENT when nothing recognises it (naming known
  // foreign formats such as PyTorch pickles, and what each codec saw), or when codecs of two
  // families both claim it.
  absl::StatusOr<const Codec*> Detect(const Buffer& input) const;

 private:
  std::vector<std::unique_ptr<Codec>> codecs_;
};

// What `input` is when it is a format people mistake for Torch7 or R files (a PyTorch pickle or
// ZIP, NumPy, HDF5, text, empty), as a phrase for error messages: "it is a Python pickle
// (protocol 2), ...". nullopt when it is none of these.
std::optional<std::string> DescribeForeignInput(const Buffer& input);

// A registry holding the formats implemented in core/ (Torch7 and R).
CodecRegistry CoreCodecs();

// Reads with the named codec, or detects the format when `format` is empty.
absl::StatusOr<Value> ReadAs(const CodecRegistry& registry, std::string_view format,
                             const Buffer& input, const ReadOptions& options);

// Writes `value` with the named codec into a BufferChain.
absl::StatusOr<BufferChain> WriteAs(const CodecRegistry& registry, std::string_view format,
                                    const Value& value, const WriteOptions& options);

}  // namespace seriald

#endif  // SERIALD_CORE_FORMAT_CODEC_H_
