// File: tests/core/torch7/testing/json.h
//
// A minimal JSON tree for tests: parses the corpus's expected/*.json (as Python's json module
// writes it) and compares trees. Integers (no '.', 'e' or 'E' in the literal) and doubles are
// distinct types, as they are in t7dump.py's output; object member order is ignored.
//
// Example:
//
//   ASSERT_OK_AND_ASSIGN(Json expected, ParseJson(text));
//   EXPECT_EQ(JsonDifference(expected, actual), "");
#ifndef SERIALD_TESTS_CORE_TORCH7_TESTING_JSON_H_
#define SERIALD_TESTS_CORE_TORCH7_TESTING_JSON_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace seriald::testing {

struct Json {
  enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string string;  // UTF-8
  std::vector<Json> array;
  std::map<std::string, Json> object;

  static Json Null() { return Json{}; }
  static Json Bool(bool b) {
    Json j;
    j.type = Type::kBool;
    j.boolean = b;
    return j;
  }
  static Json Int(int64_t i) {
    Json j;
    j.type = Type::kInt;
    j.integer = i;
    return j;
  }
  static Json Double(double d) {
    Json j;
    j.type = Type::kDouble;
    j.number = d;
    return j;
  }
  static Json String(std::string s) {
    Json j;
    j.type = Type::kString;
    j.string = std::move(s);
    return j;
  }
  static Json Array() {
    Json j;
    j.type = Type::kArray;
    return j;
  }
  static Json Object() {
    Json j;
    j.type = Type::kObject;
    return j;
  }
};

absl::StatusOr<Json> ParseJson(std::string_view text);

// Empty when `expected` and `actual` are equal, else the path and values of the first difference.
std::string JsonDifference(const Json& expected, const Json& actual);

// Compact text of `json`, for messages.
std::string ToText(const Json& json);

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_CORE_TORCH7_TESTING_JSON_H_
