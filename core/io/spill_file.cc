#include "core/io/spill_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/io/file.h"

namespace seriald {

std::string DefaultSpillDir() {
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

absl::StatusOr<SpillFile> SpillFile::Create(const std::string& directory) {
  // O_TMPFILE makes a file that never has a name; where the file system lacks it, a named one
  // is unlinked at once.
  int fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string path = absl::StrCat(directory, "/seriald-spill-XXXXXX");
    fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(path.c_str());
  }
  if (fd < 0) {
    return ErrnoStatus(errno, absl::StrCat("cannot create a spill file in ", directory));
  }
  return SpillFile(fd, directory);
}

SpillFile::SpillFile(SpillFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      directory_(std::move(other.directory_)),
      size_(std::exchange(other.size_, 0)) {}

SpillFile& SpillFile::operator=(SpillFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    directory_ = std::move(other.directory_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status SpillFile::Append(const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, bytes, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      const std::string what =
          absl::StrCat("cannot write the spill file in ", directory_, " at ", size_, " bytes");
      if (error == ENOSPC || error == EDQUOT || error == EFBIG) {
        return absl::ResourceExhaustedError(absl::StrCat(what, ": ", std::strerror(error)));
      }
      return ErrnoStatus(error, what);
    }
    bytes += n;
    size -= static_cast<size_t>(n);
    size_ += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<Buffer> SpillFile::Map() && {
  const int fd = std::exchange(fd_, -1);
  if (size_ == 0) {
    ::close(fd);
    return Buffer();
  }
  const size_t size = static_cast<size_t>(size_);
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int error = errno;
  ::close(fd);  // the mapping keeps the file
  if (mapped == MAP_FAILED) {
    return ErrnoStatus(error, absl::StrCat("cannot map the spill file in ", directory_));
  }
  ::madvise(mapped, size, MADV_SEQUENTIAL);
  return Buffer::WrapFileMapping(mapped, size, [mapped, size] { ::munmap(mapped, size); });
}

}  // namespace seriald
