#include "client/serialctl/format_options.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/absl_compat.h"
#include "core/io/spill_file.h"

namespace seriald::serialctl {
namespace {

// The family of the named codec, or "" when the name is empty or unknown.
std::string_view FamilyOf(const CodecRegistry& registry, const std::string& name) {
  if (name.empty()) return {};
  absl::StatusOr<const Codec*> codec = registry.Find(name);
  return codec.ok() ? (*codec)->family() : std::string_view();
}

bool InFamilies(std::string_view family, const std::vector<std::string_view>& families) {
  return !family.empty() && std::find(families.begin(), families.end(), family) != families.end();
}

// "t7, t7-ascii": the registered formats of `families`.
std::string FormatNames(const CodecRegistry& registry,
                        const std::vector<std::string_view>& families) {
  std::vector<std::string> names;
  for (const Codec* codec : registry.codecs()) {
    if (InFamilies(codec->family(), families)) names.emplace_back(codec->name());
  }
  return names.empty() ? std::string("none in this build") : absl::StrJoin(names, ", ");
}

struct Rule {
  const char* option;
  bool given;
  const char* formats;  // "Torch7", "R", "JSON", "array file"
  std::vector<std::string_view> families;
  bool also_input;  // applies to the input too when --from names such a format
};

}  // namespace

absl::StatusOr<std::optional<bool>> BigEndianOf(const FormatFlags& flags) {
  std::optional<bool> from_order;
  if (flags.byte_order == "big") from_order = true;
  if (flags.byte_order == "little") from_order = false;
  if (!flags.byte_order.empty() && !from_order.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--byte-order is little or big, not ", flags.byte_order));
  }
  if (from_order.has_value() && flags.big_endian.has_value() && *from_order != *flags.big_endian) {
    return absl::InvalidArgumentError(
        absl::StrCat("--byte-order ", flags.byte_order,
                     " contradicts --big-endian=", *flags.big_endian ? "true" : "false"));
  }
  return from_order.has_value() ? from_order : flags.big_endian;
}

absl::StatusOr<ReferenceFlag> ParseReferenceFlag(std::string_view text) {
  const size_t equals = text.find('=');
  const std::string usage =
      absl::StrCat("--resolve-reference takes NAMES=FILE (names separated by commas), not \"",
                   AsAbsl(text), "\"");
  if (equals == std::string_view::npos) return absl::InvalidArgumentError(usage);
  ReferenceFlag flag;
  flag.file = std::string(text.substr(equals + 1));
  flag.names = absl::StrSplit(AsAbsl(text.substr(0, equals)), ',');
  if (equals == 0 || flag.file.empty()) return absl::InvalidArgumentError(usage);
  return flag;
}

absl::Status CheckApplicable(const FormatFlags& flags, const CodecRegistry& registry) {
  for (const std::string& reference : flags.resolve_references) {
    if (absl::StatusOr<ReferenceFlag> parsed = ParseReferenceFlag(reference); !parsed.ok()) {
      return parsed.status();
    }
  }
  const std::vector<std::string_view> torch7 = {kTorch7Family};
  const std::vector<std::string_view> json = {kJsonFamily};
  const Rule rules[] = {
      {"--long-size", flags.long_size.has_value(), "Torch7", torch7, true},
      {"--byte-order", !flags.byte_order.empty(), "Torch7", torch7, true},
      {"--big-endian", flags.big_endian.has_value(), "Torch7", torch7, true},
      {"--unreferenced", flags.unreferenced, "Torch7", torch7, false},
      {"--version", flags.r_version.has_value(), "R", kRFamilies, false},
      {"--compress", !flags.compress.empty(), "R", kRFamilies, false},
      {"--pretty", flags.pretty, "JSON", json, false},
      {"--strict", flags.strict, "array file", kArrayFamilies, false},
  };
  const std::string_view to = FamilyOf(registry, flags.to);
  const std::string_view from = FamilyOf(registry, flags.from);
  for (const Rule& rule : rules) {
    if (!rule.given || InFamilies(to, rule.families)) continue;
    if (rule.also_input && InFamilies(from, rule.families)) continue;
    const std::string output = flags.to.empty() ? std::string("there is no output")
                                                : absl::StrCat("the output is ", flags.to);
    if (rule.also_input) {
      return absl::InvalidArgumentError(absl::StrCat(
          rule.option, " applies only to ", rule.formats, " formats (",
          FormatNames(registry, rule.families), ") given with --to or --from; ", output,
          flags.from.empty() ? " and the input format is detected"
                             : absl::StrCat(" and the input is ", flags.from)));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(rule.option, " applies only to ", rule.formats, " output (",
                     FormatNames(registry, rule.families), "); ", output));
  }
  absl::StatusOr<std::optional<bool>> big_endian = BigEndianOf(flags);
  if (!big_endian.ok()) return big_endian.status();
  // Text output has no byte order to honour; the option may still force the input's.
  if (big_endian->has_value() && flags.to == "t7-ascii" &&
      FamilyOf(registry, flags.from) != kTorch7Family) {
    return absl::InvalidArgumentError(
        "t7-ascii output has no byte order; --byte-order and --big-endian apply to t7 output (or "
        "to the input with --from t7)");
  }
  return absl::OkStatus();
}

ReadOptions ToReadOptions(const FormatFlags& flags, const CodecRegistry& registry) {
  ReadOptions options;
  if (flags.max_depth) options.max_depth = *flags.max_depth;
  if (flags.max_decompressed_bytes) options.max_decompressed_bytes = *flags.max_decompressed_bytes;
  if (flags.max_decompression_ratio) {
    options.max_decompression_ratio = *flags.max_decompression_ratio;
  }
  options.r_normalize = flags.r_normalize;
  options.spill_dir = flags.spill_dir.value_or(DefaultSpillDir());
  if (FamilyOf(registry, flags.from) == kTorch7Family) {
    options.torch7_long_size = flags.long_size;
    options.torch7_big_endian = BigEndianOf(flags).value_or(std::nullopt);
  }
  return options;
}

WriteOptions ToWriteOptions(const FormatFlags& flags) {
  WriteOptions options;
  options.torch7_long_size = flags.long_size;
  options.torch7_big_endian = BigEndianOf(flags).value_or(std::nullopt);
  options.torch7_referenced = !flags.unreferenced;
  options.json_pretty = flags.pretty;
  options.drop_unconvertible = flags.drop_unconvertible;
  options.allow_inexact_integers = flags.allow_inexact_integers;
  options.strict_arrays = flags.strict;
  options.max_output_bytes = flags.max_output_bytes;
  options.spill_dir = flags.spill_dir.value_or(DefaultSpillDir());
  options.r_version = flags.r_version;
  for (const CompressionName& c : kCompressions) {
    if (flags.compress == c.name) options.r_compression = c.compression;
  }
  return options;
}

}  // namespace seriald::serialctl
