// TranscodeR and the R to R conversion built on it (ConvertInput): byte for byte the object
// graph's output on every R file installed with R, in several encodings, versions and chunkings;
// where it stops, what it wrote is the graph's output's start; bad input gets the reader's error.
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/convert/convert.h"
#include "core/format/codec.h"
#include "core/io/file.h"
#include "core/rds/codec.h"
#include "core/rds/compression.h"
#include "core/rds/reader.h"
#include "core/rds/transcoder.h"
#include "core/rds/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "tests/testing/r_altrep_list.h"

namespace seriald {
namespace {

namespace fs = std::filesystem;

using ::seriald::testing::InstalledRFiles;

// The object graph's output: ReadR, then the codec's writer.
absl::StatusOr<std::string> ThroughGraph(const Codec& to, const Buffer& input,
                                         const WriteOptions& options) {
  ReadOptions read;
  read.keep_array_byte_order = true;
  absl::StatusOr<Value> value = ReadR(input, read);
  if (!value.ok()) return value.status();
  ByteWriter out;
  if (absl::Status s = to.Write(*value, options, out); !s.ok()) return s;
  BufferChain chain;
  if (absl::Status s = out.Finish(&chain); !s.ok()) return s;
  return chain.ToString();
}

absl::StatusOr<std::string> Converted(const Codec& from, const Codec& to, const Buffer& input,
                                      const WriteOptions& options) {
  ByteWriter out;
  ConversionNotes notes;
  absl::StatusOr<std::string> read_as =
      ConvertInput(from, to, input, ReadOptions{}, options, out, notes);
  if (!read_as.ok()) return read_as.status();
  BufferChain chain;
  if (absl::Status s = out.Finish(&chain); !s.ok()) return s;
  return chain.ToString();
}

// TranscodeR on the (decompressed) stream cut into `step`-byte chunks, uncompressed output.
struct Transcoded {
  absl::Status status;
  RTranscodeOutcome outcome;
  std::string bytes;
};
Transcoded TranscodeInSteps(const Codec& to, const Buffer& stream, size_t step,
                            const WriteOptions& options, const ReadOptions& read_options = {}) {
  ChunkedInput in(ChunkedInput::ChunksOf(stream, step), "rds", stream.size());
  ByteWriter out;
  auto settings_for = [&](const RStreamInfo& source) -> absl::StatusOr<rds::RWriteSettings> {
    rds::RWriteSettings settings = rds::CodecWriteSettings(to.name(), source, options);
    settings.compression = RCompression::kNone;
    return settings;
  };
  Transcoded result;
  absl::StatusOr<RTranscodeOutcome> outcome = TranscodeR(in, settings_for, out, read_options);
  result.status = outcome.status();
  if (outcome.ok()) result.outcome = *outcome;
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  result.bytes = chain.ToString();
  return result;
}

TEST(RTranscoderTest, InstalledFilesConvertAsTheObjectGraphWrites) {
  const CodecRegistry registry = CoreCodecs();
  const Codec* rds = *registry.Find("rds");
  struct Target {
    const char* codec;
    std::optional<int> version;
  };
  const Target targets[] = {{"rds", std::nullopt}, {"rds-native", 2}, {"rds-ascii", 3}};
  int files = 0, complete = 0, stopped = 0, chunked = 0;
  std::map<std::string, int> reasons;
  for (const std::string& path : InstalledRFiles()) {
    absl::StatusOr<Buffer> input = ReadFile(path);
    ASSERT_TRUE(input.ok()) << path;
    ++files;
    const RCompression compression = rds::DetectCompression(input->view());
    absl::StatusOr<Buffer> stream = rds::Decompress(*input, compression, uint64_t{1} << 32);
    ASSERT_TRUE(stream.ok()) << path;
    for (const Target& target : targets) {
      const Codec* to = *registry.Find(target.codec);
      WriteOptions options;
      options.r_version = target.version;
      absl::StatusOr<std::string> graph = ThroughGraph(*to, *input, options);
      absl::StatusOr<std::string> converted = Converted(*rds, *to, *input, options);
      ASSERT_EQ(graph.status().code(), converted.status().code()) << path << " to " << to->name();
      if (!graph.ok()) continue;
      ASSERT_TRUE(*graph == *converted) << path << " to " << to->name();

      // The transcoder itself, uncompressed, in small chunks for small files.
      options.r_compression = RCompression::kNone;
      absl::StatusOr<std::string> plain = ThroughGraph(*to, *input, options);
      ASSERT_TRUE(plain.ok()) << path;
      std::vector<size_t> steps = {size_t{1} << 20};
      if (stream->size() <= 256 * 1024) steps.insert(steps.end(), {4096, 7});
      for (size_t step : steps) {
        Transcoded t = TranscodeInSteps(*to, *stream, step, options);
        ASSERT_TRUE(t.status.ok()) << path << " to " << to->name() << ": " << t.status;
        if (t.outcome.complete) {
          ASSERT_TRUE(t.bytes == *plain) << path << " to " << to->name() << " in " << step;
          if (step == size_t{1} << 20) ++complete;
        } else {
          ASSERT_EQ(t.outcome.emitted, t.bytes.size());
          ASSERT_TRUE(plain->compare(0, t.bytes.size(), t.bytes) == 0)
              << path << " to " << to->name() << " in " << step << ", stopped at "
              << t.outcome.stopped_at << ": " << t.outcome.reason;
          if (step == size_t{1} << 20) {
            ++stopped;
            ++reasons[t.outcome.reason];
          }
        }
        ++chunked;
      }
    }
  }
  std::printf(
      "%d installed R files: %d conversions made as read, %d stopped and finished "
      "through the object graph; %d chunkings checked\n",
      files, complete, stopped, chunked);
  for (const auto& [reason, count] : reasons)
    std::printf("  stopped %d times: %s\n", count, reason.c_str());
  EXPECT_GE(files, 100);
  // Most real files stream; those with byte code or ALTREP objects do not.
  EXPECT_GT(complete, stopped);
}

// A stream: "X\n", version 3 header, then the items' words.
std::string XdrStream(const std::vector<int32_t>& words, std::string_view tail = {}) {
  std::string s = "X\n";
  auto put = [&](int32_t v) {
    for (int k = 3; k >= 0; --k)
      s.push_back(static_cast<char>((static_cast<uint32_t>(v) >> (8 * k)) & 0xFF));
  };
  for (int32_t v : {3, 0x040202, 0x030500, 5}) put(v);
  s += "UTF-8";
  for (int32_t v : words) put(v);
  s += tail;
  return s;
}

Transcoded TranscodeWhole(const std::string& stream, const char* codec = "rds") {
  const CodecRegistry registry = CoreCodecs();
  return TranscodeInSteps(**registry.Find(codec), Buffer::FromString(stream), 3, WriteOptions{});
}

constexpr int32_t kNil = 254;

TEST(RTranscoderTest, StopsBeforeFormsTheGraphRewrites) {
  // list(NULL) whose cell says it has a tag and attributes; the tag is NULL: the graph drops it.
  const int32_t cell = 2 | (1 << 9) | (1 << 10);
  const int32_t attr_cell = 2;
  Transcoded t = TranscodeWhole(XdrStream({cell, attr_cell, 13, 1, 5, kNil, kNil, kNil, kNil}));
  ASSERT_TRUE(t.status.ok()) << t.status;
  EXPECT_FALSE(t.outcome.complete);
  EXPECT_EQ(t.outcome.reason, "a tag or closure environment written as NULL");
  // The held cell was not written: only the header.
  EXPECT_EQ(t.outcome.emitted, XdrStream({}).size());

  // A symbol written in full twice: pairlist(a = pairlist(a = NULL)) with the inner tag not a
  // reference.
  std::string symbol = XdrStream({1, 9 | (64 << 12), 1}, "a");
  symbol = symbol.substr(XdrStream({}).size());
  const std::string tagged_cell = XdrStream({2 | (1 << 10)}).substr(XdrStream({}).size());
  const std::string nil = XdrStream({kNil}).substr(XdrStream({}).size());
  Transcoded again =
      TranscodeWhole(XdrStream({}) + tagged_cell + symbol + tagged_cell + symbol + nil + nil + nil);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_FALSE(again.outcome.complete);
  EXPECT_EQ(again.outcome.reason, "a symbol written in full a second time");
  // What was written is the graph's output's start.
  absl::StatusOr<std::string> graph =
      ThroughGraph(**CoreCodecs().Find("rds"),
                   Buffer::FromString(XdrStream({}) + tagged_cell + symbol + tagged_cell + symbol +
                                      nil + nil + nil),
                   WriteOptions{});
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_EQ(graph->substr(0, again.bytes.size()), again.bytes);
  EXPECT_NE(*graph, XdrStream({}) + tagged_cell + symbol + tagged_cell + symbol + nil + nil + nil);

  // Ascii input.
  EXPECT_FALSE(TranscodeWhole("A\n3\n").outcome.complete);
}

TEST(RTranscoderTest, AltrepObjectsGoOnAsReadForVersion3AndStopForVersion2) {
  const CodecRegistry registry = CoreCodecs();
  const std::string stream = absl::HexStringToBytes(testing::kAltrepListHex);
  for (const char* codec : {"rds", "rds-native", "rds-ascii"}) {
    for (int version : {2, 3}) {
      WriteOptions options;
      options.r_version = version;
      options.r_compression = RCompression::kNone;
      absl::StatusOr<std::string> graph =
          ThroughGraph(**registry.Find(codec), Buffer::FromString(stream), options);
      ASSERT_TRUE(graph.ok()) << graph.status();
      for (size_t step : {size_t{1}, size_t{5}, size_t{4096}}) {
        Transcoded t =
            TranscodeInSteps(**registry.Find(codec), Buffer::FromString(stream), step, options);
        ASSERT_TRUE(t.status.ok()) << t.status;
        if (version == 3) {
          EXPECT_TRUE(t.outcome.complete) << codec << " in " << step << ": " << t.outcome.reason;
          EXPECT_EQ(t.bytes, *graph) << codec << " in " << step;
        } else {
          EXPECT_FALSE(t.outcome.complete);
          EXPECT_EQ(t.outcome.reason,
                    "an ALTREP object written as version 2 (the graph expands it)");
          EXPECT_EQ(graph->substr(0, t.bytes.size()), t.bytes);
        }
      }
    }
  }
  // A compact sequence whose state the reader refuses (n = -1): left to the graph, which says so.
  std::string bad = stream;
  const size_t n_at = bad.find(absl::HexStringToBytes("40240000"));
  ASSERT_NE(n_at, std::string::npos);
  bad.replace(n_at, 4, absl::HexStringToBytes("bff00000"));
  Transcoded t = TranscodeInSteps(**registry.Find("rds"), Buffer::FromString(bad), 3, {});
  ASSERT_TRUE(t.status.ok()) << t.status;
  EXPECT_FALSE(t.outcome.complete);
  EXPECT_EQ(t.outcome.reason, "a compact sequence whose state the reader refuses");
  EXPECT_FALSE(ReadR(Buffer::FromString(bad)).ok());
}

TEST(RTranscoderTest, AttributesWrittenAsNullAreKeptByBothPaths) {
  // c(1L) with the attribute bit over a NULL attribute list: R reads no attributes; seriald
  // keeps the form (RFlags::null_attributes) on both paths.
  const std::string stream = XdrStream({13 | (1 << 9), 1, 7, kNil});
  Transcoded t = TranscodeWhole(stream);
  ASSERT_TRUE(t.status.ok()) << t.status;
  EXPECT_TRUE(t.outcome.complete);
  EXPECT_EQ(t.bytes, stream);
  absl::StatusOr<Value> value = ReadR(Buffer::FromString(stream));
  ASSERT_TRUE(value.ok());
  EXPECT_TRUE(value->node(value->roots()[0]).r_flags.null_attributes);
  EXPECT_EQ(value->node(value->roots()[0]).attributes, kNoNode);
  ReadOptions normalize;
  normalize.r_normalize = true;
  absl::StatusOr<Value> normalized = ReadR(Buffer::FromString(stream), normalize);
  ASSERT_TRUE(normalized.ok());
  EXPECT_FALSE(normalized->node(normalized->roots()[0]).r_flags.null_attributes);
}

// Lengths are not promises. With the input's size unknown (compressed or streamed input), a
// string of 2^31 - 1 bytes and a vector of 2^48 doubles that the input does not hold fail where
// the input ends, with its offset, without allocating what they claim; converted whole, such
// input gets the reader's error.
TEST(RTranscoderTest, HugeLengthsFailWhereTheInputEnds) {
  const CodecRegistry registry = CoreCodecs();
  const std::string huge_string = XdrStream({16, 1, 9 | (64 << 12), 0x7FFFFFFF}, "abc");
  const std::string huge_vector = XdrStream({14, -1, 65536, 0}, std::string(64, '\x01'));
  for (const std::string& stream : {huge_string, huge_vector}) {
    ChunkedInput in(ChunkedInput::ChunksOf(Buffer::FromString(stream), 5), "rds", std::nullopt);
    ByteWriter out;
    auto settings_for = [](const RStreamInfo& source) -> absl::StatusOr<rds::RWriteSettings> {
      return rds::SettingsForSource(source, RFormat::kNative);
    };
    absl::StatusOr<RTranscodeOutcome> outcome = TranscodeR(in, settings_for, out, ReadOptions{});
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(outcome.status().message()),
                ::testing::HasSubstr(absl::StrCat("at byte ", stream.size())));

    // gzip'd, through the conversion: the reader's own error.
    ByteWriter packed;
    BufferChain plain;
    plain.Append(Buffer::FromString(stream));
    ASSERT_TRUE(rds::Compress(plain, RCompression::kGzip, packed).ok());
    BufferChain chain;
    ASSERT_TRUE(packed.Finish(&chain).ok());
    const Buffer compressed = Buffer::FromString(chain.ToString());
    const Codec& native = **registry.Find("rds-native");
    absl::Status graph = ThroughGraph(native, compressed, WriteOptions{}).status();
    absl::Status converted =
        Converted(**registry.Find("rds"), native, compressed, WriteOptions{}).status();
    EXPECT_FALSE(graph.ok());
    EXPECT_EQ(graph, converted);
  }
}

// The depth limit counts what the reader counts: a pairlist's tail is read inside the pairlist.
TEST(RTranscoderTest, DepthIsCountedAsTheReaderCountsIt) {
  const CodecRegistry registry = CoreCodecs();
  // pairlist(NULL) whose tail is list(NULL): depth 2 for the reader.
  const std::string stream = XdrStream({2, kNil, 19, 1, kNil});
  for (uint32_t depth : {1u, 2u, 3u}) {
    ReadOptions options;
    options.max_depth = depth;
    absl::StatusOr<Value> read = ReadR(Buffer::FromString(stream), options);
    Transcoded t =
        TranscodeInSteps(**registry.Find("rds"), Buffer::FromString(stream), 4, {}, options);
    EXPECT_EQ(t.status.code(), read.status().code()) << "max_depth " << depth;
    if (read.ok()) {
      EXPECT_TRUE(t.outcome.complete);
      EXPECT_EQ(t.bytes, stream);
    }
  }
}

// Damaged inputs: the conversion fails exactly when reading through the graph fails, with the
// same status, and otherwise gives the same bytes.
TEST(RTranscoderTest, DamagedInputsFailAsTheReaderFails) {
  const CodecRegistry registry = CoreCodecs();
  const Codec* rds = *registry.Find("rds");
  const Codec* native = *registry.Find("rds-native");
  std::vector<std::string> paths = InstalledRFiles();
  ASSERT_FALSE(paths.empty());
  std::mt19937 random(13);
  int checked = 0, failed = 0;
  for (size_t i = 0; i < paths.size(); i += 7) {
    absl::StatusOr<Buffer> input = ReadFile(paths[i]);
    ASSERT_TRUE(input.ok());
    absl::StatusOr<Buffer> stream =
        rds::Decompress(*input, rds::DetectCompression(input->view()), uint64_t{1} << 32);
    ASSERT_TRUE(stream.ok());
    if (stream->size() > (1 << 20) || stream->size() < 32) continue;
    for (int k = 0; k < 40; ++k) {
      std::string bytes(stream->view());
      const size_t cut = random() % 3 == 0 ? random() % bytes.size() : bytes.size();
      bytes.resize(cut);
      for (int flips = 1 + random() % 3; flips > 0 && !bytes.empty(); --flips) {
        bytes[14 + random() % (bytes.size() > 14 ? bytes.size() - 14 : 1) % bytes.size()] ^=
            static_cast<char>(1 << (random() % 8));
      }
      const Buffer damaged = Buffer::FromString(bytes);
      absl::StatusOr<std::string> graph = ThroughGraph(*native, damaged, WriteOptions{});
      absl::StatusOr<std::string> converted = Converted(*rds, *native, damaged, WriteOptions{});
      ASSERT_EQ(graph.ok(), converted.ok())
          << paths[i] << " damage " << k << ": " << graph.status() << " / " << converted.status();
      if (graph.ok()) {
        if (*graph != *converted) {
          size_t at = 0;
          while (at < graph->size() && at < converted->size() && (*graph)[at] == (*converted)[at]) {
            ++at;
          }
          FILE* f = std::fopen("/tmp/damaged.rds", "wb");
          std::fwrite(bytes.data(), 1, bytes.size(), f);
          std::fclose(f);
          FAIL() << paths[i] << " damage " << k << ": outputs differ from byte " << at << " (sizes "
                 << graph->size() << ", " << converted->size() << ")";
        }
      } else {
        ASSERT_EQ(graph.status(), converted.status()) << paths[i] << " damage " << k;
        ++failed;
      }
      ++checked;
    }
  }
  std::printf("%d damaged streams, %d refused\n", checked, failed);
  EXPECT_GT(failed, checked / 4);
}

// Compressed input is decompressed a piece at a time, with the reader's bounds and errors.
TEST(RTranscoderTest, CompressedInputStreamsWithTheReadersErrors) {
  const CodecRegistry registry = CoreCodecs();
  const Codec* rds = *registry.Find("rds");
  const Codec* native = *registry.Find("rds-native");
  std::string stream = XdrStream({14, 300000});
  for (int i = 0; i < 300000; ++i) stream += std::string("\x3f\xf0\0\0\0\0\0\0", 8);
  stream += std::string("\0\0\0\xfe", 4);
  for (RCompression kind : {RCompression::kGzip, RCompression::kBzip2, RCompression::kXz}) {
    ByteWriter packed;
    BufferChain plain;
    plain.Append(Buffer::FromString(stream));
    ASSERT_TRUE(rds::Compress(plain, kind, packed).ok());
    BufferChain chain;
    ASSERT_TRUE(packed.Finish(&chain).ok());
    const std::string compressed = chain.ToString();
    absl::StatusOr<std::string> graph =
        ThroughGraph(*native, Buffer::FromString(compressed), WriteOptions{});
    absl::StatusOr<std::string> converted =
        Converted(*rds, *native, Buffer::FromString(compressed), WriteOptions{});
    ASSERT_TRUE(graph.ok() && converted.ok()) << converted.status();
    EXPECT_TRUE(*graph == *converted) << rds::CompressionName(kind);
    // Truncated: the same error.
    const Buffer cut = Buffer::FromString(compressed.substr(0, compressed.size() / 2));
    absl::Status graph_error = ThroughGraph(*native, cut, WriteOptions{}).status();
    absl::Status converted_error = Converted(*rds, *native, cut, WriteOptions{}).status();
    EXPECT_FALSE(graph_error.ok());
    EXPECT_EQ(graph_error, converted_error) << rds::CompressionName(kind);
  }
}

}  // namespace
}  // namespace seriald
