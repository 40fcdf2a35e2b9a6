#include "core/convert/convert.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/convert/array_codecs.h"
#include "core/convert/cross_family.h"
#include "core/data/ndarray.h"
#include "core/io/chunked_input.h"
#include "core/io/input_error.h"
#include "core/io/step_reader.h"
#include "core/model/value.h"
#include "core/rds/codec.h"
#include "core/rds/compression.h"
#include "core/rds/reader.h"
#include "core/rds/transcoder.h"
#include "core/rds/writer.h"
#include "core/status_macros.h"
#include "core/torch7/codec.h"
#include "core/torch7/transcoder.h"

namespace seriald {

std::optional<DataFamily> FamilyOfCodec(const Codec& codec) {
  if (codec.family() == "t7") return DataFamily::kTorch7;
  if (codec.family() == "rds") return DataFamily::kR;
  return std::nullopt;
}

namespace {

// Where plain data being converted came from, which decides how it is adapted.
enum class Conventions { kTorch7, kR, kArrays };

absl::Status WriteValue(Value value, const Codec& to, const WriteOptions& options, ByteWriter& out,
                        const ConvertHooks& hooks) {
  if (hooks.before_write) RETURN_IF_ERROR(hooks.before_write(value));
  return to.Write(value, options, out);
}

// Every array of plain data is written out in full, and a view that is not already contiguous
// (a Torch7 tensor expanded with stride 0, a transposed one) is first gathered into a copy of its
// own: a 100-byte checkpoint can show 2^40 elements. Both are bounded by the output limit before
// anything is gathered, and the copies are reserved as the reader's allocations are.
absl::Status BoundArrayOutput(const data::Data& plain, const WriteOptions& options,
                              const std::function<absl::Status(uint64_t)>& reserve_memory) {
  uint64_t total = 0;
  uint64_t copies = 0;
  for (ItemId id = 0; id < plain.size(); ++id) {
    const data::NdArray* array = plain.GetIf<data::NdArray>(id);
    if (array == nullptr) continue;
    const uint64_t count = data::ElementCount(*array);
    const uint64_t size = ElementSize(array->dtype);
    const uint64_t room = options.max_output_bytes - std::min(total, options.max_output_bytes);
    if (count > room / size) {
      return LimitExceeded(
          options.output_limit,
          absl::StrCat("item ", id, ": an array of ", count, " ",
                       AsAbsl(ElementTypeName(array->dtype)), " elements (", array->length,
                       " stored) would write more than the ", room, " bytes left of the limit of ",
                       options.max_output_bytes, " (--", options.output_limit, ")"));
    }
    total += count * size;
    if (!data::IsContiguous(*array, data::Order::kRowMajor) &&
        !data::IsContiguous(*array, data::Order::kColumnMajor)) {
      copies += count * size;
    }
  }
  if (reserve_memory && copies > 0) return reserve_memory(copies);
  return absl::OkStatus();
}

// Writes plain data in `from`'s conventions with `to`.
absl::Status WriteAdapted(data::Data plain, Conventions from, const Codec& to,
                          const WriteOptions& options, ByteWriter& out, ConversionNotes& notes,
                          const ConvertHooks& hooks) {
  if (const ArrayCodec* arrays = to.AsArrayCodec()) {
    return arrays->WriteData(plain, options, out, notes);
  }
  const CrossFamilyOptions cross{.drop_unconvertible = options.drop_unconvertible,
                                 .allow_inexact_integers = options.allow_inexact_integers};
  // JSON writes a Value of either family: array files become Torch7's table of tensors.
  const DataFamily family = FamilyOfCodec(to).value_or(DataFamily::kTorch7);
  if (family == DataFamily::kR) {
    if (from == Conventions::kTorch7) RETURN_IF_ERROR(AdaptTorch7DataForR(plain, cross, notes));
    if (from == Conventions::kArrays) RETURN_IF_ERROR(AdaptArraysForR(plain, cross, notes));
  } else if (from == Conventions::kR) {
    RETURN_IF_ERROR(AdaptRDataForTorch7(plain, cross, notes));
  }
  DataToROptions r_options;
  r_options.root_as_pairlist = to.name() == "rdata";
  ASSIGN_OR_RETURN(Value value, FromData(plain, family, r_options));
  return WriteValue(std::move(value), to, options, out, hooks);
}

// A Torch7 stream is converted as it is read a step at a time: a mapped input is resident only
// a step at a time, and nothing holds its arrays.
constexpr size_t kTorch7Step = size_t{1} << 20;

bool StreamsTorch7(const Codec& from, const Codec& to, const WriteOptions& options,
                   const ConvertHooks& hooks) {
  return from.family() == "t7" && ConvertsTorch7AsRead(to, options) && !hooks.after_read &&
         !hooks.before_write;
}

absl::StatusOr<std::optional<std::string>> ConvertTorch7AsRead(
    const Codec& from, const Codec& to, const Buffer& input, const ReadOptions& read_options,
    const WriteOptions& write_options, ByteWriter& out, const ConvertHooks& hooks) {
  const Torch7Mode mode = from.name() == "t7-ascii" ? Torch7Mode::kAscii : Torch7Mode::kDetect;
  ASSIGN_OR_RETURN(
      std::optional<Torch7StreamLayout> source,
      DecideTorch7StreamLayout(input, /*whole_input=*/true, input.size(), read_options, mode));
  if (!source.has_value()) return std::nullopt;  // ReadTorch7 decides, or says what is wrong
  std::string read_as = source->layout.ascii ? "t7-ascii" : "t7";
  if (hooks.on_read_as) hooks.on_read_as(read_as);
  ChunkedInput in(ChunkedInput::ChunksOf(input, kTorch7Step), "torch7", input.size());
  RETURN_IF_ERROR(ConvertTorch7Stream(in, *source, to, read_options, write_options, out));
  return read_as;
}

bool StreamsR(const Codec& from, const Codec& to, const ReadOptions& read_options,
              const ConvertHooks& hooks) {
  return from.family() == "rds" && ConvertsRAsRead(to, read_options) && !hooks.after_read &&
         !hooks.before_write;
}

// Writes the R stream of `value` into `stream` (uncompressed), leaving out its first `skip`
// bytes: what the transcoder wrote before it stopped.
absl::Status WriteRStreamAfter(const Value& value, rds::RWriteSettings settings, uint64_t skip,
                               ByteWriter& stream) {
  settings.compression = RCompression::kNone;
  uint64_t skipped = 0;
  ByteWriter rest([&](Buffer piece) {
    if (skipped < skip) {
      const uint64_t drop = std::min<uint64_t>(skip - skipped, piece.size());
      skipped += drop;
      piece = piece.Slice(drop, piece.size() - drop);
    }
    if (piece.size() > 0) stream.AppendShared(piece);
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(WriteR(value, settings, rest));
  return rest.Finish();
}

// An R input held whole (a mapped file, a unary request) converted as it is read: compressed
// input is decompressed a piece at a time.
absl::StatusOr<std::string> ConvertRAsRead(const Codec& to, const Buffer& input,
                                           const ReadOptions& read_options,
                                           const WriteOptions& write_options, ByteWriter& out,
                                           const ConvertHooks& hooks) {
  RContainer container;
  container.compression = rds::DetectCompression(input.view());
  if (container.compression == RCompression::kGzip) {
    container.gzip_header = rds::DistinctGzipHeader(input.view());
  }
  std::optional<uint64_t> total_size;
  ChunkedInput::NextChunk chunks;
  std::unique_ptr<rds::Decompressor> decompressor;
  if (container.compression == RCompression::kNone) {
    total_size = input.size();
    chunks = ChunkedInput::ChunksOf(input, kTorch7Step);
  } else {
    ASSIGN_OR_RETURN(decompressor,
                     rds::Decompressor::Create(input, container.compression, read_options));
    chunks = [&decompressor] { return decompressor->Next(); };
  }
  ChunkedInput in(std::move(chunks), "rds", total_size);
  return ConvertRStream(
      in, container, to, read_options, write_options, out,
      [&input]() -> absl::StatusOr<Buffer> { return input; }, hooks.on_read_as);
}

}  // namespace

bool ConvertsTorch7AsRead(const Codec& to, const WriteOptions& options) {
  return to.family() == "t7" && options.torch7_referenced;
}

absl::Status ConvertTorch7Stream(ChunkedInput& in, const Torch7StreamLayout& source,
                                 const Codec& to, const ReadOptions& read_options,
                                 const WriteOptions& write_options, ByteWriter& out) {
  const Torch7Layout layout =
      Torch7OutputLayout(source.layout, write_options, to.name() == "t7-ascii");
  return TranscodeTorch7(in, source, layout, out, read_options);
}

bool ConvertsRAsRead(const Codec& to, const ReadOptions& read_options) {
  return to.family() == "rds" && !read_options.r_normalize;
}

absl::StatusOr<std::string> ConvertRStream(
    ChunkedInput& in, const RContainer& container, const Codec& to, const ReadOptions& read_options,
    const WriteOptions& write_options, ByteWriter& out,
    const std::function<absl::StatusOr<Buffer>()>& whole_input,
    const std::function<void(std::string_view read_as)>& on_read_as) {
  std::string read_as;
  std::unique_ptr<rds::Compressor> compressor;
  // The uncompressed stream: into the compressor once the header says which, else into `out`.
  ByteWriter stream([&](Buffer piece) -> absl::Status {
    if (compressor == nullptr) {
      out.AppendShared(piece);
      return absl::OkStatus();
    }
    // A piece may be a slice of a mapped input: compressed a step at a time.
    return ReadInSteps(piece, kCopyOutStep,
                       [&](const Buffer& step) { return compressor->Add(step.view()); });
  });
  auto settings_for = [&](const RStreamInfo& header) -> absl::StatusOr<rds::RWriteSettings> {
    RStreamInfo source = header;
    source.compression = container.compression;
    source.gzip_header = container.gzip_header;
    read_as = std::string(rds::CodecNameOf(source));
    if (on_read_as) on_read_as(read_as);
    rds::RWriteSettings settings = rds::CodecWriteSettings(to.name(), source, write_options);
    // Asked again when an ascii input shows it is asciihex (TranscodeR): the compressor is made
    // once.
    if (settings.compression != RCompression::kNone && compressor == nullptr) {
      ASSIGN_OR_RETURN(compressor,
                       rds::Compressor::Create(settings.compression, out, settings.gzip_header));
    }
    return settings;
  };
  absl::StatusOr<RTranscodeOutcome> outcome = TranscodeR(in, settings_for, stream, read_options);
  const bool input_error = !outcome.ok() && absl::IsInvalidArgument(outcome.status());
  if (!outcome.ok() && !input_error) return outcome.status();
  if (input_error || !outcome->complete) {
    // The object graph reads the whole input: where the transcoder stopped, it writes on; where
    // the input is bad, it says so in the reader's words.
    absl::StatusOr<Buffer> whole = whole_input();
    if (!whole.ok()) {
      // Without the whole input the transcoder's own error stands; a stop cannot go on.
      if (input_error) return outcome.status();
      return Reworded(whole.status(),
                      absl::StrCat("rds: converting as read stopped at byte ", outcome->stopped_at,
                                   " before ", outcome->reason,
                                   ", which only reading the whole input as an object graph "
                                   "converts; ",
                                   whole.status().message()));
    }
    const Buffer input = *std::move(whole);
    ReadOptions options = read_options;
    options.keep_array_byte_order = true;
    ASSIGN_OR_RETURN(Value value, ReadR(input, options));
    if (read_as.empty()) {
      // Nothing was written yet (ascii input): the object graph writes it all.
      read_as = std::string(to.FormatOf(value));
      if (on_read_as) on_read_as(read_as);
      RETURN_IF_ERROR(to.Write(value, write_options, out));
      return read_as;
    }
    if (input_error) return outcome.status();  // the reader read what the transcoder did not
    // An ascii stream is asciihex by a number the transcoder may have stopped before.
    if (std::string_view graph_read_as = rds::CodecNameOf(*value.source().r);
        graph_read_as != read_as) {
      read_as = std::string(graph_read_as);
      if (on_read_as) on_read_as(read_as);
    }
    RETURN_IF_ERROR(WriteRStreamAfter(
        value, rds::CodecWriteSettings(to.name(), value.source().r, write_options),
        outcome->emitted, stream));
  }
  RETURN_IF_ERROR(stream.Finish());
  if (compressor != nullptr) RETURN_IF_ERROR(compressor->Finish());
  return read_as;
}

absl::StatusOr<std::string> ConvertInput(const Codec& from, const Codec& to, const Buffer& input,
                                         const ReadOptions& read_options,
                                         const WriteOptions& write_options, ByteWriter& out,
                                         ConversionNotes& notes, const ConvertHooks& hooks) {
  if (const ArrayCodec* arrays = from.AsArrayCodec()) {
    ASSIGN_OR_RETURN(data::Data plain, arrays->ReadData(input, read_options));
    if (hooks.on_read_as) hooks.on_read_as(from.name());
    RETURN_IF_ERROR(
        WriteAdapted(std::move(plain), Conventions::kArrays, to, write_options, out, notes, hooks));
    return std::string(from.name());
  }
  if (StreamsR(from, to, read_options, hooks)) {
    return ConvertRAsRead(to, input, read_options, write_options, out, hooks);
  }
  if (StreamsTorch7(from, to, write_options, hooks)) {
    ASSIGN_OR_RETURN(std::optional<std::string> read_as,
                     ConvertTorch7AsRead(from, to, input, read_options, write_options, out, hooks));
    if (read_as.has_value()) return *std::move(read_as);
  }
  // A big-endian input's arrays are not swapped into a copy as they are read
  // (ReadOptions::keep_array_byte_order). Within a family the writer takes them as read. Across
  // families (R to Torch7 and back) and to an array file, the large ones go on as read too: the
  // writer swaps them a step at a time as it writes them, if its output's order differs
  // (Array::big_endian, arrays::internal::AppendBody), and the conversions that need their values
  // (a FloatTensor widened to R's doubles) load them one at a time (LoadElementBytes). The small
  // ones (a dim attribute, a factor's levels, a lone number) are swapped as read, for the plain
  // data to take them as every other conversion does. JSON (Codec::WritesBigEndianArrays) takes
  // them as read too, and swaps a step at a time as it encodes them.
  const std::optional<DataFamily> source_family = FamilyOfCodec(from);
  const std::optional<DataFamily> target_family = FamilyOfCodec(to);
  const bool to_array_file = to.AsArrayCodec() != nullptr;
  const bool within_family = source_family.has_value() && source_family == target_family;
  ReadOptions options = read_options;
  options.keep_array_byte_order =
      to_array_file || target_family.has_value() || to.WritesBigEndianArrays();
  ASSIGN_OR_RETURN(Value value, from.Read(input, options));
  if (options.keep_array_byte_order && !within_family) {
    MakeArraysLittleEndian(value, kSwappedAsReadBytes);
  }
  std::string read_as(from.FormatOf(value));
  if (hooks.on_read_as) hooks.on_read_as(read_as);
  if (hooks.after_read) RETURN_IF_ERROR(hooks.after_read(value));
  const DataFamily source = FamilyOf(value);
  if (!to_array_file && (!target_family.has_value() || *target_family == source)) {
    RETURN_IF_ERROR(WriteValue(std::move(value), to, write_options, out, hooks));
    return read_as;
  }
  // What a compact R sequence expands to becomes output: bounded by the output limit too, named
  // as that is, and reserved as the reader's allocations are.
  RToDataOptions r_options;
  r_options.max_expanded_bytes =
      std::min(read_options.max_expanded_bytes, write_options.max_output_bytes);
  r_options.expansion_limit = write_options.output_limit;
  r_options.reserve_memory = read_options.reserve_memory;
  ASSIGN_OR_RETURN(data::Data plain, ToData(value, r_options));
  value = Value();  // the plain data shares what it needs
  RETURN_IF_ERROR(BoundArrayOutput(plain, write_options, read_options.reserve_memory));
  RETURN_IF_ERROR(WriteAdapted(std::move(plain),
                               source == DataFamily::kR ? Conventions::kR : Conventions::kTorch7,
                               to, write_options, out, notes, hooks));
  return read_as;
}

absl::Status WritePlainData(const data::Data& plain, const Codec& to,
                            const WriteOptions& write_options, const DataToROptions& r_options,
                            ByteWriter& out, ConversionNotes& notes, const ConvertHooks& hooks) {
  RETURN_IF_ERROR(BoundArrayOutput(plain, write_options, nullptr));
  if (const ArrayCodec* arrays = to.AsArrayCodec()) {
    return arrays->WriteData(plain, write_options, out, notes);
  }
  const DataFamily family = FamilyOfCodec(to).value_or(DataFamily::kR);
  ASSIGN_OR_RETURN(Value value, FromData(plain, family, r_options));
  return WriteValue(std::move(value), to, write_options, out, hooks);
}

}  // namespace seriald
