// File: tests/testing/files.h
//
// Files in tests: a scratch directory that removes itself, and whole-file reads and writes that
// fail the current test (rather than return garbage) when the file system refuses.
//
// Example:
//
//   ScratchDir dir;
//   WriteBytes(dir.File("in.t7"), bytes);
//   EXPECT_EQ(ReadBytes(dir.File("out.t7")), expected);
#ifndef SERIALD_TESTS_TESTING_FILES_H_
#define SERIALD_TESTS_TESTING_FILES_H_

#include <string>
#include <vector>

namespace seriald::testing {

// A fresh directory under the test temporary directory, removed with its contents on
// destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A file's bytes; empty (and a failure of the current test) when it cannot be read.
std::string ReadBytes(const std::string& path);
// Replaces the file with `bytes`; a failure of the current test when it cannot.
void WriteBytes(const std::string& path, const std::string& bytes);
bool FileExists(const std::string& path);

// Every R file installed under R's library directories (saveRDS files .rds, save() files .rda
// and .RData, lazy-load indexes .rdx), sorted: files R wrote, free test material.
std::vector<std::string> InstalledRFiles();

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_TESTING_FILES_H_
