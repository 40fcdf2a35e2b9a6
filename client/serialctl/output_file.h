// File: client/serialctl/output_file.h
//
// Writing serialctl's output so that a failure never leaves a truncated or half-written file: the
// bytes go to a temporary file next to the destination, which is renamed over it only once
// everything was written (Commit). "-" writes to standard output; an existing destination that is
// not a regular file (/dev/null, a FIFO) is written in place, since it cannot be replaced. Bytes
// may be appended as they arrive (a conversion streamed from the server), so the output never
// has to be held in memory as a whole.
//
// Example:
//
//   RETURN_IF_ERROR(WriteOutputFile("model.json", chain));
//
//   ASSIGN_OR_RETURN(std::unique_ptr<OutputFile> out, OutputFile::Open("big.t7"));
//   RETURN_IF_ERROR(out->Append(piece));          // as often as needed
//   RETURN_IF_ERROR(out->Commit());               // otherwise the destination is left untouched
#ifndef SERIALD_CLIENT_SERIALCTL_OUTPUT_FILE_H_
#define SERIALD_CLIENT_SERIALCTL_OUTPUT_FILE_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/io/buffer.h"

namespace seriald::serialctl {

class OutputFile {
 public:
  // Prepares to replace `path` ("-" = standard output).
  static absl::StatusOr<std::unique_ptr<OutputFile>> Open(const std::string& path);
  // Removes the temporary file unless Commit succeeded.
  ~OutputFile();

  absl::Status Append(std::string_view bytes);
  // Puts the output in place. A new file gets the permissions the umask allows; a replaced file
  // keeps its own.
  absl::Status Commit();

 private:
  OutputFile() = default;

  std::string path_;
  std::string temporary_;  // empty when writing in place
  int fd_ = -1;
  bool owns_fd_ = false;
  mode_t mode_ = 0;
  bool committed_ = false;
};

// Replaces `path` ("-" = standard output) with `bytes`.
absl::Status WriteOutputFile(const std::string& path, const BufferChain& bytes);

}  // namespace seriald::serialctl

#endif  // SERIALD_CLIENT_SERIALCTL_OUTPUT_FILE_H_
