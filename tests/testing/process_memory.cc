#include "tests/testing/process_memory.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace seriald::testing {
namespace {

// The value of a "Name:   1234 kB" line of /proc/<pid>/status, in bytes.
absl::StatusOr<uint64_t> StatusField(pid_t pid, const std::string& name) {
  const std::string path = absl::StrCat("/proc/", pid, "/status");
  std::ifstream status(path);
  if (!status) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(name + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(name.size() + 1));
    std::string number, unit;
    fields >> number >> unit;
    uint64_t value = 0;
    if (!absl::SimpleAtoi(number, &value) || unit != "kB") {
      return absl::InternalError(absl::StrCat(path, ": unexpected line \"", line, "\""));
    }
    return value * 1024;
  }
  return absl::NotFoundError(absl::StrCat(path, " has no ", name, " line"));
}

}  // namespace

absl::StatusOr<uint64_t> PeakRssBytes(pid_t pid) { return StatusField(pid, "VmHWM"); }

absl::StatusOr<uint64_t> RssBytes(pid_t pid) { return StatusField(pid, "VmRSS"); }

absl::StatusOr<uint64_t> FileRssBytes(pid_t pid) { return StatusField(pid, "RssFile"); }

absl::Status ResetPeakRss(pid_t pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/clear_refs");
  std::ofstream clear_refs(path);
  clear_refs << "5\n";
  clear_refs.close();
  if (!clear_refs) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace seriald::testing
