#include "fuzz/fuzz_common.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/convert/array_codecs.h"
#include "core/convert/convert.h"
#include "core/torch7/codec.h"
#include "google/protobuf/stubs/logging.h"
#include "proto/json_codec.h"

namespace seriald::fuzz {

const CodecRegistry& Registry() {
  static const CodecRegistry* registry = [] {
    auto* r = new CodecRegistry(CoreCodecs());
    RegisterJsonCodec(*r);
    return r;
  }();
  return *registry;
}

void SilenceProtobufLog() {
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
}

const Codec& CodecNamed(std::string_view name) {
  absl::StatusOr<const Codec*> codec = Registry().Find(name);
  if (!codec.ok()) Fail(Describe(codec.status()));
  return **codec;
}

namespace {

// How `codec` reads back what it wrote from `value` with `options`: a Torch7 binary stream with
// the layout it was written in (detection may legitimately pick another long size for a stream
// that parses both ways), everything else with the codec's own detection.
ReadOptions ReadBackOptionsFor(const Codec& codec, const Value& value,
                               const WriteOptions& options) {
  ReadOptions read = ReadBackOptions();
  if (codec.family() == "t7") {
    const Torch7Layout layout = Torch7OutputLayout(value, options, codec.name() == "t7-ascii");
    read.torch7_long_size = layout.long_size;
    read.torch7_big_endian = layout.big_endian;
  }
  return read;
}

}  // namespace

absl::Status ReadBack(const Codec& codec, const Buffer& bytes) {
  if (const ArrayCodec* arrays = codec.AsArrayCodec()) {
    return arrays->ReadData(bytes, ReadBackOptions()).status();
  }
  absl::Status detected = codec.Read(bytes, ReadBackOptions()).status();
  if (detected.ok() || codec.name() != "t7") return detected;
  // A binary Torch7 stream records no layout, and one that parses with both long sizes to
  // different objects is refused as ambiguous: it must read with one of the four layouts.
  for (int long_size : {8, 4}) {
    for (bool big_endian : {false, true}) {
      ReadOptions forced = ReadBackOptions();
      forced.torch7_long_size = long_size;
      forced.torch7_big_endian = big_endian;
      if (codec.Read(bytes, forced).ok()) return absl::OkStatus();
    }
  }
  return detected;
}

absl::StatusOr<Buffer> CheckWrite(const Codec& codec, const Value& value,
                                  const WriteOptions& options, bool fixpoint) {
  absl::StatusOr<Buffer> first =
      BoundedWrite([&](ByteWriter& out) { return codec.Write(value, options, out); });
  if (!first.ok()) return first.status();
  if (codec.AsArrayCodec() != nullptr) {
    absl::Status back = ReadBack(codec, *first);
    FUZZ_CHECK(back.ok(), absl::StrCat("output of ", AsAbsl(codec.name()), " (", first->size(),
                                       " bytes) does not read back: ", Describe(back)));
    return first;
  }
  const ReadOptions read_options = ReadBackOptionsFor(codec, value, options);
  absl::StatusOr<Value> again = codec.Read(*first, read_options);
  FUZZ_CHECK(again.ok(), absl::StrCat("output of ", AsAbsl(codec.name()), " (", first->size(),
                                      " bytes) does not read back: ", Describe(again.status())));
  if (!fixpoint) return first;
  absl::StatusOr<Buffer> second =
      BoundedWrite([&](ByteWriter& out) { return codec.Write(*again, options, out); });
  FUZZ_CHECK(second.ok(), absl::StrCat("what ", AsAbsl(codec.name()),
                                       " wrote and read back does not write again: ",
                                       Describe(second.status())));
  if (*first == *second) return first;
  // R's ascii encoding prints doubles with 16 significant digits, as R does: the first text of
  // a double such as .Machine$double.xmax reads back as another double (Inf), so only the second
  // generation must be stable.
  const bool lossy = again->source().r.has_value() && again->source().r->format == RFormat::kAscii;
  if (!lossy) {
    Fail(absl::StrCat(AsAbsl(codec.name()), " is not a fixpoint: wrote ", first->size(),
                      " bytes, read them back and wrote ", second->size(), " different bytes"));
  }
  absl::StatusOr<Value> settled = codec.Read(*second, read_options);
  FUZZ_CHECK(settled.ok(), absl::StrCat("second output of ", AsAbsl(codec.name()),
                                        " does not read back: ", Describe(settled.status())));
  absl::StatusOr<Buffer> third =
      BoundedWrite([&](ByteWriter& out) { return codec.Write(*settled, options, out); });
  FUZZ_CHECK(third.ok() && *third == *second,
             absl::StrCat(AsAbsl(codec.name()),
                          " (ascii) does not settle: the second and third "
                          "generations differ"));
  return first;
}

absl::Status CheckConvert(const Codec& from, const Codec& to, const Buffer& input,
                          const ReadOptions& read_options, const WriteOptions& write_options) {
  ConversionNotes notes;
  std::string read_as;
  absl::StatusOr<Buffer> output = BoundedWrite([&](ByteWriter& out) -> absl::Status {
    absl::StatusOr<std::string> format =
        ConvertInput(from, to, input, read_options, write_options, out, notes);
    if (!format.ok()) return format.status();
    read_as = *std::move(format);
    return absl::OkStatus();
  });
  if (!output.ok()) return output.status();
  // What ConvertInput reports the input as must be a codec of `from`'s family.
  absl::StatusOr<const Codec*> reported = Registry().Find(read_as);
  FUZZ_CHECK(reported.ok() && (*reported)->family() == from.family(),
             absl::StrCat("ConvertInput read ", AsAbsl(from.name()), " input as '", read_as, "'"));
  absl::Status back = ReadBack(to, *output);
  FUZZ_CHECK(back.ok(),
             absl::StrCat("converting ", AsAbsl(from.name()), " to ", AsAbsl(to.name()), " gave ",
                          output->size(), " bytes that do not read back: ", Describe(back)));
  return absl::OkStatus();
}

}  // namespace seriald::fuzz
