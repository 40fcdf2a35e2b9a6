// File: core/io/file.h
//
// Whole-file input and output for Buffers. Regular files are memory-mapped (no copy: a reader's
// slices point straight into the page cache); pipes and terminals are read in full.
//
// Example:
//
//   ASSIGN_OR_RETURN(Buffer input, ReadFile("model.t7"));
//   RETURN_IF_ERROR(WriteFile("copy.t7", output_chain));
#ifndef SERIALD_CORE_IO_FILE_H_
#define SERIALD_CORE_IO_FILE_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/io/buffer.h"

namespace seriald {

// Reads `path` ("-" = standard input). NOT_FOUND / PERMISSION_DENIED / INTERNAL on failure, with
// the path and the system's reason in the message.
absl::StatusOr<Buffer> ReadFile(const std::string& path);

// Reads everything from an open file descriptor (not closed).
absl::StatusOr<Buffer> ReadDescriptor(int fd, const std::string& name);

// Writes `bytes` to `path` ("-" = standard output), replacing the file.
absl::Status WriteFile(const std::string& path, const BufferChain& bytes);

// The status for a failed system call on a file: "<what>: <strerror>", NOT_FOUND for ENOENT,
// PERMISSION_DENIED for EACCES and EPERM, RESOURCE_EXHAUSTED for a full disk or quota (ENOSPC,
// EDQUOT, EFBIG), INTERNAL otherwise.
absl::Status ErrnoStatus(int error, const std::string& what);

// The first `size` bytes of an open file as a read-only file mapping (Buffer::WrapFileMapping;
// its pages are faulted in as they are touched), with a descriptor of its own for reading the
// file with pread (Buffer::file_region). The descriptor given may be closed afterwards. Once the
// mapping is gone, its own descriptor is closed, or handed to `after_unmap` when set.
absl::StatusOr<Buffer> MapDescriptor(int fd, size_t size, const std::string& name,
                                     std::function<void(int)> after_unmap = nullptr);

// Writes `pieces`, in order, to an open file descriptor with as few system calls as it can
// (writev), retrying short writes; errors say "cannot write <name>".
absl::Status WritePieces(int fd, absl::Span<const std::string_view> pieces,
                         const std::string& name);

// Writes `size` bytes to an open file descriptor (WritePieces with one piece).
absl::Status WriteBytes(int fd, const void* data, size_t size, const std::string& name);

// Writes `bytes` to an open file descriptor (not closed), retrying short writes.
absl::Status WriteDescriptor(int fd, const BufferChain& bytes, const std::string& name);

// Writes `size` bytes at `offset` of an open file (pwrite: the descriptor's own position does not
// move), retrying short writes; errors say "cannot write <name> at byte N".
absl::Status WriteAt(int fd, uint64_t offset, const void* data, size_t size,
                     const std::string& name);

// Reads `size` bytes at `offset` of an open file into `into`, retrying short reads; a file that
// ends before is an error ("cannot read <name> at byte N: it ends early").
absl::Status ReadAt(int fd, uint64_t offset, size_t size, uint8_t* into, const std::string& name);

}  // namespace seriald

#endif  // SERIALD_CORE_IO_FILE_H_
