// File: client/serialctl/commands.h
//
// What serialctl's subcommands do once their arguments are parsed and checked: `convert` reads
// one file in any registered format and writes it in another; `inspect` prints an input's format
// facts and its object tree. Both report failures as a Status whose message is one line that
// names the problem (and, for malformed input, the byte offset).
//
// Example:
//
//   CodecRegistry registry = SerialctlRegistry();
//   RETURN_IF_ERROR(Convert(registry, flags, "model.t7", "model.json"));
#ifndef SERIALD_CLIENT_SERIALCTL_COMMANDS_H_
#define SERIALD_CLIENT_SERIALCTL_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/serialctl/format_options.h"
#include "core/format/codec.h"
#include "proto/json_codec.h"

namespace seriald::serialctl {

// The formats serialctl offers: the core formats and JSON.
CodecRegistry SerialctlRegistry();

// Reads `in` ("-" = standard input) as flags.from (detected when empty), binds its persistent
// references to the objects of the --resolve-reference files, and writes it to `out` ("-" =
// standard output) as flags.to. `out` is only replaced once the whole output exists.
absl::Status Convert(const CodecRegistry& registry, const FormatFlags& flags, const std::string& in,
                     const std::string& out);

// Prints each note of a conversion (what it changed or left out) on standard error as one line,
// "serialctl: note: <note>".
void PrintNotes(const std::vector<std::string>& notes);

// The R object of a --resolve-reference file, read with `options`; errors name the option.
absl::StatusOr<Value> ReadReferenceFile(const ReferenceFlag& flag, const ReadOptions& options);

// Reads `in` and prints to `out` its format, the stream facts it carries, its node count, its
// roots and then its tree (Inspect() from core/inspect.h).
absl::Status InspectFile(const CodecRegistry& registry, const FormatFlags& flags,
                         const std::string& in, std::ostream& out);

// What `inspect` prints, whether it was computed here or by the server.
struct Inspection {
  std::string format;
  bool detected = true;
  SourceInfo source;
  uint64_t node_count = 0;
  uint64_t root_count = 0;
  std::vector<NodeId> first_roots;  // at most 10
  std::string tree;
};
absl::Status PrintInspection(const Inspection& inspection, std::ostream& out);

}  // namespace seriald::serialctl

#endif  // SERIALD_CLIENT_SERIALCTL_COMMANDS_H_
