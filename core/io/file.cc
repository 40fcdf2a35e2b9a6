#include "core/io/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

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

absl::StatusOr<Buffer> MapDescriptor(int fd, size_t size, const std::string& name,
                                     std::function<void(int)> after_unmap) {
  // Pages are mapped as they are touched (MADV_SEQUENTIAL reads ahead, and each fault maps the
  // pages around it), not all up front: a reader that skips array bytes (Torch7 storages in
  // the machine's byte order are slices of the input) never makes them resident, and a
  // conversion that streams them out drops them behind it (Buffer::DropPages).
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (mapped == MAP_FAILED) return ErrnoStatus(errno, absl::StrCat("cannot map ", name));
  ::madvise(mapped, size, MADV_SEQUENTIAL);
  // A descriptor of the mapping's own, for reading what is streamed through once with pread
  // (Buffer::file_region). Without one (out of descriptors) the mapping serves alone.
  const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return Buffer::WrapFileMapping(
      mapped, size,
      [mapped, size, own, after_unmap = std::move(after_unmap)] {
        ::munmap(mapped, size);
        if (own < 0) return;
        if (after_unmap) {
          after_unmap(own);
        } else {
          ::close(own);
        }
      },
      own);
}

absl::Status WritePieces(int fd, absl::Span<const std::string_view> pieces,
                         const std::string& name) {
  // Up to this many pieces per system call (IOV_MAX is 1024 on Linux).
  constexpr size_t kMaxVectors = 64;
  size_t next = 0;     // the first piece not yet wholly written
  size_t written = 0;  // bytes of pieces[next] already written
  while (next < pieces.size()) {
    iovec vectors[kMaxVectors];
    int count = 0;
    for (size_t i = next; i < pieces.size() && count < static_cast<int>(kMaxVectors); ++i) {
      const size_t skip = i == next ? written : 0;
      vectors[count].iov_base = const_cast<char*>(pieces[i].data() + skip);
      vectors[count].iov_len = pieces[i].size() - skip;
      ++count;
    }
    ssize_t n = ::writev(fd, vectors, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat("cannot write ", name));
    }
    // Past what was written: whole pieces, then part of the next.
    auto left = static_cast<size_t>(n);
    while (next < pieces.size() && left >= pieces[next].size() - written) {
      left -= pieces[next].size() - written;
      written = 0;
      ++next;
    }
    written += left;
  }
  return absl::OkStatus();
}

absl::Status ReadAt(int fd, uint64_t offset, size_t size, uint8_t* into, const std::string& name) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, into + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return ErrnoStatus(errno, absl::StrCat("cannot read ", name, " at byte ", offset + done));
    }
    if (n == 0) {
      return absl::InternalError(
          absl::StrCat("cannot read ", name, " at byte ", offset + done, ": it ends early"));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WriteAt(int fd, uint64_t offset, const void* data, size_t size,
                     const std::string& name) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, bytes + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return ErrnoStatus(errno, absl::StrCat("cannot write ", name, " at byte ", offset + done));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WriteBytes(int fd, const void* data, size_t size, const std::string& name) {
  const std::string_view piece(static_cast<const char*>(data), size);
  return WritePieces(fd, absl::MakeConstSpan(&piece, 1), name);
}

absl::Status WriteDescriptor(int fd, const BufferChain& bytes, const std::string& name) {
  std::vector<std::string_view> pieces;
  pieces.reserve(bytes.pieces().size());
  for (const Buffer& piece : bytes.pieces()) pieces.push_back(piece.view());
  return WritePieces(fd, pieces, name);
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
