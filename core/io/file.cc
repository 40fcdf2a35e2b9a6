#include "core/io/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/io/growable_buffer.h"

namespace seriald {

absl::Status ErrnoStatus(int error, const std::string& what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(error));
  switch (error) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

namespace {

// Below this size a plain read is cheaper than setting up a mapping.
constexpr size_t kMapThreshold = 1 << 20;

}  // namespace

absl::StatusOr<Buffer> ReadDescriptor(int fd, const std::string& name) {
  // Reads straight into the growing buffer: no intermediate copy of the input.
  GrowableBuffer data;
  while (true) {
    size_t available = 0;
    absl::StatusOr<uint8_t*> space = data.WritableSpace(size_t{1} << 16, &available);
    if (!space.ok()) return space.status();
    ssize_t n = ::read(fd, *space, available);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat("cannot read ", name));
    }
    data.Commit(static_cast<size_t>(n));
  }
  return std::move(data).Finish();
}

absl::StatusOr<Buffer> ReadFile(const std::string& path) {
  if (path == "-") return ReadDescriptor(STDIN_FILENO, "standard input");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("cannot open ", path));
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    return ErrnoStatus(error, absl::StrCat("cannot stat ", path));
  }
  if (S_ISDIR(info.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is a directory"));
  }
  if (!S_ISREG(info.st_mode) || static_cast<size_t>(info.st_size) < kMapThreshold) {
    absl::StatusOr<Buffer> result = ReadDescriptor(fd, path);
    ::close(fd);
    return result;
  }
  absl::StatusOr<Buffer> mapped = MapDescriptor(fd, static_cast<size_t>(info.st_size), path);
  ::close(fd);  // the mapping keeps the file
  return mapped;
}

absl::StatusOr<Buffer> MapDescriptor(int fd, size_t size, const std::string& name) {
  // Pages are mapped as they are touched (MADV_SEQUENTIAL reads ahead, and each fault maps the
  // pages around it), not all up front: a reader that skips array bytes (Torch7 storages in
  // the machine's byte order are slices of the input) never makes them resident, and a
  // conversion that streams them out drops them behind it (Buffer::DropPages).
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (mapped == MAP_FAILED) return ErrnoStatus(errno, absl::StrCat("cannot map ", name));
  ::madvise(mapped, size, MADV_SEQUENTIAL);
  return Buffer::WrapFileMapping(mapped, size, [mapped, size] { ::munmap(mapped, size); });
}

absl::Status WriteBytes(int fd, const void* data, size_t size, const std::string& name) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, bytes, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat("cannot write ", name));
    }
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WriteDescriptor(int fd, const BufferChain& bytes, const std::string& name) {
  for (const Buffer& piece : bytes.pieces()) {
    absl::Status status = WriteBytes(fd, piece.data(), piece.size(), name);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const BufferChain& bytes) {
  if (path == "-") return WriteDescriptor(STDOUT_FILENO, bytes, "standard output");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("cannot create ", path));
  absl::Status status = WriteDescriptor(fd, bytes, path);
  if (::close(fd) != 0 && status.ok()) {
    status = ErrnoStatus(errno, absl::StrCat("cannot close ", path));
  }
  return status;
}

}  // namespace seriald
