#include "core/rds/codec.h"

#include <memory>
#include <string>
#include <string_view>

#include "core/rds/compression.h"
#include "core/rds/reader.h"
#include "core/rds/sexptype.h"
#include "core/rds/writer.h"

namespace seriald {
namespace {

class RdsCodec : public Codec {
 public:
  // `format` nullopt: the "rdata" codec.
  RdsCodec(std::string_view name, std::string_view description, std::optional<RFormat> format)
      : name_(name), description_(description), format_(format) {}

  std::string_view name() const override { return name_; }
  std::string_view description() const override { return description_; }
  std::string_view family() const override { return "rds"; }
  std::string_view FormatOf(const Value& value) const override {
    const std::optional<RStreamInfo>& source = value.source().r;
    if (!source) return name();
    return rds::CodecNameOf(*source);
  }

  Recognition Recognize(const Buffer& input) const override {
    std::string_view head = input.view().substr(0, 8);
    switch (rds::DetectCompression(head)) {
      case RCompression::kGzip:
        return {Recognition::kYes, "gzip-compressed (R's saveRDS/save default)"};
      case RCompression::kBzip2:
        return {Recognition::kYes, "bzip2-compressed"};
      case RCompression::kXz:
        return {Recognition::kYes, "xz-compressed"};
      case RCompression::kNone:
        break;
    }
    if (head.size() >= 5 && head.substr(0, 2) == "RD" &&
        (head[2] == 'X' || head[2] == 'A' || head[2] == 'B') &&
        (head[3] == '2' || head[3] == '3') && head[4] == '\n') {
      return {Recognition::kYes, "starts with a save() magic " + std::string(head.substr(0, 4))};
    }
    std::string_view two = head.substr(0, 2);
    if (two == "X\n" || two == "B\n" || two == "A\n" || two == "\nA") {
      return {Recognition::kYes, "starts with an R serialization format line"};
    }
    return {Recognition::kNo,
            "does not start with X\\n, B\\n, A\\n, RD?2/3 or a compression magic"};
  }

  absl::StatusOr<Value> Read(const Buffer& input, const ReadOptions& options) const override {
    return ReadR(input, options);
  }

  absl::Status Write(const Value& value, const WriteOptions& options,
                     ByteWriter& out) const override {
    return WriteR(value, rds::CodecWriteSettings(name_, value.source().r, options), out);
  }

 private:
  std::string_view name_;
  std::string_view description_;
  std::optional<RFormat> format_;
};

}  // namespace

namespace rds {

std::string_view CodecNameOf(const RStreamInfo& source) {
  if (!source.rdata_magic.empty()) return "rdata";
  switch (source.format) {
    case RFormat::kXdr:
      return "rds";
    case RFormat::kNative:
      return "rds-native";
    case RFormat::kAscii:
      return "rds-ascii";
    case RFormat::kAsciiHex:
      return "rds-asciihex";
  }
  return "rds";
}

RWriteSettings CodecWriteSettings(std::string_view codec, const std::optional<RStreamInfo>& source,
                                  const WriteOptions& options) {
  std::optional<RFormat> format;
  if (codec == "rds") format = RFormat::kXdr;
  if (codec == "rds-native") format = RFormat::kNative;
  if (codec == "rds-ascii") format = RFormat::kAscii;
  if (codec == "rds-asciihex") format = RFormat::kAsciiHex;
  if (format) {
    RWriteSettings settings =
        SettingsForSource(source, *format, options.r_version, options.r_compression);
    settings.max_output_bytes = options.max_output_bytes;
    settings.output_limit = options.output_limit;
    settings.spill_dir = options.spill_dir;
    settings.reserve_spill = options.reserve_spill;
    return settings;
  }
  // "rdata": the source's encoding, gzip unless the source was a save() file.
  const bool from_rdata = source && !source->rdata_magic.empty();
  const RFormat rdata_format = source ? source->format : RFormat::kXdr;
  RWriteSettings settings = SettingsForSource(
      source, rdata_format, options.r_version,
      options.r_compression
          ? options.r_compression
          : std::optional<RCompression>(from_rdata ? source->compression : RCompression::kGzip));
  settings.rdata_magic = RDataMagic(rdata_format, settings.version);
  settings.max_output_bytes = options.max_output_bytes;
  settings.output_limit = options.output_limit;
  settings.spill_dir = options.spill_dir;
  settings.reserve_spill = options.reserve_spill;
  return settings;
}

}  // namespace rds

void RegisterRdsCodecs(CodecRegistry& registry) {
  registry.Register(std::make_unique<RdsCodec>(
      "rds", "R serialize()/saveRDS() XDR stream; reads every R encoding, compression and save()",
      RFormat::kXdr));
  registry.Register(std::make_unique<RdsCodec>(
      "rds-native", "R serialize(xdr = FALSE) little-endian stream", RFormat::kNative));
  registry.Register(std::make_unique<RdsCodec>("rds-ascii", "R serialize(ascii = TRUE) text stream",
                                               RFormat::kAscii));
  registry.Register(std::make_unique<RdsCodec>(
      "rds-asciihex", "R serialize(ascii = NA) text stream with hex doubles", RFormat::kAsciiHex));
  registry.Register(std::make_unique<RdsCodec>(
      "rdata", "R save() file (RDX/RDA/RDB); the root is the pairlist of named objects",
      std::nullopt));
}

}  // namespace seriald
