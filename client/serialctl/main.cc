// serialctl: converts and inspects Torch7, R and JSON serializations from the command line.
//
//   serialctl convert [--from FMT] --to FMT [--resolve-reference NAMES=FILE ...] [options] IN OUT
//   serialctl inspect [--from FMT] [options] IN
//   serialctl --server HOST:PORT [--tls-ca FILE ...] convert|inspect|health ...
//
// Exit status: 0 on success; 1 when the input is malformed or the conversion fails, with one line
// "serialctl: <message>" on standard error; 2 for usage errors.
#include <signal.h>

#include <algorithm>
#include <exception>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "client/serialctl/commands.h"
#include "client/serialctl/format_options.h"
#include "client/serialctl/remote_commands.h"
#include "google/protobuf/stubs/logging.h"
#include "wire/heap_settings.h"

namespace seriald::serialctl {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Prints "serialctl: <message>" as exactly one line.
void PrintError(absl::string_view message) {
  std::cerr << "serialctl: " << absl::StrReplaceAll(message, {{"\r", " "}, {"\n", " "}})
            << std::endl;
}

// The --help footer: every format the registry offers.
std::string FormatList(const CodecRegistry& registry) {
  std::string text = "Formats (for --from and --to):\n";
  for (const Codec* codec : registry.codecs()) {
    absl::StrAppend(&text, "  ", std::string(codec->name()),
                    std::string(std::max<size_t>(14 - codec->name().size(), 1), ' '),
                    std::string(codec->description()), "\n");
  }
  absl::StrAppend(&text,
                  "The input format is detected from the content unless --from names it.\n"
                  "IN and OUT may be - for standard input and output.\n");
  return text;
}

std::vector<std::string> FormatNames(const CodecRegistry& registry) {
  std::vector<std::string> names;
  for (const Codec* codec : registry.codecs()) names.emplace_back(codec->name());
  return names;
}

// Options every subcommand that reads has.
void AddInputOptions(CLI::App& command, FormatFlags& flags, const std::vector<std::string>& names) {
  command.add_option("--from", flags.from, "Input format (default: detected from the content)")
      ->type_name("FMT")
      ->check(CLI::IsMember(names));
  command
      .add_option("--max-depth", flags.max_depth,
                  "Deepest nesting of objects accepted in the input (default 1000000)")
      ->type_name("N")
      ->check(CLI::Range(uint32_t{1}, std::numeric_limits<uint32_t>::max()).description(""));
  // Sizes take units: 4096, 64KiB, 64MiB, 2GiB (k, KB and KiB all mean 1024).
  command
      .add_option("--max-decompressed-bytes", flags.max_decompressed_bytes,
                  "Largest decompressed size accepted for compressed input (R files, npz; "
                  "default 64GiB)")
      ->type_name("SIZE")
      ->transform(CLI::AsSizeValue(false).description(""))
      ->check(CLI::Range(uint64_t{1}, std::numeric_limits<uint64_t>::max()).description(""));
  command
      .add_option("--max-decompression-ratio", flags.max_decompression_ratio,
                  "Compressed input may decompress to at most this many times its size, or "
                  "64MiB, whichever is more (default 4096; 0: no ratio limit)")
      ->type_name("N");
  command
      .add_option("--spill-dir", flags.spill_dir,
                  "Compressed R input that decompresses to more than 64MiB, an npz archive of "
                  "more than 64MiB being put together, and an R ALTREP wrapper's vector of more "
                  "than 16MiB converted to version 2 (held until its attributes show) wait in an "
                  "unnamed temporary file here instead of memory (default: $TMPDIR, else /tmp; "
                  "\"\": keep them in memory, a wrapper's up to 16MiB)")
      ->type_name("DIR");
  command.add_flag("--normalize", flags.r_normalize,
                   "R input: read it as R's unserialize() leaves it, so that the output is what "
                   "R's serialize(unserialize(x)) writes (default: keep the input's own form)");
}

void AddTorch7LayoutOptions(CLI::App& command, FormatFlags& flags, bool has_output) {
  const std::string forced = "with --from t7 it also forces the input's";
  command
      .add_option("--long-size", flags.long_size,
                  has_output ? "Torch7: bytes per C long in binary output (default: the input's, "
                               "else 8); " +
                                   forced
                             : "Torch7: bytes per C long of the input (needs --from t7)")
      ->type_name("4|8")
      ->check(CLI::IsMember({4, 8}).description(""));
  command
      .add_option("--byte-order", flags.byte_order,
                  has_output ? "Torch7: byte order of binary output (default: the input's, "
                               "else little); " +
                                   forced
                             : "Torch7: byte order of the input (needs --from t7)")
      ->type_name("little|big")
      ->check(CLI::IsMember({"little", "big"}).description(""));
  // A flag function sees --big-endian as +1 and --big-endian=false as -1 (CLI11 counts a false
  // value down), so both spellings are honoured rather than the second ignored.
  command.add_flag_function(
      "--big-endian",
      [&flags](int64_t count) {
        if (count != 0) flags.big_endian = count > 0;
      },
      "Torch7: the same as --byte-order big (--big-endian=false: little)");
}

int Run(int argc, char** argv) {
  // serialctl owns its standard error: protobuf must not add lines of its own to it.
  google::protobuf::SetLogHandler(nullptr);
  // A closed pipe on standard output is a write error to report, not a signal to die of.
  ::signal(SIGPIPE, SIG_IGN);

  const CodecRegistry formats = SerialctlRegistry();
  const std::vector<std::string> names = FormatNames(formats);
  const std::string footer = FormatList(formats);

  CLI::App app(
      "Convert and inspect Torch7, R and JSON serializations, locally or through a "
      "seriald server.",
      "serialctl");
  app.footer(footer);
  app.require_subcommand(1);
  // Global options may also follow the subcommand.
  app.fallthrough();

  RemoteFlags remote;
  app.add_option("--server", remote.server,
                 "Run through the seriald service at HOST:PORT instead of locally; several "
                 "HOST:PORT,HOST:PORT spread calls round robin, as does dns:///NAME:PORT")
      ->type_name("TARGET");
  app.add_option("--tls-ca", remote.tls_ca, "PEM CA bundle verifying the server (enables TLS)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile.description(""));
  app.add_option("--tls-cert", remote.tls_cert, "PEM client certificate, for mutual TLS")
      ->type_name("FILE")
      ->check(CLI::ExistingFile.description(""));
  app.add_option("--tls-key", remote.tls_key, "PEM private key of --tls-cert")
      ->type_name("FILE")
      ->check(CLI::ExistingFile.description(""));
  app.add_option("--timeout", remote.timeout_seconds,
                 "With --server: deadline of each call, seconds")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);

  FormatFlags flags;
  std::string in, out;

  CLI::App* convert = app.add_subcommand("convert", "Convert IN from one format to another");
  convert->footer(footer);
  AddInputOptions(*convert, flags, names);
  convert->add_option("--to", flags.to, "Output format")
      ->type_name("FMT")
      ->required()
      ->check(CLI::IsMember(names));
  AddTorch7LayoutOptions(*convert, flags, /*has_output=*/true);
  convert->add_flag("--unreferenced", flags.unreferenced,
                    "Torch7: write shared objects once per occurrence, as torch.save(..., "
                    "referenced=false) does (fails on cycles)");
  convert
      ->add_option("--version", flags.r_version,
                   "R: serialization version of the output (default: the input's, else 3)")
      ->type_name("2|3")
      ->check(CLI::IsMember({2, 3}).description(""));
  std::vector<std::string> compressions;
  for (const CompressionName& c : kCompressions) compressions.emplace_back(c.name);
  convert
      ->add_option("--compress", flags.compress,
                   "R: compression of the output (default: the input's, else none for "
                   "serialize() streams and gzip for saveRDS() files)")
      ->type_name("none|gzip|bzip2|xz")
      ->check(CLI::IsMember(compressions).description(""));
  convert->add_flag("--pretty", flags.pretty, "JSON: indent the output over several lines");
  convert
      ->add_option("--max-output-bytes", flags.max_output_bytes,
                   "Largest output written; a conversion that would pass it stops (an R compact "
                   "sequence written as version 2 is refused before anything is written) "
                   "(default 64GiB)")
      ->type_name("SIZE")
      ->transform(CLI::AsSizeValue(false).description(""))
      ->check(CLI::Range(uint64_t{1}, std::numeric_limits<uint64_t>::max()).description(""));
  convert->add_flag("--drop-unconvertible", flags.drop_unconvertible,
                    "Between Torch7 and R: leave out what the output cannot hold (Lua functions "
                    "in R; closures, environments, complex vectors, logical NA in Torch7) "
                    "instead of failing; each is listed on standard error");
  convert->add_flag("--allow-inexact-integers", flags.allow_inexact_integers,
                    "To R: round int64 values beyond 2^53 to the nearest double instead of "
                    "failing (R has no 64-bit integers)");
  convert->add_flag("--strict", flags.strict,
                    "Array files (npy, npz, safetensors): refuse values that are not arrays "
                    "instead of skipping them (skipped values are listed on standard error)");
  convert
      ->add_option("--resolve-reference", flags.resolve_references,
                   "R: replace the input's persistent references named NAMES (comma-separated, "
                   "as the refhook of R's serialize() gave them) by the object R serialized in "
                   "FILE (any R format), as unserialize(refhook =) would; repeatable")
      ->type_name("NAMES=FILE")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  convert->add_option("IN", in, "Input file, - for standard input")->required();
  convert->add_option("OUT", out, "Output file, - for standard output")->required();

  CLI::App* inspect =
      app.add_subcommand("inspect", "Print IN's format, stream facts, roots and object tree");
  inspect->footer(footer);
  AddInputOptions(*inspect, flags, names);
  AddTorch7LayoutOptions(*inspect, flags, /*has_output=*/false);
  inspect->add_option("IN", in, "Input file, - for standard input")->required();

  CLI::App* health =
      app.add_subcommand("health", "Check the server's grpc.health.v1 status (needs --server)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    PrintError(absl::StrCat(e.what(), " (see serialctl --help)"));
    return kExitUsage;
  }

  if (absl::Status usage = CheckApplicable(flags, formats); !usage.ok()) {
    PrintError(usage.message());
    return kExitUsage;
  }

  const bool uses_tls_options =
      !remote.tls_ca.empty() || !remote.tls_cert.empty() || !remote.tls_key.empty();
  if (remote.server.empty() &&
      (health->parsed() || uses_tls_options || remote.timeout_seconds > 0)) {
    PrintError(health->parsed() ? "health needs --server"
                                : "--tls-ca, --tls-cert, --tls-key and --timeout need --server");
    return kExitUsage;
  }

  absl::Status status;
  if (!remote.server.empty()) {
    // Before gRPC starts its threads: streamed output arrives in buffers that glibc's defaults
    // would give back and fault in again for every message (wire/heap_settings.h). Local
    // commands keep glibc's defaults.
    ApplyStreamingHeapSettings();
    absl::StatusOr<std::unique_ptr<SerialdClient>> client = Connect(remote);
    if (!client.ok()) {
      PrintError(client.status().message());
      return kExitUsage;
    }
    if (convert->parsed()) {
      status = RemoteConvert(**client, formats, flags, in, out);
    } else if (inspect->parsed()) {
      status = RemoteInspect(**client, formats, flags, in, std::cout);
    } else {
      status = RemoteHealth(**client, std::cout);
    }
  } else if (convert->parsed()) {
    status = Convert(formats, flags, in, out);
  } else {
    status = InspectFile(formats, flags, in, std::cout);
  }
  if (!status.ok()) {
    PrintError(status.message());
    return kExitFailure;
  }
  return 0;
}

}  // namespace
}  // namespace seriald::serialctl

int main(int argc, char** argv) {
  try {
    return seriald::serialctl::Run(argc, argv);
  } catch (const std::bad_alloc&) {
    seriald::serialctl::PrintError("out of memory");
  } catch (const std::exception& e) {
    seriald::serialctl::PrintError(e.what());
  }
  return 1;
}
