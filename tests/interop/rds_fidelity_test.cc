// Real-file fidelity with R as the oracle, through serialctl as users run it: files R writes in
// ways the corpus generator does not (bytes after the object), converted to their own format (the
// same bytes back) and to others (objects R reads identical()).
#include <cstring>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/convert/convert.h"
#include "core/data/mapping.h"
#include "core/format/codec.h"
#include "core/io/byte_writer.h"
#include "core/io/file.h"
#include "core/rds/compression.h"
#include "core/rds/reader.h"
#include "core/rds/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/rds/testing/lazy_load.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"

namespace seriald {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ReadBytes;
using testing::RunProgram;
using testing::RunResult;

const std::string kSerialctl = SERIALD_BINARY_DIR "/bin/serialctl";

class RdsFidelityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(SERIALD_BINARY_DIR) / "rds_fidelity" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  // Runs R code with `dir` bound to the test's directory; fails the test unless R succeeds.
  std::string R(const std::string& code) {
    RunResult r =
        RunProgram({"/usr/bin/Rscript", "-e", absl::StrCat("dir <- '", dir_.string(), "'; ", code)},
                   "", absl::Seconds(120));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  RunResult Serialctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kSerialctl};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(RdsFidelityTest, BytesAfterTheObjectAreAcceptedAsRDoesAndKept) {
  R("x <- list(a = 1:3, b = 'z', d = as.Date('2020-01-01'));"
    "con <- file(file.path(dir, 'trailing.rds'), 'wb'); serialize(x, con);"
    "writeBin(as.raw(10), con); close(con);"
    "con <- gzfile(file.path(dir, 'trailing.rda'), 'wb'); save(x, file = con);"
    "writeBin(charToRaw('\\n'), con); close(con);"
    "stopifnot(identical(readRDS(file.path(dir, 'trailing.rds')), x));"
    "e <- new.env(); load(file.path(dir, 'trailing.rda'), e); stopifnot(identical(e$x, x))");
  for (const auto& [name, format] :
       {std::pair<std::string, std::string>{"trailing.rds", "rds"}, {"trailing.rda", "rdata"}}) {
    RunResult inspect = Serialctl({"inspect", Path(name)});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_THAT(inspect.out, HasSubstr("1 bytes after the object (ignored, as R does"));
    // Its own format: the same bytes, the trailing byte included.
    RunResult same = Serialctl({"convert", "--to", format, Path(name), Path(name + ".same")});
    ASSERT_EQ(same.exit_code, 0) << same.err;
    EXPECT_EQ(ReadBytes(Path(name + ".same")), ReadBytes(Path(name))) << name;
    // Another encoding: R reads the same object (the stray byte belonged to the source).
    RunResult ascii = Serialctl({"convert", "--to", format == "rds" ? "rds-ascii" : "rdata",
                                 "--version", "2", Path(name), Path(name + ".v2")});
    ASSERT_EQ(ascii.exit_code, 0) << ascii.err;
  }
  EXPECT_THAT(R("x <- readRDS(file.path(dir, 'trailing.rds'));"
                "cat(identical(readRDS(file.path(dir, 'trailing.rds.v2')), x), '');"
                "e <- new.env(); load(file.path(dir, 'trailing.rda.v2'), e);"
                "cat(identical(e$x, x))"),
              "TRUE TRUE");
}

// Byte code shares language cells between its constants (BCREPDEF/BCREPREF); a BCODESXP inside a
// list constant (a closure made by MAKECLOSURE) has a reps table of its own.
TEST_F(RdsFidelityTest, ByteCodeKeepsItsSharedLanguageCells) {
  R("saveRDS(compiler::cmpfun(function(x) { x <- function(y) y }), file.path(dir, 'small.rds'),"
    "        compress = FALSE);"
    "for (p in c('base', 'stats', 'utils')) {"
    "  ns <- asNamespace(p);"
    "  fs <- Filter(function(f) is.function(f) && !is.primitive(f),"
    "               mget(ls(ns, all.names = TRUE), envir = ns));"
    "  saveRDS(fs, file.path(dir, paste0(p, '.rds')), compress = FALSE) }");
  for (const std::string name : {"small.rds", "base.rds", "stats.rds", "utils.rds"}) {
    RunResult same = Serialctl({"convert", "--to", "rds", Path(name), Path(name + ".same")});
    ASSERT_EQ(same.exit_code, 0) << same.err;
    const std::string original = ReadBytes(Path(name));
    EXPECT_EQ(ReadBytes(Path(name + ".same")).size(), original.size()) << name;
    EXPECT_TRUE(ReadBytes(Path(name + ".same")) == original) << name;
  }
}

// ALTREP wrappers: R 4.2 writes them with their metadata; older R versions also wrote wrappers
// whose metadata says nothing (sortedness NA, no_na 0), which R 4.2 reads as plain vectors. Both
// convert to their own format unchanged, and R reads the same objects from the outputs.
TEST_F(RdsFidelityTest, AltrepWrappersStayWrappers) {
  R("x <- list(a = .Internal(wrap_meta(c(3, 1, 2), 1L, 1L)),"
    "          b = .Internal(wrap_meta(c('b', 'a'), 0L, 0L)), s = sort(c(3L, 1L, 2L)));"
    "saveRDS(x, file.path(dir, 'wrap.rds'), compress = FALSE);"
    // The old form: the meta of `a` (INTSXP of 2: 1, 1) patched to NA, 0.
    "b <- readBin(file.path(dir, 'wrap.rds'), 'raw', 1e5);"
    "meta <- as.raw(c(0,0,0,13, 0,0,0,2, 0,0,0,1, 0,0,0,1));"
    "at <- grepRaw(meta, b, fixed = TRUE); stopifnot(length(at) == 1);"
    "b[(at + 8):(at + 15)] <- as.raw(c(0x80,0,0,0, 0,0,0,0));"
    "writeBin(b, file.path(dir, 'old_wrap.rds'));"
    "stopifnot(identical(readRDS(file.path(dir, 'old_wrap.rds'))$a, c(3, 1, 2)))");
  for (const std::string name : {"wrap.rds", "old_wrap.rds"}) {
    RunResult inspect = Serialctl({"inspect", Path(name)});
    EXPECT_THAT(inspect.out, HasSubstr("altrep wrap_real")) << name;
    RunResult same = Serialctl({"convert", "--to", "rds", Path(name), Path(name + ".same")});
    ASSERT_EQ(same.exit_code, 0) << same.err;
    EXPECT_TRUE(ReadBytes(Path(name + ".same")) == ReadBytes(Path(name))) << name;
    RunResult v2 =
        Serialctl({"convert", "--to", "rds", "--version", "2", Path(name), Path(name + ".v2")});
    ASSERT_EQ(v2.exit_code, 0) << v2.err;
  }
  EXPECT_EQ(R("for (f in c('wrap.rds', 'old_wrap.rds')) {"
              "  x <- readRDS(file.path(dir, f));"
              "  cat(identical(readRDS(file.path(dir, paste0(f, '.same'))), x),"
              "      identical(readRDS(file.path(dir, paste0(f, '.v2'))), x), '') }"),
            "TRUE TRUE TRUE TRUE ");
}

// Strings R wrote in a latin1 or Windows-1252 locale: undeclared bytes in that encoding, the
// header naming it. seriald shows them as R in a UTF-8 session does (inspect, JSON's
// `translated`), and writes the original bytes back.
TEST_F(RdsFidelityTest, NativeEncodingsAreShownAsRShowsThemAndKept) {
  struct Case {
    std::string charmap;
    std::string bytes;  // an R raw vector: the string in that encoding
  };
  for (const Case& c : {Case{"ISO-8859-1", "0x63, 0x61, 0x66, 0xe9"},  // "café"
                        Case{"CP1252", "0x80, 0x75, 0x72, 0x6f"}}) {   // "€uro"
    const std::string& charmap = c.charmap;
    const std::string locale = "en_US." + charmap;
    RunResult made =
        RunProgram({"/usr/bin/localedef", "-i", "en_US", "-f", charmap, (dir_ / locale).string()});
    ASSERT_TRUE(made.exit_code == 0 || made.exit_code == 1) << made.err;  // 1: warnings only
    const std::string file = Path(charmap + ".rds");
    RunResult wrote = RunProgram(
        {"/usr/bin/env", "LOCPATH=" + dir_.string(), "LC_ALL=" + locale, "/usr/bin/Rscript", "-e",
         absl::StrCat("x <- c(rawToChar(as.raw(c(", c.bytes, "))), 'plain');",
                      "stopifnot(Encoding(x)[1] == 'unknown');", "saveRDS(x, '", file,
                      "', compress = FALSE)")});
    ASSERT_EQ(wrote.exit_code, 0) << wrote.err;
    // R in a UTF-8 session: the string's UTF-8 bytes.
    const std::string utf8 = R(absl::StrCat("cat(enc2utf8(readRDS('", file, "'))[1])"));
    ASSERT_FALSE(utf8.empty());
    RunResult inspect = Serialctl({"inspect", file});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_THAT(inspect.out, HasSubstr("native encoding " + charmap));
    EXPECT_THAT(inspect.out, HasSubstr("chr [1:2] \"" + utf8 + "\" \"plain\""));
    RunResult json = Serialctl({"convert", "--to", "json", file, "-"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    EXPECT_THAT(json.out, HasSubstr("\"translated\":\"" + utf8 + "\""));
    RunResult same = Serialctl({"convert", "--to", "rds", file, file + ".same"});
    ASSERT_EQ(same.exit_code, 0) << same.err;
    EXPECT_TRUE(ReadBytes(file + ".same") == ReadBytes(file)) << charmap;
  }
}

// `value` written with `to`.
std::string WrittenBytes(const Value& value, const Codec& to) {
  ByteWriter out;
  EXPECT_TRUE(to.Write(value, WriteOptions{}, out).ok());
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return chain.ToString();
}

// `input` converted from `from` to `to` as serialctl and the service convert it.
std::string ConvertedBytes(const Codec& from, const Codec& to, const Buffer& input) {
  ByteWriter out;
  ConversionNotes notes;
  absl::StatusOr<std::string> read_as =
      ConvertInput(from, to, input, ReadOptions{}, WriteOptions{}, out, notes);
  EXPECT_TRUE(read_as.ok()) << read_as.status();
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return chain.ToString();
}

// Every R file installed under R's library directories (saveRDS files, save() files: datasets,
// fitted models, test data of packages, some from old R versions) converted to its own format:
// the same bytes, or, where only the compressor's settings differ, the same decompressed bytes.
TEST(RdsInstalledFilesTest, ConvertToTheirOwnFormatByteForByte) {
  const CodecRegistry registry = CoreCodecs();
  const Codec* native = *registry.Find("rds-native");
  int files = 0, identical = 0, decompressed = 0;
  for (const std::string& path : testing::InstalledRFiles()) {
    absl::StatusOr<Buffer> input = ReadFile(path);
    ASSERT_TRUE(input.ok()) << path;
    absl::StatusOr<const Codec*> codec = registry.Detect(*input);
    ASSERT_TRUE(codec.ok()) << path << ": " << codec.status();
    absl::StatusOr<Value> value = (*codec)->Read(*input, ReadOptions{});
    ASSERT_TRUE(value.ok()) << path << ": " << value.status();
    absl::StatusOr<const Codec*> same_format = registry.Find((*codec)->FormatOf(*value));
    ASSERT_TRUE(same_format.ok());
    const bool input_is_native =
        value->source().r.has_value() && value->source().r->format != RFormat::kXdr;
    ByteWriter out;
    ASSERT_TRUE((*same_format)->Write(*value, WriteOptions{}, out).ok()) << path;
    BufferChain chain;
    ASSERT_TRUE(out.Finish(&chain).ok());
    const std::string written = chain.ToString();
    // serialctl's path (ConvertInput) reads XDR vectors as written and writes them back
    // unswapped, or swaps them once for native output: the same bytes as the plain read.
    EXPECT_EQ(ConvertedBytes(**codec, **same_format, *input), written) << path;
    if (!input_is_native) {
      EXPECT_EQ(ConvertedBytes(**codec, *native, *input), WrittenBytes(*value, *native)) << path;
    }
    ++files;
    if (written == input->view()) {
      ++identical;
      continue;
    }
    const RCompression compression = rds::DetectCompression(input->view());
    absl::StatusOr<Buffer> source = rds::Decompress(*input, compression, uint64_t{1} << 32);
    absl::StatusOr<Buffer> ours =
        rds::Decompress(Buffer::FromString(written), compression, uint64_t{1} << 32);
    ASSERT_TRUE(source.ok() && ours.ok()) << path;
    if (compression != RCompression::kNone && source->view() == ours->view()) {
      ++decompressed;
    } else {
      ADD_FAILURE() << path << ": converting it to its own format changes it";
    }
  }
  std::printf("%d installed R files: %d byte for byte, %d byte for byte once decompressed\n", files,
              identical, decompressed);
  RecordProperty("files", files);
  EXPECT_GE(files, 100);
  EXPECT_EQ(identical + decompressed, files);
}

// The entries of installed packages' lazy-load databases (R/*.rdb: each a 4-byte length and a
// zlib stream of a serialized object, found through the index R/*.rdx), converted to their own
// format: the same bytes.
TEST(RdsInstalledFilesTest, LazyLoadEntriesConvertByteForByte) {
  int identical = 0;
  ReadOptions as_written;
  as_written.keep_array_byte_order = true;
  auto write = [](const Value& value, RFormat format, int version) {
    ByteWriter out;
    EXPECT_TRUE(WriteR(value, rds::SettingsFor(value, format, version), out).ok());
    BufferChain chain;
    EXPECT_TRUE(out.Finish(&chain).ok());
    return chain.ToString();
  };
  testing::LazyLoadCounts counts;
  absl::Status walked = testing::ForEachLazyLoadEntry(
      [&](const testing::LazyLoadEntry& entry) {
        const std::string_view stream = entry.stream.view();
        absl::StatusOr<Value> object = ReadR(entry.stream);
        ASSERT_TRUE(object.ok()) << entry.Where() << ": " << object.status();
        const RStreamInfo& source = *object->source().r;
        if (write(*object, source.format, source.version) == stream) {
          ++identical;
        } else {
          ADD_FAILURE() << entry.Where() << ": the entry comes back changed";
        }
        // Read as a conversion within R reads it (vectors kept as written): the same bytes in
        // the entry's own encoding, and in native, where every vector is swapped on output.
        absl::StatusOr<Value> kept = ReadR(entry.stream, as_written);
        ASSERT_TRUE(kept.ok()) << entry.Where() << ": " << kept.status();
        EXPECT_EQ(write(*kept, source.format, source.version), stream) << entry.Where();
        EXPECT_EQ(write(*kept, RFormat::kNative, source.version),
                  write(*object, RFormat::kNative, source.version))
            << entry.Where();
      },
      &counts);
  ASSERT_TRUE(walked.ok()) << walked;
  std::printf(
      "%d lazy-load databases: %d of %d entries byte for byte (%d with other compression "
      "not read)\n",
      counts.databases, identical, counts.entries, counts.other_compression);
  EXPECT_GE(counts.entries, 1000);
  EXPECT_EQ(identical, counts.entries);
}

}  // namespace
}  // namespace seriald
