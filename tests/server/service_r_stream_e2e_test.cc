// ConvertStream of R to R through a real seriald: a binary R stream is converted as its chunks
// arrive (core/rds/transcoder.h). A 384 MiB numeric vector in XDR goes to native byte for byte as
// `serialctl convert` does locally, with the server's peak resident set under 256 MiB (the input
// is kept for the object graph, in a spill file); a stream with a compact sequence gives R's
// bytes, as version 3 and as version 2 (expanded as read), and one with a deferred string as
// version 2 the graph's (where the transcoder stops and the object graph writes on); compressed
// streams are decompressed as they arrive; truncated streams get the reader's error; a stream
// larger than the spill budget converts without being kept; ascii and asciihex streams convert as
// received too, to R's bytes and the object graph's. DeserializeStream of the 384 MiB XDR vector
// sends it little-endian in both views while holding a few chunks (the vector stays as written in
// the spill file, swapped a chunk at a time as it is sent); a unary Deserialize and a unary
// Inspect of it in one message hold one copy of the request.
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/format/codec.h"
#include "core/io/buffer.h"
#include "core/io/byte_writer.h"
#include "core/rds/compression.h"
#include "core/rds/reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/testing/service_e2e.h"
#include "tests/testing/process_memory.h"
#include "tests/testing/r_altrep_list.h"

namespace seriald {
namespace {

using ::seriald::testing::RunProgram;
using ::seriald::testing::RunResult;
using ::seriald::testing::ScratchDir;
using ::seriald::testing::SerialdProcess;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kElements = uint64_t{48} << 20;  // 50,331,648 doubles
constexpr uint64_t kPayloadBytes = 8 * kElements;   // 384 MiB
constexpr uint64_t kMaxPeakBytes = uint64_t{256} << 20;

void PutInt(std::string& s, int32_t v) {
  for (int k = 3; k >= 0; --k)
    s.push_back(static_cast<char>((static_cast<uint32_t>(v) >> (8 * k)) & 0xFF));
}

// An XDR version 3 stream of one double vector of kElements elements, i + 0.5 each.
absl::Status WriteNumericStream(const std::string& path) {
  std::ofstream file(path, std::ios::binary);
  std::string head = "X\n";
  for (int32_t v : {3, 0x040202, 0x030500, 5}) PutInt(head, v);
  head += "UTF-8";
  PutInt(head, 14);
  PutInt(head, static_cast<int32_t>(kElements));
  file.write(head.data(), static_cast<std::streamsize>(head.size()));
  std::string block(1 << 20, '\0');
  for (uint64_t i = 0; i < kElements;) {
    size_t n = 0;
    for (; n < block.size() / 8 && i < kElements; ++n, ++i) {
      const double d = static_cast<double>(i) + 0.5;
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      bits = __builtin_bswap64(bits);
      std::memcpy(block.data() + 8 * n, &bits, 8);
    }
    file.write(block.data(), static_cast<std::streamsize>(8 * n));
  }
  file.close();
  if (!file) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

class RStreamE2eTest : public ::testing::Test {
 protected:
  void StartServer() {
    auto server = SerialdProcess::Start({"--spill-dir", dir_.path(), "--spill-above", "64MiB"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(testing::ResetPeakRss(server_->pid()).ok());
  }

  // The call log line of the call after the first `before` ones, once it is logged.
  std::optional<std::string> CallLine(size_t before) {
    for (int i = 0; i < 600; ++i) {
      std::vector<std::string> lines = server_->CallLogLines();
      if (lines.size() > before) return lines[before];
      absl::SleepFor(absl::Milliseconds(100));
    }
    return std::nullopt;
  }

  ScratchDir dir_;
  std::unique_ptr<SerialdProcess> server_;
};

TEST_F(RStreamE2eTest, ConvertStreamOfALargeRStreamConvertsAsReceived) {
  const std::string input = dir_.File("numeric.rds");
  ASSERT_TRUE(WriteNumericStream(input).ok());
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string remote = dir_.File("remote.rds");
  RunResult converted =
      RunProgram({testing::SerialctlBinary(), "--server", server_->address(), "--timeout", "600",
                  "convert", "--to", "rds-native", input, remote},
                 "", absl::Seconds(600));
  ASSERT_EQ(converted.exit_code, 0) << converted.err;
  std::optional<std::string> line = server_->WaitForCallLogLine({"method=ConvertStream "});
  ASSERT_TRUE(line.has_value()) << server_->Log();
  EXPECT_THAT(*line, HasSubstr(" in=rds out=rds-native "));
  EXPECT_THAT(*line, HasSubstr(" as_received=1 "));
  EXPECT_THAT(*line, HasSubstr(" status=OK"));
  absl::StatusOr<uint64_t> peak = testing::PeakRssBytes(server_->pid());
  ASSERT_TRUE(peak.ok()) << peak.status();
  std::cout << "ConvertStream rds -> rds-native, 384 MiB: server peak RSS " << *peak << " bytes\n";
  RecordProperty("server_peak_rss_bytes", absl::StrCat(*peak));
  EXPECT_LT(*peak, kMaxPeakBytes);

  const std::string local = dir_.File("local.rds");
  RunResult reference =
      RunProgram({testing::SerialctlBinary(), "convert", "--to", "rds-native", input, local}, "",
                 absl::Seconds(600));
  ASSERT_EQ(reference.exit_code, 0) << reference.err;
  std::string difference;
  EXPECT_TRUE(testing::SameFileContents(local, remote, &difference)) << difference;
  EXPECT_EQ(server_->Stop(), 0);
}

// DeserializeStream of the XDR vector in `view`: the header lists one streamed array of
// kElements doubles, and its chunks, checked as they arrive, hold i + 0.5 little-endian.
void ExpectNumericVectorStreamedBack(const std::string& address, const std::string& input,
                                     v1::View view) {
  SCOPED_TRACE(v1::View_Name(view));
  auto stub = testing::RawStub(address);
  grpc::ClientContext context;
  context.set_deadline(testing::DeadlineIn(absl::Seconds(600)));
  auto stream = stub->DeserializeStream(&context);
  v1::DeserializeStreamRequest request;
  request.mutable_options()->set_view(view);
  ASSERT_TRUE(stream->Write(request));
  std::ifstream file(input, std::ios::binary);
  std::string chunk(1 << 20, '\0');
  while (file.read(chunk.data(), static_cast<std::streamsize>(chunk.size())).gcount() > 0) {
    request.mutable_chunk()->mutable_data()->assign(chunk.data(),
                                                    static_cast<size_t>(file.gcount()));
    ASSERT_TRUE(stream->Write(request));
  }
  ASSERT_TRUE(stream->WritesDone());

  v1::DeserializeStreamResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_header());
  ASSERT_EQ(response.header().streamed_arrays_size(), 1);
  const uint32_t id = response.header().streamed_arrays(0);
  if (view == v1::VIEW_DATA) {
    const v1::NdArray& array = response.header().data().items(static_cast<int>(id)).array();
    EXPECT_EQ(array.length(), kElements);
    EXPECT_FALSE(array.na_present());
  } else {
    const v1::Array& array = response.header().value().nodes(static_cast<int>(id)).array();
    EXPECT_EQ(array.length(), kElements);
  }
  uint64_t received = 0;
  bool right = true;
  while (stream->Read(&response)) {
    ASSERT_TRUE(response.has_array_chunk());
    ASSERT_EQ(response.array_chunk().node(), id);
    ASSERT_EQ(response.array_chunk().offset(), received);
    const std::string& data = response.array_chunk().data();
    ASSERT_EQ(data.size() % 8, 0u);
    for (size_t at = 0; at < data.size() && right; at += 8) {
      double value;
      std::memcpy(&value, data.data() + at, 8);
      right = value == static_cast<double>((received + at) / 8) + 0.5;
    }
    received += data.size();
  }
  grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(received, kPayloadBytes);
  EXPECT_TRUE(right) << "an element is not i + 0.5";
}

TEST_F(RStreamE2eTest, DeserializeStreamSendsALargeXdrVectorLittleEndianHoldingAFewChunks) {
  const std::string input = dir_.File("numeric.rds");
  ASSERT_TRUE(WriteNumericStream(input).ok());
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(
      ExpectNumericVectorStreamedBack(server_->address(), input, v1::VIEW_DATA));
  ASSERT_NO_FATAL_FAILURE(
      ExpectNumericVectorStreamedBack(server_->address(), input, v1::VIEW_VALUE));
  absl::StatusOr<uint64_t> peak = testing::PeakRssBytes(server_->pid());
  ASSERT_TRUE(peak.ok()) << peak.status();
  std::cout << "DeserializeStream of a 384 MiB XDR vector, both views: server peak RSS " << *peak
            << " bytes\n";
  RecordProperty("deserialize_peak_rss_bytes", absl::StrCat(*peak));
  EXPECT_LT(*peak, kMaxPeakBytes);
  EXPECT_EQ(server_->Stop(), 0);
}

// A unary Deserialize and a unary Inspect of the 384 MiB XDR vector in one message each (the
// server's --max-message-bytes raised to take it) hold one copy of the request: gRPC receives the
// message in slices of a few hundred KiB, which the server gathers into one buffer, releasing each
// slice as it is copied; Deserialize swaps the vector where it was gathered, and Inspect reads it
// as written. Holding the slices until the end, both calls peaked at twice the payload.
// Makes the unary call `call` (with a client context whose deadline is set) on a server whose
// peak resident set was reset first; expects its status OK and the server's peak within a tenth
// below and four tenths above the payload, and reports the peak as `property`.
void ExpectUnaryCallHoldsOneCopy(SerialdProcess& server, const std::string& property,
                                 const std::function<grpc::Status(grpc::ClientContext*)>& call) {
  ASSERT_TRUE(testing::ResetPeakRss(server.pid()).ok());
  grpc::ClientContext context;
  context.set_deadline(testing::DeadlineIn(absl::Seconds(600)));
  grpc::Status status = call(&context);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  absl::StatusOr<uint64_t> peak = testing::PeakRssBytes(server.pid());
  ASSERT_TRUE(peak.ok()) << peak.status();
  std::cout << property << ", 384 MiB XDR vector: server peak RSS " << *peak << " bytes\n";
  ::testing::Test::RecordProperty(property, absl::StrCat(*peak));
  EXPECT_LT(*peak, kPayloadBytes * 14 / 10) << property;
  EXPECT_GE(*peak, kPayloadBytes * 9 / 10) << property;
}

TEST_F(RStreamE2eTest, UnaryDeserializeAndInspectOfALargeRequestHoldOneCopyOfIt) {
  const std::string path = dir_.File("numeric.rds");
  ASSERT_TRUE(WriteNumericStream(path).ok());
  auto server = SerialdProcess::Start({"--spill-dir", "", "--max-message-bytes", "1GiB"});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  auto stub = testing::RawStub(server_->address());
  // "X\n", three words, the native encoding's length and name, the vector's two words.
  const uint64_t header_bytes = 2 + 12 + 4 + 5 + 8;

  v1::DeserializeRequest deserialize;
  deserialize.set_data(testing::ReadBytes(path));
  ASSERT_EQ(deserialize.data().size(), header_bytes + kPayloadBytes);
  v1::DeserializeResponse deserialized;
  ASSERT_NO_FATAL_FAILURE(ExpectUnaryCallHoldsOneCopy(
      *server_, "unary_deserialize_peak_rss_bytes", [&](grpc::ClientContext* context) {
        return stub->Deserialize(context, deserialize, &deserialized);
      }));
  ASSERT_EQ(deserialized.value().nodes_size(), 1);
  const std::string& data = deserialized.value().nodes(0).array().data();
  ASSERT_EQ(data.size(), kPayloadBytes);
  bool right = true;
  for (uint64_t i = 0; i < kElements && right; ++i) {
    double value;
    std::memcpy(&value, data.data() + 8 * i, 8);
    right = value == static_cast<double>(i) + 0.5;
  }
  EXPECT_TRUE(right) << "an element is not i + 0.5";

  v1::InspectRequest inspect;
  *inspect.mutable_data() = std::move(*deserialize.mutable_data());
  v1::InspectResponse inspected;
  ASSERT_NO_FATAL_FAILURE(ExpectUnaryCallHoldsOneCopy(
      *server_, "unary_inspect_peak_rss_bytes",
      [&](grpc::ClientContext* context) { return stub->Inspect(context, inspect, &inspected); }));
  EXPECT_EQ(inspected.format(), v1::FORMAT_RDS);
  EXPECT_EQ(inspected.node_count(), 1u);
  EXPECT_THAT(inspected.summary(), HasSubstr("50331648"));
  EXPECT_EQ(server_->Stop(), 0);
}

std::string ThroughGraph(const std::string& input, std::string_view codec, int version = 3);

// `stream` (kAltrepListHex, or one made from it) with its compact sequence `y` replaced by a
// deferred string, as.character(c(1.5, 2.5, 3.5)) as R 4.2 writes it with options(OutDec = ",")
// (the decimal mark in an attribute of the metadata: the graph's to expand into version 2); ""
// if it is not there.
std::string WithDeferredString(const std::string& stream) {
  const std::string sequence_state = absl::HexStringToBytes(
      "0000000e0000000340240000000000003ff00000000000003ff0000000000000000000fe");
  const size_t begin = stream.find(absl::HexStringToBytes("000000ee"));
  const size_t end = stream.find(sequence_state);
  if (begin == std::string::npos || end == std::string::npos) return "";
  std::string deferred;
  for (int32_t v : {238, 2, 1, 262153, 15}) PutInt(deferred, v);
  deferred += "deferred_string";
  for (int32_t v : {2, 1, 262153, 4}) PutInt(deferred, v);
  deferred += "base";
  // Class information's type (STRSXP), its end; state (c(1.5, 2.5, 3.5) . 0L), the 0L with
  // attributes OutDec = ","; no attributes.
  for (int32_t v : {2,          13,         1,
                    16,         254,        2,
                    14,         3,          0x3FF80000,
                    0,          0x40040000, 0,
                    0x400C0000, 0,          13 | (1 << 9),
                    1,          0,          2 | (1 << 10),
                    1,          262153,     6}) {
    PutInt(deferred, v);
  }
  deferred += "OutDec";
  for (int32_t v : {16, 1, 262153, 1}) PutInt(deferred, v);
  deferred += ",";
  for (int32_t v : {254, 254}) PutInt(deferred, v);
  return stream.substr(0, begin) + deferred + stream.substr(end + sequence_state.size());
}

// A compact sequence goes on as read into both versions: as it came in version 3, expanded into
// the integers it stands for in version 2 (R's bytes either way). A deferred string written as
// version 2, which the transcoder leaves to the object graph, stops it, and the graph writes on.
TEST_F(RStreamE2eTest, WhereTheTranscoderStopsTheObjectGraphWritesOn) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string input = absl::HexStringToBytes(testing::kAltrepListHex);
  auto stub = testing::RawStub(server_->address());
  for (int version : {3, 2}) {
    v1::ConvertStreamOptions options = testing::ConvertTo(v1::FORMAT_RDS_NATIVE);
    options.mutable_output()->set_r_version(version);
    for (size_t chunk : {size_t{7}, size_t{64}, size_t{1} << 20}) {
      const size_t before = server_->CallLogLines().size();
      testing::StreamResult result =
          testing::ConvertStream(*stub, input, options, chunk, absl::Seconds(60));
      ASSERT_TRUE(result.status.ok()) << result.status.error_message();
      EXPECT_EQ(result.input_format, v1::FORMAT_RDS);
      EXPECT_EQ(absl::BytesToHexString(result.output),
                version == 3 ? testing::kAltrepListNativeHex : testing::kAltrepListNativeV2Hex)
          << "version " << version << ", chunks of " << chunk;
      std::optional<std::string> line = CallLine(before);
      ASSERT_TRUE(line.has_value()) << server_->Log();
      EXPECT_THAT(*line, HasSubstr(" as_received=1 "));
    }
  }
  const std::string deferred = WithDeferredString(input);
  ASSERT_FALSE(deferred.empty());
  const std::string expected = ThroughGraph(deferred, "rds-native", 2);
  ASSERT_NE(expected.find(std::string("\x09\0\x04\0\x03\0\0\0"
                                      "3,5",
                                      11)),
            std::string::npos);
  v1::ConvertStreamOptions options = testing::ConvertTo(v1::FORMAT_RDS_NATIVE);
  options.mutable_output()->set_r_version(2);
  for (size_t chunk : {size_t{7}, size_t{1} << 20}) {
    testing::StreamResult result =
        testing::ConvertStream(*stub, deferred, options, chunk, absl::Seconds(60));
    ASSERT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_TRUE(result.output == expected) << "chunks of " << chunk;
  }
  EXPECT_EQ(server_->Stop(), 0);
}

// What `out` wrote, joined.
std::string Joined(ByteWriter& out) {
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return chain.ToString();
}

// The object graph's conversion of `input` to `codec`, uncompressed, as R `version`.
std::string ThroughGraph(const std::string& input, std::string_view codec, int version) {
  const CodecRegistry registry = CoreCodecs();
  absl::StatusOr<Value> value = ReadR(Buffer::FromString(input));
  EXPECT_TRUE(value.ok()) << value.status();
  if (!value.ok()) return "";
  WriteOptions options;
  options.r_compression = RCompression::kNone;
  options.r_version = version;
  ByteWriter out;
  EXPECT_TRUE((*registry.Find(codec))->Write(*value, options, out).ok());
  return Joined(out);
}

// Ascii streams are converted as received: R's ALTREP list (written in ascii and in asciihex
// by the object graph) gives R's own native bytes, in chunks of 7 bytes and up; 500,000 doubles
// and strings with escapes in ascii give the object graph's bytes, in XDR and in ascii again.
TEST_F(RStreamE2eTest, AsciiStreamsConvertAsReceived) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  auto stub = testing::RawStub(server_->address());
  const std::string xdr = absl::HexStringToBytes(testing::kAltrepListHex);
  for (const char* source : {"rds-ascii", "rds-asciihex"}) {
    const std::string input = ThroughGraph(xdr, source);
    ASSERT_EQ(input.substr(0, 2), "A\n");
    for (size_t chunk : {size_t{7}, size_t{64}, size_t{1} << 20}) {
      const size_t before = server_->CallLogLines().size();
      testing::StreamResult result = testing::ConvertStream(
          *stub, input, testing::ConvertTo(v1::FORMAT_RDS_NATIVE), chunk, absl::Seconds(60));
      ASSERT_TRUE(result.status.ok()) << result.status.error_message();
      EXPECT_EQ(absl::BytesToHexString(result.output), testing::kAltrepListNativeHex)
          << source << " in chunks of " << chunk;
      std::optional<std::string> line = CallLine(before);
      ASSERT_TRUE(line.has_value()) << server_->Log();
      EXPECT_THAT(*line, HasSubstr(" as_received=1 "));
      EXPECT_THAT(*line, HasSubstr(absl::StrCat(" in=", source, " ")));
    }
  }
  // list(doubles, strings) in ascii, as R writes it.
  std::string text = "A\n3\n262658\n197888\n5\nUTF-8\n19\n2\n14\n500000\n";
  char number[40];
  for (int i = 0; i < 500000; ++i) {
    std::snprintf(number, sizeof number, "%.16g\n", i % 1000 == 7 ? 1e300 * i : i / 7.0);
    text += i % 997 == 0 ? "NA\n" : number;
  }
  text += "16\n3\n262153\n5\na\\tb\\nc\n9\n-1\n262153\n3\n\\303\\251!\n";
  for (v1::Format format : {v1::FORMAT_RDS, v1::FORMAT_RDS_ASCII}) {
    const size_t before = server_->CallLogLines().size();
    testing::StreamResult result = testing::ConvertStream(*stub, text, testing::ConvertTo(format),
                                                          size_t{1} << 16, absl::Seconds(120));
    ASSERT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_TRUE(result.output == ThroughGraph(text, format == v1::FORMAT_RDS ? "rds" : "rds-ascii"))
        << v1::Format_Name(format);
    EXPECT_EQ(result.input_format, v1::FORMAT_RDS_ASCII);
    std::optional<std::string> line = CallLine(before);
    ASSERT_TRUE(line.has_value()) << server_->Log();
    EXPECT_THAT(*line, HasSubstr(" as_received=1 "));
  }
  EXPECT_EQ(server_->Stop(), 0);
}

std::string Compressed(const std::string& bytes, RCompression kind) {
  BufferChain plain;
  plain.Append(Buffer::FromString(bytes));
  ByteWriter packed;
  EXPECT_TRUE(rds::Compress(plain, kind, packed).ok());
  return Joined(packed);
}

// Compressed input is decompressed as it arrives, a piece at a time; a truncated one gets the
// reader's error, as the same file converted locally does.
TEST_F(RStreamE2eTest, CompressedStreamsAreDecompressedAsTheyArrive) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  auto stub = testing::RawStub(server_->address());
  const std::string plain = absl::HexStringToBytes(testing::kAltrepListHex);
  v1::ConvertStreamOptions options = testing::ConvertTo(v1::FORMAT_RDS_NATIVE);
  options.mutable_output()->set_r_compression(v1::R_COMPRESSION_NONE);
  for (RCompression kind : {RCompression::kGzip, RCompression::kBzip2, RCompression::kXz}) {
    const std::string input = Compressed(plain, kind);
    // With input_size, which bounds the decompression ratio, it converts as it arrives; without,
    // it is collected first and bounded as a whole. The same bytes either way.
    for (bool sized : {true, false}) {
      v1::ConvertStreamOptions call_options = options;
      if (sized) call_options.mutable_input()->set_input_size(input.size());
      const size_t before = server_->CallLogLines().size();
      testing::StreamResult result =
          testing::ConvertStream(*stub, input, call_options, 5, absl::Seconds(60));
      ASSERT_TRUE(result.status.ok()) << result.status.error_message();
      EXPECT_EQ(absl::BytesToHexString(result.output), testing::kAltrepListNativeHex)
          << rds::CompressionName(kind);
      std::optional<std::string> line = CallLine(before);
      ASSERT_TRUE(line.has_value()) << server_->Log();
      if (sized) {
        EXPECT_THAT(*line, HasSubstr(" as_received=1 "));
      } else {
        EXPECT_THAT(*line, Not(HasSubstr(" as_received=1 "))) << server_->Log();
      }
    }

    const std::string cut = input.substr(0, input.size() - 9);
    v1::ConvertStreamOptions cut_options = options;
    cut_options.mutable_input()->set_input_size(cut.size());
    const size_t before = server_->CallLogLines().size();
    testing::StreamResult truncated =
        testing::ConvertStream(*stub, cut, cut_options, 5, absl::Seconds(60));
    ASSERT_TRUE(CallLine(before).has_value()) << server_->Log();
    EXPECT_EQ(truncated.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << rds::CompressionName(kind);
    const std::string local = dir_.File("cut.rds");
    {
      std::ofstream file(local, std::ios::binary);
      file.write(cut.data(), static_cast<std::streamsize>(cut.size()));
    }
    RunResult reference = RunProgram(
        {testing::SerialctlBinary(), "convert", "--to", "rds-native", local, dir_.File("x")}, "",
        absl::Seconds(60));
    EXPECT_NE(reference.exit_code, 0);
    EXPECT_THAT(reference.err, HasSubstr(truncated.status.error_message()))
        << rds::CompressionName(kind);
  }
  EXPECT_EQ(server_->Stop(), 0);
}

// kAltrepListHex with its first element, c(1.5, 2.5, 3.5), made `elements` doubles long.
std::string AltrepListWithALongVector(uint32_t elements) {
  const std::string stream = absl::HexStringToBytes(testing::kAltrepListHex);
  const std::string three =
      absl::HexStringToBytes("0000000e000000033ff80000000000004004000000000000400c000000000000");
  const size_t at = stream.find(three);
  if (at == std::string::npos) return "";
  std::string vector;
  PutInt(vector, 14);
  PutInt(vector, static_cast<int32_t>(elements));
  vector.resize(vector.size() + 8 * uint64_t{elements}, '\x3f');
  return stream.substr(0, at) + vector + stream.substr(at + three.size());
}

// The input is kept for the object graph only while the budgets have room for it at once: a
// stream larger than --max-spill-bytes converts as it arrives without it, and only one that then
// needs the graph fails, saying where the conversion stopped, why, and why the input was not kept.
TEST_F(RStreamE2eTest, AStreamLargerThanTheSpillBudgetConvertsWithoutBeingKept) {
  auto server = SerialdProcess::Start(
      {"--spill-dir", dir_.path(), "--spill-above", "1MiB", "--max-spill-bytes", "4MiB"});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  // 24 MiB of doubles: more than serialctl sends in one unary call (16 MiB); then a deferred
  // string, which goes on as read into version 3, and stops the transcoder in version 2.
  const std::string input = WithDeferredString(AltrepListWithALongVector(3 << 20));
  ASSERT_FALSE(input.empty());
  const std::string local_input = dir_.File("long.rds");
  {
    std::ofstream file(local_input, std::ios::binary);
    file.write(input.data(), static_cast<std::streamsize>(input.size()));
  }
  const std::string local = dir_.File("long.native.rds");
  RunResult reference =
      RunProgram({testing::SerialctlBinary(), "convert", "--to", "rds-native", local_input, local},
                 "", absl::Seconds(60));
  ASSERT_EQ(reference.exit_code, 0) << reference.err;

  // Through serialctl, which reads the output as it sends: the server's queue of received
  // input stays within its 1 MiB in memory, and nothing but the keeping could need the disk.
  auto remote = [&](const std::string& in, std::vector<std::string> flags) {
    std::vector<std::string> command = {testing::SerialctlBinary(),
                                        "--server",
                                        server_->address(),
                                        "--timeout",
                                        "60",
                                        "convert",
                                        "--to",
                                        "rds-native"};
    command.insert(command.end(), flags.begin(), flags.end());
    command.push_back(in);
    command.push_back(dir_.File("remote.rds"));
    return RunProgram(command, "", absl::Seconds(60));
  };
  // Version 3: the deferred string goes on as read; the input was never needed.
  RunResult converted = remote(local_input, {});
  ASSERT_EQ(converted.exit_code, 0) << converted.err;
  std::string difference;
  EXPECT_TRUE(testing::SameFileContents(local, dir_.File("remote.rds"), &difference)) << difference;
  std::optional<std::string> line = CallLine(0);
  ASSERT_TRUE(line.has_value()) << server_->Log();
  EXPECT_THAT(*line, HasSubstr(" as_received=1 "));
  EXPECT_THAT(*line, HasSubstr(" spilled=0 input_kept=0"));
  EXPECT_THAT(*line, HasSubstr(" status=OK"));

  // Version 2: the deferred string, after the long vector, is the object graph's to expand.
  RunResult stopped = remote(local_input, {"--version", "2"});
  EXPECT_EQ(stopped.exit_code, 1);
  const size_t altrep_at = input.find(absl::HexStringToBytes("000000ee"));
  EXPECT_EQ(stopped.err,
            absl::StrCat("serialctl: rds: converting as read stopped at byte ", altrep_at,
                         " before a deferred string in another form than R writes as.character() "
                         "in (its numbers or metadata with attributes), written as version 2 (the "
                         "graph expands it), "
                         "which only reading the whole input as an object graph converts; the "
                         "input was not kept for that: the call needs 5242880 bytes at once, "
                         "more than the server's whole budget of 4194304 bytes "
                         "(--max-spill-bytes)\n"));
  line = CallLine(1);
  ASSERT_TRUE(line.has_value()) << server_->Log();
  EXPECT_THAT(*line, HasSubstr(" status=RESOURCE_EXHAUSTED "));

  // A truncated stream gets the converter's own error, at the byte where the input ends (the
  // reader, given the whole input, would refuse the vector where it starts).
  const std::string cut = dir_.File("cut.rds");
  {
    std::ofstream file(cut, std::ios::binary);
    file.write(input.data(), 20 << 20);
  }
  RunResult truncated = remote(cut, {});
  EXPECT_EQ(truncated.exit_code, 1);
  EXPECT_EQ(truncated.err,
            absl::StrCat("serialctl: rds: input ends inside vector at byte ", 20 << 20, "\n"));
  line = CallLine(2);
  ASSERT_TRUE(line.has_value()) << server_->Log();
  EXPECT_THAT(*line, HasSubstr(" status=INVALID_ARGUMENT as_received=1 "));
  EXPECT_EQ(server_->Stop(), 0);
}

// An input larger than --max-kept-input-bytes is never kept, however much room there is: it
// converts as it arrives, and only one that then needs the graph fails, naming the flag. Within
// the bound the same stream is kept, and the graph writes on where the transcoder stops.
TEST_F(RStreamE2eTest, AStreamLargerThanTheKeptInputBoundConvertsWithoutBeingKept) {
  const std::string input = WithDeferredString(AltrepListWithALongVector(3 << 20));
  ASSERT_FALSE(input.empty());
  const std::string local_input = dir_.File("long.rds");
  {
    std::ofstream file(local_input, std::ios::binary);
    file.write(input.data(), static_cast<std::streamsize>(input.size()));
  }
  auto local = [&](const std::string& version) {
    const std::string out = dir_.File("local-v" + version + ".rds");
    RunResult run = RunProgram({testing::SerialctlBinary(), "convert", "--to", "rds-native",
                                "--version", version, local_input, out},
                               "", absl::Seconds(60));
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return out;
  };
  const std::string local_v3 = local("3");
  const std::string local_v2 = local("2");
  const std::string remote_output = dir_.File("remote.rds");
  auto remote = [&](const std::string& version) {
    return RunProgram(
        {testing::SerialctlBinary(), "--server", server_->address(), "--timeout", "60", "convert",
         "--to", "rds-native", "--version", version, local_input, remote_output},
        "", absl::Seconds(60));
  };
  const std::string altrep_at = absl::StrCat(input.find(absl::HexStringToBytes("000000ee")));

  // 2 MiB kept at most, and room for all of it in the spill directory.
  auto server = SerialdProcess::Start(
      {"--spill-dir", dir_.path(), "--spill-above", "1MiB", "--max-kept-input-bytes", "2MiB"});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  // Version 3: nothing stops; the input (its size declared by serialctl) was never kept.
  RunResult converted = remote("3");
  ASSERT_EQ(converted.exit_code, 0) << converted.err;
  std::string difference;
  EXPECT_TRUE(testing::SameFileContents(local_v3, remote_output, &difference)) << difference;
  std::optional<std::string> line = CallLine(0);
  ASSERT_TRUE(line.has_value()) << server_->Log();
  EXPECT_THAT(*line, HasSubstr(" as_received=1 "));
  EXPECT_THAT(*line, HasSubstr(" input_kept=0"));
  EXPECT_THAT(*line, HasSubstr(" status=OK"));
  // Version 2: the deferred string needs the graph, and the input is not there for it.
  const std::string not_kept =
      absl::StrCat("rds: converting as read stopped at byte ", altrep_at,
                   " before a deferred string in another form than R writes as.character() in "
                   "(its numbers or metadata with attributes), written as version 2 (the graph "
                   "expands it), which only reading the whole input as an object graph "
                   "converts; the input was not kept for that: it is larger than the 2097152 "
                   "bytes the server keeps (--max-kept-input-bytes)");
  RunResult stopped = remote("2");
  EXPECT_EQ(stopped.exit_code, 1);
  EXPECT_EQ(stopped.err, absl::StrCat("serialctl: ", not_kept, "\n"));
  line = CallLine(1);
  ASSERT_TRUE(line.has_value()) << server_->Log();
  EXPECT_THAT(*line, HasSubstr(" status=RESOURCE_EXHAUSTED "));
  // Without a declared size the first 2 MiB are kept, then let go of.
  v1::ConvertStreamOptions options = testing::ConvertTo(v1::FORMAT_RDS_NATIVE);
  options.mutable_output()->set_r_version(2);
  auto stub = testing::RawStub(server_->address());
  testing::StreamResult undeclared =
      testing::ConvertStream(*stub, input, options, 1 << 20, absl::Seconds(60));
  EXPECT_EQ(undeclared.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(undeclared.status.error_message(), not_kept);
  EXPECT_EQ(server_->Stop(), 0);

  // A bound above the input's size: kept, and the graph writes version 2 on.
  server = SerialdProcess::Start(
      {"--spill-dir", dir_.path(), "--spill-above", "1MiB", "--max-kept-input-bytes", "64MiB"});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  RunResult through_graph = remote("2");
  ASSERT_EQ(through_graph.exit_code, 0) << through_graph.err;
  EXPECT_TRUE(testing::SameFileContents(local_v2, remote_output, &difference)) << difference;
  line = CallLine(0);
  ASSERT_TRUE(line.has_value()) << server_->Log();
  EXPECT_THAT(*line, Not(HasSubstr("input_kept=0")));
  EXPECT_THAT(*line, HasSubstr(" status=OK"));
  EXPECT_EQ(server_->Stop(), 0);
}

TEST_F(RStreamE2eTest, ATruncatedStreamGetsTheReadersError) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::string input = absl::HexStringToBytes(testing::kAltrepListHex);
  input.resize(100);
  auto stub = testing::RawStub(server_->address());
  testing::StreamResult result = testing::ConvertStream(
      *stub, input, testing::ConvertTo(v1::FORMAT_RDS_NATIVE), 16, absl::Seconds(60));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(result.status.error_message(), HasSubstr("rds: "));
  EXPECT_THAT(result.status.error_message(), HasSubstr(" at byte "));
  EXPECT_EQ(server_->Stop(), 0);
}

}  // namespace
}  // namespace seriald
