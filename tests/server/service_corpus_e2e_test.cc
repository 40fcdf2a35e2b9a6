// Every file of the Torch7 corpus through a real seriald: converted by `serialctl --server` and by
// the Python client (unary and streamed) to exactly the bytes `serialctl convert` produces
// locally, and deserialized then serialized back to its own bytes by the C++ client library and
// the Python package.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "client/seriald_client.h"
#include "core/io/buffer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/torch7/testing/corpus.h"
#include "tests/server/testing/service_e2e.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald {
namespace {

using ::seriald::testing::CorpusPath;
using ::seriald::testing::ReadBytes;
using ::seriald::testing::RunResult;
using ::seriald::testing::ScratchDir;
using ::seriald::testing::SerialdProcess;
using ::testing::HasSubstr;

// The output formats every corpus file is converted to.
const std::vector<std::string> kFormats = {"t7", "t7-ascii", "json"};

struct CorpusFile {
  std::string relative_path;  // "generated/nil.bin.t7"
  std::string path;
  std::string name;  // a file name: "generated_nil.bin.t7"
};

std::vector<CorpusFile> Files() {
  std::vector<CorpusFile> files;
  for (const std::string& relative : testing::CorpusStreams()) {
    files.push_back({relative, CorpusPath(relative), absl::StrReplaceAll(relative, {{"/", "_"}})});
  }
  return files;
}

// The format detection must find: the corpus's ascii files are *.ascii.t7 and opencv_ascii/*.
std::string ExpectedFormat(const CorpusFile& file) {
  bool ascii = file.relative_path.find(".ascii.") != std::string::npos ||
               file.relative_path.starts_with("opencv_ascii/");
  return ascii ? "t7-ascii" : "t7";
}

class CorpusE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = Files();
    // 151 object streams; a missing corpus must fail, not pass vacuously.
    ASSERT_EQ(files_.size(), 151u);
    // Small server chunks, so that streamed calls send several chunks for the larger files.
    auto server = SerialdProcess::Start({"--chunk-bytes", "4096"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  void TearDown() override {
    if (server_ == nullptr) return;
    EXPECT_EQ(server_->Stop(), 0);
    // Every call the test made succeeded (failures are reported by the test itself too).
    for (const std::string& line : server_->CallLogLines()) {
      EXPECT_THAT(line, HasSubstr("status=OK"));
    }
  }

  std::string Local(const CorpusFile& file, const std::string& format) const {
    return dir_.File(absl::StrCat("local.", file.name, ".", format));
  }

  // Converts every file to every format with `serialctl convert`, locally: the expected bytes.
  void ConvertLocally() {
    std::vector<std::vector<std::string>> commands;
    for (const CorpusFile& file : files_) {
      for (const std::string& format : kFormats) {
        commands.push_back({testing::SerialctlBinary(), "convert", "--to", format, file.path,
                            Local(file, format)});
      }
    }
    std::vector<RunResult> results = testing::RunPrograms(commands);
    for (size_t i = 0; i < results.size(); ++i) {
      ASSERT_EQ(results[i].exit_code, 0) << commands[i][4] << ": " << results[i].err;
    }
  }

  // Expects `actual` to hold the bytes of the local conversion; counts the comparisons.
  void ExpectLocalBytes(const CorpusFile& file, const std::string& format,
                        const std::string& actual, const std::string& how) {
    std::string expected = ReadBytes(Local(file, format));
    ASSERT_FALSE(expected.empty()) << file.relative_path;
    EXPECT_TRUE(testing::FileExists(actual))
        << how << " wrote no output for " << file.relative_path << " -> " << format;
    if (!testing::FileExists(actual)) return;
    EXPECT_TRUE(ReadBytes(actual) == expected)
        << how << ": " << file.relative_path << " -> " << format << " differs from local";
    ++compared_;
  }

  // The list file of the Python driver: NAME<TAB>PATH lines.
  std::string WriteFileList() const {
    std::string list;
    for (const CorpusFile& file : files_) absl::StrAppend(&list, file.name, "\t", file.path, "\n");
    std::string path = dir_.File("files.tsv");
    testing::WriteBytes(path, list);
    return path;
  }

  ScratchDir dir_;
  std::vector<CorpusFile> files_;
  std::unique_ptr<SerialdProcess> server_;
  int compared_ = 0;
};

TEST_F(CorpusE2eTest, SerialctlThroughTheServerWritesTheLocalBytes) {
  ASSERT_NO_FATAL_FAILURE(ConvertLocally());
  std::vector<std::vector<std::string>> commands;
  for (const CorpusFile& file : files_) {
    for (const std::string& format : kFormats) {
      commands.push_back({testing::SerialctlBinary(), "--server", server_->address(), "--timeout",
                          "60", "convert", "--to", format, file.path,
                          dir_.File(absl::StrCat("remote.", file.name, ".", format))});
    }
  }
  std::vector<RunResult> results = testing::RunPrograms(commands);
  size_t k = 0;
  for (const CorpusFile& file : files_) {
    for (const std::string& format : kFormats) {
      EXPECT_EQ(results[k].exit_code, 0) << file.relative_path << ": " << results[k].err;
      ExpectLocalBytes(file, format, commands[k].back(), "serialctl --server");
      ++k;
    }
  }
  EXPECT_EQ(compared_, 151 * 3);
  // Each conversion was one call to the server.
  EXPECT_EQ(server_->CallLogLines().size(), 151u * 3);
}

// `serialctl --server inspect` (the C++ client's unary Inspect, its input sent from the mapped
// file) prints what `serialctl inspect` prints locally, for every corpus file.
TEST_F(CorpusE2eTest, SerialctlInspectThroughTheServerPrintsTheLocalTree) {
  std::vector<std::vector<std::string>> commands;
  for (const CorpusFile& file : files_) {
    commands.push_back({testing::SerialctlBinary(), "inspect", file.path});
    commands.push_back({testing::SerialctlBinary(), "--server", server_->address(), "--timeout",
                        "60", "inspect", file.path});
  }
  std::vector<RunResult> results = testing::RunPrograms(commands);
  for (size_t i = 0; i < files_.size(); ++i) {
    const RunResult& local = results[2 * i];
    const RunResult& remote = results[2 * i + 1];
    ASSERT_EQ(local.exit_code, 0) << files_[i].relative_path << ": " << local.err;
    EXPECT_EQ(remote.exit_code, 0) << files_[i].relative_path << ": " << remote.err;
    EXPECT_FALSE(local.out.empty()) << files_[i].relative_path;
    EXPECT_EQ(remote.out, local.out) << files_[i].relative_path;
  }
  EXPECT_EQ(server_->CallLogLines().size(), files_.size());
}

// Above the client's 16 MiB threshold, `serialctl --server inspect` sends the file in chunks
// through InspectStream (the unary Inspect is refused over --max-message-bytes) and prints what
// the local inspection prints; a big-endian file too.
TEST_F(CorpusE2eTest, SerialctlInspectOfALargeFileThroughTheServerStreams) {
  std::vector<std::vector<std::string>> commands;
  for (bool big_endian : {false, true}) {
    const std::string path = dir_.File(absl::StrCat("large", big_endian ? ".be" : "", ".t7"));
    testing::WriteBytes(path, testing::FloatTensorStream(uint64_t{5} << 20, big_endian));  // 20 MiB
    commands.push_back({testing::SerialctlBinary(), "inspect", path});
    commands.push_back({testing::SerialctlBinary(), "--server", server_->address(), "--timeout",
                        "60", "inspect", path});
  }
  std::vector<RunResult> results = testing::RunPrograms(commands);
  for (size_t i = 0; i < results.size(); i += 2) {
    ASSERT_EQ(results[i].exit_code, 0) << commands[i].back() << ": " << results[i].err;
    EXPECT_EQ(results[i + 1].exit_code, 0) << commands[i].back() << ": " << results[i + 1].err;
    EXPECT_THAT(results[i].out, HasSubstr("FloatTensor - size: 5242880"));
    EXPECT_EQ(results[i + 1].out, results[i].out) << commands[i].back();
  }
  const std::vector<std::string> calls = server_->CallLogLines();
  ASSERT_EQ(calls.size(), 2u);
  for (const std::string& line : calls) {
    EXPECT_THAT(line, HasSubstr("method=InspectStream "));
    EXPECT_THAT(line, HasSubstr("in=t7 "));
  }
}

// A server whose unary cap (--max-message-bytes) is below the C++ client's stream threshold:
// each call it refuses for its size is made again as a stream, and gives what the unary call
// would have.
TEST(CppClientE2eTest, UnaryCallsRefusedForTheirSizeAreMadeAgainAsStreams) {
  auto server = SerialdProcess::Start({"--max-message-bytes", "65536"});
  ASSERT_TRUE(server.ok()) << server.status();
  ClientOptions options;
  options.target = (*server)->address();
  options.timeout = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<SerialdClient>> client = SerialdClient::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  const uint64_t count = 32 * 1024;  // 128 KiB of floats, under the client's 16 MiB threshold
  const std::string input = testing::FloatTensorStream(count);

  ConvertSpec spec;
  spec.output_format = "t7";
  spec.write_options.torch7_big_endian = true;
  std::string output;
  absl::StatusOr<ConvertResult> converted =
      (*client)->Convert(Buffer::Copy(input), spec, [&](std::string_view piece) {
        output.append(piece);
        return absl::OkStatus();
      });
  ASSERT_TRUE(converted.ok()) << converted.status();
  EXPECT_TRUE(converted->streamed);
  EXPECT_TRUE(output == testing::FloatTensorStream(count, /*big_endian=*/true));

  std::string format;
  absl::StatusOr<Value> value = (*client)->Deserialize(Buffer::Copy(input), &format);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(format, "t7");
  std::string written;
  const absl::Status serialized =
      (*client)->Serialize(*value, "t7", WriteOptions{}, [&](std::string_view piece) {
        written.append(piece);
        return absl::OkStatus();
      });
  ASSERT_TRUE(serialized.ok()) << serialized;
  EXPECT_TRUE(written == input);

  absl::StatusOr<InspectResult> inspected = (*client)->Inspect(Buffer::Copy(input), "");
  ASSERT_TRUE(inspected.ok()) << inspected.status();
  EXPECT_EQ(inspected->summary, "FloatTensor - size: 32768\n");

  // Each was refused once as a unary call, then went through as a stream.
  for (const std::string method : {"Convert", "Deserialize", "Serialize", "Inspect"}) {
    EXPECT_TRUE((*server)->WaitForCallLogLine(
        {absl::StrCat("method=", method, " "), "status=RESOURCE_EXHAUSTED"}, absl::Seconds(10)))
        << method;
    EXPECT_TRUE((*server)->WaitForCallLogLine(
        {absl::StrCat("method=", method, "Stream "), "status=OK"}, absl::Seconds(10)))
        << method;
  }
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST_F(CorpusE2eTest, PythonClientWritesTheLocalBytesUnaryAndStreamed) {
  ASSERT_NO_FATAL_FAILURE(ConvertLocally());
  testing::UseBuildPythonStubs();
  RunResult python =
      testing::RunProgram({testing::Python3(), testing::TestScript("corpus_client.py"), "convert",
                           server_->address(), dir_.path(), WriteFileList()});
  EXPECT_EQ(python.exit_code, 0) << python.out << python.err;
  for (const CorpusFile& file : files_) {
    for (const std::string& format : kFormats) {
      for (const char* kind : {"unary", "stream"}) {
        ExpectLocalBytes(file, format, dir_.File(absl::StrCat(file.name, ".", kind, ".", format)),
                         absl::StrCat("pyseriald (", kind, ")"));
      }
    }
  }
  EXPECT_EQ(compared_, 151 * 3 * 2);
  // Both kinds of call reached the server.
  std::string log = server_->Log();
  EXPECT_THAT(log, HasSubstr("method=Convert "));
  EXPECT_THAT(log, HasSubstr("method=ConvertStream "));
}

TEST_F(CorpusE2eTest, PythonCommandLineWritesTheLocalBytes) {
  ASSERT_NO_FATAL_FAILURE(ConvertLocally());
  testing::UseBuildPythonStubs();
  // The command line costs a Python start-up per call: a sample of binary, ascii, 4-byte-long
  // and big-endian inputs.
  const std::vector<std::string> sample = {
      "generated/checkpoint_like.bin.t7", "generated/nn_sequential.ascii.t7",
      "generated/tensor_double_2x3.long4.bin.t7", "generated/tensor_double_2x3.bigendian.bin.t7",
      "char_gru/data.t7"};
  std::vector<std::vector<std::string>> commands;
  std::vector<std::pair<CorpusFile, std::string>> expected;
  for (const CorpusFile& file : files_) {
    if (std::find(sample.begin(), sample.end(), file.relative_path) == sample.end()) continue;
    for (const std::string& format : kFormats) {
      std::vector<std::string> command = testing::PythonClientCommand();
      command.insert(command.end(),
                     {"--server", server_->address(), "--timeout", "60", "convert", file.path,
                      dir_.File(absl::StrCat("cli.", file.name, ".", format)), "--to", format});
      commands.push_back(command);
      expected.emplace_back(file, format);
    }
  }
  ASSERT_EQ(expected.size(), sample.size() * kFormats.size());
  std::vector<RunResult> results = testing::RunPrograms(commands);
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << results[i].err;
    ExpectLocalBytes(
        expected[i].first, expected[i].second,
        dir_.File(absl::StrCat("cli.", expected[i].first.name, ".", expected[i].second)),
        "seriald_client.py");
  }
  EXPECT_EQ(compared_, static_cast<int>(sample.size() * kFormats.size()));
}

TEST_F(CorpusE2eTest, CppClientDeserializeThenSerializeGivesTheOriginalBytes) {
  // Default options: unary calls for files this small. Threshold 0 and 64-byte chunks: every
  // call streams, and arrays of 64 bytes or more travel in ArrayChunk messages.
  ClientOptions unary;
  unary.target = server_->address();
  unary.timeout = absl::Seconds(60);
  ClientOptions streamed = unary;
  streamed.stream_threshold_bytes = 0;
  streamed.chunk_bytes = 64;
  int round_trips = 0;
  for (const ClientOptions& options : {unary, streamed}) {
    absl::StatusOr<std::unique_ptr<SerialdClient>> client = SerialdClient::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status();
    for (const CorpusFile& file : files_) {
      SCOPED_TRACE(absl::StrCat(file.relative_path,
                                options.stream_threshold_bytes == 0 ? " (streamed)" : " (unary)"));
      std::string original = ReadBytes(file.path);
      ASSERT_FALSE(original.empty());
      std::string format;
      absl::StatusOr<Value> value = (*client)->Deserialize(Buffer::Copy(original), &format);
      ASSERT_TRUE(value.ok()) << value.status();
      EXPECT_EQ(format, ExpectedFormat(file));
      BufferChain written;
      absl::Status status =
          (*client)->Serialize(*value, format, WriteOptions{}, CollectInto(&written));
      ASSERT_TRUE(status.ok()) << status;
      EXPECT_TRUE(written.ToString() == original) << "the bytes written back differ";
      ++round_trips;
    }
  }
  EXPECT_EQ(round_trips, 151 * 2);
  std::string log = server_->Log();
  for (const char* method : {"method=Deserialize ", "method=Serialize ",
                             "method=DeserializeStream ", "method=SerializeStream "}) {
    EXPECT_THAT(log, HasSubstr(method));
  }
}

// A unary Convert whose output the server sends as several pieces (a 12 MB tensor swapped to
// big-endian, written in blocks): the C++ client hands the pieces to the callback as they
// arrived, in order, and they are the conversion's bytes.
TEST_F(CorpusE2eTest, CppClientUnaryConvertHandsOverTheOutputInItsPieces) {
  constexpr uint64_t kCount = 3'000'000;  // 12 MB of floats: under the 16 MiB unary threshold
  const std::string input = testing::FloatTensorStream(kCount);
  ClientOptions options;
  options.target = server_->address();
  options.timeout = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<SerialdClient>> client = SerialdClient::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  ConvertSpec spec;
  spec.output_format = "t7";
  spec.write_options.torch7_big_endian = true;
  std::string output;
  int pieces = 0;
  absl::StatusOr<ConvertResult> result =
      (*client)->Convert(Buffer::Copy(input), spec, [&](std::string_view piece) {
        output.append(piece);
        ++pieces;
        return absl::OkStatus();
      });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->streamed);
  EXPECT_EQ(result->input_format, "t7");
  EXPECT_EQ(result->output_bytes, output.size());
  EXPECT_GT(pieces, 1);
  EXPECT_TRUE(output == testing::FloatTensorStream(kCount, /*big_endian=*/true))
      << "the output differs from the big-endian tensor";
  EXPECT_THAT(server_->Log(), HasSubstr("method=Convert "));
}

// A unary Deserialize of a 12 MB tensor through the C++ client: the array's data comes out of
// the received slices (wire::TakeResponseArrays), little-endian from either byte order, and
// serializes back to the input.
TEST_F(CorpusE2eTest, CppClientUnaryDeserializeOfALargeTensor) {
  constexpr uint64_t kCount = 3'000'000;  // 12 MB of floats: under the 16 MiB unary threshold
  ClientOptions options;
  options.target = server_->address();
  options.timeout = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<SerialdClient>> client = SerialdClient::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string little = testing::FloatTensorStream(kCount);
  const std::string_view payload =
      std::string_view(little).substr(testing::FloatTensorHeader(kCount).size());
  for (bool big_endian : {false, true}) {
    SCOPED_TRACE(big_endian);
    const std::string input = testing::FloatTensorStream(kCount, big_endian);
    std::string format;
    absl::StatusOr<Value> value = (*client)->Deserialize(Buffer::Copy(input), &format);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(format, "t7");
    int arrays = 0;
    for (NodeId id = 0; id < value->size(); ++id) {
      const Array* array = value->GetIf<Array>(id);
      if (array == nullptr) continue;
      ++arrays;
      EXPECT_EQ(array->length, kCount);
      EXPECT_TRUE(array->data.view() == payload) << "the floats differ";
    }
    EXPECT_EQ(arrays, 1);
    std::string written;
    WriteOptions write;
    write.torch7_big_endian = big_endian;
    absl::Status serialized =
        (*client)->Serialize(*value, "t7", write, [&](std::string_view piece) {
          written.append(piece);
          return absl::OkStatus();
        });
    ASSERT_TRUE(serialized.ok()) << serialized;
    EXPECT_TRUE(written == input) << "the bytes written back differ";
  }
  EXPECT_THAT(server_->Log(), HasSubstr("method=Deserialize "));
}

TEST_F(CorpusE2eTest, PythonDeserializeThenSerializeGivesTheOriginalBytes) {
  testing::UseBuildPythonStubs();
  RunResult python =
      testing::RunProgram({testing::Python3(), testing::TestScript("corpus_client.py"), "roundtrip",
                           server_->address(), dir_.path(), WriteFileList()});
  EXPECT_EQ(python.exit_code, 0) << python.out << python.err;
  int round_trips = 0;
  for (const CorpusFile& file : files_) {
    std::string original = ReadBytes(file.path);
    ASSERT_FALSE(original.empty());
    for (const char* kind : {"unary", "stream"}) {
      std::string written = dir_.File(absl::StrCat(file.name, ".", kind, ".roundtrip"));
      ASSERT_TRUE(testing::FileExists(written)) << file.relative_path << " (" << kind << ")";
      EXPECT_TRUE(ReadBytes(written) == original)
          << file.relative_path << " (" << kind << "): the bytes written back differ";
      ++round_trips;
    }
  }
  EXPECT_EQ(round_trips, 151 * 2);
  std::string log = server_->Log();
  EXPECT_THAT(log, HasSubstr("method=DeserializeStream "));
  EXPECT_THAT(log, HasSubstr("method=SerializeStream "));
}

}  // namespace
}  // namespace seriald
