#include "core/io/spill_file.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
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

absl::StatusOr<SpillFile> SpillFile::Create(const std::string& directory, SpillFilePool* pool) {
  if (pool != nullptr) {
    if (std::optional<SpillFilePool::KeptFile> kept = pool->Take(directory)) {
      // Written over from its start.
      if (::lseek(kept->fd, 0, SEEK_SET) == 0) {
        return SpillFile(kept->fd, directory, pool, kept->length);
      }
      ::close(kept->fd);
    }
  }
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
  return SpillFile(fd, directory, pool, 0);
}

SpillFile::SpillFile(SpillFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      directory_(std::move(other.directory_)),
      pool_(other.pool_),
      size_(std::exchange(other.size_, 0)),
      length_(std::exchange(other.length_, 0)) {}

SpillFile& SpillFile::operator=(SpillFile&& other) noexcept {
  if (this != &other) {
    GiveBack();
    fd_ = std::exchange(other.fd_, -1);
    directory_ = std::move(other.directory_);
    pool_ = other.pool_;
    size_ = std::exchange(other.size_, 0);
    length_ = std::exchange(other.length_, 0);
  }
  return *this;
}

SpillFile::~SpillFile() { GiveBack(); }

void SpillFile::GiveBack() {
  const int fd = std::exchange(fd_, -1);
  if (fd < 0) return;
  if (pool_ == nullptr) {
    ::close(fd);
    return;
  }
  pool_->Give({fd, directory_, std::max(length_, size_)});
}

absl::Status SpillFile::Append(absl::Span<const std::string_view> pieces) {
  RETURN_IF_ERROR(WritePieces(
      fd_, pieces, absl::StrCat("the spill file in ", directory_, " at ", size_, " bytes")));
  for (std::string_view piece : pieces) size_ += piece.size();
  length_ = std::max(length_, size_);
  return absl::OkStatus();
}

absl::Status SpillFile::WriteAt(uint64_t offset, std::string_view bytes) {
  if (offset > size_ || bytes.size() > size_ - offset) {
    return absl::InternalError(absl::StrCat("writing over the spill file in ", directory_,
                                            " at byte ", offset, " past its ", size_, " bytes"));
  }
  return seriald::WriteAt(fd_, offset, bytes.data(), bytes.size(),
                          absl::StrCat("the spill file in ", directory_));
}

absl::StatusOr<Buffer> SpillFile::ReadAt(uint64_t offset, uint64_t size) const {
  auto [buffer, bytes] = Buffer::Allocate(size);
  RETURN_IF_ERROR(
      seriald::ReadAt(fd_, offset, size, bytes, absl::StrCat("the spill file in ", directory_)));
  return buffer;
}

absl::StatusOr<Buffer> SpillFile::Map() && {
  const std::string name = absl::StrCat("the spill file in ", directory_);
  if (length_ > size_) {
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      return ErrnoStatus(errno, absl::StrCat("cannot cut ", name, " to ", size_, " bytes"));
    }
    length_ = size_;
  }
  if (size_ == 0) {
    GiveBack();
    return Buffer();
  }
  // The mapping's own descriptor goes back to the pool with it.
  SpillFilePool* const pool = pool_;
  std::function<void(int)> after_unmap;
  if (pool != nullptr) {
    after_unmap = [pool, directory = directory_, size = size_](int own) {
      pool->Give({own, directory, size});
    };
  }
  absl::StatusOr<Buffer> mapped =
      MapDescriptor(fd_, static_cast<size_t>(size_), name, std::move(after_unmap));
  ::close(std::exchange(fd_, -1));  // the mapping keeps the file
  return mapped;
}

}  // namespace seriald
