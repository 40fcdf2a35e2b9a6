// File: tests/core/torch7/testing/corpus.h
//
// Access to the shared Torch7 corpus (files written by Torch7 itself, and their expected contents
// as JSON) for tests, and a builder for hand-made binary streams. The corpus is located through
// the SERIALD_SHARED_DIR compile definition; a missing corpus fails the test that asks for it.
//
// Example:
//
//   Buffer input = CorpusFile("generated/tensor_float_2x3.bin.t7");
//   std::string stream = StreamBytes().Int(3).Int(1).Int(0).str();   // an empty table
#ifndef SERIALD_TESTS_CORE_TORCH7_TESTING_CORPUS_H_
#define SERIALD_TESTS_CORE_TORCH7_TESTING_CORPUS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/buffer.h"

namespace seriald::testing {

// <shared>/corpus/torch7
std::string CorpusDir();

// The bytes of a corpus file (path relative to CorpusDir()). Fails the current test (and returns
// an empty Buffer) when it cannot be read.
Buffer CorpusFile(std::string_view relative_path);

// A corpus file name and its expected JSON, for every expected/*.json, in name order.
struct ExpectedFile {
  std::string path;       // relative to CorpusDir(): "generated/nil.bin.t7"
  std::string json_path;  // relative to CorpusDir(): "expected/generated_nil.bin.t7.json"
};
std::vector<ExpectedFile> ExpectedFiles();

// Every object-stream file of the corpus (all but MANIFEST.tsv, CORPUS.md, primitives.ascii.txt
// and expected/), relative to CorpusDir(), in name order.
std::vector<std::string> CorpusStreams();

// Binary Torch7 primitives, for building inputs by hand (little-endian, 8-byte longs unless
// told otherwise).
class StreamBytes {
 public:
  explicit StreamBytes(int long_size = 8, bool big_endian = false)
      : long_size_(long_size), big_endian_(big_endian) {}

  StreamBytes& Int(int32_t value) { return Word(static_cast<uint32_t>(value), 4); }
  StreamBytes& Long(int64_t value) { return Word(static_cast<uint64_t>(value), long_size_); }
  StreamBytes& Double(double value);
  StreamBytes& Raw(std::string_view bytes) {
    bytes_.append(bytes);
    return *this;
  }
  // int32 length + bytes, as File:writeString inside objects.
  StreamBytes& String(std::string_view bytes) {
    Int(static_cast<int32_t>(bytes.size()));
    return Raw(bytes);
  }
  // TYPE_TORCH header: tag 4, index, "V <version>", class name.
  StreamBytes& TorchHeader(int32_t index, std::string_view class_name,
                           std::string_view version = "1") {
    Int(4).Int(index).String(std::string("V ") + std::string(version));
    return String(class_name);
  }

  const std::string& str() const { return bytes_; }
  Buffer buffer() const { return Buffer::Copy(bytes_); }

 private:
  StreamBytes& Word(uint64_t value, int size);

  int long_size_;
  bool big_endian_;
  std::string bytes_;
};

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_CORE_TORCH7_TESTING_CORPUS_H_
