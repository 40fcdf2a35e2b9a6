#include "client/serialctl/output_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/file.h"
#include "core/status_macros.h"

namespace seriald::serialctl {
namespace {

absl::Status SystemError(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// The permission bits open(path, O_CREAT, 0666) would give a new file.
mode_t NewFileMode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

absl::StatusOr<std::unique_ptr<OutputFile>> OutputFile::Open(const std::string& path) {
  std::unique_ptr<OutputFile> file(new OutputFile());
  file->path_ = path;
  if (path == "-") {
    file->fd_ = STDOUT_FILENO;
    return file;
  }
  struct stat existing;
  const bool exists = ::stat(path.c_str(), &existing) == 0;
  if (exists && !S_ISREG(existing.st_mode)) {
    file->fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (file->fd_ < 0) return SystemError(absl::StrCat("cannot open ", path));
    file->owns_fd_ = true;
    return file;
  }
  const size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  file->temporary_ = absl::StrCat(directory, ".", name, ".serialctl-XXXXXX");
  file->fd_ = ::mkstemp(file->temporary_.data());
  if (file->fd_ < 0) {
    file->temporary_.clear();
    return SystemError(absl::StrCat("cannot create a temporary file for ", path));
  }
  file->owns_fd_ = true;
  file->mode_ = exists ? (existing.st_mode & 07777) : NewFileMode();
  return file;
}

OutputFile::~OutputFile() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
  if (!committed_ && !temporary_.empty()) ::unlink(temporary_.c_str());
}

absl::Status OutputFile::Append(std::string_view bytes) {
  BufferChain chain;
  chain.Append(Buffer::Wrap(bytes.data(), bytes.size(), [] {}));
  return WriteDescriptor(fd_, chain, path_ == "-" ? "standard output" : path_);
}

absl::Status OutputFile::Commit() {
  if (temporary_.empty()) {
    if (owns_fd_ && ::close(fd_) != 0) {
      fd_ = -1;
      return SystemError(absl::StrCat("cannot write ", path_));
    }
    fd_ = -1;
    committed_ = true;
    return absl::OkStatus();
  }
  if (::fchmod(fd_, mode_) != 0) {
    return SystemError(absl::StrCat("cannot set the permissions of ", path_));
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return SystemError(absl::StrCat("cannot write ", path_));
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) {
    return SystemError(absl::StrCat("cannot replace ", path_));
  }
  committed_ = true;
  return absl::OkStatus();
}

absl::Status WriteOutputFile(const std::string& path, const BufferChain& bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<OutputFile> file, OutputFile::Open(path));
  for (const Buffer& piece : bytes.pieces()) RETURN_IF_ERROR(file->Append(piece.view()));
  return file->Commit();
}

}  // namespace seriald::serialctl
