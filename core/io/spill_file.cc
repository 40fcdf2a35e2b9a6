#include "core/io/spill_file.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/io/file.h"
#include "core/status_macros.h"

namespace seriald {

std::string DefaultSpillDir() {
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

absl::StatusOr<uint64_t> FreeBytes(const std::string& directory) {
  struct statvfs info;
  if (::statvfs(directory.c_str(), &info) != 0) {
    return ErrnoStatus(errno, absl::StrCat("cannot read the free space of ", directory));
  }
  return static_cast<uint64_t>(info.f_bavail) * info.f_frsize;
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
    // A full disk is RESOURCE_EXHAUSTED like any other; anything else (the directory deleted or
    // made read-only after start-up) is INTERNAL, not NOT_FOUND or PERMISSION_DENIED: the spill
    // directory is the server's (or serialctl's) own setting, nothing a caller named.
    absl::Status status =
        ErrnoStatus(errno, absl::StrCat("cannot create a spill file in ", directory));
    if (absl::IsResourceExhausted(status)) return status;
    return absl::InternalError(status.message());
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

absl::Status SpillFile::Append(absl::Span<const std::string_view> pieces) {
  RETURN_IF_ERROR(WritePieces(
      fd_, pieces, absl::StrCat("the spill file in ", directory_, " at ", size_, " bytes")));
  for (std::string_view piece : pieces) size_ += piece.size();
  return absl::OkStatus();
}

absl::StatusOr<Buffer> SpillFile::ReadAt(uint64_t offset, uint64_t size) const {
  auto [buffer, bytes] = Buffer::Allocate(size);
  RETURN_IF_ERROR(
      seriald::ReadAt(fd_, offset, size, bytes, absl::StrCat("the spill file in ", directory_)));
  return buffer;
}

absl::StatusOr<Buffer> SpillFile::Map() && {
  const int fd = std::exchange(fd_, -1);
  absl::StatusOr<Buffer> mapped =
      size_ == 0 ? Buffer()
                 : MapDescriptor(fd, static_cast<size_t>(size_),
                                 absl::StrCat("the spill file in ", directory_));
  ::close(fd);  // the mapping keeps the file
  return mapped;
}

}  // namespace seriald
