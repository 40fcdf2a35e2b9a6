// File: tests/core/rds/testing/lazy_load.h
//
// The entries of installed R packages' lazy-load databases (R/*.rdb: each entry a 4-byte length
// and a zlib stream of one serialized object, found through the index R/*.rdx), which R wrote:
// free real-file test material, every one a serialize() stream.
//
// Example:
//
//   LazyLoadCounts counts;
//   ASSERT_TRUE(ForEachLazyLoadEntry([&](const LazyLoadEntry& entry) {
//     absl::StatusOr<Value> object = ReadR(entry.stream);
//     EXPECT_TRUE(object.ok()) << entry.Where();
//   }, &counts).ok());
#ifndef SERIALD_TESTS_CORE_RDS_TESTING_LAZY_LOAD_H_
#define SERIALD_TESTS_CORE_RDS_TESTING_LAZY_LOAD_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "core/io/buffer.h"

namespace seriald::testing {

struct LazyLoadEntry {
  std::string database;  // the .rdb file
  uint64_t offset = 0;   // of the entry in it
  Buffer stream;         // the entry's serialize() stream, decompressed

  // "<database> at <offset>", for messages.
  std::string Where() const;
};

struct LazyLoadCounts {
  int databases = 0;
  int entries = 0;            // handed to the visitor
  int other_compression = 0;  // entries of databases compressed with bzip2 or xz, not read
};

// Calls `visit` on every zlib-compressed entry of every installed lazy-load database, in the
// order of the directories; `counts`, when given, is filled in. An index or entry that cannot be
// read is an error naming it.
absl::Status ForEachLazyLoadEntry(const std::function<void(const LazyLoadEntry&)>& visit,
                                  LazyLoadCounts* counts = nullptr);

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_CORE_RDS_TESTING_LAZY_LOAD_H_
