#include "tests/core/torch7/testing/corpus.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/io/file.h"
#include "gtest/gtest.h"

namespace seriald::testing {

std::string CorpusDir() { return std::string(SERIALD_SHARED_DIR) + "/corpus/torch7"; }

Buffer CorpusFile(std::string_view relative_path) {
  std::string path = CorpusDir() + "/" + std::string(relative_path);
  absl::StatusOr<Buffer> bytes = ReadFile(path);
  if (!bytes.ok()) {
    ADD_FAILURE() << "corpus file missing: " << bytes.status();
    return Buffer();
  }
  return *std::move(bytes);
}

std::vector<ExpectedFile> ExpectedFiles() {
  // expected/<dir>_<name>.json for <dir>/<name>; directory names may contain '_' or '-'.
  static constexpr std::string_view kDirectories[] = {"generated", "python-torchfile",
                                                      "opencv_ascii", "tutorials", "char_gru"};
  std::vector<ExpectedFile> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(CorpusDir() + "/expected", error)) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(".json")) continue;
    std::string stem = name.substr(0, name.size() - 5);
    for (std::string_view directory : kDirectories) {
      std::string prefix = std::string(directory) + "_";
      if (stem.starts_with(prefix)) {
        files.push_back(
            {std::string(directory) + "/" + stem.substr(prefix.size()), "expected/" + name});
        break;
      }
    }
  }
  if (error) ADD_FAILURE() << "cannot list " << CorpusDir() << "/expected: " << error.message();
  std::sort(files.begin(), files.end(),
            [](const ExpectedFile& a, const ExpectedFile& b) { return a.path < b.path; });
  return files;
}

std::vector<std::string> CorpusStreams() {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(CorpusDir(), error)) {
    if (!entry.is_regular_file()) continue;
    std::string path = std::filesystem::relative(entry.path(), CorpusDir()).string();
    std::string name = entry.path().filename().string();
    if (path.starts_with("expected/") || name == "MANIFEST.tsv" || name == "CORPUS.md" ||
        name == "primitives.ascii.txt") {
      continue;
    }
    files.push_back(path);
  }
  if (error) ADD_FAILURE() << "cannot list " << CorpusDir() << ": " << error.message();
  std::sort(files.begin(), files.end());
  return files;
}

StreamBytes& StreamBytes::Double(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return Word(bits, 8);
}

StreamBytes& StreamBytes::Word(uint64_t value, int size) {
  for (int i = 0; i < size; ++i) {
    int shift = 8 * (big_endian_ ? size - 1 - i : i);
    bytes_.push_back(static_cast<char>(value >> shift));
  }
  return *this;
}

}  // namespace seriald::testing
