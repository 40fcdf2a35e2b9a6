#include "client/serialctl/commands.h"

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "client/serialctl/output_file.h"
#include "core/absl_compat.h"
#include "core/convert/convert.h"
#include "core/inspect.h"
#include "core/io/file.h"
#include "core/io/input_error.h"
#include "core/io/step_reader.h"
#include "core/rds/reader.h"
#include "core/rds/refhook.h"
#include "core/status_macros.h"

namespace seriald::serialctl {
namespace {

// Roots listed by id before the rest are only counted.
constexpr size_t kRootsListed = 10;

struct Input {
  const Codec* codec;
  bool detected;
  Value value;
};

// `path` read for inspection: its arrays as written (ReadOptions::keep_array_byte_order), since
// Inspect loads the few elements it shows in either byte order and a big-endian input's arrays
// then need no swapped copy; the small ones are swapped all the same, as a conversion's are.
absl::StatusOr<Input> ReadInput(const CodecRegistry& registry, const FormatFlags& flags,
                                const std::string& path) {
  ASSIGN_OR_RETURN(Buffer bytes, ReadFile(path));
  Input input{nullptr, flags.from.empty(), Value()};
  if (input.detected) {
    ASSIGN_OR_RETURN(input.codec, registry.Detect(bytes));
  } else {
    ASSIGN_OR_RETURN(input.codec, registry.Find(flags.from));
  }
  ReadOptions options = ToReadOptions(flags, registry);
  options.keep_array_byte_order = true;
  ASSIGN_OR_RETURN(input.value, input.codec->Read(bytes, options));
  MakeArraysLittleEndian(input.value, kSwappedAsReadBytes);
  return input;
}

// Binds the persistent references of `value` to the objects of the --resolve-reference files,
// read as R with the input's limits.
absl::Status ResolveReferences(const CodecRegistry& registry, const FormatFlags& flags,
                               Value& value) {
  if (flags.resolve_references.empty()) return absl::OkStatus();
  std::vector<ReferenceBinding> bindings;
  for (const std::string& text : flags.resolve_references) {
    ASSIGN_OR_RETURN(ReferenceFlag flag, ParseReferenceFlag(text));
    absl::StatusOr<Value> bound = ReadReferenceFile(flag, ToReadOptions(flags, registry));
    if (!bound.ok()) return bound.status();
    bindings.push_back(ReferenceBinding{std::move(flag.names), *std::move(bound)});
  }
  return BindPersistentReferences(value, bindings);
}

// R_Version packs major * 65536 + minor * 256 + patch.
std::string RVersion(int32_t packed) {
  return absl::StrCat(packed >> 16, ".", (packed >> 8) & 0xFF, ".", packed & 0xFF);
}

std::string DescribeTorch7(const Torch7Layout& layout) {
  if (layout.ascii) return "ascii";
  return absl::StrCat("binary, ", layout.long_size, "-byte longs, ",
                      layout.big_endian ? "big-endian" : "little-endian");
}

std::string DescribeR(const RStreamInfo& info) {
  static constexpr const char* kFormats[] = {"xdr (X)", "native (B)", "ascii (A)",
                                             "ascii with hex doubles (A)"};
  static constexpr const char* kCompressions[] = {"none", "gzip", "bzip2", "xz"};
  std::string text = absl::StrCat(kFormats[static_cast<int>(info.format)], ", version ",
                                  info.version, ", written by R ", RVersion(info.writer_version),
                                  ", readable by R >= ", RVersion(info.min_reader_version));
  if (info.version >= 3) absl::StrAppend(&text, ", native encoding ", info.native_encoding);
  absl::StrAppend(&text, ", compression ", kCompressions[static_cast<int>(info.compression)]);
  if (!info.rdata_magic.empty()) absl::StrAppend(&text, ", save() file ", info.rdata_magic);
  if (info.trailing_bytes.size() > 0) {
    absl::StrAppend(&text, ", ", info.trailing_bytes.size(),
                    " bytes after the object (ignored, as R does; kept when written back)");
  }
  return text;
}

}  // namespace

CodecRegistry SerialctlRegistry() {
  CodecRegistry registry = CoreCodecs();
  RegisterJsonCodec(registry);
  return registry;
}

absl::StatusOr<Value> ReadReferenceFile(const ReferenceFlag& flag, const ReadOptions& options) {
  absl::Status status;
  if (absl::StatusOr<Buffer> bytes = ReadFile(flag.file); bytes.ok()) {
    absl::StatusOr<Value> value = ReadR(*bytes, options);
    if (value.ok()) return value;
    status = value.status();
  } else {
    status = bytes.status();
  }
  return absl::Status(status.code(),
                      absl::StrCat("--resolve-reference ", absl::StrJoin(flag.names, ","), "=",
                                   flag.file, ": ", status.message()));
}

void PrintNotes(const std::vector<std::string>& notes) {
  for (const std::string& note : notes) {
    std::cerr << "serialctl: note: " << absl::StrReplaceAll(note, {{"\r", " "}, {"\n", " "}})
              << "\n";
  }
  std::cerr.flush();
}

absl::Status Convert(const CodecRegistry& registry, const FormatFlags& flags, const std::string& in,
                     const std::string& out) {
  ASSIGN_OR_RETURN(Buffer bytes, ReadFile(in));
  const Codec* from;
  if (flags.from.empty()) {
    ASSIGN_OR_RETURN(from, registry.Detect(bytes));
  } else {
    ASSIGN_OR_RETURN(from, registry.Find(flags.from));
  }
  ASSIGN_OR_RETURN(const Codec* to, registry.Find(flags.to));
  if (!flags.resolve_references.empty() && from->AsArrayCodec() != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--resolve-reference binds R persistent references; the input is ", AsAbsl(from->name())));
  }
  ConvertHooks hooks;
  if (!flags.resolve_references.empty()) {
    hooks.after_read = [&](Value& value) { return ResolveReferences(registry, flags, value); };
  }
  // The output goes to the file piece by piece as the writer produces it, so a large output
  // (an R compact sequence expanded, a model as ascii) costs no memory of its own; the file is
  // only put in place once the whole conversion succeeded.
  const WriteOptions write_options = ToWriteOptions(flags);
  ASSIGN_OR_RETURN(std::unique_ptr<OutputFile> file, OutputFile::Open(out));
  uint64_t written = 0;
  ByteWriter writer([&](Buffer piece) -> absl::Status {
    written += piece.size();
    if (written > write_options.max_output_bytes) {
      return LimitExceeded("max-output-bytes",
                           absl::StrCat("the output passes ", write_options.max_output_bytes,
                                        " bytes (--max-output-bytes)"));
    }
    // A piece may be a slice of the mapped input (array data written as read): read from the
    // file a step at a time, the input is resident only a step at a time.
    return ReadInSteps(piece, kCopyOutStep,
                       [&](const Buffer& step) { return file->Append(step.view()); });
  });
  ConversionNotes notes;
  RETURN_IF_ERROR(ConvertInput(*from, *to, bytes, ToReadOptions(flags, registry), write_options,
                               writer, notes, hooks)
                      .status());
  RETURN_IF_ERROR(writer.Finish());
  PrintNotes(notes.Lines());
  return file->Commit();
}

absl::Status InspectFile(const CodecRegistry& registry, const FormatFlags& flags,
                         const std::string& in, std::ostream& out) {
  ASSIGN_OR_RETURN(Input input, ReadInput(registry, flags, in));
  const Value& value = input.value;
  Inspection inspection;
  inspection.format = std::string(input.codec->FormatOf(value));
  inspection.detected = input.detected;
  inspection.source = value.source();
  inspection.node_count = value.size();
  inspection.root_count = value.roots().size();
  inspection.first_roots.assign(value.roots().begin(),
                                value.roots().begin() + static_cast<std::ptrdiff_t>(std::min(
                                                            value.roots().size(), kRootsListed)));
  inspection.tree = Inspect(value);
  return PrintInspection(inspection, out);
}

absl::Status PrintInspection(const Inspection& inspection, std::ostream& out) {
  out << "format: " << inspection.format << (inspection.detected ? " (detected)" : " (--from)")
      << "\n";
  if (inspection.source.torch7) {
    out << "torch7: " << DescribeTorch7(*inspection.source.torch7) << "\n";
  }
  if (inspection.source.r) out << "r: " << DescribeR(*inspection.source.r) << "\n";
  out << "nodes: " << inspection.node_count << "\n";
  out << "roots: " << inspection.root_count;
  if (!inspection.first_roots.empty()) {
    out << " (node" << (inspection.root_count > 1 ? "s " : " ")
        << absl::StrJoin(inspection.first_roots, ", ")
        << (inspection.root_count > inspection.first_roots.size() ? ", ..." : "") << ")";
  }
  out << "\n\n" << inspection.tree;
  out.flush();
  if (!out) return absl::InternalError("cannot write to standard output");
  return absl::OkStatus();
}

}  // namespace seriald::serialctl
