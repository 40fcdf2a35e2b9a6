// serialctl on real Torch7 files, as a user runs it: byte-exact conversions between every layout,
// inspection, and one-line errors with byte offsets for inputs that are not (whole) Torch7 files.
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"

namespace seriald {
namespace {

using ::seriald::testing::ReadBytes;
using ::seriald::testing::RunProgram;
using ::seriald::testing::RunResult;
using ::seriald::testing::WriteBytes;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

const std::string kSerialctl = SERIALD_BINARY_DIR "/bin/serialctl";
const std::string kCorpus = SERIALD_SHARED_DIR "/corpus/torch7";

std::vector<std::string> Files(const std::string& directory, const std::string& suffix) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(directory.c_str())) {
    while (dirent* entry = ::readdir(d)) {
      std::string name = entry->d_name;
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        names.push_back(name);
      }
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class SerialctlTorch7Test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "serialctl_torch7_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const std::string& name : Files(dir_, "")) ::unlink((dir_ + "/" + name).c_str());
    ::rmdir(dir_.c_str());
  }

  // Converts `in` with `args` and returns the output bytes (failing the test on error).
  std::string Convert(const std::string& in, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kSerialctl, "convert"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(in);
    argv.push_back(dir_ + "/out");
    RunResult result = RunProgram(argv);
    EXPECT_EQ(result.exit_code, 0) << in << ": " << result.err;
    return ReadBytes(dir_ + "/out");
  }

  std::string dir_;
};

// One line on standard error naming a byte offset, exit status 1, no output file.
void ExpectInputError(const RunResult& result, const std::string& problem) {
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, StartsWith("serialctl: "));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_THAT(result.err, HasSubstr(problem));
}

TEST_F(SerialctlTorch7Test, EveryGeneratedFileConvertsToItsOwnFormatByteForByte) {
  std::vector<std::string> names = Files(kCorpus + "/generated", ".t7");
  ASSERT_GE(names.size(), 120u);
  for (const std::string& name : names) {
    const std::string path = kCorpus + "/generated/" + name;
    const bool ascii = name.find(".ascii.") != std::string::npos;
    EXPECT_EQ(Convert(path, {"--to", ascii ? "t7-ascii" : "t7"}), ReadBytes(path)) << name;
  }
}

TEST_F(SerialctlTorch7Test, BinaryAndAsciiTwinsConvertIntoEachOther) {
  int pairs = 0;
  for (const std::string& name : Files(kCorpus + "/generated", ".bin.t7")) {
    const std::string stem = name.substr(0, name.size() - std::string(".bin.t7").size());
    const std::string ascii = kCorpus + "/generated/" + stem + ".ascii.t7";
    if (::access(ascii.c_str(), R_OK) != 0) continue;
    const std::string binary = kCorpus + "/generated/" + name;
    EXPECT_EQ(Convert(binary, {"--to", "t7-ascii"}), ReadBytes(ascii)) << stem;
    EXPECT_EQ(Convert(ascii, {"--to", "t7"}), ReadBytes(binary)) << stem;
    ++pairs;
  }
  EXPECT_EQ(pairs, 61);
}

TEST_F(SerialctlTorch7Test, LayoutOptionsReproduceTorchsOwnFiles) {
  const std::string generated = kCorpus + "/generated/";
  EXPECT_EQ(Convert(generated + "tensor_double_2x3.bin.t7", {"--to", "t7", "--long-size", "4"}),
            ReadBytes(generated + "tensor_double_2x3.long4.bin.t7"));
  EXPECT_EQ(Convert(generated + "tensor_long_2x3.long4.bin.t7", {"--to", "t7"}),
            ReadBytes(generated + "tensor_long_2x3.long4.bin.t7"));
  EXPECT_EQ(
      Convert(generated + "tensor_double_2x3.long4.bin.t7", {"--to", "t7", "--long-size", "8"}),
      ReadBytes(generated + "tensor_double_2x3.bin.t7"));
  // The big-endian file converts to little-endian and back.
  const std::string big = generated + "tensor_double_2x3.bigendian.bin.t7";
  const std::string little = Convert(big, {"--to", "t7", "--big-endian"});
  EXPECT_EQ(little, ReadBytes(big));
  WriteBytes(dir_ + "/little.t7", Convert(big, {"--to", "t7-ascii"}));
  EXPECT_EQ(Convert(dir_ + "/little.t7", {"--to", "t7", "--big-endian"}), ReadBytes(big));
  // Forcing the input's layout with --from t7.
  EXPECT_EQ(Convert(generated + "tensor_double_2x3.long4.bin.t7",
                    {"--from", "t7", "--long-size", "4", "--to", "t7-ascii"}),
            ReadBytes(generated + "tensor_double_2x3.ascii.t7"));
}

TEST_F(SerialctlTorch7Test, ByteOrderTurnsBigEndianFilesLittleAndBack) {
  const std::string big = kCorpus + "/generated/tensor_double_2x3.bigendian.bin.t7";
  // The little-endian form, by way of ascii (which has no byte order; t7 output then defaults
  // to little-endian).
  WriteBytes(dir_ + "/text.t7", Convert(big, {"--to", "t7-ascii"}));
  const std::string little = Convert(dir_ + "/text.t7", {"--to", "t7"});
  ASSERT_NE(little, ReadBytes(big));
  EXPECT_EQ(Convert(big, {"--to", "t7", "--byte-order", "little"}), little);
  EXPECT_EQ(Convert(big, {"--to", "t7", "--big-endian=false"}), little);
  WriteBytes(dir_ + "/little.t7", little);
  EXPECT_EQ(Convert(dir_ + "/little.t7", {"--to", "t7", "--byte-order", "big"}), ReadBytes(big));
  EXPECT_EQ(Convert(dir_ + "/little.t7", {"--to", "t7", "--big-endian"}), ReadBytes(big));
  EXPECT_EQ(Convert(big, {"--to", "t7"}), ReadBytes(big));  // default: the input's order

  auto refused = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kSerialctl, "convert"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {big, dir_ + "/refused"});
    RunResult result = RunProgram(argv);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    return result.err;
  };
  EXPECT_THAT(refused({"--to", "t7", "--byte-order", "middle"}),
              HasSubstr("--byte-order: middle not in {little,big}"));
  EXPECT_THAT(refused({"--to", "t7-ascii", "--byte-order", "big"}),
              HasSubstr("t7-ascii output has no byte order"));
  EXPECT_THAT(refused({"--to", "t7", "--byte-order", "big", "--big-endian=false"}),
              HasSubstr("--byte-order big contradicts --big-endian=false"));
  EXPECT_THAT(refused({"--to", "rds", "--byte-order", "big"}),
              HasSubstr("--byte-order applies only to Torch7 formats"));
}

TEST_F(SerialctlTorch7Test, JsonRoundTripIsLosslessForRealFiles) {
  for (const std::string& relative :
       {"python-torchfile/gmodule_with_linear_identity.t7", "generated/numbers_special.bin.t7",
        "generated/function_shared_upvalue.bin.t7", "opencv_ascii/net_softmax_net.txt",
        "generated/tensor_double_2x3.bigendian.bin.t7", "char_gru/data.t7"}) {
    const std::string path = kCorpus + "/" + relative;
    WriteBytes(dir_ + "/value.json", Convert(path, {"--to", "json"}));
    const bool ascii = relative.find("ascii") != std::string::npos;
    EXPECT_EQ(Convert(dir_ + "/value.json", {"--to", ascii ? "t7-ascii" : "t7"}), ReadBytes(path))
        << relative;
  }
}

TEST_F(SerialctlTorch7Test, InspectPrintsTheTreeLikeTorch) {
  RunResult result =
      RunProgram({kSerialctl, "inspect", kCorpus + "/generated/checkpoint_like.bin.t7"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("format: t7 (detected)"));
  EXPECT_THAT(result.out, HasSubstr("torch7: binary, 8-byte longs, little-endian"));
  EXPECT_THAT(result.out, HasSubstr("[model] = nn.Linear {"));
  EXPECT_THAT(result.out, HasSubstr("[weight] = DoubleTensor - size: 2x3"));
  EXPECT_THAT(result.out, HasSubstr("[name] = \"sgd\""));
  EXPECT_THAT(result.out, HasSubstr("[epoch] = 3"));

  RunResult ascii =
      RunProgram({kSerialctl, "inspect", kCorpus + "/opencv_ascii/net_softmax_net.txt"});
  ASSERT_EQ(ascii.exit_code, 0) << ascii.err;
  EXPECT_THAT(ascii.out, HasSubstr("torch7: ascii"));
  EXPECT_THAT(ascii.out, HasSubstr("nn.Sequential"));
}

TEST_F(SerialctlTorch7Test, TruncatedFilesFailWithTheOffset) {
  const std::string whole = ReadBytes(kCorpus + "/generated/nn_linear.bin.t7");
  for (size_t cut : {size_t{3}, size_t{100}, whole.size() - 1}) {
    WriteBytes(dir_ + "/cut.t7", whole.substr(0, cut));
    RunResult result = RunProgram({kSerialctl, "convert", "--from", "t7", "--long-size", "8",
                                   "--to", "json", dir_ + "/cut.t7", dir_ + "/never"});
    ExpectInputError(result, "at byte");
    EXPECT_NE(::access((dir_ + "/never").c_str(), F_OK), 0) << "no output on failure";
  }
}

TEST_F(SerialctlTorch7Test, ForeignFilesNamedT7SayWhatTheyAre) {
  WriteBytes(dir_ + "/readme.t7", "This is not a model, just some text.\n");
  ExpectInputError(
      RunProgram({kSerialctl, "convert", "--from", "t7", "--to", "json", dir_ + "/readme.t7", "-"}),
      "text");
  WriteBytes(dir_ + "/model.t7", std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20", 10));
  RunResult pickle = RunProgram({kSerialctl, "convert", "--to", "json", dir_ + "/model.t7", "-"});
  ExpectInputError(pickle, "pickle");
  RunResult forced =
      RunProgram({kSerialctl, "convert", "--from", "t7", "--to", "json", dir_ + "/model.t7", "-"});
  ExpectInputError(forced, "pickle");
  EXPECT_THAT(forced.err, HasSubstr("at byte 0"));
}

TEST_F(SerialctlTorch7Test, UnknownTagAndHugeLengthsAreRefused) {
  // Tag 9 does not exist.
  WriteBytes(dir_ + "/tag.t7", std::string("\x09\x00\x00\x00", 4));
  ExpectInputError(
      RunProgram({kSerialctl, "convert", "--from", "t7", "--to", "json", dir_ + "/tag.t7", "-"}),
      "at byte 0");
  // A string claiming 2^31-1 bytes in a 12-byte file.
  WriteBytes(dir_ + "/string.t7", std::string("\x02\x00\x00\x00\xff\xff\xff\x7f"
                                              "abcd",
                                              12));
  RunResult result =
      RunProgram({kSerialctl, "convert", "--from", "t7", "--to", "json", dir_ + "/string.t7", "-"});
  ExpectInputError(result, "at byte 4");
}

TEST_F(SerialctlTorch7Test, ConvertsToROrArrayFilesListingWhatItLeavesOut) {
  const std::string model = kCorpus + "/generated/checkpoint_like.bin.t7";
  // To R: nothing left out, nothing printed; an XDR stream, uncompressed unless --compress asks
  // (readRDS and unserialize both take it).
  RunResult rds = RunProgram({kSerialctl, "convert", "--to", "rds", model, dir_ + "/m.rds"});
  EXPECT_EQ(rds.exit_code, 0) << rds.err;
  EXPECT_EQ(rds.err, "");
  EXPECT_EQ(ReadBytes(dir_ + "/m.rds").substr(0, 2), "X\n");
  // To safetensors: the skipped leaves, one note per line, and the file.
  RunResult st = RunProgram({kSerialctl, "convert", "--to", "safetensors", model, dir_ + "/m.st"});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_THAT(st.err, HasSubstr("serialctl: note: skipped epoch (a number): not an array\n"));
  EXPECT_THAT(st.err, HasSubstr("serialctl: note: skipped opt.lr (a number): not an array\n"));
  EXPECT_THAT(ReadBytes(dir_ + "/m.st"), HasSubstr("\"model.weight\":{\"dtype\":\"F64\""));
  // --strict refuses instead, and writes nothing.
  RunResult strict = RunProgram(
      {kSerialctl, "convert", "--strict", "--to", "safetensors", model, dir_ + "/strict.st"});
  ExpectInputError(strict, "epoch (a number) is not an array, and --strict");
  EXPECT_EQ(::access((dir_ + "/strict.st").c_str(), F_OK), -1);
  // --strict means nothing for an R output: a usage error.
  RunResult usage =
      RunProgram({kSerialctl, "convert", "--strict", "--to", "rds", model, dir_ + "/x.rds"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err, HasSubstr("--strict applies only to array file output"));
}

TEST_F(SerialctlTorch7Test, UnconvertibleValuesNeedDropUnconvertible) {
  const std::string function = kCorpus + "/generated/function_plain.bin.t7";
  ExpectInputError(
      RunProgram({kSerialctl, "convert", "--to", "rds", function, dir_ + "/f.rds"}),
      "the root is a Lua function");
  RunResult dropped = RunProgram(
      {kSerialctl, "convert", "--drop-unconvertible", "--to", "rds", function, dir_ + "/f.rds"});
  EXPECT_EQ(dropped.exit_code, 0) << dropped.err;
  EXPECT_THAT(dropped.err, StartsWith("serialctl: note: left out the root (a Lua function"));
  // R's NULL, as serialize(NULL) writes it after the header.
  EXPECT_THAT(ReadBytes(dir_ + "/f.rds").size(), ::testing::Gt(0u));
}

}  // namespace
}  // namespace seriald
