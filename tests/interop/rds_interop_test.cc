// Interop of the R format with R itself, on the corpus gen.R writes with R 4.2 (generated once
// per ctest run into the build tree by the rds_corpus fixture).
//
//   * every corpus file decodes completely;
//   * every conversion between encodings and versions (X, B, A, asciihex; versions 2 and 3),
//     read with ReadOptions::r_normalize, is byte for byte what R writes for
//     serialize(unserialize(source), NULL, ...) with the target's settings;
//   * R reads every file seriald writes, and the object is identical() to what R read from the
//     source wherever R's own round trip is;
//   * compressed saveRDS() files and save() files come back byte-identical (read as they are, not
//     normalised), including those R itself changes on a round trip;
//   * R's ascii and asciihex files convert as they are read (core/rds/transcoder.h) to the object
//     graph's bytes in every encoding, and to their own bytes in their own;
//   * fitted models (byte-compiled functions, deferred strings, environments) convert as they
//     are read to R's own bytes in each encoding and version.
// R's answers come from one batched Rscript run (rds_check.R) whose report this test parses.
// Cases that cannot match are listed in kExpectedMismatches with the reason.
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/convert/convert.h"
#include "core/format/codec.h"
#include "core/io/byte_writer.h"
#include "core/io/file.h"
#include "core/rds/altrep.h"
#include "core/rds/codec.h"
#include "core/rds/compression.h"
#include "core/rds/reader.h"
#include "core/rds/transcoder.h"
#include "core/rds/writer.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace seriald {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(SERIALD_BINARY_DIR) / "rds_corpus";
const fs::path kWork = fs::path(SERIALD_BINARY_DIR) / "rds_interop";

// Conversions whose bytes cannot equal R's, with the reason (name, target; "*" = any target).
// None at present: every conversion of the corpus is byte-identical. An entry needs a reason
// a reader can check, e.g. {"chr_latin1", "*", "R re-encodes unflagged strings"}.
struct Expected {
  const char* name;
  const char* target;
  const char* reason;
};
const std::vector<Expected> kExpectedMismatches = {};

bool IsExpectedMismatch(const std::string& name, const std::string& target) {
  for (const Expected& e : kExpectedMismatches) {
    if (name == e.name && (std::string(e.target) == "*" || target == e.target)) return true;
  }
  return false;
}

struct Target {
  const char* code;
  RFormat format;
  int version;
};
constexpr Target kTargets[] = {
    {"X2", RFormat::kXdr, 2},      {"X3", RFormat::kXdr, 3},      {"B2", RFormat::kNative, 2},
    {"B3", RFormat::kNative, 3},   {"A2", RFormat::kAscii, 2},    {"A3", RFormat::kAscii, 3},
    {"H2", RFormat::kAsciiHex, 2}, {"H3", RFormat::kAsciiHex, 3},
};

const std::set<std::string> kStreamVariants = {"xdr_v2",      "xdr_v3",     "bin_v2",
                                               "bin_v3",      "ascii_v2",   "ascii_v3",
                                               "asciihex_v3", "rds_v2_raw", "rds_v3_raw"};

struct ManifestRow {
  std::string name, variant, file;
  uint64_t bytes = 0;
  std::string reser_equal;  // R's own serialize(unserialize(bytes)) gives the same bytes
};

struct ReportRow {
  std::string name, source, target, bytes_equal, ours_identical, r_identical, error;
};

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::StatusOr<std::string> Write(const Value& value, const rds::RWriteSettings& settings) {
  ByteWriter out;
  if (absl::Status s = WriteR(value, settings, out); !s.ok()) return s;
  BufferChain chain;
  if (absl::Status s = out.Finish(&chain); !s.ok()) return s;
  return chain.ToString();
}

std::vector<ManifestRow> ReadManifest() {
  std::vector<ManifestRow> rows;
  std::ifstream manifest(kCorpus / "manifest.tsv");
  EXPECT_TRUE(manifest) << "no corpus at " << kCorpus << " (the rds_corpus fixture makes it)";
  std::string line;
  std::getline(manifest, line);
  while (std::getline(manifest, line)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    if (f.size() < 13) {
      ADD_FAILURE() << "bad manifest line " << line;
      continue;
    }
    rows.push_back(ManifestRow{f[0], f[5], f[8], std::stoull(f[9]), f[12]});
  }
  return rows;
}

// Decodes every corpus file, converts each stream to every target, has R judge all conversions
// in one run, and checks its verdicts.
TEST(RdsInteropTest, DecodesEveryFileAndConvertsLikeR) {
  std::vector<ManifestRow> rows = ReadManifest();
  ASSERT_GT(rows.size(), 2400u);
  fs::remove_all(kWork);
  fs::create_directories(kWork);
  std::ofstream plan(kWork / "plan.tsv");
  plan << "name\tsource\ttarget\tout\n";
  size_t decoded = 0, planned = 0;
  for (const ManifestRow& row : rows) {
    auto input = ReadFile((kCorpus / row.file).string());
    ASSERT_TRUE(input.ok()) << input.status();
    // What R holds after unserialize(), so that writing gives what R's serialize() writes.
    auto value = ReadR(*input, ReadOptions{.r_normalize = true});
    if (!value.ok()) {
      ADD_FAILURE() << row.file << ": " << value.status();
      continue;
    }
    ++decoded;
    EXPECT_TRUE(value->Validate().ok()) << row.file << ": " << value->Validate();
    if (!kStreamVariants.count(row.variant)) continue;
    // Large objects convert from one source only, to keep the suite fast.
    if (row.bytes > (1 << 20) && row.variant != "xdr_v3") continue;
    for (const Target& t : kTargets) {
      auto bytes =
          Write(*value, rds::SettingsFor(*value, t.format, t.version, RCompression::kNone));
      if (!bytes.ok()) {
        ADD_FAILURE() << row.file << " -> " << t.code << ": " << bytes.status();
        continue;
      }
      fs::path out = kWork / absl::StrCat(row.name, "__", row.variant, "__", t.code, ".bin");
      std::ofstream(out, std::ios::binary) << *bytes;
      plan << row.name << '\t' << (kCorpus / row.file).string() << '\t' << t.code << '\t'
           << out.string() << '\n';
      ++planned;
    }
  }
  plan.close();
  std::printf("decoded %zu of %zu corpus files\n", decoded, rows.size());

  testing::RunResult r =
      testing::RunProgram({"/usr/bin/env", "LANG=C.UTF-8", "Rscript",
                           (fs::path(SERIALD_SOURCE_DIR) / "tests/interop/rds_check.R").string(),
                           (kWork / "plan.tsv").string(), (kWork / "report.tsv").string()},
                          "", absl::Seconds(600));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<ReportRow> report;
  std::ifstream in(kWork / "report.tsv");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    ASSERT_EQ(f.size(), 7u) << line;
    report.push_back(ReportRow{f[0], f[1], f[2], f[3], f[4], f[5], f[6]});
  }
  ASSERT_EQ(report.size(), planned);

  size_t equal = 0, excused = 0, identical = 0, comparable = 0;
  for (const ReportRow& row : report) {
    EXPECT_TRUE(row.error.empty()) << row.source << " -> " << row.target << ": " << row.error;
    if (row.bytes_equal == "TRUE") {
      ++equal;
    } else if (IsExpectedMismatch(row.name, row.target)) {
      ++excused;
    } else {
      ADD_FAILURE() << row.source << " -> " << row.target << ": bytes differ from R's";
    }
    if (row.r_identical != "TRUE") continue;
    ++comparable;
    if (row.ours_identical == "TRUE") {
      ++identical;
    } else {
      ADD_FAILURE() << row.source << " -> " << row.target
                    << ": R reads seriald's output as a different object";
    }
  }
  std::printf("%zu of %zu conversions byte-identical to R (%zu listed exceptions)\n", equal,
              report.size(), excused);
  std::printf("%zu of %zu read back identical() where R's own round trip is\n", identical,
              comparable);
}

// Compressed files, read as they are (not normalised), write back byte for byte: also those
// whose object R itself changes on a round trip (a forced promise gets the base environment).
TEST(RdsInteropTest, CompressedFilesRoundTripByteForByte) {
  size_t files = 0, same = 0, changed_by_r_too = 0;
  std::vector<ManifestRow> rows = ReadManifest();
  std::set<std::string> changed_by_r;
  for (const ManifestRow& row : rows) {
    if (row.variant == "xdr_v3" && row.reser_equal == "FALSE") changed_by_r.insert(row.name);
  }
  for (const ManifestRow& row : rows) {
    if (kStreamVariants.count(row.variant)) continue;
    ++files;
    std::string original = Slurp(kCorpus / row.file);
    auto value = ReadR(Buffer::FromString(original));
    ASSERT_TRUE(value.ok()) << row.file << ": " << value.status();
    EXPECT_NE(value->source().r->compression, RCompression::kNone) << row.file;
    auto bytes = Write(*value, rds::SettingsFor(*value, value->source().r->format));
    ASSERT_TRUE(bytes.ok()) << row.file << ": " << bytes.status();
    if (*bytes == original) {
      ++same;
      if (changed_by_r.count(row.name)) ++changed_by_r_too;
    } else {
      ADD_FAILURE() << row.file << ": writing it back gives other bytes";
    }
  }
  EXPECT_GT(files, 250u);
  EXPECT_GT(changed_by_r_too, 0u);
  std::printf(
      "%zu of %zu compressed saveRDS files byte-identical (%zu of them changed by R's own "
      "round trip)\n",
      same, files, changed_by_r_too);
  EXPECT_EQ(same, files);
}

TEST(RdsInteropTest, SaveFilesRoundTripByteForByte) {
  CodecRegistry registry;
  RegisterRdsCodecs(registry);
  const Codec* rdata = *registry.Find("rdata");
  int files = 0;
  for (const char* name :
       {"rdx3_gz.RData", "rdx2_raw.RData", "rdx3_raw.RData", "rda3_ascii.RData"}) {
    std::string original = Slurp(kCorpus / "_save" / name);
    auto value = rdata->Read(Buffer::FromString(original), ReadOptions{});
    ASSERT_TRUE(value.ok()) << name << ": " << value.status();
    const auto& list = value->Get<Pairlist>(value->roots()[0]);
    ASSERT_EQ(list.cells.size(), 2u);
    EXPECT_EQ(value->Get<Symbol>(list.cells[0].tag).name.bytes, "iris");
    EXPECT_EQ(value->Get<Symbol>(list.cells[1].tag).name.bytes, "mtcars");
    ByteWriter out;
    ASSERT_TRUE(rdata->Write(*value, WriteOptions{}, out).ok());
    BufferChain chain;
    ASSERT_TRUE(out.Finish(&chain).ok());
    EXPECT_EQ(chain.ToString(), original) << name;
    ++files;
  }
  EXPECT_EQ(files, 4);
}

// R's ascii and asciihex files (serialize(ascii = TRUE / NA), save(ascii = TRUE)) convert as
// they are read, not through the object graph, to the graph's bytes; in their own encoding and
// version they come back as R wrote them.
TEST(RdsInteropTest, AsciiFilesConvertAsReadToTheGraphsBytes) {
  const CodecRegistry registry = CoreCodecs();
  const Codec* rds = *registry.Find("rds");
  auto finish = [](ByteWriter& out) -> std::string {
    BufferChain chain;
    EXPECT_TRUE(out.Finish(&chain).ok());
    return chain.ToString();
  };
  struct File {
    std::string path;
    std::string own_codec;  // the codec of its own form
    bool r_keeps = true;    // R's own round trip gives its bytes (ascii doubles may not)
  };
  std::vector<File> files;
  for (const ManifestRow& row : ReadManifest()) {
    if (row.variant == "ascii_v2" || row.variant == "ascii_v3") {
      files.push_back({row.file, "rds-ascii", row.reser_equal == "TRUE"});
    } else if (row.variant == "asciihex_v3") {
      files.push_back({row.file, "rds-asciihex", row.reser_equal == "TRUE"});
    }
  }
  files.push_back({"_save/rda3_ascii.RData", "rdata"});
  size_t conversions = 0, own = 0, as_read = 0, hex = 0;
  for (const auto& [file, own_codec, r_keeps] : files) {
    auto input = ReadFile((kCorpus / file).string());
    ASSERT_TRUE(input.ok()) << input.status();
    ReadOptions keep;
    keep.keep_array_byte_order = true;
    auto value = ReadR(*input, keep);
    ASSERT_TRUE(value.ok()) << file << ": " << value.status();
    // An asciihex file shows it only in a number written as a double: one without is ascii.
    const std::string read_by_graph(rds::CodecNameOf(*value->source().r));
    if (read_by_graph == "rds-asciihex") ++hex;
    if (own_codec != "rds-asciihex") EXPECT_EQ(read_by_graph, own_codec) << file;
    for (const char* codec : {"rds", "rds-native", "rds-ascii", "rds-asciihex", "rdata"}) {
      const Codec* to = *registry.Find(codec);
      if (std::string_view(codec) == "rdata" && own_codec != "rdata") continue;
      ByteWriter graph_out;
      ASSERT_TRUE(to->Write(*value, WriteOptions{}, graph_out).ok()) << file;
      const std::string graph = finish(graph_out);
      ByteWriter out;
      ConversionNotes notes;
      absl::StatusOr<std::string> read_as =
          ConvertInput(*rds, *to, *input, ReadOptions{}, WriteOptions{}, out, notes);
      ASSERT_TRUE(read_as.ok()) << file << " to " << codec << ": " << read_as.status();
      EXPECT_EQ(*read_as, read_by_graph) << file;
      const std::string converted = finish(out);
      ASSERT_TRUE(converted == graph) << file << " to " << codec;
      if (own_codec == codec && r_keeps) {
        EXPECT_TRUE(converted == std::string(input->view())) << file << " in its own form";
        ++own;
      }
      ++conversions;
      // Converted as read, not through the graph after a stop: the transcoder on its own.
      auto stream = rds::Decompress(*input, rds::DetectCompression(input->view()), 1u << 30);
      ASSERT_TRUE(stream.ok()) << file;
      ChunkedInput chunks(ChunkedInput::ChunksOf(*stream, 4096), "rds", stream->size());
      ByteWriter transcoded;
      auto settings_for = [&](const RStreamInfo& source) -> absl::StatusOr<rds::RWriteSettings> {
        return rds::CodecWriteSettings(codec, source, WriteOptions{});
      };
      absl::StatusOr<RTranscodeOutcome> outcome =
          TranscodeR(chunks, settings_for, transcoded, ReadOptions{});
      ASSERT_TRUE(outcome.ok()) << file << ": " << outcome.status();
      if (outcome->complete) ++as_read;
      (void)finish(transcoded);
    }
  }
  std::printf(
      "%zu ascii and asciihex files written by R (%zu of them with hex doubles): %zu "
      "conversions (%zu of them made as read), %zu in their own form as R wrote them\n",
      files.size(), hex, conversions, as_read, own);
  EXPECT_GT(files.size(), 100u);
  EXPECT_GT(hex, 50u);
  EXPECT_GT(own, files.size() * 9 / 10);
  // Only byte code stops the transcoder in R's files (see rds_transcoder_test).
  EXPECT_GT(as_read, conversions * 9 / 10);
}

// TranscodeR of the uncompressed R stream `input`, in `step`-byte chunks, to `codec` with
// `options`: it must complete (made as read, without stopping); `bytes` gets what it wrote.
void TranscodeCompletely(const Buffer& input, const char* codec, const WriteOptions& options,
                         size_t step, std::string* bytes) {
  ChunkedInput chunks(ChunkedInput::ChunksOf(input, step), "rds", input.size());
  ByteWriter transcoded;
  auto settings_for = [&](const RStreamInfo& source) -> absl::StatusOr<rds::RWriteSettings> {
    rds::RWriteSettings settings = rds::CodecWriteSettings(codec, source, options);
    settings.compression = RCompression::kNone;
    return settings;
  };
  absl::StatusOr<RTranscodeOutcome> outcome =
      TranscodeR(chunks, settings_for, transcoded, ReadOptions{});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_TRUE(outcome->complete) << codec << ": " << outcome->reason;
  BufferChain direct;
  ASSERT_TRUE(transcoded.Finish(&direct).ok());
  *bytes = direct.ToString();
}

// Fitted models and sorted data as R writes them: lm and glm objects hold byte-compiled functions
// (a family's), their environments, formulas, and deferred strings (their residuals' names);
// sort() gives ALTREP wrappers. Converted from XDR version 3, as they are read without stopping,
// to native and ascii version 3 they are R's own serialize() bytes, and to XDR version 2 too,
// their wrappers and deferred strings expanded as they come.
TEST(RdsInteropTest, FittedModelsAndSortedDataConvertAsReadToRsBytes) {
  const fs::path dir = kWork / "models";
  fs::create_directories(dir);
  const std::string script = absl::StrCat(
      "set.seed(3); n <- 500; d <- data.frame(x = runif(n), g = factor(sample(letters[1:3], n, "
      "TRUE)), y = rbinom(n, 1, 0.4));\n"
      "models <- list(glm = glm(y ~ x + g, family = binomial, data = d), lm = lm(x ~ g, data = d),"
      " poisson = glm(y ~ x, family = poisson(link = 'log'), data = d),"
      " sorted = data.frame(t = sort(runif(n)), k = sort(sample.int(1000L, n, TRUE)),"
      " s = sort(as.character(d$g))));\n"
      "for (name in names(models)) {\n"
      "  m <- models[[name]]; base <- file.path('",
      dir.string(),
      "', name)\n"
      "  saveRDS(m, paste0(base, '.X3'), compress = FALSE)\n"
      "  for (t in list(c('B3', 'FALSE', 'FALSE', '3'), c('A3', 'TRUE', 'TRUE', '3'),\n"
      "                 c('X2', 'FALSE', 'TRUE', '2'))) {\n"
      "    con <- file(paste0(base, '.', t[1]), 'wb')\n"
      "    serialize(m, con, ascii = as.logical(t[2]), xdr = as.logical(t[3]),\n"
      "              version = as.integer(t[4]))\n"
      "    close(con)\n"
      "  }\n"
      "}\n");
  testing::RunResult r =
      testing::RunProgram({"/usr/bin/env", "LANG=C.UTF-8", "Rscript", "-e", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const CodecRegistry registry = CoreCodecs();
  const Codec* rds = *registry.Find("rds");
  struct Target {
    const char* suffix;
    const char* codec;
    int version;
  };
  const Target targets[] = {{"B3", "rds-native", 3}, {"A3", "rds-ascii", 3}, {"X2", "rds", 2}};
  int checked = 0;
  for (const char* name : {"glm", "lm", "poisson", "sorted"}) {
    auto input = ReadFile((dir / absl::StrCat(name, ".X3")).string());
    ASSERT_TRUE(input.ok()) << input.status();
    // Byte code (in the glm families' functions), deferred strings and wrappers are in there.
    const std::string_view which(name);
    if (which == "glm" || which == "poisson") {
      EXPECT_NE(input->view().find(std::string("\0\0\0\x15", 4)), std::string_view::npos);
    }
    EXPECT_NE(input->view().find(which == "sorted" ? "wrap_real" : "deferred_string"),
              std::string_view::npos)
        << name;
    for (const Target& target : targets) {
      const std::string expected = Slurp(dir / absl::StrCat(name, ".", target.suffix));
      WriteOptions options;
      options.r_version = target.version;
      options.r_compression = RCompression::kNone;
      ByteWriter out;
      ConversionNotes notes;
      ASSERT_TRUE(ConvertInput(*rds, **registry.Find(target.codec), *input, ReadOptions{}, options,
                               out, notes)
                      .ok());
      BufferChain chain;
      ASSERT_TRUE(out.Finish(&chain).ok());
      EXPECT_TRUE(chain.ToString() == expected) << name << " to " << target.suffix;
      {
        std::string transcoded;
        ASSERT_NO_FATAL_FAILURE(
            TranscodeCompletely(*input, target.codec, options, 4096, &transcoded));
        EXPECT_TRUE(transcoded == expected) << name << " to " << target.suffix;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 12);
}

// A conversion checked against R's own bytes: the file x.`input` in `dir` (holding `marker`), read
// as `from` and written as `to` with `options`, is the file x.`expected` (of more than
// `min_size` bytes), through ConvertInput and as read (the transcoder completes) in chunks of
// 4093 bytes.
struct Version2Case {
  const char* input;
  const char* from;
  const char* expected;
  const char* to;
};
void ExpectRsVersion2Bytes(const fs::path& dir, const Version2Case& c, std::string_view marker,
                           uint64_t min_size, const WriteOptions& options) {
  const CodecRegistry registry = CoreCodecs();
  auto input = ReadFile((dir / absl::StrCat("x.", c.input)).string());
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_NE(input->view().find(marker), std::string_view::npos) << c.input;
  const std::string expected = Slurp(dir / absl::StrCat("x.", c.expected));
  ASSERT_GT(expected.size(), min_size);
  ByteWriter out;
  ConversionNotes notes;
  ASSERT_TRUE(ConvertInput(**registry.Find(c.from), **registry.Find(c.to), *input, ReadOptions{},
                           options, out, notes)
                  .ok());
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  EXPECT_TRUE(chain.ToString() == expected) << c.input << " to " << c.expected;
  std::string transcoded;
  ASSERT_NO_FATAL_FAILURE(TranscodeCompletely(*input, c.to, options, 4093, &transcoded));
  EXPECT_TRUE(transcoded == expected) << c.input << " to " << c.expected;
}

// Compact sequences (1:n, and n:m past the integers' range) written as R 4.2 writes them,
// version 3, converted to version 2: expanded as they are read, they are R's own version 2 bytes
// in every encoding, and in a save() file. The list refers to the class symbols the expansion
// drops (`base`, `compact_intseq`), and to symbols entered after them, by reference; a 3 million
// element sequence goes out a step at a time.
TEST(RdsInteropTest, CompactSequencesConvertAsReadToRsVersion2Bytes) {
  const fs::path dir = kWork / "sequences";
  fs::create_directories(dir);
  const std::string script = absl::StrCat(
      "x <- list(a = 1:10, b = 1e10:(1e10 + 4), c = -3:3, long = 1:3000000, d = quote(base),\n"
      "          e = as.name('compact_intseq'), f = 5:9, g = quote(x), h = quote(x),\n"
      "          frame = data.frame(v = 1:5, w = 6:10), down = 10:1)\n"
      "base <- file.path('",
      dir.string(),
      "', 'x')\n"
      "saveRDS(x, paste0(base, '.X3'), compress = FALSE)\n"
      "saveRDS(x, paste0(base, '.A3'), ascii = TRUE, compress = FALSE)\n"
      "for (t in list(c('X2', 'FALSE', 'TRUE'), c('B2', 'FALSE', 'FALSE'),\n"
      "               c('A2', 'TRUE', 'TRUE'))) {\n"
      "  con <- file(paste0(base, '.', t[1]), 'wb')\n"
      "  serialize(x, con, ascii = as.logical(t[2]), xdr = as.logical(t[3]), version = 2)\n"
      "  close(con)\n"
      "}\n"
      "save(x, file = paste0(base, '.RData3'), compress = FALSE, version = 3)\n"
      "save(x, file = paste0(base, '.RData2'), compress = FALSE, version = 2)\n");
  testing::RunResult r =
      testing::RunProgram({"/usr/bin/env", "LANG=C.UTF-8", "Rscript", "-e", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Version2Case cases[] = {{"X3", "rds", "X2", "rds"},
                                {"X3", "rds", "B2", "rds-native"},
                                {"X3", "rds", "A2", "rds-ascii"},
                                {"A3", "rds-ascii", "X2", "rds"},
                                {"RData3", "rdata", "RData2", "rdata"}};
  WriteOptions options;
  options.r_version = 2;
  options.r_compression = RCompression::kNone;
  for (const Version2Case& c : cases) {
    ASSERT_NO_FATAL_FAILURE(ExpectRsVersion2Bytes(dir, c, "compact_realseq", 12'000'000, options));
  }
}

// ALTREP wrappers (what sort() returns for numbers) and deferred strings (as.character() of
// compact sequences of integers and of doubles, of integers and of doubles), written as R 4.2
// writes them, version 3,
// converted to version 2: expanded as they are read (wrappers' vectors held until their
// attributes show, 24 MB of them in a spill file), they are R's own version 2 bytes in every
// encoding (from ascii input: R's bytes of what it reads from it, ascii doubles being rounded).
// A sorted named vector's data has the names too, which version 2 leaves out; the symbol `names`
// is then written in full where the output first has it, and referred to after. (save() writes
// no wrappers.)
TEST(RdsInteropTest, WrappersAndDeferredStringsConvertAsReadToRsVersion2Bytes) {
  const fs::path dir = kWork / "wrappers";
  fs::create_directories(dir);
  const std::string script = absl::StrCat(
      "set.seed(7)\n"
      "x <- list(big = sort(runif(3000000)), named = sort(c(b = 2L, a = 1L, c = 3L)),\n"
      "          down = sort(c(3.5, NA, 1.5), decreasing = TRUE, na.last = TRUE),\n"
      "          frame = data.frame(v = sort(runif(2)), w = sort(c(z = 3, y = 1))),\n"
      "          after = quote(names), small = sort(c(y = 9L, x = 4L)),\n"
      "          labels = as.character(1:200000), reals = as.character(1e10:(1e10 + 4)),\n"
      "          counts = as.character(c(3L, NA, -70000L)),\n"
      "          decimals = as.character(c(runif(3), 1e-20, 1e15, 123456.7, NA, NaN, -Inf)))\n"
      "base <- file.path('",
      dir.string(),
      "', 'x')\n"
      "saveRDS(x, paste0(base, '.X3'), compress = FALSE)\n"
      "saveRDS(x, paste0(base, '.A3'), ascii = TRUE, compress = FALSE)\n"
      "for (t in list(c('X2', 'FALSE', 'TRUE'), c('B2', 'FALSE', 'FALSE'),\n"
      "               c('A2', 'TRUE', 'TRUE'))) {\n"
      "  con <- file(paste0(base, '.', t[1]), 'wb')\n"
      "  serialize(x, con, ascii = as.logical(t[2]), xdr = as.logical(t[3]), version = 2)\n"
      "  close(con)\n"
      "}\n"
      "con <- file(paste0(base, '.A3X2'), 'wb')\n"
      "serialize(readRDS(paste0(base, '.A3')), con, version = 2)\n"
      "close(con)\n");
  testing::RunResult r =
      testing::RunProgram({"/usr/bin/env", "LANG=C.UTF-8", "Rscript", "-e", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Version2Case cases[] = {{"X3", "rds", "X2", "rds"},
                                {"X3", "rds", "B2", "rds-native"},
                                {"X3", "rds", "A2", "rds-ascii"},
                                {"A3", "rds-ascii", "A3X2", "rds"}};
  const fs::path spill = dir / "spill";
  fs::create_directories(spill);
  WriteOptions options;
  options.r_version = 2;
  options.r_compression = RCompression::kNone;
  options.spill_dir = spill.string();
  for (const Version2Case& c : cases) {
    ASSERT_NO_FATAL_FAILURE(ExpectRsVersion2Bytes(dir, c, "wrap_integer", 24'000'000, options));
  }
}

// deferred_string objects expand to as.character() of their numbers, which needs R's formatting
// of doubles (15 significant digits, fixed or scientific by width and scipen).
TEST(RdsInteropTest, DoublesFormatAsRDoes) {
  const fs::path dir = fs::path(SERIALD_BINARY_DIR) / "rds_interop_numbers";
  fs::create_directories(dir);
  const fs::path out = dir / "numbers.tsv";
  testing::RunResult r = testing::RunProgram(
      {"/usr/bin/env", "LANG=C.UTF-8", "Rscript",
       (fs::path(SERIALD_SOURCE_DIR) / "tests/interop/rds_numbers.R").string(), out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out);
  std::string line;
  size_t checked = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    ASSERT_EQ(f.size(), 3u) << line;
    double x = std::strtod(f[0].c_str(), nullptr);
    EXPECT_EQ(rds::FormatRealAsR(x, std::stoi(f[1]), "."), f[2])
        << "x = " << f[0] << ", scipen = " << f[1];
    ++checked;
  }
  EXPECT_GT(checked, 3000u);
  std::printf("%zu numbers formatted as R does\n", checked);
}

}  // namespace
}  // namespace seriald
