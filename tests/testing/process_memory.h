// File: tests/testing/process_memory.h
//
// The memory of another process, as Linux reports it in /proc/<pid>/status: the resident set now
// (VmRSS), its file-backed part (RssFile) and its peak since start or since the last reset (VmHWM).
// Tests and benchmarks use it to bound what a server holds while it works on a large payload.
//
// Example:
//
//   ASSERT_TRUE(ResetPeakRss(server->pid()).ok());          // forget what start-up used
//   ... stream 1.5 GiB through the server ...
//   absl::StatusOr<uint64_t> peak = PeakRssBytes(server->pid());
//   EXPECT_LT(*peak, 1.4 * payload_bytes);
#ifndef SERIALD_TESTS_TESTING_PROCESS_MEMORY_H_
#define SERIALD_TESTS_TESTING_PROCESS_MEMORY_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace seriald::testing {

// Peak resident set size (VmHWM) in bytes.
absl::StatusOr<uint64_t> PeakRssBytes(pid_t pid);

// Current resident set size (VmRSS) in bytes.
absl::StatusOr<uint64_t> RssBytes(pid_t pid);

// The file-backed part of it (RssFile) in bytes: the pages of mapped files, such as a mapped input.
absl::StatusOr<uint64_t> FileRssBytes(pid_t pid);

// Resets the peak (VmHWM) to the current resident set size (writes 5 to /proc/<pid>/clear_refs).
absl::Status ResetPeakRss(pid_t pid);

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_TESTING_PROCESS_MEMORY_H_
