// R files through everything around the core, on the corpus R wrote (the rds_corpus fixture):
//   * the JSON form is lossless: every corpus stream read, turned into JSON and back, is the
//     same Value and writes the same bytes;
//   * serialctl converts and inspects R files with the documented exit codes and one-line errors
//     (byte offsets) for truncated, corrupt and hostile input;
//   * the service converts R inputs exactly as a local run does (C++ and Python clients);
//   * ALTREP stays compact from version 3 to version 3 (1:1e6 stays 133 bytes) and R reads the
//     expanded version 2 form back identical().
#include <signal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/format/codec.h"
#include "core/io/file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/json_codec.h"
#include "proto/value_json.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"

namespace seriald {
namespace {

namespace fs = std::filesystem;
using ::seriald::testing::RunProgram;
using ::seriald::testing::RunResult;
using ::seriald::testing::Subprocess;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const fs::path kCorpus = fs::path(SERIALD_BINARY_DIR) / "rds_corpus";
const std::string kSerialctl = SERIALD_BINARY_DIR "/bin/serialctl";
const std::string kSeriald = SERIALD_BINARY_DIR "/bin/seriald";
const std::string kPythonClient = SERIALD_SOURCE_DIR "/client/python/seriald_client.py";

std::string Slurp(const fs::path& path) { return ::seriald::testing::ReadBytes(path.string()); }
void Spill(const fs::path& path, const std::string& bytes) {
  ::seriald::testing::WriteBytes(path.string(), bytes);
}

// Corpus object directories, sorted.
std::vector<fs::path> Objects() {
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    if (entry.is_directory() && entry.path().filename().string()[0] != '_') {
      dirs.push_back(entry.path());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

class RdsServiceInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::setenv("SERIALD_PYTHON_PATH", SERIALD_BINARY_DIR "/python", 1); }

  void SetUp() override {
    ASSERT_TRUE(fs::exists(kCorpus / "manifest.tsv")) << "the rds_corpus fixture makes " << kCorpus;
    dir_ = fs::path(::testing::TempDir()) / absl::StrCat("rds_service_", ::getpid());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_F(RdsServiceInteropTest, JsonFormIsLosslessForTheWholeCorpus) {
  CodecRegistry registry = CoreCodecs();
  RegisterJsonCodec(registry);
  int checked = 0;
  for (const fs::path& object : Objects()) {
    for (const char* variant : {"xdr_v3.bin", "bin_v2.bin", "ascii_v3.txt"}) {
      const fs::path path = object / variant;
      if (!fs::exists(path)) continue;
      absl::StatusOr<Buffer> input = ReadFile(path.string());
      ASSERT_TRUE(input.ok()) << input.status();
      absl::StatusOr<Value> value = ReadAs(registry, "", *input, ReadOptions{});
      ASSERT_TRUE(value.ok()) << path << ": " << value.status();
      absl::StatusOr<std::string> json = ValueToJson(*value, /*pretty=*/false);
      ASSERT_TRUE(json.ok()) << path << ": " << json.status();
      absl::StatusOr<Value> back = ValueFromJson(*json);
      ASSERT_TRUE(back.ok()) << path << ": " << back.status();
      EXPECT_TRUE(*back == *value) << path << ": the JSON round trip changed the value";
      for (const char* format : {"rds", "rds-native"}) {
        absl::StatusOr<BufferChain> direct = WriteAs(registry, format, *value, WriteOptions{});
        absl::StatusOr<BufferChain> via_json = WriteAs(registry, format, *back, WriteOptions{});
        ASSERT_TRUE(direct.ok() && via_json.ok()) << path;
        EXPECT_EQ(direct->ToString(), via_json->ToString()) << path << " as " << format;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 600);
}

TEST_F(RdsServiceInteropTest, SerialctlConvertsAndInspectsRFiles) {
  // Every variant of one object converts to R's own bytes for the other encodings.
  const fs::path iris = kCorpus / "datasets_iris";
  struct Case {
    const char* to;
    const char* version;
    const char* expected;
  } cases[] = {{"rds", "3", "xdr_v3.bin"},
               {"rds", "2", "xdr_v2.bin"},
               {"rds-native", "3", "bin_v3.bin"},
               {"rds-ascii", "2", "ascii_v2.txt"},
               {"rds-asciihex", "3", "asciihex_v3.txt"}};
  for (const Case& c : cases) {
    RunResult r = RunProgram({kSerialctl, "convert", "--to", c.to, "--version", c.version,
                              (iris / "bin_v2.bin").string(), (dir_ / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Slurp(dir_ / "out"), Slurp(iris / c.expected)) << c.to << " v" << c.version;
  }
  // gzip-compressed saveRDS output is what R's saveRDS writes.
  RunResult gz = RunProgram({kSerialctl, "convert", "--to", "rds", "--compress", "gzip",
                             (iris / "xdr_v3.bin").string(), (dir_ / "iris.rds").string()});
  ASSERT_EQ(gz.exit_code, 0) << gz.err;
  EXPECT_EQ(Slurp(dir_ / "iris.rds"), Slurp(iris / "rds_v3_gz.rds"));

  RunResult inspect = RunProgram({kSerialctl, "inspect", (iris / "rds_v3_gz.rds").string()});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_THAT(inspect.out, HasSubstr("format: rds (detected)"));
  EXPECT_THAT(inspect.out, HasSubstr("compression gzip"));
  EXPECT_THAT(inspect.out, HasSubstr("$Sepal.Length = num [1:150] 5.1 4.9"));
  EXPECT_THAT(inspect.out, HasSubstr("attr(\"class\") = chr \"data.frame\""));
}

// One line on stderr naming the byte offset, exit status 1.
void ExpectInputError(const RunResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, StartsWith("serialctl: "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(needle));
}

TEST_F(RdsServiceInteropTest, SerialctlRefusesBadRInputWithTheOffset) {
  const std::string stream = Slurp(kCorpus / "datasets_iris" / "xdr_v3.bin");
  for (size_t cut : {size_t{1}, size_t{20}, stream.size() / 2, stream.size() - 1}) {
    Spill(dir_ / "cut.rds", stream.substr(0, cut));
    ExpectInputError(RunProgram({kSerialctl, "convert", "--from", "rds", "--to", "json",
                                 (dir_ / "cut.rds").string(), "-"}),
                     "at byte");
  }
  // An unknown SEXP type right after the header.
  std::string unknown = stream.substr(0, 23) + std::string("\x00\x00\x00\x1e", 4);
  Spill(dir_ / "unknown.rds", unknown);
  ExpectInputError(
      RunProgram({kSerialctl, "convert", "--to", "json", (dir_ / "unknown.rds").string(), "-"}),
      "at byte 23");
  // A vector claiming 2^31-1 doubles in a tiny file.
  std::string huge = stream.substr(0, 23) + std::string("\x00\x00\x00\x0e\x7f\xff\xff\xff", 8);
  Spill(dir_ / "huge.rds", huge);
  ExpectInputError(
      RunProgram({kSerialctl, "convert", "--to", "json", (dir_ / "huge.rds").string(), "-"}),
      "at byte");
  // A reference to a table slot that does not exist.
  std::string dangling = stream.substr(0, 23) + std::string("\x00\x00\x05\xff", 4);
  Spill(dir_ / "ref.rds", dangling);
  ExpectInputError(
      RunProgram({kSerialctl, "convert", "--to", "json", (dir_ / "ref.rds").string(), "-"}),
      "at byte 23");
  // Corrupt gzip data.
  std::string gz = Slurp(kCorpus / "datasets_iris" / "rds_v3_gz.rds");
  gz[gz.size() / 2] ^= 0x55;
  gz[gz.size() / 2 + 1] ^= 0x55;
  Spill(dir_ / "bad.rds", gz);
  RunResult bad =
      RunProgram({kSerialctl, "convert", "--to", "json", (dir_ / "bad.rds").string(), "-"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
}

TEST_F(RdsServiceInteropTest, AltrepStaysCompactAndExpandsForVersion2) {
  const fs::path seq = dir_ / "seq.rds";
  RunResult made =
      RunProgram({"/usr/bin/Rscript", "-e",
                  absl::StrCat("writeBin(serialize(1:1e6, NULL), '", seq.string(), "')")});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  ASSERT_EQ(fs::file_size(seq), 133u);
  ASSERT_EQ(
      RunProgram({kSerialctl, "convert", "--to", "rds", seq.string(), (dir_ / "v3.rds").string()})
          .exit_code,
      0);
  EXPECT_EQ(fs::file_size(dir_ / "v3.rds"), 133u);
  EXPECT_EQ(Slurp(dir_ / "v3.rds"), Slurp(seq));
  ASSERT_EQ(RunProgram({kSerialctl, "convert", "--to", "rds", "--version", "2", seq.string(),
                        (dir_ / "v2.rds").string()})
                .exit_code,
            0);
  EXPECT_EQ(fs::file_size(dir_ / "v2.rds"), 4000022u);
  RunResult check =
      RunProgram({"/usr/bin/Rscript", "-e",
                  absl::StrCat("x <- unserialize(readBin('", (dir_ / "v2.rds").string(),
                               "', 'raw', 5e6)); cat(identical(x, 1:1e6))")});
  EXPECT_EQ(check.out, "TRUE") << check.err;
}

TEST_F(RdsServiceInteropTest, ServiceConvertsRInputsLikeALocalRun) {
  auto server = Subprocess::Start({kSeriald, "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.status();
  std::optional<std::string> line = (*server)->WaitForStdoutLine("listening on", absl::Seconds(30));
  ASSERT_TRUE(line.has_value()) << (*server)->stderr_text();
  const std::string address = line->substr(line->rfind(' ') + 1);

  int compared = 0;
  for (const char* name : {"datasets_iris", "env_cyclic", "closure_bytecode", "s4_simple",
                           "altrep_wrap_compact_names", "chr_latin1", "refhook_env"}) {
    const fs::path object = kCorpus / name;
    if (!fs::exists(object)) {
      ADD_FAILURE() << "corpus object " << name << " is missing";
      continue;
    }
    for (const char* variant : {"xdr_v3.bin", "ascii_v2.txt"}) {
      for (const char* to : {"rds", "rds-native", "rds-asciihex", "json"}) {
        const std::string in = (object / variant).string();
        RunResult local = RunProgram({kSerialctl, "convert", "--to", to, in, "-"});
        RunResult cpp =
            RunProgram({kSerialctl, "--server", address, "convert", "--to", to, in, "-"});
        RunResult python = RunProgram({"/usr/bin/python3", kPythonClient, "--server", address,
                                       "convert", in, "-", "--to", to});
        ASSERT_EQ(local.exit_code, 0) << name << " " << local.err;
        EXPECT_EQ(cpp.exit_code, 0) << cpp.err;
        EXPECT_EQ(python.exit_code, 0) << python.err;
        EXPECT_EQ(cpp.out, local.out) << name << "/" << variant << " -> " << to << " (C++)";
        EXPECT_EQ(python.out, local.out) << name << "/" << variant << " -> " << to << " (Python)";
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 56);

  // Malformed R input through the service: exit 1, the same one-line message as locally.
  Spill(dir_ / "cut.rds", Slurp(kCorpus / "datasets_iris" / "xdr_v3.bin").substr(0, 40));
  RunResult local =
      RunProgram({kSerialctl, "convert", "--to", "json", (dir_ / "cut.rds").string(), "-"});
  RunResult remote = RunProgram({kSerialctl, "--server", address, "convert", "--to", "json",
                                 (dir_ / "cut.rds").string(), "-"});
  EXPECT_EQ(remote.exit_code, 1);
  EXPECT_EQ(remote.err, local.err);
  EXPECT_THAT(remote.err, HasSubstr("at byte"));

  (*server)->Signal(SIGTERM);
  EXPECT_EQ((*server)->Wait(absl::Seconds(30)), 0);
}

}  // namespace
}  // namespace seriald
