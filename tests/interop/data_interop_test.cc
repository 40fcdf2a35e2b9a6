// Plain data against R itself, on files R wrote: every object of the gen.R corpus (its XDR
// version-3 stream) and every .rds installed under R's library directories goes R -> plain data ->
// R, and R judges the result identical() to what it reads from the source. Objects holding
// something without a plain form (closures, environments, formulas...) must be refused by name
// instead; they are counted, not skipped silently. One batched Rscript run answers for all files.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/data/mapping.h"
#include "core/format/codec.h"
#include "core/io/byte_writer.h"
#include "core/io/file.h"
#include "core/rds/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace seriald {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kCorpus = fs::path(SERIALD_BINARY_DIR) / "rds_corpus";
const fs::path kWork = fs::path(SERIALD_BINARY_DIR) / "data_interop";

// The files R wrote: one stream per corpus object, then the installed .rds files.
std::vector<fs::path> RFiles() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    const fs::path stream = entry.path() / "xdr_v3.bin";
    if (fs::exists(stream)) files.push_back(stream);
  }
  for (const char* root :
       {"/usr/lib/R/library", "/usr/lib/R/site-library", "/usr/local/lib/R/site-library"}) {
    if (!fs::exists(root)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (entry.is_regular_file() && entry.path().extension() == ".rds") {
        files.push_back(entry.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Corpus objects that cannot come back identical, with the reason.
const std::map<std::string, std::string> kExpectedDifferences = {
    {"pairlist", "a pairlist's plain form is a list (as.list), written back as a list"},
    {"pairlist_long", "a pairlist's plain form is a list (as.list), written back as a list"},
};

bool HasOpaque(const data::Data& plain) {
  for (const data::Item& item : plain.items()) {
    if (item.kind() == data::ItemKind::kOpaque) return true;
  }
  return false;
}

TEST(DataInteropTest, RFilesComeBackIdenticalThroughPlainData) {
  fs::remove_all(kWork);
  fs::create_directories(kWork);
  const CodecRegistry registry = CoreCodecs();
  std::ofstream pairs(kWork / "pairs.tsv");
  int written = 0, refused = 0, corpus = 0;
  for (const fs::path& path : RFiles()) {
    absl::StatusOr<Buffer> input = ReadFile(path.string());
    ASSERT_TRUE(input.ok()) << path;
    absl::StatusOr<Value> value = ReadAs(registry, "rds", *input, ReadOptions{});
    ASSERT_TRUE(value.ok()) << path << ": " << value.status();
    absl::StatusOr<data::Data> plain = ToData(*value);
    ASSERT_TRUE(plain.ok()) << path << ": " << plain.status();
    absl::StatusOr<Value> back = FromData(*plain, DataFamily::kR);
    if (HasOpaque(*plain)) {
      // Refused, by name, or written when the opaque part is not reachable from the root.
      if (!back.ok()) {
        EXPECT_THAT(back.status().message(), HasSubstr("has no plain-data form")) << path;
        ++refused;
        continue;
      }
    }
    ASSERT_TRUE(back.ok()) << path << ": " << back.status();
    absl::StatusOr<BufferChain> bytes = WriteAs(registry, "rds", *back, WriteOptions{});
    ASSERT_TRUE(bytes.ok()) << path << ": " << bytes.status();
    const fs::path out = kWork / absl::StrCat(written, ".rds");
    std::ofstream(out, std::ios::binary) << bytes->ToString();
    pairs << path.string() << "\t" << out.string() << "\n";
    ++written;
    if (path.string().starts_with(kCorpus.string())) ++corpus;
  }
  pairs.close();
  // R reads both and compares; prints "different PATH" for each mismatch, then a count.
  const std::string script = R"(
pairs <- read.delim(file.path(Sys.getenv("WORK"), "pairs.tsv"), header = FALSE,
                    stringsAsFactors = FALSE)
# Persistent references (refhook_env) come back as references: each reads as its names.
hook <- function(names) names
reader <- function(p) if (grepl("\\.rds$", p)) readRDS(p, refhook = hook) else
  unserialize(readBin(p, "raw", file.size(p)), refhook = hook)
same <- 0L
for (i in seq_len(nrow(pairs))) {
  a <- reader(pairs[i, 1]); b <- readRDS(pairs[i, 2], refhook = hook)
  if (identical(a, b)) same <- same + 1L else cat("different", pairs[i, 1], "\n")
}
cat("identical", same, "of", nrow(pairs), "\n")
)";
  testing::RunResult r = testing::RunProgram(
      {"/usr/bin/env", absl::StrCat("WORK=", kWork.string()), "Rscript", "-e", script}, "",
      absl::Seconds(300));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int different = 0;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (!absl::ConsumePrefix(&line, "different ")) continue;
    ++different;
    const std::string object =
        fs::path(std::string(absl::StripAsciiWhitespace(line))).parent_path().filename().string();
    EXPECT_TRUE(kExpectedDifferences.contains(object)) << "not identical in R: " << line;
  }
  EXPECT_EQ(different, static_cast<int>(kExpectedDifferences.size())) << r.out;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("identical ", written - different, " of ", written)));
  EXPECT_GE(corpus, 150);
  EXPECT_GE(written + refused, 300);
  RecordProperty("written", written);
  RecordProperty("refused", refused);
  std::printf(
      "%d files R -> data -> R identical() in R (%d from the corpus); %d refused for "
      "opaque parts\n",
      written, corpus, refused);
}

TEST(DataInteropTest, NamesKeptAsAltrepAreNamesStill) {
  // An lm fit's residuals carry their names as an ALTREP object (R 4.2).
  fs::create_directories(kWork);
  const fs::path file = kWork / "residuals.rds";
  testing::RunResult r = testing::RunProgram(
      {"/usr/bin/Rscript", "-e",
       absl::StrCat("saveRDS(lm(mpg ~ wt, mtcars)$residuals, '", file.string(), "')")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  absl::StatusOr<Buffer> input = ReadFile(file.string());
  ASSERT_TRUE(input.ok());
  absl::StatusOr<Value> value = ReadAs(CoreCodecs(), "rds", *input, ReadOptions{});
  ASSERT_TRUE(value.ok()) << value.status();
  absl::StatusOr<data::Data> plain = ToData(*value);
  ASSERT_TRUE(plain.ok()) << plain.status();
  const data::Item& root = plain->item(plain->roots()[0]);
  EXPECT_TRUE(root.attributes.empty());
  ASSERT_NE(root.names, kNoItem);
  const auto* names = plain->GetIf<data::Strings>(root.names);
  ASSERT_NE(names, nullptr);
  ASSERT_EQ(names->values.size(), 32u);
  EXPECT_EQ(names->values.Get(0).bytes, "Mazda RX4");
}

}  // namespace
}  // namespace seriald
