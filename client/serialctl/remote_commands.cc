#include "client/serialctl/remote_commands.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/serialctl/commands.h"
#include "client/serialctl/output_file.h"
#include "core/io/file.h"
#include "core/status_macros.h"

namespace seriald::serialctl {
namespace {

// Transfers above this size show a progress bar when standard error is a terminal.
constexpr uint64_t kProgressThreshold = uint64_t{64} << 20;

// A one-line progress bar on standard error, redrawn at most ten times a second.
ProgressCallback ProgressBar(uint64_t size) {
  if (size <= kProgressThreshold || !::isatty(STDERR_FILENO)) return nullptr;
  struct State {
    absl::Time start = absl::Now();
    absl::Time last_draw = absl::InfinitePast();
  };
  auto state = std::make_shared<State>();
  return [state](uint64_t done, uint64_t total) {
    absl::Time now = absl::Now();
    if (done < total && now - state->last_draw < absl::Milliseconds(100)) return;
    state->last_draw = now;
    constexpr int kWidth = 30;
    int filled = total == 0 ? 0 : static_cast<int>(kWidth * done / total);
    double seconds = std::max(absl::ToDoubleSeconds(now - state->start), 1e-3);
    std::fprintf(stderr, "\r[%s%s] %3d%% %llu/%llu MiB %.0f MiB/s",
                 std::string(filled, '=').c_str(), std::string(kWidth - filled, ' ').c_str(),
                 total == 0 ? 0 : static_cast<int>(100 * done / total),
                 static_cast<unsigned long long>(done >> 20),
                 static_cast<unsigned long long>(total >> 20), (done >> 20) / seconds);
    if (done >= total) std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

}  // namespace

absl::StatusOr<std::unique_ptr<SerialdClient>> Connect(const RemoteFlags& flags) {
  ClientOptions options;
  options.target = flags.server;
  options.tls_ca_file = flags.tls_ca;
  options.tls_cert_file = flags.tls_cert;
  options.tls_key_file = flags.tls_key;
  if (flags.timeout_seconds > 0) options.timeout = absl::Seconds(flags.timeout_seconds);
  return SerialdClient::Connect(options);
}

absl::Status RemoteConvert(SerialdClient& client, const CodecRegistry& registry,
                           const FormatFlags& flags, const std::string& in,
                           const std::string& out) {
  ASSIGN_OR_RETURN(Buffer input, ReadFile(in));
  ConvertSpec spec;
  spec.input_format = flags.from;
  spec.read_options = ToReadOptions(flags, registry);
  spec.output_format = flags.to;
  spec.write_options = ToWriteOptions(flags);
  for (const std::string& text : flags.resolve_references) {
    ASSIGN_OR_RETURN(ReferenceFlag flag, ParseReferenceFlag(text));
    absl::StatusOr<Buffer> data = ReadFile(flag.file);
    if (!data.ok()) {
      return absl::Status(data.status().code(), absl::StrCat("--resolve-reference ", text, ": ",
                                                             data.status().message()));
    }
    spec.reference_bindings.push_back({std::move(flag.names), *std::move(data)});
  }
  // The output goes to its file as it arrives; the file is only put in place once the whole
  // conversion succeeded.
  ASSIGN_OR_RETURN(std::unique_ptr<OutputFile> file, OutputFile::Open(out));
  ASSIGN_OR_RETURN(ConvertResult result,
                   client.Convert(
                       input, spec, [&](std::string_view bytes) { return file->Append(bytes); },
                       ProgressBar(input.size())));
  PrintNotes(result.notes);
  return file->Commit();
}

absl::Status RemoteInspect(SerialdClient& client, const CodecRegistry& registry,
                           const FormatFlags& flags, const std::string& in, std::ostream& out) {
  ASSIGN_OR_RETURN(Buffer input, ReadFile(in));
  ASSIGN_OR_RETURN(InspectResult result,
                   client.Inspect(input, flags.from, ToReadOptions(flags, registry)));
  Inspection inspection;
  inspection.format = result.format;
  inspection.detected = flags.from.empty();
  inspection.source = result.source;
  inspection.node_count = result.node_count;
  inspection.root_count = result.root_count;
  inspection.first_roots = result.first_roots;
  inspection.tree = result.summary;
  return PrintInspection(inspection, out);
}

absl::Status RemoteHealth(SerialdClient& client, std::ostream& out) {
  RETURN_IF_ERROR(client.CheckHealth());
  out << "SERVING" << std::endl;
  return absl::OkStatus();
}

}  // namespace seriald::serialctl
