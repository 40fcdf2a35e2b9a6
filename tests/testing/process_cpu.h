// File: tests/testing/process_cpu.h
//
// The work a process has done, as Linux counts it in /proc/<pid>/stat: processor time (user plus
// system, all threads) and page faults that needed no disk (minor faults: memory touched for the
// first time, or again after it was given back). Benchmarks report both next to wall-clock time:
// on a shared machine the wall clock also counts time the process waited for a processor, and
// page faults, a large part of the cost of moving big payloads, are counted exactly.
//
// Example:
//
//   absl::StatusOr<ProcessWork> before = WorkOf(server->pid());
//   ... stream 1 GiB through the server ...
//   absl::StatusOr<ProcessWork> after = WorkOf(server->pid());
//   std::printf("server: %.2f s of CPU, %llu page faults\n",
//               after->cpu_seconds - before->cpu_seconds,
//               after->minor_faults - before->minor_faults);
#ifndef SERIALD_TESTS_TESTING_PROCESS_CPU_H_
#define SERIALD_TESTS_TESTING_PROCESS_CPU_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace seriald::testing {

struct ProcessWork {
  // User plus system processor time since the process started (clock-tick resolution).
  double cpu_seconds = 0;
  // Page faults served without reading a disk, since the process started.
  uint64_t minor_faults = 0;
};

// What `pid` has done so far.
absl::StatusOr<ProcessWork> WorkOf(pid_t pid);

// The same for the calling process (getrusage: microsecond resolution).
ProcessWork OwnWork();

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_TESTING_PROCESS_CPU_H_
