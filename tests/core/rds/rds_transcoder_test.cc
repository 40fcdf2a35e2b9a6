// TranscodeR and the R to R conversion built on it (ConvertInput): byte for byte the object
// graph's output on every R file installed with R, read as R wrote it and written again in ascii
// and asciihex, into several encodings, versions and chunkings; where it stops, what it wrote is
// the graph's output's start; bad input gets the reader's error.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
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
#include "tests/core/rds/testing/lazy_load.h"
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
                                      const WriteOptions& options,
                                      std::string* read_as_out = nullptr) {
  ByteWriter out;
  ConversionNotes notes;
  absl::StatusOr<std::string> read_as =
      ConvertInput(from, to, input, ReadOptions{}, options, out, notes);
  if (!read_as.ok()) return read_as.status();
  if (read_as_out != nullptr) *read_as_out = *read_as;
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

// The conversions checked over many files: made as read and stopped (by reason) at the largest
// step, and every chunking.
struct Tally {
  int complete = 0, stopped = 0, chunked = 0;
  std::map<std::string, int> reasons;
};

// TranscodeR of `stream` to `to` in chunks of each of `steps` (the largest first): `graph`'s
// bytes when it completes, their start where it stops.
void ExpectGraphsBytes(const Codec& to, const Buffer& stream, const std::string& graph,
                       const WriteOptions& options, const std::vector<size_t>& steps,
                       const std::string& what, Tally& tally) {
  for (size_t step : steps) {
    Transcoded t = TranscodeInSteps(to, stream, step, options);
    ASSERT_TRUE(t.status.ok()) << what << " to " << to.name() << ": " << t.status;
    if (t.outcome.complete) {
      ASSERT_TRUE(t.bytes == graph) << what << " to " << to.name() << " in " << step;
      if (step == steps[0]) ++tally.complete;
    } else {
      ASSERT_EQ(t.outcome.emitted, t.bytes.size());
      ASSERT_TRUE(graph.compare(0, t.bytes.size(), t.bytes) == 0)
          << what << " to " << to.name() << " in " << step << ", stopped at "
          << t.outcome.stopped_at << ": " << t.outcome.reason;
      if (step == steps[0]) {
        ++tally.stopped;
        ++tally.reasons[t.outcome.reason];
      }
    }
    ++tally.chunked;
  }
}

TEST(RTranscoderTest, InstalledFilesConvertAsTheObjectGraphWrites) {
  const CodecRegistry registry = CoreCodecs();
  const Codec* rds = *registry.Find("rds");
  struct Target {
    const char* codec;
    std::optional<int> version;
  };
  const Target targets[] = {{"rds", std::nullopt}, {"rds-native", 2}, {"rds-ascii", 3}};
  int files = 0;
  Tally tally;
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
      ASSERT_NO_FATAL_FAILURE(ExpectGraphsBytes(*to, *stream, *plain, options, steps, path, tally));
    }
  }
  std::printf(
      "%d installed R files: %d conversions made as read, %d stopped and finished "
      "through the object graph; %d chunkings checked\n",
      files, tally.complete, tally.stopped, tally.chunked);
  for (const auto& [reason, count] : tally.reasons)
    std::printf("  stopped %d times: %s\n", count, reason.c_str());
  EXPECT_GE(files, 100);
  // Most real files stream; those with byte code or ALTREP objects do not.
  EXPECT_GT(tally.complete, tally.stopped);
}

// The entries of installed packages' lazy-load databases: tens of thousands of objects R wrote,
// most of them byte-compiled functions (shared language cells, nested byte code, constants of
// every kind), converted to native version 2 and to ascii as the graph writes them.
TEST(RTranscoderTest, LazyLoadEntriesConvertAsTheObjectGraphWrites) {
  const CodecRegistry registry = CoreCodecs();
  const Codec* targets[] = {*registry.Find("rds-native"), *registry.Find("rds-ascii")};
  Tally tally;
  int entries = 0, bytecode = 0;
  testing::LazyLoadCounts counts;
  ASSERT_TRUE(testing::ForEachLazyLoadEntry(
                  [&](const testing::LazyLoadEntry& entry) {
                    if (::testing::Test::HasFatalFailure()) return;
                    ++entries;
                    const Codec* to = targets[entries % 2];
                    WriteOptions options;
                    options.r_compression = RCompression::kNone;
                    if (entries % 2 == 0) options.r_version = 2;
                    absl::StatusOr<std::string> graph = ThroughGraph(*to, entry.stream, options);
                    ASSERT_TRUE(graph.ok()) << entry.Where() << ": " << graph.status();
                    // BCODESXP (21) in a flags word.
                    if (entry.stream.view().find(std::string("\0\0\0\x15", 4)) !=
                        std::string_view::npos) {
                      ++bytecode;
                    }
                    std::vector<size_t> steps = {size_t{1} << 20};
                    if (entries % 16 == 0) steps.push_back(7);
                    ASSERT_NO_FATAL_FAILURE(ExpectGraphsBytes(*to, entry.stream, *graph, options,
                                                              steps, entry.Where(), tally));
                  },
                  &counts)
                  .ok());
  std::printf(
      "%d lazy-load entries (%d of them with byte code, by a look at their bytes), to native "
      "version 2 and ascii version 3: %d converted as read, %d stopped\n",
      entries, bytecode, tally.complete, tally.stopped);
  for (const auto& [reason, count] : tally.reasons)
    std::printf("  stopped %d times: %s\n", count, reason.c_str());
  EXPECT_GT(entries, 1000);
  EXPECT_GT(bytecode, entries / 2);
  EXPECT_GT(tally.complete, tally.stopped * 20);
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
}

// The installed files written again by the graph in ascii and in asciihex (uncompressed, the
// version kept), then converted from those: to binary, to ascii, to asciihex, and to rdata, whose
// encoding follows the source's (asciihex shows only in the first number: the output switches
// there). Every conversion is the graph's bytes, in chunks down to 7 bytes for small files, and
// says what it read the input as.
TEST(RTranscoderTest, InstalledFilesWrittenInAsciiConvertAsTheObjectGraphWrites) {
  const CodecRegistry registry = CoreCodecs();
  const Codec* rds = *registry.Find("rds");
  struct Target {
    const char* codec;
    std::optional<int> version;
  };
  const Target targets[] = {{"rds", std::nullopt},
                            {"rds-native", 2},
                            {"rds-ascii", 3},
                            {"rds-asciihex", std::nullopt},
                            {"rdata", std::nullopt}};
  int files = 0, switched = 0;
  Tally tally;
  for (const std::string& path : InstalledRFiles()) {
    absl::StatusOr<Buffer> input = ReadFile(path);
    ASSERT_TRUE(input.ok()) << path;
    ++files;
    for (const char* source_codec : {"rds-ascii", "rds-asciihex"}) {
      WriteOptions as_source;
      as_source.r_compression = RCompression::kNone;
      absl::StatusOr<std::string> source =
          ThroughGraph(**registry.Find(source_codec), *input, as_source);
      ASSERT_TRUE(source.ok()) << path << ": " << source.status();
      const Buffer stream = Buffer::FromString(*std::move(source));
      absl::StatusOr<Value> read = ReadR(stream);
      ASSERT_TRUE(read.ok()) << path << " in " << source_codec << ": " << read.status();
      const bool hex = read->source().r->format == RFormat::kAsciiHex;
      for (const Target& target : targets) {
        const Codec* to = *registry.Find(target.codec);
        WriteOptions options;
        options.r_version = target.version;
        options.r_compression = RCompression::kNone;
        absl::StatusOr<std::string> graph = ThroughGraph(*to, stream, options);
        std::string read_as;
        if (!graph.ok()) {
          // rdata of an object that is not a pairlist: refused on both paths.
          EXPECT_EQ(Converted(*rds, *to, stream, options).status(), graph.status()) << path;
          continue;
        }
        absl::StatusOr<std::string> converted = Converted(*rds, *to, stream, options, &read_as);
        ASSERT_TRUE(converted.ok()) << path << ": " << converted.status();
        ASSERT_TRUE(*graph == *converted)
            << path << " from " << source_codec << " to " << to->name();
        const bool rdata_source = !read->source().r->rdata_magic.empty();
        EXPECT_EQ(read_as, rdata_source ? "rdata" : hex ? "rds-asciihex" : "rds-ascii") << path;
        if (hex && std::string_view(target.codec) == "rdata") ++switched;

        std::vector<size_t> steps = {size_t{1} << 20};
        if (stream.size() <= 64 * 1024) steps.insert(steps.end(), {4096, 7});
        ASSERT_NO_FATAL_FAILURE(ExpectGraphsBytes(*to, stream, *graph, options, steps,
                                                  path + " from " + source_codec, tally));
      }
    }
  }
  std::printf(
      "%d installed R files in ascii and asciihex: %d conversions made as read, %d stopped "
      "(%d from asciihex to rdata)\n",
      files, tally.complete, tally.stopped, switched);
  for (const auto& [reason, count] : tally.reasons)
    std::printf("  stopped %d times: %s\n", count, reason.c_str());
  EXPECT_GE(files, 100);
  EXPECT_GT(tally.complete, 4 * tally.stopped);
  EXPECT_GT(switched, 10);
}

// An ascii stream is asciihex when its first number written as a double is a hex float; the
// tokens NA, NaN, Inf and -Inf before it are the same in both forms. Mixed streams (no R writes
// them) are read by that first number, on both paths.
TEST(RTranscoderTest, TheFirstNumberSaysWhetherAnAsciiStreamIsAsciiHex) {
  const CodecRegistry registry = CoreCodecs();
  const std::string head = "A\n3\n262658\n197888\n5\nUTF-8\n";
  struct Case {
    std::string body;
    RFormat format;
  };
  const Case cases[] = {
      {"14\n4\nNA\nInf\n0x1.8p+0\n2.5\n", RFormat::kAsciiHex},
      {"14\n4\nNA\n-Inf\n1.5\n0x1.4p+1\n", RFormat::kAscii},
      {"14\n2\nNA\nNaN\n", RFormat::kAscii},
      // A complex vector, whose second part is the first number.
      {"15\n1\nNA\n0x1p-1\n", RFormat::kAsciiHex},
  };
  for (const Case& c : cases) {
    const Buffer stream = Buffer::FromString(head + c.body + "trailing\n");
    absl::StatusOr<Value> read = ReadR(stream);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->source().r->format, c.format) << c.body;
    // Written as read: the ascii form kept, and the bytes after the object kept with it.
    for (const char* codec : {"rds-ascii", "rds-asciihex"}) {
      WriteOptions options;
      options.r_compression = RCompression::kNone;
      const Codec* to = *registry.Find(codec);
      absl::StatusOr<std::string> graph = ThroughGraph(*to, stream, options);
      ASSERT_TRUE(graph.ok()) << graph.status();
      std::string read_as;
      absl::StatusOr<std::string> converted =
          Converted(**registry.Find("rds"), *to, stream, options, &read_as);
      ASSERT_TRUE(converted.ok()) << converted.status();
      EXPECT_EQ(*converted, *graph) << c.body << " to " << codec;
      EXPECT_EQ(read_as, c.format == RFormat::kAsciiHex ? "rds-asciihex" : "rds-ascii");
      for (size_t step : {size_t{1}, size_t{3}, size_t{64}}) {
        Transcoded t = TranscodeInSteps(*to, stream, step, options);
        ASSERT_TRUE(t.status.ok()) << t.status;
        EXPECT_TRUE(t.outcome.complete);
        EXPECT_EQ(t.bytes, *graph) << c.body << " to " << codec << " in " << step;
      }
      const bool kept =
          (c.format == RFormat::kAsciiHex) == (std::string_view(codec) == "rds-asciihex");
      EXPECT_EQ(absl::EndsWith(*graph, "trailing\n"), kept) << c.body << " to " << codec;
    }
  }
}

// Bad ascii input, a token at a time in chunks of any size: the transcoder fails with what is
// wrong and the byte where the token or string starts (a string cut short: where the input ends
// when its size is not known), as the reader fails too; the conversion reports the reader's own
// error.
TEST(RTranscoderTest, BadAsciiTokensFailWithWhatIsWrongAndWhere) {
  const std::string head = "A\n3\n262658\n197888\n5\nUTF-8\n";
  struct Case {
    std::string body;
    std::string problem;
    size_t at;  // offset in the body
    std::optional<size_t> at_size_unknown = std::nullopt;
  };
  const Case cases[] = {
      {"13\n2\n1\nx\n", "vector: \"x\" is not an integer", 7},
      {"14\n1\n1.5e\n", "vector: \"1.5e\" is not a number", 5},
      {"24\n1\nzz\n", "vector: \"zz\" is not a hex byte", 5},
      {"14\n1\n" + std::string(200, '1') + "\n", "vector is longer than 127 chars", 5},
      {"13\n1\n22", "input ends inside vector", 5},
      {"13\n2\n1\n   ", "input ends before vector", 10},
      {"16\n1\n262153\n3\nab\\", "input ends inside an escape in string", 16},
      {"16\n1\n262153\n9\nabc\n", "input ends inside string", 14, 18},
      {"13\n1x\n", "vector length: \"1x\" is not an integer", 3},
  };
  const CodecRegistry registry = CoreCodecs();
  for (const Case& c : cases) {
    const std::string stream = head + c.body;
    EXPECT_FALSE(ReadR(Buffer::FromString(stream)).ok()) << c.body;
    for (size_t step : {size_t{1}, size_t{3}, size_t{4096}}) {
      for (bool size_known : {true, false}) {
        ChunkedInput in(ChunkedInput::ChunksOf(Buffer::FromString(stream), step), "rds",
                        size_known ? std::optional<uint64_t>(stream.size()) : std::nullopt);
        ByteWriter out;
        auto settings_for = [](const RStreamInfo& source) -> absl::StatusOr<rds::RWriteSettings> {
          return rds::SettingsForSource(source, RFormat::kXdr);
        };
        absl::StatusOr<RTranscodeOutcome> outcome =
            TranscodeR(in, settings_for, out, ReadOptions{});
        ASSERT_FALSE(outcome.ok()) << c.body << " in " << step;
        EXPECT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_THAT(std::string(outcome.status().message()),
                    ::testing::HasSubstr(absl::StrCat(
                        c.problem, " at byte ",
                        head.size() + (size_known ? c.at : c.at_size_unknown.value_or(c.at)))))
            << "in chunks of " << step << (size_known ? "" : ", size unknown");
      }
    }
    absl::StatusOr<std::string> graph =
        ThroughGraph(**registry.Find("rds"), Buffer::FromString(stream), WriteOptions{});
    EXPECT_EQ(Converted(**registry.Find("rds"), **registry.Find("rds"), Buffer::FromString(stream),
                        WriteOptions{})
                  .status(),
              graph.status());
  }
}

// Strings in ascii: escapes of every kind, split across chunks anywhere, decoded to the bytes R
// reads, and each ascii variant of the format line.
TEST(RTranscoderTest, AsciiStringsAndFormatLinesReadAsRReadsThem) {
  const CodecRegistry registry = CoreCodecs();
  const std::string body =
      "3\n262658\n197888\n5\nUTF-8\n16\n4\n"
      "262153\n7\na\\tb\\\\c\\\"d\n"   // a<TAB>b\c"d
      "262153\n4\n\\303\\251\\0401\n"  // UTF-8 e-acute, a space, 1
      "9\n-1\n"                        // NA_character_
      "262153\n0\n\n";                 // ""
  for (const std::string& line : {std::string("A\n"), std::string("\nA\n")}) {
    const Buffer stream = Buffer::FromString(line + body);
    absl::StatusOr<Value> read = ReadR(stream);
    ASSERT_TRUE(read.ok()) << read.status();
    const auto& strings = read->Get<StringVector>(read->roots()[0]);
    EXPECT_EQ(strings.Get(0).bytes, "a\tb\\c\"d");
    EXPECT_EQ(strings.Get(1).bytes, "\xc3\xa9 1");
    EXPECT_TRUE(strings.Get(2).is_na);
    EXPECT_EQ(strings.Get(3).bytes, "");
    for (const char* codec : {"rds", "rds-ascii"}) {
      WriteOptions options;
      options.r_compression = RCompression::kNone;
      absl::StatusOr<std::string> graph = ThroughGraph(**registry.Find(codec), stream, options);
      ASSERT_TRUE(graph.ok()) << graph.status();
      for (size_t step = 1; step <= 9; ++step) {
        Transcoded t = TranscodeInSteps(**registry.Find(codec), stream, step, options);
        ASSERT_TRUE(t.status.ok()) << t.status;
        EXPECT_TRUE(t.outcome.complete);
        EXPECT_EQ(t.bytes, *graph) << codec << " in " << step;
      }
    }
  }
  // A format line "\nA" not followed by a newline: the reader's words, at byte 2.
  Transcoded bad = TranscodeWhole("\nAX3\n");
  EXPECT_EQ(bad.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status.message()), ::testing::HasSubstr("at byte 2"));
  EXPECT_FALSE(ReadR(Buffer::FromString("\nAX3\n")).ok());
}

// Words of an XDR stream, big-endian.
std::string Words(const std::vector<int32_t>& words) {
  return XdrStream(words).substr(XdrStream({}).size());
}

// Byte code whose shared language cell is defined as 0 and referred to again, as R writes it,
// goes on as read; numbered, counted or written otherwise than the graph writes it (which R
// never does, but a stream may), the transcoder stops before the object and the graph converts.
TEST(RTranscoderTest, ByteCodeGoesOnWhereItsCellsAreNumberedAsTheGraphNumbersThem) {
  const int32_t kBcode = 21, kLang = 6, kSym = 1, kReal = 14, kDef = 244, kRef = 243;
  const std::string symbol_f = Words({kSym, 262153, 1}) + "f";
  // BCODESXP, reps count, code c(12L), 2 constants: a call f() defined as shared cell 0, and a
  // reference to it. Each part can be replaced.
  struct Parts {
    int32_t reps = 2, def = 0, ref = 0, car_pad = 0, second_type = kRef;
    std::string car;  // the CAR after its pad: the symbol f when empty
  };
  auto stream = [&](const Parts& p) {
    std::string second =
        p.second_type == kRef ? Words({kRef, p.ref}) : Words({p.second_type, kNil});
    return XdrStream({kBcode, p.reps, 13, 1, 12, 2, kDef, p.def, kLang, kNil, p.car_pad}) +
           (p.car.empty() ? symbol_f : p.car) + Words({0, kNil}) + second;
  };
  const std::string as_r_writes = stream(Parts{});
  Transcoded t = TranscodeWhole(as_r_writes);
  ASSERT_TRUE(t.status.ok()) << t.status;
  EXPECT_TRUE(t.outcome.complete) << t.outcome.reason;
  EXPECT_EQ(t.bytes, as_r_writes);

  struct Case {
    const char* what;
    Parts parts;
    const char* reason;
  };
  std::vector<Case> cases;
  cases.push_back(
      {"cell numbered 1", {}, "byte code cells numbered otherwise than the graph numbers them"});
  cases.back().parts.reps = 3;
  cases.back().parts.def = 1;
  cases.back().parts.ref = 1;
  cases.push_back(
      {"count too large", {}, "byte code whose shared cells the graph would count otherwise"});
  cases.back().parts.reps = 3;
  cases.push_back({"cell never referred to",
                   {},
                   "byte code whose shared cells the graph would count otherwise"});
  cases.back().parts.second_type = 0;
  cases.push_back({"pad 5", {}, "a byte code pad that is not 0"});
  cases.back().parts.car_pad = 5;
  cases.push_back({"NULL with the type word of a double",
                   {},
                   "a byte code constant whose type word the graph writes otherwise"});
  cases.back().parts.second_type = kReal;
  cases.push_back(
      {"a call after a pad",
       {},
       "a language object after a byte code pad (the graph writes it as byte code cells)"});
  cases.back().parts.car = Words({kLang}) + symbol_f + Words({kNil});
  const CodecRegistry registry = CoreCodecs();
  for (const Case& c : cases) {
    const std::string input = stream(c.parts);
    for (const char* codec : {"rds", "rds-ascii"}) {
      const Codec* to = *registry.Find(codec);
      WriteOptions options;
      options.r_compression = RCompression::kNone;
      absl::StatusOr<std::string> graph = ThroughGraph(*to, Buffer::FromString(input), options);
      ASSERT_TRUE(graph.ok()) << c.what << ": " << graph.status();
      for (size_t step : {size_t{1}, size_t{7}, size_t{4096}}) {
        Transcoded stopped = TranscodeInSteps(*to, Buffer::FromString(input), step, options);
        ASSERT_TRUE(stopped.status.ok()) << c.what << ": " << stopped.status;
        EXPECT_FALSE(stopped.outcome.complete) << c.what;
        EXPECT_EQ(stopped.outcome.reason, c.reason) << c.what;
        // Nothing of the object was written: the header only.
        EXPECT_EQ(stopped.bytes, graph->substr(0, stopped.bytes.size())) << c.what;
        EXPECT_EQ(stopped.outcome.emitted,
                  codec == std::string_view("rds") ? XdrStream({}).size() : stopped.bytes.size());
      }
      absl::StatusOr<std::string> converted =
          Converted(**registry.Find("rds"), *to, Buffer::FromString(input), options);
      ASSERT_TRUE(converted.ok()) << converted.status();
      EXPECT_TRUE(*converted == *graph) << c.what << " to " << codec;
      if (std::string_view(codec) == "rds") EXPECT_NE(*graph, input) << c.what;
    }
  }
}

// Byte code is held until its end shows its cells numbered as the graph numbers them: one with a
// constant of 3 million doubles (24 MB) is left to the graph once 16 MiB are held, in the input's
// byte order (held by reference) and in the other (swapped copies), with nothing of it written.
TEST(RTranscoderTest, ByteCodeHeldPastItsBoundIsLeftToTheGraph) {
  const int32_t kElements = 3000000;
  std::string input = XdrStream({21, 1, 13, 1, 12, 1, 14, 14, kElements});
  input.append(size_t{8} * kElements, '\0');
  const CodecRegistry registry = CoreCodecs();
  for (const char* codec : {"rds", "rds-native"}) {
    const Codec* to = *registry.Find(codec);
    WriteOptions options;
    options.r_compression = RCompression::kNone;
    Transcoded t = TranscodeInSteps(*to, Buffer::FromString(input), size_t{1} << 20, options);
    ASSERT_TRUE(t.status.ok()) << t.status;
    EXPECT_FALSE(t.outcome.complete) << codec;
    EXPECT_EQ(t.outcome.reason,
              "a byte code object of more than 16 MiB (held until its shared cells are checked)");
    EXPECT_EQ(t.outcome.emitted, t.bytes.size());
    EXPECT_LT(t.bytes.size(), 64u) << codec;  // the header only
    absl::StatusOr<std::string> graph = ThroughGraph(*to, Buffer::FromString(input), options);
    ASSERT_TRUE(graph.ok()) << graph.status();
    absl::StatusOr<std::string> converted =
        Converted(**registry.Find("rds"), *to, Buffer::FromString(input), options);
    ASSERT_TRUE(converted.ok()) << converted.status();
    EXPECT_TRUE(*converted == *graph) << codec;
    if (std::string_view(codec) == "rds") EXPECT_TRUE(*graph == input);
  }
}

// An ALTREP object of class `class_name` (base) and base type `base_type`, whose state is the
// stream `state`, without attributes, as R 4.2 writes it. A symbol already written (`class_ref`,
// `base_ref`: its index in the reference table) is written as a reference.
std::string AltrepWords(std::string_view class_name, int32_t base_type, const std::string& state,
                        int32_t class_ref = 0, int32_t base_ref = 0) {
  auto symbol = [](std::string_view name, int32_t ref) {
    if (ref > 0) return Words({(ref << 8) | 255});
    return Words({1, 262153, static_cast<int32_t>(name.size())}) + std::string(name);
  };
  return Words({238, 2}) + symbol(class_name, class_ref) + Words({2}) + symbol("base", base_ref) +
         Words({2, 13, 1, base_type, kNil}) + state + Words({kNil});
}

// as.character(1:3) as R 4.2 writes it: a deferred string, whose state (the numbers and R's
// scipen) the reader leaves as it is, goes on as read into version 3; version 2 expands it to
// c("1", "2", "3") through the graph.
TEST(RTranscoderTest, DeferredStringsGoOnAsRead) {
  const std::string deferred =
      XdrStream({}) + AltrepWords("deferred_string", 16, Words({2, 13, 3, 1, 2, 3, 13, 1, 0}));
  Transcoded t = TranscodeWhole(deferred);
  ASSERT_TRUE(t.status.ok()) << t.status;
  EXPECT_TRUE(t.outcome.complete) << t.outcome.reason;
  EXPECT_EQ(t.bytes, deferred);
  const CodecRegistry registry = CoreCodecs();
  WriteOptions version2;
  version2.r_version = 2;
  version2.r_compression = RCompression::kNone;
  absl::StatusOr<std::string> expanded = Converted(**registry.Find("rds"), **registry.Find("rds"),
                                                   Buffer::FromString(deferred), version2);
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  absl::StatusOr<Value> strings = ReadR(Buffer::FromString(*expanded));
  ASSERT_TRUE(strings.ok()) << strings.status();
  const auto& vector = strings->Get<StringVector>(strings->roots()[0]);
  ASSERT_EQ(vector.size(), 3u);
  EXPECT_EQ(vector.Get(2).bytes, "3");
}

// A wrapper (what sort() returns) goes on as read when its state is (data . metadata) as the
// reader checks it: data a vector, a compact sequence or another wrapper, metadata an integer
// vector of at least one element. Any other state stops the transcoder before the object, and
// the conversion gets the reader's error, as reading through the graph does.
TEST(RTranscoderTest, WrappersGoOnAsReadWhenTheirStateIsWhatTheReaderChecks) {
  const std::string ints = Words({13, 3, 1, 2, 3});
  const std::string meta = Words({13, 2, 1, 0});  // sorted increasing, maybe NA
  // In a wrapper's state, the symbol base is reference 2 (the wrapper's class is 1).
  const std::string sequence = AltrepWords("compact_intseq", 13,
                                           Words({14, 3}) + std::string("\x40\x08\0\0\0\0\0\0", 8) +
                                               std::string("\x3f\xf0\0\0\0\0\0\0", 8) +
                                               std::string("\x3f\xf0\0\0\0\0\0\0", 8),
                                           0, 2);
  const std::string good[] = {
      AltrepWords("wrap_integer", 13, Words({2}) + ints + meta),
      AltrepWords("wrap_integer", 13, Words({2}) + sequence + meta),
      AltrepWords(
          "wrap_integer", 13,
          Words({2}) + AltrepWords("wrap_integer", 13, Words({2}) + ints + meta, 1, 2) + meta),
      AltrepWords("wrap_string", 16, Words({2, 16, 1, 262153, 1}) + "a" + meta),
  };
  for (const std::string& object : good) {
    const std::string stream = XdrStream({}) + object;
    ASSERT_TRUE(ReadR(Buffer::FromString(stream)).ok());
    for (size_t step : {size_t{1}, size_t{5}, size_t{4096}}) {
      Transcoded t = TranscodeInSteps(**CoreCodecs().Find("rds"), Buffer::FromString(stream), step,
                                      WriteOptions{});
      ASSERT_TRUE(t.status.ok()) << t.status;
      EXPECT_TRUE(t.outcome.complete) << t.outcome.reason;
      EXPECT_EQ(t.bytes, stream);
    }
  }
  const std::string not_a_state =
      "an ALTREP wrapper whose state is not (data . integer metadata) (the graph checks it)";
  const std::string not_a_vector = "an ALTREP wrapper whose data is not a vector";
  const std::pair<std::string, std::string> bad[] = {
      {Words({2}) + ints + Words({14, 1, 0, 0}), not_a_state},      // metadata of doubles
      {Words({2}) + ints + Words({13, 0}), not_a_state},            // empty metadata
      {Words({2}) + ints + Words({kNil}), not_a_state},             // no metadata
      {Words({2}) + ints + Words({2}) + ints + meta, not_a_state},  // two cells
      {ints, not_a_state},                                          // not a pair
      {Words({2, 1, 262153, 1}) + "x" + meta, not_a_vector},        // a symbol
      {Words({2}) +
           AltrepWords("deferred_string", 16, Words({2}) + ints + Words({13, 1, 0}), 0, 2) + meta,
       not_a_vector},
  };
  const CodecRegistry registry = CoreCodecs();
  for (const auto& [state, reason] : bad) {
    const std::string stream = XdrStream({}) + AltrepWords("wrap_integer", 13, state);
    Transcoded t = TranscodeWhole(stream);
    ASSERT_TRUE(t.status.ok()) << t.status;
    EXPECT_FALSE(t.outcome.complete);
    EXPECT_EQ(t.outcome.reason, reason);
    // The reader refuses all but a wrapper of a deferred string, which the graph writes on from
    // where the transcoder stopped; the conversion gets the reader's error or the graph's bytes.
    absl::StatusOr<std::string> graph =
        ThroughGraph(**registry.Find("rds"), Buffer::FromString(stream), WriteOptions{});
    absl::StatusOr<std::string> converted = Converted(
        **registry.Find("rds"), **registry.Find("rds"), Buffer::FromString(stream), WriteOptions{});
    EXPECT_EQ(converted.status(), graph.status());
    if (graph.ok()) {
      EXPECT_EQ(graph->substr(0, t.bytes.size()), t.bytes);
      EXPECT_EQ(*converted, *graph);
      EXPECT_EQ(*graph, stream);
    } else {
      EXPECT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument) << graph.status();
    }
  }
}

// `stream` converted as read to version 2 in XDR, native and ascii, in chunks of 1, 7 and 4096
// bytes: complete, and the graph's bytes.
void ExpectVersion2AsReadIsTheGraphs(const std::string& stream) {
  const CodecRegistry registry = CoreCodecs();
  ASSERT_TRUE(ReadR(Buffer::FromString(stream)).ok());
  for (const char* codec : {"rds", "rds-native", "rds-ascii"}) {
    WriteOptions options;
    options.r_version = 2;
    options.r_compression = RCompression::kNone;
    absl::StatusOr<std::string> graph =
        ThroughGraph(**registry.Find(codec), Buffer::FromString(stream), options);
    ASSERT_TRUE(graph.ok()) << graph.status();
    for (size_t step : {size_t{1}, size_t{7}, size_t{4096}}) {
      Transcoded t =
          TranscodeInSteps(**registry.Find(codec), Buffer::FromString(stream), step, options);
      ASSERT_TRUE(t.status.ok()) << t.status;
      EXPECT_TRUE(t.outcome.complete) << codec << " in " << step << ": " << t.outcome.reason;
      EXPECT_EQ(t.bytes, *graph) << codec << " in " << step;
    }
  }
}

// A wrapper of class `class_name` over `data` (a vector's words), with metadata c(1L, 0L) and
// `attributes` (NULL when empty), its flags word `altrep_word`.
std::string WrapperWords(std::string_view class_name, int32_t base_type, const std::string& data,
                         const std::string& attributes = {}, int32_t altrep_word = 238,
                         int32_t class_ref = 0, int32_t base_ref = 0) {
  std::string object = AltrepWords(class_name, base_type, Words({2}) + data + Words({13, 2, 1, 0}),
                                   class_ref, base_ref);
  object.replace(0, 4, Words({altrep_word}));
  if (!attributes.empty()) object.replace(object.size() - 4, 4, attributes);
  return object;
}

// `n` doubles 0.5, 1.5, ... as the words of a REALSXP.
std::string RealWords(uint64_t n) {
  std::string words = Words({14, static_cast<int32_t>(n)});
  words.reserve(words.size() + 8 * n);
  for (uint64_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(i) + 0.5;
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    for (int k = 7; k >= 0; --k) words.push_back(static_cast<char>(bits >> (8 * k)));
  }
  return words;
}

// A wrapper (what sort() returns) written as version 2 is the vector it wraps, with the
// wrapper's flags and attributes, whose attributes bit comes before the vector and shows after
// it: made as read, its length and elements held until then, it is the graph's output, for every
// vector type a wrapper holds, with and without attributes, with the object bit, levels and tag
// bit, its class symbols referred to later (the output, which does not write them, writes `base`
// in full where it first has it), in every encoding and chunking, from XDR and ascii input.
TEST(RTranscoderTest, WrappersExpandAsReadIntoVersion2AsTheGraphWrites) {
  const CodecRegistry registry = CoreCodecs();
  const int32_t kList = 19, kSym = 1, kRef = 255;
  const std::string foo_bar = Words({2 | (1 << 10), kSym, 262153, 3}) + "foo" +
                              Words({16, 1, 262153, 3}) + "bar" + Words({kNil});
  const std::string ints = Words({13, 3, 3, -2147483648, 1});
  const std::string wrapped[] = {
      WrapperWords("wrap_integer", 13, ints),
      WrapperWords("wrap_real", 14, RealWords(5), foo_bar),
      WrapperWords("wrap_logical", 10, Words({10, 3, 1, 0, -2147483648}), {},
                   238 | (1 << 8) | (1 << 10) | (5 << 12)),
      WrapperWords("wrap_raw", 24, Words({24, 5}) + std::string("\x01\x02\x03\x04\x05", 5),
                   foo_bar),
      WrapperWords("wrap_complex", 15, Words({15, 1}) + RealWords(2).substr(8)),
      WrapperWords("wrap_string", 16,
                   Words({16, 3, 262153, 1}) + "a" + Words({9, -1, 32777, 2}) + "\xc3\xa9"),
      WrapperWords("wrap_integer", 13, Words({13, 0})),
      // Data with attributes of its own (R gives a sorted named vector's data its names), which
      // version 2 leaves out; the wrapper's attributes refer to their symbol (reference 3), which
      // the output writes in full there.
      WrapperWords(
          "wrap_integer", 13, Words({13 | (1 << 9), 3, 3, 2, 1}) + foo_bar,
          Words({2 | (1 << 10), (3 << 8) | kRef, 16, 1, 262153, 3}) + "baz" + Words({kNil})),
  };
  std::vector<std::string> streams;
  for (const std::string& object : wrapped) streams.push_back(XdrStream({}) + object);
  // Two wrappers in a list, the second's class symbols referred to, and `base` (which version 2
  // does not write) in the attributes of its data (which version 2 leaves out), then
  // quote(base), which the output writes in full.
  const std::string ints_tagged_base =
      Words({13 | (1 << 9), 3, 3, 2, 1, 2 | (1 << 10), (2 << 8) | kRef, 16, 1, 262153, 1}) + "q" +
      Words({kNil});
  streams.push_back(XdrStream({kList, 3}) + WrapperWords("wrap_integer", 13, ints) +
                    WrapperWords("wrap_integer", 13, ints_tagged_base, foo_bar, 238, 1, 2) +
                    Words({(2 << 8) | kRef}));
  WriteOptions ascii_options;
  ascii_options.r_compression = RCompression::kNone;
  for (size_t i = 0, n = streams.size(); i < n; ++i) {
    absl::StatusOr<std::string> ascii =
        ThroughGraph(**registry.Find("rds-ascii"), Buffer::FromString(streams[i]), ascii_options);
    ASSERT_TRUE(ascii.ok()) << ascii.status();
    streams.push_back(*ascii);
  }
  for (const std::string& stream : streams) {
    ASSERT_NO_FATAL_FAILURE(ExpectVersion2AsReadIsTheGraphs(stream));
  }
  // What version 2 holds: the vector with the wrapper's attributes, no class symbols.
  WriteOptions version2;
  version2.r_version = 2;
  version2.r_compression = RCompression::kNone;
  Transcoded t =
      TranscodeInSteps(**registry.Find("rds"), Buffer::FromString(streams[1]), 5, version2);
  ASSERT_TRUE(t.outcome.complete);
  EXPECT_EQ(t.bytes.find("wrap_real"), std::string::npos);
  absl::StatusOr<Value> value = ReadR(Buffer::FromString(t.bytes));
  ASSERT_TRUE(value.ok()) << value.status();
  const NodeId root = value->roots()[0];
  const Array& reals = value->Get<Array>(root);
  ASSERT_EQ(reals.type, ElementType::kFloat64);
  ASSERT_EQ(reals.length, 5u);
  EXPECT_EQ(LoadElement<double>(reals, 4), 4.5);
  ASSERT_NE(value->node(root).attributes, kNoNode);
  const Pairlist& attributes = value->Get<Pairlist>(value->node(root).attributes);
  ASSERT_EQ(attributes.cells.size(), 1u);
  EXPECT_EQ(value->Get<Symbol>(attributes.cells[0].tag).name.bytes, "foo");
}

// A wrapper's vector (and a deferred string's strings over integers of its own) is held until its
// attributes show: in memory up to 16 MiB, and beyond that
// in a spill file when the settings give a directory (the output is then the file's mapping,
// counted with reserve_spill; a refused reservation fails the conversion with its own status).
// Without a directory, the transcoder stops before the wrapper and the graph converts. Forms the
// graph expands otherwise stop before anything of the wrapper is written.
// A version 3 XDR `stream` whose deferred string expands past the 16 MiB held in memory,
// converted to XDR version 2 in 1 MiB steps: with a spill directory, as read, the graph's bytes,
// at least `min_reserved` bytes of spill reserved; without one, stopped with `reason`, and then
// converted by the graph.
void ExpectHeldPastTheBound(const Codec& rds, const std::string& stream,
                            const std::string& spill_dir, uint64_t min_reserved,
                            std::string_view reason) {
  WriteOptions options;
  options.r_version = 2;
  options.r_compression = RCompression::kNone;
  absl::StatusOr<std::string> graph = ThroughGraph(rds, Buffer::FromString(stream), options);
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_GT(graph->size(), uint64_t{16} << 20);
  options.spill_dir = spill_dir;
  uint64_t reserved = 0;
  options.reserve_spill = [&](uint64_t bytes) {
    reserved += bytes;
    return absl::OkStatus();
  };
  Transcoded t = TranscodeInSteps(rds, Buffer::FromString(stream), 1 << 20, options);
  ASSERT_TRUE(t.status.ok()) << t.status;
  EXPECT_TRUE(t.outcome.complete) << t.outcome.reason;
  EXPECT_TRUE(t.bytes == *graph);
  EXPECT_GE(reserved, min_reserved);
  options.spill_dir.clear();
  options.reserve_spill = nullptr;
  t = TranscodeInSteps(rds, Buffer::FromString(stream), 1 << 20, options);
  ASSERT_TRUE(t.status.ok()) << t.status;
  EXPECT_FALSE(t.outcome.complete);
  EXPECT_EQ(t.outcome.reason, reason);
  absl::StatusOr<std::string> converted = Converted(rds, rds, Buffer::FromString(stream), options);
  ASSERT_TRUE(converted.ok()) << converted.status();
  EXPECT_TRUE(*converted == *graph);
}

TEST(RTranscoderTest, WrappersHeldPastTheBoundSpillOrAreLeftToTheGraph) {
  const CodecRegistry registry = CoreCodecs();
  const Codec& rds = **registry.Find("rds");
  const Codec& native = **registry.Find("rds-native");
  const int32_t kSym = 1;
  const std::string foo_bar = Words({2 | (1 << 10), kSym, 262153, 3}) + "foo" +
                              Words({16, 1, 262153, 3}) + "bar" + Words({kNil});
  const uint64_t n = 3'000'000;  // 24 MB of doubles
  const std::string stream = XdrStream({}) + WrapperWords("wrap_real", 14, RealWords(n), foo_bar);
  seriald::testing::ScratchDir dir;
  for (const Codec* to : {&rds, &native}) {
    WriteOptions options;
    options.r_version = 2;
    options.r_compression = RCompression::kNone;
    absl::StatusOr<std::string> graph = ThroughGraph(*to, Buffer::FromString(stream), options);
    ASSERT_TRUE(graph.ok()) << graph.status();
    ASSERT_GT(graph->size(), 8 * n);

    // Spilled: the graph's bytes, the elements a file mapping, every byte of it reserved.
    options.spill_dir = dir.path();
    uint64_t reserved = 0;
    options.reserve_spill = [&](uint64_t bytes) {
      reserved += bytes;
      return absl::OkStatus();
    };
    for (size_t step : {size_t{4093}, size_t{1} << 20}) {
      reserved = 0;
      ChunkedInput in(ChunkedInput::ChunksOf(Buffer::FromString(stream), step), "rds",
                      stream.size());
      ByteWriter out;
      auto settings_for = [&](const RStreamInfo& source) -> absl::StatusOr<rds::RWriteSettings> {
        return rds::CodecWriteSettings(to->name(), source, options);
      };
      absl::StatusOr<RTranscodeOutcome> outcome = TranscodeR(in, settings_for, out, ReadOptions{});
      ASSERT_TRUE(outcome.ok()) << outcome.status();
      EXPECT_TRUE(outcome->complete) << outcome->reason;
      BufferChain chain;
      ASSERT_TRUE(out.Finish(&chain).ok());
      EXPECT_TRUE(chain.ToString() == *graph) << to->name() << " in " << step;
      bool mapped = false;
      for (const Buffer& piece : chain.pieces()) {
        if (piece.size() > 8 * n && piece.file_region().has_value()) mapped = true;
      }
      EXPECT_TRUE(mapped) << "the held elements are not the spill file's mapping";
      EXPECT_GE(reserved, 8 * n);
      EXPECT_LE(reserved, 8 * n + (uint64_t{2} << 20));
    }
    // Through ConvertInput, as serialctl and the service convert.
    absl::StatusOr<std::string> converted =
        Converted(rds, *to, Buffer::FromString(stream), options);
    ASSERT_TRUE(converted.ok()) << converted.status();
    EXPECT_TRUE(*converted == *graph);

    // A refused reservation: its own status.
    options.reserve_spill = [](uint64_t) {
      return absl::ResourceExhaustedError("spill budget spent");
    };
    Transcoded refused = TranscodeInSteps(*to, Buffer::FromString(stream), 1 << 20, options);
    EXPECT_EQ(refused.status, absl::ResourceExhaustedError("spill budget spent"));

    // No spill directory: past 16 MiB in memory, the graph's.
    options.spill_dir.clear();
    options.reserve_spill = nullptr;
    Transcoded t = TranscodeInSteps(*to, Buffer::FromString(stream), 1 << 20, options);
    ASSERT_TRUE(t.status.ok()) << t.status;
    EXPECT_FALSE(t.outcome.complete);
    EXPECT_EQ(t.outcome.reason,
              "an ALTREP wrapper whose elements pass 16 MiB, written as version 2 without a "
              "spill directory (held until its attributes show)");
    EXPECT_EQ(t.outcome.stopped_at, XdrStream({}).size());
    EXPECT_EQ(t.outcome.emitted, XdrStream({}).size() - 9);
    converted = Converted(rds, *to, Buffer::FromString(stream), options);
    ASSERT_TRUE(converted.ok()) << converted.status();
    EXPECT_TRUE(*converted == *graph);
  }

  // A deferred string over 2 million integers of its own: 30 MB of strings, held the same way.
  std::vector<int32_t> words = {2, 13, 2'000'000};
  for (int32_t i = 1; i <= 2'000'000; ++i) words.push_back(i);
  for (int32_t v : {13, 1, 0}) words.push_back(v);
  ExpectHeldPastTheBound(rds, XdrStream({}) + AltrepWords("deferred_string", 16, Words(words)),
                         dir.path(), /*min_reserved=*/0,
                         "a deferred string whose strings pass 16 MiB, written as version 2 "
                         "without a spill directory (held until its attributes show)");

  // A deferred string over 3 million doubles of its own: 24 MB of numbers, held until scipen
  // shows, then formatted.
  ExpectHeldPastTheBound(
      rds,
      XdrStream({}) +
          AltrepWords("deferred_string", 16, Words({2}) + RealWords(n) + Words({13, 1, 0})),
      dir.path(), /*min_reserved=*/8 * n,
      "a deferred string whose numbers pass 16 MiB, written as version 2 without a spill "
      "directory (held until their format shows)");

  // What the graph expands otherwise, or what could hold output itself: stopped before the
  // wrapper, and converted by the graph.
  const std::string ints = Words({13, 2, 1, 2});
  const std::string list_of_one = Words({19, 1}) + ints;
  const std::string nested_data = WrapperWords("wrap_integer", 13, ints, {}, 238, 1, 2);
  std::string meta_with_attributes = WrapperWords("wrap_integer", 13, ints);
  meta_with_attributes.replace(meta_with_attributes.find(Words({13, 2, 1, 0})), 4,
                               Words({13 | (1 << 9)}));
  meta_with_attributes.insert(meta_with_attributes.size() - 4, foo_bar);
  // Data whose attributes hold an environment (which the output could not refer to later).
  const std::string env_attribute =
      Words({2 | (1 << 10), kSym, 262153, 3}) + "env" + Words({4, 0, 242, kNil, kNil, kNil, kNil});
  const std::pair<std::string, std::string> stops[] = {
      {WrapperWords("wrap_integer", 13, Words({13 | (1 << 9), 2, 1, 2}) + env_attribute),
       "an ALTREP wrapper written as version 2 whose data's attributes hold more than vectors, "
       "symbols and pairlists (the graph expands it)"},
      {WrapperWords("wrap_real", 14, ints),
       "an ALTREP wrapper written as version 2 whose data is not a vector of its base type (the "
       "graph expands it)"},
      {WrapperWords("wrap_list", 19, list_of_one),
       "an ALTREP wrapper written as version 2 whose data is not a vector of its base type (the "
       "graph expands it)"},
      {WrapperWords("wrap_integer", 13, nested_data),
       "an ALTREP wrapper of another ALTREP object written as version 2 (the graph expands it)"},
      {meta_with_attributes,
       "an ALTREP wrapper written as version 2 whose metadata has attributes (the graph "
       "expands it)"},
  };
  WriteOptions version2;
  version2.r_version = 2;
  version2.r_compression = RCompression::kNone;
  for (const auto& [object, reason] : stops) {
    const std::string stream = XdrStream({}) + object;
    ASSERT_TRUE(ReadR(Buffer::FromString(stream)).ok()) << reason;
    Transcoded t = TranscodeInSteps(rds, Buffer::FromString(stream), 5, version2);
    ASSERT_TRUE(t.status.ok()) << t.status;
    EXPECT_FALSE(t.outcome.complete) << reason;
    EXPECT_EQ(t.outcome.reason, reason);
    EXPECT_EQ(t.outcome.emitted, XdrStream({}).size() - 9);
    absl::StatusOr<std::string> graph = ThroughGraph(rds, Buffer::FromString(stream), version2);
    absl::StatusOr<std::string> converted =
        Converted(rds, rds, Buffer::FromString(stream), version2);
    EXPECT_EQ(converted.status(), graph.status()) << reason;
    if (graph.ok()) EXPECT_TRUE(*converted == *graph) << reason;
  }
  // Cut inside the held vector, and before the attributes: fails where it ends, and nothing of
  // the wrapper has been written.
  const std::string whole = XdrStream({}) + WrapperWords("wrap_integer", 13, ints);
  const size_t elements_at = whole.size() - 4 - 16 - 8;  // the wrapped vector's elements
  const std::pair<size_t, std::string> cuts[] = {
      {elements_at + 6,
       absl::StrCat("vector of 2 elements is longer than the rest of the input (6 bytes) at byte ",
                    elements_at)},
      {whole.size() - 4, absl::StrCat("at byte ", whole.size() - 4)},
  };
  for (const auto& [cut, error] : cuts) {
    Transcoded t = TranscodeInSteps(rds, Buffer::FromString(whole.substr(0, cut)), 7, version2);
    EXPECT_EQ(t.status.code(), absl::StatusCode::kInvalidArgument) << t.status;
    EXPECT_THAT(std::string(t.status.message()), ::testing::HasSubstr(error));
    EXPECT_EQ(t.bytes.size(), XdrStream({}).size() - 9);
  }
}

// R's list(x = c(1.5, 2.5, 3.5), y = 1:10), whose `y` is a compact sequence, in XDR and ascii:
// read as it comes into every encoding, as the ALTREP object it is in version 3 and as the
// integers it stands for in version 2 (R's own bytes in native encoding), in any chunking.
TEST(RTranscoderTest, CompactSequencesGoOnAsReadInVersion3AndExpandAsReadInVersion2) {
  const CodecRegistry registry = CoreCodecs();
  const std::string xdr = absl::HexStringToBytes(testing::kAltrepListHex);
  WriteOptions plain;
  plain.r_compression = RCompression::kNone;
  absl::StatusOr<std::string> ascii =
      ThroughGraph(**registry.Find("rds-ascii"), Buffer::FromString(xdr), plain);
  ASSERT_TRUE(ascii.ok()) << ascii.status();
  for (const std::string& stream : {xdr, *ascii})
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
          EXPECT_TRUE(t.outcome.complete) << codec << " in " << step << ": " << t.outcome.reason;
          EXPECT_EQ(t.bytes, *graph) << codec << " " << version << " in " << step;
          if (std::string_view(codec) == "rds-native" && stream == xdr) {
            EXPECT_EQ(t.bytes,
                      absl::HexStringToBytes(version == 3 ? testing::kAltrepListNativeHex
                                                          : testing::kAltrepListNativeV2Hex));
          }
        }
      }
    }
  // A compact sequence whose state the reader refuses (n = -1): left to the graph, which says so.
  std::string bad = xdr;
  const size_t n_at = bad.find(absl::HexStringToBytes("40240000"));
  ASSERT_NE(n_at, std::string::npos);
  bad.replace(n_at, 4, absl::HexStringToBytes("bff00000"));
  Transcoded t = TranscodeInSteps(**registry.Find("rds"), Buffer::FromString(bad), 3, {});
  ASSERT_TRUE(t.status.ok()) << t.status;
  EXPECT_FALSE(t.outcome.complete);
  EXPECT_EQ(t.outcome.reason, "a compact sequence whose state the reader refuses");
  EXPECT_FALSE(ReadR(Buffer::FromString(bad)).ok());
}

// compact_intseq's state c(n, first, increment) as R writes it: doubles.
std::string SequenceState(double n, double first, double increment) {
  std::string state = Words({14, 3});
  for (double v : {n, first, increment}) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    for (int k = 7; k >= 0; --k) state.push_back(static_cast<char>(bits >> (8 * k)));
  }
  return state;
}

// Version 2 output of compact sequences, made as read, is the graph's in what R never writes but
// a stream may hold: attributes on the sequence (flagged on the expanded vector, after its
// elements), the object, levels and tag bits of its flags word; and in what R does write: the
// class symbols, which version 2 does not write, entered in the input's reference table and
// referred to later (by another sequence's class information, and by a symbol `base`): the
// output's references are numbered as the output's table grows, and `base` is written in full
// where the output first has it.
TEST(RTranscoderTest, ExpandedSequencesKeepTheirFlagsAttributesAndTheOutputsReferences) {
  const CodecRegistry registry = CoreCodecs();
  const int32_t kList = 19, kSym = 1, kRef = 255;
  const std::string x = Words({kSym, 262153, 1}) + "x";
  auto sequence_with = [&](int32_t altrep_word, const std::string& attributes, int32_t class_ref,
                           int32_t base_ref) {
    std::string object =
        AltrepWords("compact_intseq", 13, SequenceState(4, 7, 1), class_ref, base_ref);
    object.replace(0, 4, Words({altrep_word}));
    object.replace(object.size() - 4, 4, attributes);
    return object;
  };
  // attributes foo = "bar", as a pairlist.
  const std::string foo_bar = Words({2 | (1 << 10), kSym, 262153, 3}) + "foo" +
                              Words({16, 1, 262153, 3}) + "bar" + Words({kNil});
  const std::string streams[] = {
      // A sequence with attributes, and one whose flags carry the object bit, levels and the tag
      // bit, with its class symbols referred to.
      XdrStream({kList, 2}) + sequence_with(238, foo_bar, 0, 0) +
          sequence_with(238 | (1 << 8) | (1 << 10) | (5 << 12), Words({kNil}), 1, 2),
      // list(1:4-ish, 7:10-ish, quote(base), quote(x), quote(x), quote(compact_intseq)).
      XdrStream({kList, 6}) + sequence_with(238, Words({kNil}), 0, 0) +
          sequence_with(238, Words({kNil}), 1, 2) + Words({(2 << 8) | kRef}) + x +
          Words({(3 << 8) | kRef, (1 << 8) | kRef}),
  };
  for (const std::string& stream : streams) {
    ASSERT_NO_FATAL_FAILURE(ExpectVersion2AsReadIsTheGraphs(stream));
  }
  // What the second stream reads as in version 2: the integers, then the symbols.
  WriteOptions version2;
  version2.r_version = 2;
  version2.r_compression = RCompression::kNone;
  Transcoded t =
      TranscodeInSteps(**registry.Find("rds"), Buffer::FromString(streams[1]), 5, version2);
  ASSERT_TRUE(t.outcome.complete);
  // The class symbol is written once, in full, where quote(compact_intseq) stands.
  ASSERT_NE(t.bytes.find("compact_intseq"), std::string::npos);
  EXPECT_EQ(t.bytes.find("compact_intseq"), t.bytes.rfind("compact_intseq"));
  absl::StatusOr<Value> value = ReadR(Buffer::FromString(t.bytes));
  ASSERT_TRUE(value.ok()) << value.status();
  const List& list = value->Get<List>(value->roots()[0]);
  ASSERT_EQ(list.items.size(), 6u);
  const Array& second = value->Get<Array>(list.items[1]);
  ASSERT_EQ(second.length, 4u);
  EXPECT_EQ(LoadElement<int32_t>(second, 3), 10);
  const char* names[] = {"base", "x", "x", "compact_intseq"};
  for (size_t i = 2; i < 6; ++i) {
    EXPECT_EQ(value->Get<Symbol>(list.items[i]).name.bytes, names[i - 2]);
  }
}

// Output held in memory (a cell's attributes, held until its tag shows whether the graph keeps
// it) takes an expanded sequence while it stays within the bound: `n` elements of a compact
// sequence as the attributes of a tagged cell of list(t = NULL); past 16 MiB the transcoder stops
// (what it held is dropped: nothing of the cell is written) and the graph converts. A stream cut
// short after a sequence's state fails where it ends.
TEST(RTranscoderTest, SequencesExpandedIntoHeldOutputStopPastTheBound) {
  const CodecRegistry registry = CoreCodecs();
  const int32_t kSym = 1;
  auto stream_of = [&](double n) {
    return XdrStream({2 | (1 << 9) | (1 << 10), 2 | (1 << 10), kSym, 262153, 1}) + "a" +
           AltrepWords("compact_intseq", 13, SequenceState(n, 1, 1)) +
           Words({kNil, kSym, 262153, 1}) + "t" + Words({kNil, kNil});
  };
  WriteOptions options;
  options.r_version = 2;
  options.r_compression = RCompression::kNone;
  const std::string small = stream_of(10), large = stream_of(5'000'000);
  for (const std::string* stream : {&small, &large}) {
    ASSERT_TRUE(ReadR(Buffer::FromString(*stream)).ok());
    absl::StatusOr<std::string> graph =
        ThroughGraph(**registry.Find("rds"), Buffer::FromString(*stream), options);
    ASSERT_TRUE(graph.ok()) << graph.status();
    Transcoded t =
        TranscodeInSteps(**registry.Find("rds"), Buffer::FromString(*stream), 1 << 20, options);
    ASSERT_TRUE(t.status.ok()) << t.status;
    if (stream == &small) {
      EXPECT_TRUE(t.outcome.complete) << t.outcome.reason;
      EXPECT_EQ(t.bytes, *graph);
      continue;
    }
    EXPECT_FALSE(t.outcome.complete);
    EXPECT_EQ(t.outcome.reason,
              "a compact sequence that expands past 16 MiB into output held in memory, written "
              "as version 2");
    EXPECT_EQ(t.outcome.emitted, XdrStream({}).size() - 9);  // the version 2 header alone
    EXPECT_EQ(t.bytes, graph->substr(0, t.bytes.size()));
    absl::StatusOr<std::string> converted = Converted(
        **registry.Find("rds"), **registry.Find("rds"), Buffer::FromString(*stream), options);
    ASSERT_TRUE(converted.ok()) << converted.status();
    EXPECT_TRUE(*converted == *graph);
  }
  // Cut after the state, before the word that says whether attributes follow.
  const std::string cut = XdrStream({}) + AltrepWords("compact_intseq", 13, SequenceState(4, 1, 1));
  Transcoded t = TranscodeInSteps(**registry.Find("rds"),
                                  Buffer::FromString(cut.substr(0, cut.size() - 4)), 7, options);
  EXPECT_EQ(t.status.code(), absl::StatusCode::kInvalidArgument) << t.status;
  EXPECT_THAT(std::string(t.status.message()),
              ::testing::HasSubstr(absl::StrCat("at byte ", cut.size() - 4)));
}

// R's NA_real_.
const double kNaReal = [] {
  const uint64_t bits = 0x7FF00000000007A2;
  double v;
  std::memcpy(&v, &bits, 8);
  return v;
}();

// The words of a REALSXP holding `values`.
std::string Doubles(const std::vector<double>& values) {
  std::string words = Words({14, static_cast<int32_t>(values.size())});
  for (double v : values) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    for (int k = 7; k >= 0; --k) words.push_back(static_cast<char>(bits >> (8 * k)));
  }
  return words;
}

// A deferred string over a compact sequence (as.character(1:n), a fitted model's names) written
// as version 2 is the character vector it stands for: its state (the sequence's three numbers and
// scipen) read whole first, its strings generated a step at a time, the graph's bytes, for
// integer and double sequences (formatted with the stream's scipen), with attributes and flags,
// its class symbols referred to later, in every encoding and chunking. Numbers of their own,
// metadata with attributes (OutDec) and a sequence with attributes are left to the graph.
TEST(RTranscoderTest, DeferredStringsOverSequencesExpandAsReadIntoVersion2) {
  const int32_t kList = 19, kSym = 1, kRef = 255;
  const std::string foo_bar = Words({2 | (1 << 10), kSym, 262153, 3}) + "foo" +
                              Words({16, 1, 262153, 3}) + "bar" + Words({kNil});
  // deferred_string (reference 1), base (2), then the sequence's class: reference 3 when
  // `sequence_ref`, else written in full.
  auto deferred = [&](const char* sequence_class, int32_t sequence_type,
                      const std::string& sequence_state, int32_t scipen,
                      const std::string& attributes = {}, int32_t altrep_word = 238,
                      int32_t deferred_ref = 0, int32_t sequence_ref = 0) {
    std::string object = AltrepWords(
        "deferred_string", 16,
        Words({2}) + AltrepWords(sequence_class, sequence_type, sequence_state, sequence_ref, 2) +
            Words({13, 1, scipen}),
        deferred_ref, deferred_ref > 0 ? 2 : 0);
    object.replace(0, 4, Words({altrep_word}));
    if (!attributes.empty()) object.replace(object.size() - 4, 4, attributes);
    return object;
  };
  const std::string streams[] = {
      XdrStream({}) + deferred("compact_intseq", 13, SequenceState(1000, 1, 1), 0),
      XdrStream({}) + deferred("compact_intseq", 13, SequenceState(5, -2, -1), 0, foo_bar,
                               238 | (1 << 8) | (1 << 10) | (5 << 12)),
      XdrStream({}) + deferred("compact_realseq", 14, SequenceState(5, 1e10, 1), 0),
      XdrStream({}) + deferred("compact_realseq", 14, SequenceState(5, 1e10, 1), 100),
      XdrStream({}) + deferred("compact_intseq", 13, SequenceState(0, 1, 1), 0),
      // Integers of their own (a fitted glm's dimnames), NA among them, with attributes.
      XdrStream({}) + AltrepWords("deferred_string", 16,
                                  Words({2, 13, 4, 1, -2147483648, -70000, 2147483647, 13, 1, 0})),
      // Doubles of their own, formatted with the scipen that comes after them: NA, NaN, Inf,
      // -0, and numbers that print fixed or scientific by scipen.
      XdrStream({}) + AltrepWords("deferred_string", 16,
                                  Words({2}) +
                                      Doubles({1.5, kNaReal, 1e-20, 123456.7, NAN, -INFINITY, -0.0,
                                               1e15, 1e5, 0.1 + 0.2}) +
                                      Words({13, 1, 0})),
      XdrStream({}) +
          AltrepWords("deferred_string", 16,
                      Words({2}) + Doubles({1e-20, 1e15, 1e5, 123456.7}) + Words({13, 1, 100})),
      [&] {
        std::string object =
            AltrepWords("deferred_string", 16, Words({2, 13, 3, 1, 2, 3, 13, 1, 0}));
        object.replace(object.size() - 4, 4, foo_bar);
        return XdrStream({}) + object;
      }(),
      // Two in a list, the second's class symbols referred to, then quote(compact_intseq).
      XdrStream({kList, 3}) + deferred("compact_intseq", 13, SequenceState(3, 7, 1), 0) +
          deferred("compact_intseq", 13, SequenceState(3, 7, 1), 0, foo_bar, 238, 1, 3) +
          Words({(3 << 8) | kRef}),
  };
  for (const std::string& stream : streams) {
    ASSERT_NO_FATAL_FAILURE(ExpectVersion2AsReadIsTheGraphs(stream));
  }
  // What version 2 holds: the strings, in R's format.
  const CodecRegistry registry = CoreCodecs();
  WriteOptions version2;
  version2.r_version = 2;
  version2.r_compression = RCompression::kNone;
  const std::pair<const std::string*, std::vector<std::string>> shown[] = {
      {&streams[1], {"-2", "-3", "-4", "-5", "-6"}},
      {&streams[2], {"1e+10", "10000000001", "10000000002", "10000000003", "10000000004"}},
      {&streams[3], {"10000000000", "10000000001", "10000000002", "10000000003", "10000000004"}},
  };
  for (const auto& [stream, strings] : shown) {
    Transcoded t =
        TranscodeInSteps(**registry.Find("rds"), Buffer::FromString(*stream), 5, version2);
    ASSERT_TRUE(t.outcome.complete) << t.outcome.reason;
    EXPECT_EQ(t.bytes.find("deferred_string"), std::string::npos);
    absl::StatusOr<Value> value = ReadR(Buffer::FromString(t.bytes));
    ASSERT_TRUE(value.ok()) << value.status();
    const auto& vector = value->Get<StringVector>(value->roots()[0]);
    ASSERT_EQ(vector.size(), strings.size());
    for (size_t i = 0; i < strings.size(); ++i) EXPECT_EQ(vector.Get(i).bytes, strings[i]);
  }

  std::string out_dec = deferred("compact_intseq", 13, SequenceState(3, 1, 1), 0);
  const std::string scipen_words = Words({13, 1, 0});
  out_dec.replace(out_dec.rfind(scipen_words), scipen_words.size(),
                  Words({13 | (1 << 9), 1, 0, 2 | (1 << 10), kSym, 262153, 6}) + "OutDec" +
                      Words({16, 1, 262153, 1}) + "," + Words({kNil}));
  std::string sequence_with_attributes = deferred("compact_intseq", 13, SequenceState(3, 1, 1), 0);
  sequence_with_attributes.replace(sequence_with_attributes.rfind(scipen_words) - 4, 4, foo_bar);
  const std::string stopped[] = {
      // Numbers with attributes (which as.character() never defers).
      XdrStream({}) + AltrepWords("deferred_string", 16,
                                  Words({2, 13 | (1 << 9), 1, 7}) + foo_bar + Words({13, 1, 0})),
      XdrStream({}) + out_dec,
      XdrStream({}) + sequence_with_attributes,
  };
  for (const std::string& stream : stopped) {
    ASSERT_TRUE(ReadR(Buffer::FromString(stream)).ok());
    Transcoded t =
        TranscodeInSteps(**registry.Find("rds"), Buffer::FromString(stream), 3, version2);
    ASSERT_TRUE(t.status.ok()) << t.status;
    EXPECT_FALSE(t.outcome.complete);
    EXPECT_EQ(t.outcome.reason,
              "a deferred string in another form than R writes as.character() in (its numbers or "
              "metadata with attributes), written as version 2 (the graph expands it)");
    EXPECT_EQ(t.outcome.emitted, XdrStream({}).size() - 9);
    absl::StatusOr<std::string> graph =
        ThroughGraph(**registry.Find("rds"), Buffer::FromString(stream), version2);
    ASSERT_TRUE(graph.ok()) << graph.status();
    absl::StatusOr<std::string> converted = Converted(
        **registry.Find("rds"), **registry.Find("rds"), Buffer::FromString(stream), version2);
    ASSERT_TRUE(converted.ok()) << converted.status();
    EXPECT_EQ(*converted, *graph);
  }
  // Cut inside the held numbers (integers, whose strings are held; doubles, held themselves),
  // inside a sequence's state and before the attributes: the error names where the input ends,
  // and nothing of the deferred string has been written.
  const std::string cuttable[] = {
      XdrStream({}) + AltrepWords("deferred_string", 16, Words({2, 13, 3, 1, 2, 3, 13, 1, 0})),
      XdrStream({}) +
          AltrepWords("deferred_string", 16, Words({2}) + Doubles({1.5, 2.5}) + Words({13, 1, 0})),
      XdrStream({}) + deferred("compact_intseq", 13, SequenceState(3, 1, 1), 0),
  };
  for (const std::string& whole : cuttable) {
    for (size_t cut : {whole.size() - 4 - 12 - 6, whole.size() - 4}) {
      Transcoded t = TranscodeInSteps(**registry.Find("rds"),
                                      Buffer::FromString(whole.substr(0, cut)), 5, version2);
      EXPECT_EQ(t.status.code(), absl::StatusCode::kInvalidArgument) << t.status;
      EXPECT_THAT(std::string(t.status.message()), ::testing::HasSubstr("at byte "));
      EXPECT_EQ(t.bytes.size(), XdrStream({}).size() - 9) << cut;
    }
  }
}

// A compact sequence's length is the input's claim: expanded as read a step at a time (memory a
// step, whatever the length), and left to the graph, which refuses it naming the limit, when its
// elements alone pass the output limit.
TEST(RTranscoderTest, LongSequencesExpandInStepsAndPastTheOutputLimitStop) {
  const CodecRegistry registry = CoreCodecs();
  const std::string stream =
      XdrStream({}) + AltrepWords("compact_intseq", 13, SequenceState(3'000'000, -5, 1));
  WriteOptions options;
  options.r_version = 2;
  options.r_compression = RCompression::kNone;
  absl::StatusOr<std::string> graph =
      ThroughGraph(**registry.Find("rds"), Buffer::FromString(stream), options);
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->size(),
            XdrStream({}).size() - 9 /* "UTF-8" and its length */ + 8 + 4 * 3'000'000);
  for (size_t step : {size_t{3}, size_t{1} << 20}) {
    Transcoded t =
        TranscodeInSteps(**registry.Find("rds"), Buffer::FromString(stream), step, options);
    ASSERT_TRUE(t.status.ok()) << t.status;
    EXPECT_TRUE(t.outcome.complete) << t.outcome.reason;
    EXPECT_TRUE(t.bytes == *graph) << step;
  }
  options.max_output_bytes = 4 * 3'000'000 - 1;
  Transcoded t = TranscodeInSteps(**registry.Find("rds"), Buffer::FromString(stream), 64, options);
  ASSERT_TRUE(t.status.ok()) << t.status;
  EXPECT_FALSE(t.outcome.complete);
  EXPECT_EQ(t.outcome.reason,
            "a compact sequence whose elements pass the output limit when written as version 2");
  EXPECT_EQ(t.outcome.emitted, XdrStream({}).size() - 9);
  absl::StatusOr<std::string> converted = Converted(**registry.Find("rds"), **registry.Find("rds"),
                                                    Buffer::FromString(stream), options);
  EXPECT_EQ(converted.status().code(), absl::StatusCode::kResourceExhausted) << converted.status();
  EXPECT_THAT(std::string(converted.status().message()),
              ::testing::HasSubstr("expands to more than the 11999999-byte output limit"));

  options.max_output_bytes = UINT64_MAX;
  // compact_intseq whose class information says REALSXP: the graph's to expand (as doubles).
  const std::string as_doubles =
      XdrStream({}) + AltrepWords("compact_intseq", 14, SequenceState(3, 1, 1));
  t = TranscodeInSteps(**registry.Find("rds"), Buffer::FromString(as_doubles), 64, options);
  ASSERT_TRUE(t.status.ok()) << t.status;
  EXPECT_FALSE(t.outcome.complete);
  EXPECT_EQ(t.outcome.reason,
            "a compact sequence whose base type is not its class's, written as version 2");
  converted = Converted(**registry.Find("rds"), **registry.Find("rds"),
                        Buffer::FromString(as_doubles), options);
  graph = ThroughGraph(**registry.Find("rds"), Buffer::FromString(as_doubles), options);
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_EQ(converted, graph);
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
  const std::string ascii_head = "A\n3\n262658\n197888\n5\nUTF-8\n";
  const std::string huge_ascii_string = ascii_head + "16\n1\n262153\n2147483647\nabc\\n";
  const std::string huge_ascii_vector = ascii_head + "14\n-1\n65536\n0\n1.5\n2.5\n";
  for (const std::string& stream :
       {huge_string, huge_vector, huge_ascii_string, huge_ascii_vector}) {
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
    WriteOptions plain;
    plain.r_compression = RCompression::kNone;
    absl::StatusOr<std::string> ascii = ThroughGraph(**registry.Find("rds-ascii"), *stream, plain);
    ASSERT_TRUE(ascii.ok()) << ascii.status();
    for (int k = 0; k < 60; ++k) {
      // Two in three binary, one in three ascii.
      std::string bytes(k % 3 == 2 ? std::string_view(*ascii) : stream->view());
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
