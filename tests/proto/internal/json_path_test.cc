// FindLongArrayData (proto/internal/json_path.h): where the long base64 strings of a Value's
// JSON text sit. A long string is read once however deep the search goes, and with the text's
// Buffer its pages are given back behind the scan, so a mapped text is never all resident.
#include "proto/internal/json_path.h"

#include <unistd.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/io/file.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "tests/testing/process_memory.h"

namespace seriald::internal {
namespace {

std::string_view Contents(std::string_view json, const ArrayDataText& found) {
  return json.substr(found.begin, found.end - found.begin);
}

// Two arrays' data around nodes that are not arrays, and a short one.
std::string Text(const std::string& first, const std::string& second) {
  return absl::StrCat(R"({"nodes":[{"array":{"type":"ELEMENT_TYPE_UINT8","data":")", first,
                      R"(","length":"1"}},{"nil":{}},{"array":{"data":")", second,
                      R"("}},{"array":{"data":"AAAA"}}],"roots":[0]})");
}

TEST(FindLongArrayDataTest, FindsThePlainLongDataStringsInTextOrder) {
  // The first longer than a scanning step (4 MiB), so that its closing quote is steps away.
  const std::string first((size_t{9} << 20) + 3, 'A');
  const std::string second(70000, 'B');
  const std::string json = Text(first, second);
  const std::vector<ArrayDataText> found = FindLongArrayData(json, 65536);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].node, 0u);
  EXPECT_TRUE(Contents(json, found[0]) == first);
  EXPECT_EQ(found[1].node, 2u);
  EXPECT_TRUE(Contents(json, found[1]) == second);
  // Shorter than asked for: not found.
  EXPECT_EQ(FindLongArrayData(json, 80000).size(), 1u);

  // An escape in a later step of the long string (and an escaped quote, which does not end
  // it): that string is protobuf's to read, the other is still found.
  std::string escaped = first;
  escaped.replace(size_t{6} << 20, 2, "\\\"");
  const std::string with_escape = Text(escaped, second);
  const std::vector<ArrayDataText> after_escape = FindLongArrayData(with_escape, 65536);
  ASSERT_EQ(after_escape.size(), 1u);
  EXPECT_EQ(after_escape[0].node, 2u);
  EXPECT_TRUE(Contents(with_escape, after_escape[0]) == second);

  // A field under two keys of one object, at any depth ("data" in an array, "array" in a node,
  // "nodes"): protobuf merges them, so nothing is found and the text is protobuf's to read.
  for (const auto& [before, repeated] :
       {std::pair{R"("data")", R"("data":"",)"}, std::pair{R"("array")", R"("array":{},)"},
        std::pair{R"("nodes")", R"("nodes":[],)"}}) {
    std::string twice = json;
    twice.insert(twice.find(before), repeated);
    EXPECT_TRUE(FindLongArrayData(twice, 65536).empty()) << repeated;
  }
}

TEST(FindLongArrayDataTest, AStringOfManyEscapesIsScannedInOnePass) {
  // Two million escaped newlines and an escaped quote in one string, a text's worth: searching
  // again for the quote after each escape (to the string's end, 8 MiB away on average) would
  // take hours; the scan reads each byte once.
  std::string escapes;
  for (int i = 0; i < 2000000; ++i) escapes += i == 1000000 ? "\\\"" : "\\n";
  const std::string data(70000, 'A');
  const std::string json = absl::StrCat(R"({"nodes":[{"string":{"value":")", escapes,
                                        R"("}},{"array":{"data":")", data, R"("}}],"roots":[0]})");
  const std::vector<ArrayDataText> found = FindLongArrayData(json, 65536);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].node, 1u);
  EXPECT_TRUE(Contents(json, found[0]) == data);

  // A backslash as the text's last byte, a string never closed: nothing found, nothing read past
  // the end.
  for (const std::string cut :
       {R"({"nodes":[{"array":{"data":"AAAA\)", R"({"nodes":[{"array":{"data":"AA)"}) {
    EXPECT_TRUE(FindLongArrayData(cut, 1).empty()) << cut;
  }
}

TEST(FindLongArrayDataTest, AMappedTextsLongStringIsGivenBackBehindTheScan) {
  testing::ScratchDir dir;
  const std::string path = dir.File("value.json");
  const std::string data(size_t{48} << 20, 'A');
  testing::WriteBytes(path, Text(data, "AAAA"));
  absl::StatusOr<Buffer> mapped = ReadFile(path);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  ASSERT_TRUE(mapped->file_region().has_value());

  ASSERT_TRUE(testing::ResetPeakRss(getpid()).ok());
  const absl::StatusOr<uint64_t> before = testing::RssBytes(getpid());
  ASSERT_TRUE(before.ok()) << before.status();
  const std::vector<ArrayDataText> found = FindLongArrayData(mapped->view(), 65536, &*mapped);
  const absl::StatusOr<uint64_t> peak = testing::PeakRssBytes(getpid());
  ASSERT_TRUE(peak.ok()) << peak.status();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(Contents(mapped->view(), found[0]) == data);
  // A scanning step (4 MiB) at a time, not the 48 MiB of text.
  EXPECT_LT(*peak - *before, uint64_t{12} << 20);

  // Without the Buffer the scan keeps what it touched: the measurement above can tell.
  ASSERT_EQ(FindLongArrayData(mapped->view(), 65536).size(), 1u);
  const absl::StatusOr<uint64_t> kept = testing::RssBytes(getpid());
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_GT(*kept - *before, uint64_t{40} << 20);
}

}  // namespace
}  // namespace seriald::internal
