// File: tests/core/torch7/testing/t7dump_form.h
//
// Renders a Value read from a Torch7 stream the way the corpus's reference reader (t7dump.py,
// run with --max-elems 64) prints it, so that each corpus file can be checked against its
// expected/*.json:
//   tables       {"$id": index, "$table": [[key, value], ...]}, later {"$ref": index}
//   torch objects {"$id", "$class", "$version"} plus size/stride/storageOffset(1-based)/storage,
//                n/data[/data_truncated], entries, items, value, header/fields or fields
//   functions    {"$id" (tags 7, 8), "$function": tag, "bytecode": {len, sha256, head_hex},
//                "upvalues"}
//   numbers      ints when integral and below 2^63, "nan"/"inf"/"-inf"/"-0.0" strings
//   strings      text when valid UTF-8 without control characters, else {"$bytes_hex"}
// Indices are assigned in pre-order as torch7's writer numbers objects, which is what the
// files hold. Several roots render as a list.
//
// Example:
//
//   Json actual = RenderLikeT7dump(value);
#ifndef SERIALD_TESTS_CORE_TORCH7_TESTING_T7DUMP_FORM_H_
#define SERIALD_TESTS_CORE_TORCH7_TESTING_T7DUMP_FORM_H_

#include "core/model/value.h"
#include "tests/core/torch7/testing/json.h"

namespace seriald::testing {

Json RenderLikeT7dump(const Value& value, size_t max_elements = 64);

}  // namespace seriald::testing

#endif  // SERIALD_TESTS_CORE_TORCH7_TESTING_T7DUMP_FORM_H_
