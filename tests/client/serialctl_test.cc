// Tests of serialctl as a user runs it: a subprocess, its standard streams, its exit status and
// the files it leaves.
#include <dirent.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <string>
#include <string_view>
#include <vector>

#include "core/inspect.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/value_json.h"
#include "tests/proto/sample_values.h"
#include "tests/testing/amplification_inputs.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald {
namespace {

using ::seriald::testing::NetExample;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kSerialctl[] = SERIALD_BINARY_DIR "/bin/serialctl";

using Result = ::seriald::testing::RunResult;
using ::seriald::testing::ReadBytes;
using ::seriald::testing::WriteBytes;

bool Exists(const std::string& path) { return ::seriald::testing::FileExists(path); }

class SerialctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "serialctl_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const std::string& name : Files()) ::unlink(Path(name).c_str());
    ::rmdir(dir_.c_str());
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // The names in the test's directory, hidden ones included.
  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir_.c_str())) {
      while (dirent* entry = ::readdir(d)) {
        std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(name);
      }
      ::closedir(d);
    }
    return names;
  }

  // Runs serialctl with `args`, `input` on its standard input.
  Result Run(const std::vector<std::string>& args, const std::string& input = "") {
    std::vector<std::string> argv = {kSerialctl};
    argv.insert(argv.end(), args.begin(), args.end());
    return ::seriald::testing::RunProgram(argv, input);
  }

  std::string dir_;
};

std::string NetJson(bool pretty) {
  absl::StatusOr<std::string> json = ValueToJson(NetExample(), pretty);
  EXPECT_TRUE(json.ok());
  return *json;
}

// One line on standard error, starting "serialctl: ".
void ExpectOneErrorLine(const Result& result) {
  EXPECT_THAT(result.err, StartsWith("serialctl: "));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_EQ(result.err.back(), '\n');
}

TEST_F(SerialctlTest, ConvertsJsonToJsonThroughFiles) {
  WriteBytes(Path("in.json"), NetJson(/*pretty=*/true));
  Result result = Run({"convert", "--to", "json", Path("in.json"), Path("out.json")});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(ReadBytes(Path("out.json")), NetJson(/*pretty=*/false) + "\n");

  Result pretty = Run(
      {"convert", "--from", "json", "--to", "json", "--pretty", Path("out.json"), Path("p.json")});
  EXPECT_EQ(pretty.exit_code, 0) << pretty.err;
  EXPECT_EQ(ReadBytes(Path("p.json")), NetJson(/*pretty=*/true));
  // No temporary files are left behind.
  EXPECT_THAT(Files(), ::testing::UnorderedElementsAre("in.json", "out.json", "p.json"));
}

TEST_F(SerialctlTest, ConvertsThroughStandardInputAndOutput) {
  Result result = Run({"convert", "--to", "json", "-", "-"}, NetJson(/*pretty=*/true));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out, NetJson(/*pretty=*/false) + "\n");
}

TEST_F(SerialctlTest, ReplacingAFileKeepsItsPermissions) {
  WriteBytes(Path("in.json"), NetJson(false));
  WriteBytes(Path("out.json"), "old");
  ASSERT_EQ(::chmod(Path("out.json").c_str(), 0640), 0);
  Result result = Run({"convert", "--to", "json", Path("in.json"), Path("out.json")});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(ReadBytes(Path("out.json")), NetJson(false) + "\n");
  struct stat info;
  ASSERT_EQ(::stat(Path("out.json").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0640u);
}

TEST_F(SerialctlTest, MalformedJsonFailsWithOneLineNamingTheOffset) {
  WriteBytes(Path("bad.json"), "{\"nodes\": [{\"nil\": {}},\n  {\"boolean\": tru}]}");
  Result result = Run({"convert", "--to", "json", Path("bad.json"), Path("out.json")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "serialctl: json: unexpected token at byte 38\n");
  EXPECT_EQ(result.out, "");
  EXPECT_FALSE(Exists(Path("out.json")));

  // An existing output is left as it was.
  WriteBytes(Path("out.json"), "previous");
  WriteBytes(Path("bad.json"), "{\"nodes\": [");
  result = Run({"convert", "--to", "json", Path("bad.json"), Path("out.json")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "serialctl: json: unexpected end of string. Expected a value or ] within an array "
            "at byte 11\n");
  EXPECT_EQ(ReadBytes(Path("out.json")), "previous");
  EXPECT_THAT(Files(), ::testing::UnorderedElementsAre("bad.json", "out.json"));
}

TEST_F(SerialctlTest, InconsistentJsonNamesTheNode) {
  WriteBytes(Path("bad.json"), R"({"nodes": [{"list": {"items": [0, 5]}}], "roots": [0]})");
  Result result = Run({"convert", "--to", "json", Path("bad.json"), "-"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "serialctl: json: node 0 (list): item 1 refers to node 5, but there are only 1 "
            "nodes\n");
  EXPECT_EQ(result.out, "");
}

TEST_F(SerialctlTest, UnrecognisedInputSaysWhatItIs) {
  WriteBytes(Path("model.pt"), std::string("PK\x03\x04rest of a zip", 17));
  Result result = Run({"inspect", Path("model.pt")});
  EXPECT_EQ(result.exit_code, 1);
  ExpectOneErrorLine(result);
  EXPECT_THAT(result.err, HasSubstr("it is a ZIP archive"));
  EXPECT_THAT(result.err, HasSubstr("json: first non-whitespace byte is not {"));

  // PyTorch's legacy format: a tar archive of "storages", "tensors" and "pickle" members.
  WriteBytes(Path("storages"), std::string(100, 'x'));
  ASSERT_EQ(::seriald::testing::RunProgram(
                {"/usr/bin/tar", "-cf", Path("legacy.pt"), "-C", dir_, "storages"})
                .exit_code,
            0);
  Result tar = Run({"inspect", Path("legacy.pt")});
  EXPECT_EQ(tar.exit_code, 1);
  ExpectOneErrorLine(tar);
  EXPECT_THAT(tar.err, HasSubstr("it is a tar archive, as PyTorch's torch.save wrote in its "
                                 "oldest (legacy tar) format"));
}

TEST_F(SerialctlTest, MissingInputFails) {
  Result result = Run({"convert", "--to", "json", Path("missing.json"), Path("out.json")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "serialctl: cannot open " + Path("missing.json") + ": No such file or directory\n");
  EXPECT_FALSE(Exists(Path("out.json")));
}

TEST_F(SerialctlTest, UnknownFormatIsAUsageError) {
  WriteBytes(Path("in.json"), NetJson(false));
  Result result = Run({"convert", "--to", "yaml", Path("in.json"), Path("out")});
  EXPECT_EQ(result.exit_code, 2);
  ExpectOneErrorLine(result);
  EXPECT_THAT(result.err, HasSubstr("--to: yaml not in {"));
  EXPECT_THAT(result.err, HasSubstr("json"));
  EXPECT_FALSE(Exists(Path("out")));

  Result from = Run({"inspect", "--from", "pickle", Path("in.json")});
  EXPECT_EQ(from.exit_code, 2);
  EXPECT_THAT(from.err, HasSubstr("--from: pickle not in {"));
}

TEST_F(SerialctlTest, OptionsForOtherFormatsAreUsageErrors) {
  WriteBytes(Path("in.json"), NetJson(false));
  Result long_size =
      Run({"convert", "--to", "json", "--long-size", "4", Path("in.json"), Path("out.json")});
  EXPECT_EQ(long_size.exit_code, 2);
  EXPECT_THAT(long_size.err, StartsWith("serialctl: --long-size applies only to Torch7 formats ("));
  EXPECT_THAT(long_size.err, HasSubstr("the output is json and the input format is detected\n"));
  ExpectOneErrorLine(long_size);
  EXPECT_FALSE(Exists(Path("out.json")));

  Result version =
      Run({"convert", "--to", "json", "--version", "2", Path("in.json"), Path("out.json")});
  EXPECT_EQ(version.exit_code, 2);
  EXPECT_THAT(version.err, StartsWith("serialctl: --version applies only to R output ("));
  EXPECT_THAT(version.err, HasSubstr("the output is json\n"));

  Result big_endian = Run({"inspect", "--big-endian", Path("in.json")});
  EXPECT_EQ(big_endian.exit_code, 2);
  EXPECT_THAT(big_endian.err, HasSubstr("--big-endian applies only to Torch7 formats"));
  EXPECT_THAT(big_endian.err, HasSubstr("there is no output and the input format is detected"));

  // Values outside the allowed set are caught by the parser.
  Result bad_value =
      Run({"convert", "--to", "json", "--compress", "zip", Path("in.json"), Path("out.json")});
  EXPECT_EQ(bad_value.exit_code, 2);
  EXPECT_THAT(bad_value.err, HasSubstr("--compress: zip not in {"));
  Result bad_depth = Run({"inspect", "--max-depth", "0", Path("in.json")});
  EXPECT_EQ(bad_depth.exit_code, 2);
  ExpectOneErrorLine(bad_depth);
}

TEST_F(SerialctlTest, MissingArgumentsAreUsageErrors) {
  Result nothing = Run({});
  EXPECT_EQ(nothing.exit_code, 2);
  ExpectOneErrorLine(nothing);
  EXPECT_THAT(nothing.err, HasSubstr("subcommand"));

  Result no_to = Run({"convert", "in", "out"});
  EXPECT_EQ(no_to.exit_code, 2);
  EXPECT_THAT(no_to.err, HasSubstr("--to is required"));

  Result no_out = Run({"convert", "--to", "json", "in"});
  EXPECT_EQ(no_out.exit_code, 2);
  EXPECT_THAT(no_out.err, HasSubstr("OUT is required"));
}

TEST_F(SerialctlTest, HelpListsSubcommandsOptionsAndFormats) {
  Result top = Run({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_EQ(top.err, "");
  for (const char* text : {"convert", "inspect", "Formats (for --from and --to):", "  json"}) {
    EXPECT_THAT(top.out, HasSubstr(text));
  }
  Result convert = Run({"convert", "--help"});
  EXPECT_EQ(convert.exit_code, 0);
  for (const char* option : {"--from", "--to", "--long-size", "--big-endian", "--unreferenced",
                             "--version", "--compress", "--max-depth", "--max-decompressed-bytes",
                             "--pretty", "IN", "OUT", "none|gzip|bzip2|xz", "  json"}) {
    EXPECT_THAT(convert.out, HasSubstr(option));
  }
  Result inspect = Run({"inspect", "--help"});
  EXPECT_EQ(inspect.exit_code, 0);
  for (const char* option : {"--from", "--long-size", "--big-endian", "--max-depth", "IN"}) {
    EXPECT_THAT(inspect.out, HasSubstr(option));
  }
  EXPECT_THAT(inspect.out, ::testing::Not(HasSubstr("--pretty")));
}

// "580a" -> "X\n".
std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// R 4.2.2: e <- new.env(); serialize(list(a = 1, e = e), NULL, refhook = function(x)
// if (identical(x, e)) "myenv" else NULL).
constexpr char kListWithReference[] =
    "580a000000030004020200030500000000055554462d3800000213000000020000000e000000013ff00000000000"
    "00000000f7000000000000000100040009000000056d79656e760000040200000001000400090000000"
    "56e616d65730000001000000002000400090000000161000400090000000165000000fe";
// serialize(list(k = 42), NULL)
constexpr char kBoundList[] =
    "580a000000030004020200030500000000055554462d3800000213000000010000000e0000000140450000000000"
    "0000000402000000010004000900000005"
    "6e616d6573000000100000000100040009000000016b000000fe";
// serialize(list(a = 1, e = list(k = 42)), NULL)
constexpr char kListWithBoundList[] =
    "580a000000030004020200030500000000055554462d3800000213000000020000000e000000013ff00000000000"
    "0000000213000000010000000e000000014045000000000000000004020000000100040009000000056e616d6573"
    "000000100000000100040009000000016b000000fe00000402000001ff000000100000000200040009000000016100"
    "0400090000000165000000fe";

TEST_F(SerialctlTest, ResolveReferenceBindsPersistentReferencesToAFile) {
  WriteBytes(Path("in.rds"), Hex(kListWithReference));
  WriteBytes(Path("k.rds"), Hex(kBoundList));
  Result bound = Run({"convert", "--to", "rds", "--resolve-reference", "myenv=" + Path("k.rds"),
                      Path("in.rds"), Path("out.rds")});
  ASSERT_EQ(bound.exit_code, 0) << bound.err;
  EXPECT_EQ(bound.err, "");
  EXPECT_EQ(ReadBytes(Path("out.rds")), Hex(kListWithBoundList));

  // Names that match nothing leave the reference; several bindings may be given.
  Result other = Run({"convert", "--to", "rds", "--resolve-reference", "a,b=" + Path("k.rds"),
                      "--resolve-reference", "c=" + Path("k.rds"), Path("in.rds"), "-"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(other.out, Hex(kListWithReference));

  // No "=": a usage error, and no output.
  Result malformed =
      Run({"convert", "--to", "rds", "--resolve-reference", "myenv", Path("in.rds"), Path("x")});
  EXPECT_EQ(malformed.exit_code, 2);
  ExpectOneErrorLine(malformed);
  EXPECT_THAT(malformed.err, HasSubstr("--resolve-reference takes NAMES=FILE"));
  EXPECT_FALSE(Exists(Path("x")));
  Result no_file =
      Run({"convert", "--to", "rds", "--resolve-reference", "myenv=", Path("in.rds"), Path("x")});
  EXPECT_EQ(no_file.exit_code, 2);

  // A file that is not R fails the conversion, naming the option.
  Result not_r = Run({"convert", "--to", "rds", "--resolve-reference",
                      "myenv=" + Path("in.rds") + "x", Path("in.rds"), Path("x")});
  EXPECT_EQ(not_r.exit_code, 1);
  ExpectOneErrorLine(not_r);
  EXPECT_THAT(not_r.err, HasSubstr("--resolve-reference myenv="));
  EXPECT_FALSE(Exists(Path("x")));

  Result help = Run({"convert", "--help"});
  EXPECT_THAT(help.out, HasSubstr("--resolve-reference NAMES=FILE"));
}

TEST_F(SerialctlTest, InspectPrintsTheFactsAndTheTree) {
  WriteBytes(Path("net.json"), NetJson(true));
  Result result = Run({"inspect", Path("net.json")});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out,
            "format: json (detected)\n"
            "torch7: binary, 8-byte longs, little-endian\n"
            "nodes: 9\n"
            "roots: 1 (node 0)\n"
            "\n" +
                Inspect(NetExample()));

  Result from_stdin = Run({"inspect", "--from", "json", "-"}, NetJson(false));
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_THAT(from_stdin.out, StartsWith("format: json (--from)\n"));
}

TEST_F(SerialctlTest, InspectShowsRStreamFactsAndSeveralRoots) {
  Value value;
  value.roots() = {value.Add(Nil{}), value.Add(Nil{}), 0};
  value.source().r =
      RStreamInfo{RFormat::kXdr, 3, 0x00040202, 0x00030500, "UTF-8", RCompression::kGzip, ""};
  WriteBytes(Path("r.json"), *ValueToJson(value, false));
  Result result = Run({"inspect", Path("r.json")});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out,
              StartsWith("format: json (detected)\n"
                         "r: xdr (X), version 3, written by R 4.2.2, readable by R >= 3.5.0, "
                         "native encoding UTF-8, compression gzip\n"
                         "nodes: 2\n"
                         "roots: 3 (nodes 0, 1, 0)\n\n"));
}

TEST_F(SerialctlTest, Torch7AndJsonConvertBothWays) {
  // Needs the Torch7 codecs; a build without them skips this.
  WriteBytes(Path("net.json"), NetJson(false));
  Result to_t7 = Run({"convert", "--to", "t7", Path("net.json"), Path("net.t7")});
  if (to_t7.exit_code == 2 && to_t7.err.find("not in {") != std::string::npos) {
    GTEST_SKIP() << "no t7 format in this build";
  }
  ASSERT_EQ(to_t7.exit_code, 0) << to_t7.err;
  Result to_json = Run({"convert", "--to", "json", Path("net.t7"), Path("back.json")});
  ASSERT_EQ(to_json.exit_code, 0) << to_json.err;
  Result again = Run({"convert", "--to", "t7", Path("back.json"), Path("again.t7")});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(ReadBytes(Path("again.t7")), ReadBytes(Path("net.t7")));

  // Layout options apply to Torch7 output, and to the input when --from names Torch7.
  Result small_longs = Run({"convert", "--to", "t7", "--long-size", "4", "--big-endian",
                            Path("net.json"), Path("small.t7")});
  ASSERT_EQ(small_longs.exit_code, 0) << small_longs.err;
  Result facts = Run({"inspect", Path("small.t7")});
  EXPECT_EQ(facts.exit_code, 0) << facts.err;
  EXPECT_THAT(facts.out, HasSubstr("torch7: binary, 4-byte longs, big-endian\n"));
  Result forced = Run({"convert", "--from", "t7", "--long-size", "4", "--big-endian", "--to",
                       "json", Path("small.t7"), "-"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
}

// Small inputs that stand for huge outputs (tests/testing/amplification_inputs.h): refused before
// the output is produced, or written to the file as produced, in little memory.
TEST_F(SerialctlTest, AmplifyingInputsAreRefusedOrStreamedInLittleMemory) {
  using ::seriald::testing::HexBytes;
  WriteBytes(Path("real.rds"), HexBytes(::seriald::testing::kCompactRealSeqHex));
  WriteBytes(Path("int.rds"), HexBytes(::seriald::testing::kCompactIntSeqHex));
  WriteBytes(Path("zeros.rds"), HexBytes(::seriald::testing::kBzip2ZerosHex));

  // 2^52 doubles as version 2: refused before a byte is written, and no output file.
  Result real = Run({"convert", "--version", "2", "--to", "rds", Path("real.rds"), Path("o1")});
  EXPECT_EQ(real.exit_code, 1);
  ExpectOneErrorLine(real);
  EXPECT_THAT(real.err, HasSubstr("an ALTREP vector of 4503599627370496 elements expands to "
                                  "more than the 68719476736-byte output limit "
                                  "(--max-output-bytes)"));
  EXPECT_EQ(::access(Path("o1").c_str(), F_OK), -1);

  // 168 MB of integers from 133 bytes: written as produced, so serialctl's own memory stays far
  // below the output's size; and refused with a smaller --max-output-bytes (units accepted).
  Result ints = Run({"convert", "--version", "2", "--to", "rds", Path("int.rds"), Path("o2")});
  EXPECT_EQ(ints.exit_code, 0) << ints.err;
  struct stat info;
  ASSERT_EQ(::stat(Path("o2").c_str(), &info), 0);
  EXPECT_EQ(info.st_size, 14 + 4 + 4 + 42000004 * 4);  // header, flags, length, integers
  rusage usage;
  ASSERT_EQ(::getrusage(RUSAGE_CHILDREN, &usage), 0);
  EXPECT_LT(usage.ru_maxrss, 100 * 1024) << "KiB: serialctl held the output in memory";
  Result capped = Run({"convert", "--version", "2", "--max-output-bytes", "1MiB", "--to", "rds",
                       Path("int.rds"), Path("o3")});
  EXPECT_EQ(capped.exit_code, 1);
  EXPECT_THAT(capped.err, HasSubstr("more than the 1048576-byte output limit"));

  // 826 bytes of bzip2 holding 1 GiB: stopped at 64 MiB decompressed.
  Result bomb = Run({"convert", "--to", "json", Path("zeros.rds"), Path("o4")});
  EXPECT_EQ(bomb.exit_code, 1);
  EXPECT_THAT(bomb.err, HasSubstr("bzip2 input of 826 bytes decompresses to more than 67108864 "
                                  "bytes, 4096 times its size (--max-decompression-ratio)"));
  // Sizes take units; an explicit absolute limit is honoured too.
  Result absolute = Run({"convert", "--max-decompression-ratio", "0",
                         "--max-decompressed-bytes", "16MiB", "--to", "json", Path("zeros.rds"),
                         Path("o5")});
  EXPECT_EQ(absolute.exit_code, 1);
  EXPECT_THAT(absolute.err, HasSubstr("decompresses to more than 16777216 bytes "
                                      "(--max-decompressed-bytes)"));
}

// A little-endian torch.FloatTensor stream of `count` elements (element i holds i), written a
// MiB at a time so that this process never holds it: a forked child's peak RSS counts the
// parent's pages.
void WriteFloatTensorFile(const std::string& path, uint64_t count) {
  FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  const std::string header = ::seriald::testing::FloatTensorHeader(count);
  ASSERT_EQ(std::fwrite(header.data(), 1, header.size(), file), header.size());
  std::vector<float> chunk(1 << 18);
  for (uint64_t done = 0; done < count;) {
    const uint64_t n = std::min<uint64_t>(chunk.size(), count - done);
    for (uint64_t i = 0; i < n; ++i) chunk[i] = static_cast<float>(done + i);
    ASSERT_EQ(std::fwrite(chunk.data(), 4, n, file), n);
    done += n;
  }
  ASSERT_EQ(std::fclose(file), 0);
}

// The `size` bytes of `path` at `offset`.
std::string BytesAt(const std::string& path, uint64_t offset, size_t size) {
  std::string bytes(size, '\0');
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return "";
  std::fseek(file, static_cast<long>(offset), SEEK_SET);
  bytes.resize(std::fread(bytes.data(), 1, size, file));
  std::fclose(file);
  return bytes;
}

bool SameFileContents(const std::string& a, const std::string& b) {
  FILE* fa = std::fopen(a.c_str(), "rb");
  FILE* fb = std::fopen(b.c_str(), "rb");
  bool same = fa != nullptr && fb != nullptr;
  std::vector<char> ba(1 << 20), bb(1 << 20);
  while (same) {
    const size_t na = std::fread(ba.data(), 1, ba.size(), fa);
    const size_t nb = std::fread(bb.data(), 1, bb.size(), fb);
    same = na == nb && std::memcmp(ba.data(), bb.data(), na) == 0;
    if (na == 0) break;
  }
  if (fa != nullptr) std::fclose(fa);
  if (fb != nullptr) std::fclose(fb);
  return same;
}

TEST_F(SerialctlTest, Torch7ConversionsHoldLittleOfALargeInput) {
  // A 96 MiB tensor converted within Torch7 (the same bytes, or the other byte order) streams
  // from the mapped input to the output file: the input's pages are given back behind the
  // writer, so serialctl's peak RSS stays far below the file's size.
  const uint64_t count = uint64_t{24} << 20;
  WriteFloatTensorFile(Path("in.t7"), count);
  const uint64_t header = ::seriald::testing::FloatTensorHeader(count).size();

  Result same = Run({"convert", "--to", "t7", Path("in.t7"), Path("same.t7")});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  Result big = Run({"convert", "--to", "t7", "--byte-order", "big", Path("in.t7"), Path("big.t7")});
  ASSERT_EQ(big.exit_code, 0) << big.err;
  rusage usage;
  ASSERT_EQ(::getrusage(RUSAGE_CHILDREN, &usage), 0);
  EXPECT_LT(usage.ru_maxrss, 48 * 1024) << "KiB: serialctl held the input resident";

  EXPECT_TRUE(SameFileContents(Path("in.t7"), Path("same.t7")));
  struct stat info;
  ASSERT_EQ(::stat(Path("big.t7").c_str(), &info), 0);
  EXPECT_EQ(static_cast<uint64_t>(info.st_size), header + 4 * count);
  EXPECT_EQ(BytesAt(Path("big.t7"), 0, header),
            ::seriald::testing::FloatTensorHeader(count, /*big_endian=*/true));
  // Element 1 is 1.0f (0x3f800000) and the last is 25165823 as a float (25165824.0f,
  // 0x4bc00000), now big-endian.
  EXPECT_EQ(BytesAt(Path("big.t7"), header + 4, 4), std::string("\x3f\x80\x00\x00", 4));
  EXPECT_EQ(BytesAt(Path("big.t7"), header + 4 * (count - 1), 4),
            std::string("\x4b\xc0\x00\x00", 4));
}

}  // namespace
}  // namespace seriald
