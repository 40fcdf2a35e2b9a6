// File: tests/core/torch7/testing/sha256.h
//
// SHA-256 (FIPS 180-4) for tests: t7dump.py identifies function bytecode by a sha256 prefix.
//
// Example:
//
//   std::string hex = Sha256Hex("abc");  // "ba7816bf8f01cfea..."
#ifndef SERIALD_TESTS_CORE_TORCH7_TESTING_SHA256_H_
#define SERIALD_TESTS_CORE_TORCH7_TESTING_SHA256_H_

#include <string>
#include <string_view>

namespace seriald::testing {

// The digest of `bytes` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view bytes);

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_CORE_TORCH7_TESTING_SHA256_H_
