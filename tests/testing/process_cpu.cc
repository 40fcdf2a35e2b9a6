#include "tests/testing/process_cpu.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace seriald::testing {

absl::StatusOr<ProcessWork> WorkOf(pid_t pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/stat");
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  std::string stat;
  std::getline(file, stat);
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself:
  // the fields are counted from after its last ')'. minflt is field 10, utime and stime 14 and 15.
  const size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos) {
    return absl::InternalError(absl::StrCat(path, ": no command name in \"", stat, "\""));
  }
  std::istringstream fields(stat.substr(name_end + 1));
  std::string field;
  uint64_t minor_faults = 0, user = 0, system = 0;
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    uint64_t* into = number == 10   ? &minor_faults
                     : number == 14 ? &user
                     : number == 15 ? &system
                                    : nullptr;
    if (into != nullptr && !absl::SimpleAtoi(field, into)) {
      return absl::InternalError(absl::StrCat(path, ": field ", number, " is \"", field, "\""));
    }
    if (number == 15) {
      return ProcessWork{.cpu_seconds = static_cast<double>(user + system) /
                                        static_cast<double>(sysconf(_SC_CLK_TCK)),
                         .minor_faults = minor_faults};
    }
  }
  return absl::InternalError(absl::StrCat(path, ": fewer than 15 fields in \"", stat, "\""));
}

ProcessWork OwnWork() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return ProcessWork{.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime),
                     .minor_faults = static_cast<uint64_t>(usage.ru_minflt)};
}

}  // namespace seriald::testing
