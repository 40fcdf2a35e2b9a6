// SpillFile (core/io/spill_file.h): what is appended comes back as one file mapping, the file
// has no name in its directory at any time, and failures name the directory.
#include "core/io/spill_file.h"

#include <dirent.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"

namespace seriald {
namespace {

using ::testing::HasSubstr;

class SpillFileTest : public ::testing::Test {
 protected:
  // The names in the directory, "." and ".." aside.
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    DIR* dir = ::opendir(dir_.c_str());
    if (dir == nullptr) return names;
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(dir);
    return names;
  }

  testing::ScratchDir scratch_;
  const std::string dir_ = scratch_.path();
};

TEST_F(SpillFileTest, AppendedPiecesComeBackAsOneMappingOfAnUnnamedFile) {
  absl::StatusOr<SpillFile> spill = SpillFile::Create(dir_);
  ASSERT_TRUE(spill.ok()) << spill.status();
  EXPECT_TRUE(Names().empty());
  std::string expected;
  std::vector<std::string> pieces;
  for (int i = 0; i < 300; ++i) {
    // Pieces of odd sizes, some larger than a page, some empty.
    pieces.emplace_back(static_cast<size_t>(i % 7 == 0 ? 0 : i * 37 + 1),
                        static_cast<char>('a' + i % 26));
    expected += pieces.back();
  }
  // One piece at a time, then the rest in one call: more pieces than one system call takes.
  for (int i = 0; i < 10; ++i) {
    const std::string_view piece = pieces[i];
    ASSERT_TRUE(spill->Append(absl::MakeConstSpan(&piece, 1)).ok());
  }
  const std::vector<std::string_view> rest(pieces.begin() + 10, pieces.end());
  ASSERT_TRUE(spill->Append(rest).ok());
  EXPECT_EQ(spill->size(), expected.size());
  absl::StatusOr<Buffer> mapped = std::move(*spill).Map();
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(mapped->view(), expected);
  EXPECT_TRUE(Names().empty());
  // Its pages can be given back and come again from the file.
  mapped->DropPages();
  EXPECT_EQ(mapped->view(), expected);
  const Buffer slice = mapped->Slice(5000, 100);
  *mapped = Buffer();
  EXPECT_EQ(slice.view(), expected.substr(5000, 100));
}

TEST_F(SpillFileTest, WriteAtWritesOverWhatWasAppendedAndNothingPastIt) {
  absl::StatusOr<SpillFile> spill = SpillFile::Create(dir_);
  ASSERT_TRUE(spill.ok()) << spill.status();
  const std::string_view bytes = "abcdef";
  ASSERT_TRUE(spill->Append(absl::MakeConstSpan(&bytes, 1)).ok());
  ASSERT_TRUE(spill->WriteAt(2, "XY").ok());
  // Appending goes on at the end, not after what was written over.
  const std::string_view more = "gh";
  ASSERT_TRUE(spill->Append(absl::MakeConstSpan(&more, 1)).ok());
  absl::Status past = spill->WriteAt(7, "ZZ");
  EXPECT_EQ(past.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(past.message(), ::testing::HasSubstr("at byte 7 past its 8 bytes"));
  EXPECT_EQ(spill->size(), 8u);
  absl::StatusOr<Buffer> mapped = std::move(*spill).Map();
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(mapped->view(), "abXYefgh");
}

TEST_F(SpillFileTest, AnEmptyFileMapsToAnEmptyBuffer) {
  absl::StatusOr<SpillFile> spill = SpillFile::Create(dir_);
  ASSERT_TRUE(spill.ok()) << spill.status();
  absl::StatusOr<Buffer> mapped = std::move(*spill).Map();
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_TRUE(mapped->empty());
}

// INTERNAL, not NOT_FOUND: a server whose spill directory went away must not tell its client that
// something the client named is missing.
TEST_F(SpillFileTest, AMissingDirectoryIsNamedAsAnInternalError) {
  absl::StatusOr<SpillFile> spill = SpillFile::Create(dir_ + "/missing");
  ASSERT_FALSE(spill.ok());
  EXPECT_EQ(spill.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(spill.status().message(),
              HasSubstr("cannot create a spill file in " + dir_ + "/missing: "));
}

}  // namespace
}  // namespace seriald
