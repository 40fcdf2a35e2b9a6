// R's refhook with R as the oracle, both directions:
//   * R writes a list holding an environment its refhook named "myenv" (a persistent reference);
//     serialctl convert --resolve-reference myenv=FILE (locally and through a seriald server,
//     FILE in several R formats) must give the object R's unserialize(refhook = function(n)
//     readRDS(FILE)) gives: identical();
//   * seriald writes an environment and an external pointer as persistent references
//     (MakePersistentReferences): the bytes are those R's serialize(refhook =) writes for the
//     same names, the hook is asked about exactly the objects R's is, and R's
//     unserialize(refhook =) hands its hook exactly those names.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/io/buffer.h"
#include "core/io/byte_writer.h"
#include "core/io/file.h"
#include "core/rds/reader.h"
#include "core/rds/refhook.h"
#include "core/rds/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"

namespace seriald {
namespace {

namespace fs = std::filesystem;
using testing::ReadBytes;
using testing::RunProgram;
using testing::RunResult;
using testing::Subprocess;
using testing::WriteBytes;

const std::string kSerialctl = SERIALD_BINARY_DIR "/bin/serialctl";
const std::string kSeriald = SERIALD_BINARY_DIR "/bin/seriald";

class RdsRefhookInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(SERIALD_BINARY_DIR) / "rds_refhook_interop" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  // Runs R code in the test's directory; fails the test unless R succeeds.
  std::string R(const std::string& code) {
    RunResult r =
        RunProgram({"/usr/bin/Rscript", "-e", absl::StrCat("setwd('", dir_.string(), "'); ", code)},
                   "", absl::Seconds(120));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(RdsRefhookInteropTest, ResolvedReferenceIsWhatRsUnserializeRefhookGives) {
  R("e <- new.env();"
    "hook <- function(x) if (identical(x, e)) 'myenv' else NULL;"
    "writeBin(serialize(list(a = 1, e = e, again = e), NULL, refhook = hook), 'in.rds');"
    "k <- list(k = 42, s = 'text', f = factor(c('u', 'v')));"
    "saveRDS(k, 'k.rds');"
    "saveRDS(k, 'k_ascii_xz.rds', ascii = TRUE, compress = 'xz');"
    "writeBin(serialize(k, NULL, xdr = FALSE), 'k_native.bin')");

  auto server = Subprocess::Start({kSeriald, "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.status();
  std::optional<std::string> line = (*server)->WaitForStdoutLine("listening on", absl::Seconds(30));
  ASSERT_TRUE(line.has_value()) << (*server)->stderr_text();
  const std::string address = line->substr(line->rfind(' ') + 1);

  std::vector<std::string> outputs;
  for (const std::string bound : {"k.rds", "k_ascii_xz.rds", "k_native.bin"}) {
    for (const bool remote : {false, true}) {
      for (const std::string to : {"rds", "rds-ascii"}) {
        const std::string out = absl::StrCat("out_", outputs.size(), ".rds");
        std::vector<std::string> argv = {kSerialctl};
        if (remote) argv.insert(argv.end(), {"--server", address});
        argv.insert(argv.end(), {"convert", "--to", to, "--resolve-reference",
                                 "myenv=" + Path(bound), Path("in.rds"), Path(out)});
        RunResult converted = RunProgram(argv);
        ASSERT_EQ(converted.exit_code, 0)
            << bound << (remote ? " remote " : " local ") << to << ": " << converted.err;
        outputs.push_back(out);
      }
    }
  }
  // Every output is what R's own refhook gives; R would give two copies of the list (the hook
  // runs at each PERSISTSXP), which identical() cannot tell from seriald's one shared list.
  std::string checks = absl::StrCat(
      "x <- unserialize(readBin('in.rds', 'raw', 1e6), refhook = function(n) {"
      "  stopifnot(identical(n, 'myenv')); readRDS('k.rds') });"
      "for (f in c('",
      absl::StrJoin(outputs, "', '"), "')) cat(identical(readRDS(f), x), '')");
  const std::string verdicts = R(checks);
  EXPECT_EQ(
      verdicts,
      absl::StrCat(absl::StrJoin(std::vector<std::string>(outputs.size(), "TRUE"), " "), " "));
  // A negative control: the reference left unresolved is not what R's hook gives.
  RunResult unresolved =
      RunProgram({kSerialctl, "convert", "--to", "rds", Path("in.rds"), Path("unresolved.rds")});
  ASSERT_EQ(unresolved.exit_code, 0) << unresolved.err;
  EXPECT_EQ(R("x <- unserialize(readBin('in.rds', 'raw', 1e6), refhook = function(n) 0);"
              "y <- unserialize(readBin('unresolved.rds', 'raw', 1e6), refhook = function(n) 1);"
              "cat(identical(x, y))"),
            "FALSE");
}

TEST_F(RdsRefhookInteropTest, WrittenReferencesAreWhatRsSerializeRefhookWrites) {
  R("e <- new.env(); assign('inside', 1:3, envir = e); p <- new('externalptr');"
    "x <- list(a = 1, e = e, p = p, again = e);"
    "saveRDS(x, 'plain.rds', compress = FALSE);"
    "asked <- c();"
    "hook <- function(o) { asked <<- c(asked, typeof(o));"
    "  if (identical(o, e)) c('myenv', 'v2') else if (identical(o, p)) 'ptr' else NULL };"
    "writeBin(serialize(x, NULL, refhook = hook), 'by_r.rds')");
  const std::string asked_by_r =
      R("e <- new.env(); p <- new('externalptr'); asked <- c();"
        "invisible(serialize(list(a = 1, e = e, p = p, again = e), NULL, refhook = function(o) {"
        "  asked <<- c(asked, typeof(o)); NULL }));"
        "cat(unique(asked))");

  absl::StatusOr<Buffer> input = ReadFile(Path("plain.rds"));
  ASSERT_TRUE(input.ok()) << input.status();
  absl::StatusOr<Value> value = ReadR(*input);
  ASSERT_TRUE(value.ok()) << value.status();
  std::vector<std::string> asked;
  absl::Status made = MakePersistentReferences(
      *value, [&](const Value& v, NodeId id) -> absl::StatusOr<std::optional<StringVector>> {
        const NodeKind kind = v.node(id).kind();
        asked.push_back(kind == NodeKind::kEnvironment ? "environment" : "externalptr");
        if (kind == NodeKind::kEnvironment) return PersistentNamesFromUtf8({"myenv", "v2"});
        if (kind == NodeKind::kExternalPointer) return PersistentNamesFromUtf8({"ptr"});
        return std::nullopt;
      });
  ASSERT_TRUE(made.ok()) << made;
  // R asks at every occurrence, seriald once per object: the same objects.
  EXPECT_EQ(absl::StrJoin(asked, " "), asked_by_r);

  ByteWriter out;
  ASSERT_TRUE(WriteR(*value, rds::SettingsFor(*value, RFormat::kXdr), out).ok());
  BufferChain bytes;
  ASSERT_TRUE(out.Finish(&bytes).ok());
  WriteBytes(Path("by_seriald.rds"), bytes.ToString());
  EXPECT_TRUE(ReadBytes(Path("by_seriald.rds")) == ReadBytes(Path("by_r.rds")));

  // R's unserialize hands its hook exactly the names seriald wrote, at each occurrence.
  EXPECT_EQ(R("seen <- list();"
              "x <- unserialize(readBin('by_seriald.rds', 'raw', 1e6), refhook = function(n) {"
              "  seen[[length(seen) + 1]] <<- n; length(seen) });"
              "cat(identical(seen, list(c('myenv', 'v2'), 'ptr', c('myenv', 'v2'))), '');"
              "cat(identical(x, list(a = 1, e = 1L, p = 2L, again = 3L)))"),
            "TRUE TRUE");
}

}  // namespace
}  // namespace seriald
