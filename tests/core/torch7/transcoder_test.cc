// TranscodeTorch7 against the object graph: for every corpus stream, in every output layout and
// cut into chunks of every awkward size, the streamed conversion writes exactly the bytes of
// WriteTorch7(ReadTorch7(input)), and fails where ReadTorch7 fails. DecideTorch7StreamLayout
// takes the long size ReadTorch7 takes, from the whole input or a prefix.
#include "core/torch7/transcoder.h"

#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/io/byte_writer.h"
#include "core/io/chunked_input.h"
#include "core/io/input_error.h"
#include "core/torch7/codec.h"
#include "core/torch7/reader.h"
#include "core/torch7/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/torch7/testing/corpus.h"

namespace seriald {
namespace {

using ::seriald::testing::CorpusFile;
using ::seriald::testing::CorpusStreams;
using ::seriald::testing::StreamBytes;
using ::testing::HasSubstr;
using ::testing::Not;

const Torch7Layout kOutputLayouts[] = {
    {.ascii = false, .long_size = 8, .big_endian = false},
    {.ascii = false, .long_size = 4, .big_endian = false},
    {.ascii = false, .long_size = 8, .big_endian = true},
    {.ascii = false, .long_size = 4, .big_endian = true},
    {.ascii = true, .long_size = 8, .big_endian = false},
};

std::string Describe(const Torch7Layout& layout) {
  if (layout.ascii) return "ascii";
  return absl::StrCat(layout.long_size, "-byte longs, ",
                      layout.big_endian ? "big-endian" : "little-endian");
}

// What the object graph writes: WriteTorch7(ReadTorch7(input)).
absl::StatusOr<std::string> ThroughValue(const Buffer& input, const Torch7Layout& to,
                                         const ReadOptions& options = {}) {
  absl::StatusOr<Value> value = ReadTorch7(input, options);
  if (!value.ok()) return value.status();
  ByteWriter out;
  absl::Status written = WriteTorch7(*value, to, out);
  if (!written.ok()) return written;
  BufferChain bytes;
  absl::Status finished = out.Finish(&bytes);
  if (!finished.ok()) return finished;
  return bytes.ToString();
}

// What the transcoder writes, the input cut into chunks of `step` bytes.
absl::StatusOr<std::string> Streamed(const Buffer& input, const Torch7StreamLayout& from,
                                     const Torch7Layout& to, size_t step, bool size_known = true,
                                     const ReadOptions& options = {}) {
  ChunkedInput in(ChunkedInput::ChunksOf(input, step), "torch7",
                  size_known ? std::optional<uint64_t>(input.size()) : std::nullopt);
  ByteWriter out;
  absl::Status status = TranscodeTorch7(in, from, to, out, options);
  if (!status.ok()) return status;
  BufferChain bytes;
  absl::Status finished = out.Finish(&bytes);
  if (!finished.ok()) return finished;
  return bytes.ToString();
}

// The layout ReadTorch7 reads `input` with.
Torch7Layout LayoutOf(const Buffer& input) {
  absl::StatusOr<Value> value = ReadTorch7(input);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value->source().torch7 : Torch7Layout{};
}

TEST(Torch7TranscoderTest, EveryCorpusStreamWritesTheBytesOfTheObjectGraphInEveryLayout) {
  int streamed = 0;
  int decided_by_read = 0;
  for (const std::string& path : CorpusStreams()) {
    SCOPED_TRACE(path);
    const Buffer input = CorpusFile(path);
    absl::StatusOr<std::optional<Torch7StreamLayout>> decided = DecideTorch7StreamLayout(
        input, /*whole_input=*/true, input.size(), {}, Torch7Mode::kDetect);
    ASSERT_TRUE(decided.ok()) << decided.status();
    absl::StatusOr<Value> value = ReadTorch7(input);
    if (!decided->has_value()) {
      // Left to ReadTorch7: both long sizes read the whole stream, differently (or neither does).
      std::cout << "left to ReadTorch7: " << path << " ("
                << (value.ok() ? "reads" : value.status().ToString()) << ")\n";
      ++decided_by_read;
      continue;
    }
    ASSERT_TRUE(value.ok()) << value.status();
    const Torch7Layout& read_as = *value->source().torch7;
    EXPECT_EQ((*decided)->layout.ascii, read_as.ascii);
    EXPECT_EQ((*decided)->layout.long_size, read_as.long_size);
    EXPECT_EQ((*decided)->layout.big_endian, read_as.big_endian);
    for (const Torch7Layout& layout : kOutputLayouts) {
      SCOPED_TRACE(Describe(layout));
      absl::StatusOr<std::string> expected = ThroughValue(input, layout);
      for (size_t step : {size_t{1} << 20, size_t{4096}, size_t{7}, size_t{1}}) {
        if (step == 1 && input.size() > 64 * 1024) continue;
        SCOPED_TRACE(absl::StrCat("chunks of ", step));
        absl::StatusOr<std::string> actual = Streamed(input, **decided, layout, step);
        if (!expected.ok()) {
          // What the layout cannot hold (a storage too large for 4-byte longs) fails both ways.
          ASSERT_FALSE(actual.ok());
          EXPECT_EQ(actual.status().code(), expected.status().code());
          continue;
        }
        ASSERT_TRUE(actual.ok()) << actual.status();
        ASSERT_EQ(*actual, *expected);
      }
    }
    ++streamed;
  }
  std::cout << streamed << " streams converted as read, " << decided_by_read
            << " left to ReadTorch7\n";
  EXPECT_GT(streamed, 100);
  // Streams that both long sizes read completely and differently, or that neither reads.
  EXPECT_LT(decided_by_read, 10);
}

// An ascii DoubleStorage holding `numbers` (the text of each) separated by `separators` in turn.
std::string AsciiStorage(const std::vector<std::string>& numbers,
                         const std::vector<std::string>& separators) {
  std::string text =
      "4\n1\n3\nV 1\n19\ntorch.DoubleStorage\n" + std::to_string(numbers.size()) + "\n";
  for (size_t i = 0; i < numbers.size(); ++i) {
    if (i > 0) text += separators[i % separators.size()];
    text += numbers[i];
  }
  return text + "\n";
}

// Ascii numbers are parsed a window at a time: numbers of every length, whitespace of every
// kind and length, a token longer than a window, all parse as from the whole input.
TEST(Torch7TranscoderTest, AsciiNumbersAcrossWindowsParseAsFromTheWholeInput) {
  std::mt19937_64 random(5);
  std::vector<std::string> numbers;
  for (int i = 0; i < 40000; ++i) {
    switch (random() % 6) {
      case 0:
        numbers.push_back(std::to_string(static_cast<int64_t>(random() % 2000000) - 1000000));
        break;
      case 1:
        numbers.push_back("-nan");
        break;
      case 2:
        numbers.push_back("1" + std::string(random() % 700, '0'));  // up to 700 digits: inf
        break;
      case 3:
        numbers.push_back("0." + std::string(random() % 600, '0') + "1");
        break;
      default:
        numbers.push_back(absl::StrCat(static_cast<double>(random()) / 3e9));
        break;
    }
  }
  const std::vector<std::string> separators = {" ", "\n", "\t \t", std::string(3000, ' '),
                                               " \r\n "};
  std::vector<std::string> streams = {AsciiStorage(numbers, separators)};
  // A token longer than a window (digits only), then more numbers.
  numbers[100] = std::string(70000, '0') + "12";
  streams.push_back(AsciiStorage(numbers, separators));
  for (const std::string& text : streams) {
    const Buffer input = Buffer::Copy(text);
    ASSERT_GT(input.size(), size_t{256} << 10);
    const Torch7StreamLayout from{Torch7Layout{.ascii = true}};
    for (const Torch7Layout& layout : {Torch7Layout{}, Torch7Layout{.ascii = true}}) {
      absl::StatusOr<std::string> expected = ThroughValue(input, layout);
      for (size_t step : {size_t{1} << 20, size_t{65536}, size_t{4099}, size_t{777}}) {
        SCOPED_TRACE(absl::StrCat("chunks of ", step));
        absl::StatusOr<std::string> actual = Streamed(input, from, layout, step);
        ASSERT_EQ(actual.ok(), expected.ok()) << actual.status() << " / " << expected.status();
        if (actual.ok()) {
          ASSERT_TRUE(*actual == *expected);
        } else {
          EXPECT_EQ(actual.status(), expected.status());
        }
      }
    }
  }
}

TEST(Torch7TranscoderTest, TheUnknownTotalSizeChangesNothingForGoodStreams) {
  for (const char* path : {"generated/nn_linear.bin.t7", "generated/tensor_long_2x3.long4.bin.t7",
                           "generated/tensor_double_2x3.bigendian.bin.t7"}) {
    SCOPED_TRACE(path);
    const Buffer input = CorpusFile(path);
    const Torch7Layout from = LayoutOf(input);
    for (const Torch7Layout& layout : kOutputLayouts) {
      absl::StatusOr<std::string> actual =
          Streamed(input, Torch7StreamLayout{from}, layout, 5, /*size_known=*/false);
      ASSERT_TRUE(actual.ok()) << actual.status();
      EXPECT_EQ(*actual, *ThroughValue(input, layout));
    }
  }
}

// Random damage: wherever ReadTorch7 (with the layout given) refuses the input the transcoder
// refuses it too, and wherever it accepts, both write the same bytes.
TEST(Torch7TranscoderTest, DamagedStreamsAreRefusedOrWrittenAsTheObjectGraphDoes) {
  std::mt19937_64 random(13);
  int refused = 0;
  int accepted = 0;
  for (const char* path :
       {"generated/nn_linear.bin.t7", "generated/function_upvalues.bin.t7",
        "generated/table_cycle.bin.t7", "python-torchfile/tds_hash.t7",
        "generated/tensor_long_2x3.long4.bin.t7", "generated/tensor_double_2x3.bigendian.bin.t7",
        "generated/generator.bin.t7", "generated/nn_linear.ascii.t7"}) {
    SCOPED_TRACE(path);
    const Buffer original = CorpusFile(path);
    const Torch7Layout from = LayoutOf(original);
    ReadOptions options;
    options.torch7_long_size = from.long_size;
    options.torch7_big_endian = from.big_endian;
    for (int trial = 0; trial < 300; ++trial) {
      std::string bytes(original.view());
      const int damage = 1 + static_cast<int>(random() % 3);
      for (int d = 0; d < damage; ++d) {
        const size_t at = random() % bytes.size();
        switch (random() % 3) {
          case 0:
            bytes[at] = static_cast<char>(random());
            break;
          case 1:
            bytes[at] ^= static_cast<char>(1 << (random() % 8));
            break;
          default:
            bytes.resize(at);
            break;
        }
        if (bytes.empty()) bytes = "x";
      }
      const Buffer input = Buffer::Copy(bytes);
      const Torch7Mode mode = from.ascii ? Torch7Mode::kAscii : Torch7Mode::kBinary;
      absl::StatusOr<Value> value = ReadTorch7(input, options, mode);
      const Torch7Layout to{.ascii = false, .long_size = 8, .big_endian = !from.big_endian};
      absl::StatusOr<std::string> actual = Streamed(input, Torch7StreamLayout{from}, to,
                                                    1 + random() % 64, random() % 2 == 0, options);
      if (!value.ok()) {
        ASSERT_FALSE(actual.ok()) << "accepted what ReadTorch7 refuses: " << value.status();
        EXPECT_EQ(actual.status().code(), absl::StatusCode::kInvalidArgument) << actual.status();
        EXPECT_TRUE(InputErrorOffset(actual.status()).has_value()) << actual.status();
        ++refused;
        continue;
      }
      ByteWriter out;
      absl::Status written = WriteTorch7(*value, to, out);
      BufferChain expected;
      ASSERT_TRUE(out.Finish(&expected).ok());
      if (!written.ok()) {
        ASSERT_FALSE(actual.ok());
        continue;
      }
      ASSERT_TRUE(actual.ok()) << "refused what ReadTorch7 accepts: " << actual.status();
      EXPECT_EQ(*actual, expected.ToString());
      ++accepted;
    }
  }
  EXPECT_GT(refused, 500);
  EXPECT_GT(accepted, 50);
}

TEST(Torch7TranscoderTest, EveryTruncationFailsNamingAnOffsetInsideTheInput) {
  for (const char* path : {"generated/nn_linear.bin.t7", "generated/nn_linear.ascii.t7",
                           "python-torchfile/gmodule_with_linear_identity.t7"}) {
    SCOPED_TRACE(path);
    const Buffer whole = CorpusFile(path);
    const Torch7Layout from = LayoutOf(whole);
    for (size_t size = 0; size < whole.size(); ++size) {
      const Buffer prefix = whole.Slice(0, size);
      // Ascii may end in whitespace that is the end of the last object's line: such prefixes
      // are complete streams.
      if (from.ascii && ReadTorch7(prefix, {}, Torch7Mode::kAscii).ok()) continue;
      absl::StatusOr<std::string> actual =
          Streamed(prefix, Torch7StreamLayout{from}, Torch7Layout{}, 3, size % 2 == 0);
      ASSERT_FALSE(actual.ok()) << size;
      EXPECT_LE(InputErrorOffset(actual.status()).value_or(UINT64_MAX), size) << actual.status();
    }
  }
}

// A stream of one large tensor, as torch.save writes it, with `long_size`-byte longs.
std::string OneTensorStream(int long_size, uint64_t elements) {
  StreamBytes bytes(long_size);
  bytes.TorchHeader(1, "torch.FloatTensor").Int(1).Long(elements).Long(1).Long(1);
  bytes.TorchHeader(2, "torch.FloatStorage").Long(elements);
  std::string data(elements * 4, '\0');
  for (uint64_t i = 0; i < elements; ++i) data[4 * i] = static_cast<char>(i * 7 + 1);
  bytes.Raw(data);
  return bytes.str();
}

TEST(Torch7TranscoderTest, APrefixDecidesTheLongSizeOfATensorStream) {
  for (int long_size : {8, 4}) {
    SCOPED_TRACE(long_size);
    const std::string stream = OneTensorStream(long_size, 1 << 20);
    const Buffer input = Buffer::Copy(stream);
    const Buffer prefix = input.Slice(0, 64 * 1024);
    for (std::optional<uint64_t> total :
         {std::optional<uint64_t>(input.size()), std::optional<uint64_t>()}) {
      absl::StatusOr<std::optional<Torch7StreamLayout>> decided =
          DecideTorch7StreamLayout(prefix, /*whole_input=*/false, total, {}, Torch7Mode::kDetect);
      ASSERT_TRUE(decided.ok()) << decided.status();
      ASSERT_TRUE(decided->has_value());
      EXPECT_EQ((*decided)->layout.long_size, long_size);
      EXPECT_FALSE((*decided)->layout.big_endian);
      // The streamed conversion of the whole input is the object graph's.
      absl::StatusOr<std::string> actual =
          Streamed(input, **decided, Torch7Layout{.ascii = true}, 65536, total.has_value());
      ASSERT_TRUE(actual.ok()) << actual.status();
      EXPECT_EQ(*actual, *ThroughValue(input, Torch7Layout{.ascii = true}));
    }
  }
}

TEST(Torch7TranscoderTest, APrefixThatDecidesNothingSaysSo) {
  // Numbers and strings only: no long is read, so both long sizes read alike.
  StreamBytes bytes;
  for (int i = 0; i < 5000; ++i) bytes.Int(2).String("a string of some length");
  const Buffer input = bytes.buffer();
  absl::StatusOr<std::optional<Torch7StreamLayout>> decided = DecideTorch7StreamLayout(
      input.Slice(0, 4096), /*whole_input=*/false, input.size(), {}, Torch7Mode::kDetect);
  ASSERT_TRUE(decided.ok());
  EXPECT_FALSE(decided->has_value());
  // A forced long size decides without looking.
  ReadOptions options;
  options.torch7_long_size = 4;
  decided = DecideTorch7StreamLayout(input.Slice(0, 4096), false, std::nullopt, options,
                                     Torch7Mode::kDetect);
  ASSERT_TRUE(decided.ok() && decided->has_value());
  EXPECT_EQ((*decided)->layout.long_size, 4);
}

// A 0-dimensional tensor over a large storage, 8-byte longs (indices `first` and `first` + 1).
// Read with 4-byte longs, the tensor's storage offset ends it with a nil storage, and the
// storage then reads as a second object, its data 4 bytes early: both readings go on into the
// data, and only the end of the stream could tell them apart.
std::string ScalarOverLargeStorage(int32_t first, uint64_t elements) {
  StreamBytes bytes;
  bytes.TorchHeader(first, "torch.FloatTensor").Int(0).Long(1);
  bytes.TorchHeader(first + 1, "torch.FloatStorage").Long(elements);
  return bytes.str() + std::string(elements * 4, '\x01');
}

TEST(Torch7TranscoderTest, APrefixPrefersTheReadingThatIsStillInsideItsFirstObject) {
  const Buffer input = Buffer::Copy(ScalarOverLargeStorage(1, 1 << 18));
  for (std::optional<uint64_t> total :
       {std::optional<uint64_t>(input.size()), std::optional<uint64_t>()}) {
    absl::StatusOr<std::optional<Torch7StreamLayout>> decided =
        DecideTorch7StreamLayout(input.Slice(0, 4096), false, total, {}, Torch7Mode::kDetect);
    ASSERT_TRUE(decided.ok() && decided->has_value());
    EXPECT_TRUE((*decided)->check_other_long_size);
    EXPECT_EQ((*decided)->layout.long_size, 8);
    absl::StatusOr<std::string> actual =
        Streamed(input, **decided, Torch7Layout{.long_size = 4}, 65536, total.has_value());
    ASSERT_TRUE(actual.ok()) << actual.status();
    EXPECT_EQ(*actual, *ThroughValue(input, Torch7Layout{.long_size = 4}));
  }
}

// The prefix takes 8-byte longs (the 4-byte reading ends its first object early) and the
// transcoder reads the stream with 4-byte longs too as it converts: at the end, ReadTorch7's rule
// for the whole input decides, whatever the number of objects.
absl::StatusOr<std::optional<Torch7StreamLayout>> DecideFromPrefix(const Buffer& input) {
  return DecideTorch7StreamLayout(input.Slice(0, 4096), false, input.size(), {},
                                  Torch7Mode::kDetect);
}

TEST(Torch7TranscoderTest, AStreamOfSeveralObjectsConvertsWhenTheOtherLongSizeFails) {
  // Two such objects back to back (two writeObject calls): with 4-byte longs the end fails.
  const Buffer input =
      Buffer::Copy(ScalarOverLargeStorage(1, 1 << 18) + ScalarOverLargeStorage(3, 16));
  absl::StatusOr<Value> whole = ReadTorch7(input);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_EQ(whole->roots().size(), 2u);
  ASSERT_EQ(whole->source().torch7->long_size, 8);
  absl::StatusOr<std::optional<Torch7StreamLayout>> decided = DecideFromPrefix(input);
  ASSERT_TRUE(decided.ok() && decided->has_value());
  EXPECT_TRUE((*decided)->check_other_long_size);
  EXPECT_EQ((*decided)->layout.long_size, 8);
  // Chunks of 1000 bytes fill the rival's queue many times over.
  for (size_t step : {size_t{65536}, size_t{1000}}) {
    absl::StatusOr<std::string> actual = Streamed(input, **decided, Torch7Layout{}, step);
    ASSERT_TRUE(actual.ok()) << actual.status();
    EXPECT_EQ(*actual, *ThroughValue(input, Torch7Layout{})) << step;
  }
}

TEST(Torch7TranscoderTest, ASourceThatFailsEndsTheOtherLongSizesReadingToo) {
  // The call is cancelled 200 KiB into the stream: its error, and no wait for the rest.
  const Buffer input =
      Buffer::Copy(ScalarOverLargeStorage(1, 1 << 18) + ScalarOverLargeStorage(3, 16));
  absl::StatusOr<std::optional<Torch7StreamLayout>> decided = DecideFromPrefix(input);
  ASSERT_TRUE(decided.ok() && decided->has_value());
  ASSERT_TRUE((*decided)->check_other_long_size);
  ChunkedInput::NextChunk chunks = ChunkedInput::ChunksOf(input.Slice(0, 200 << 10), 4096);
  ChunkedInput in(
      [&]() -> absl::StatusOr<std::optional<Buffer>> {
        absl::StatusOr<std::optional<Buffer>> chunk = chunks();
        if (chunk.ok() && !chunk->has_value()) return absl::CancelledError("the call ended");
        return chunk;
      },
      "torch7", input.size());
  ByteWriter out;
  const absl::Status status = TranscodeTorch7(in, **decided, Torch7Layout{}, out, {});
  EXPECT_EQ(status, absl::CancelledError("the call ended"));
}

TEST(Torch7TranscoderTest, AnInputReadOnAfterAConversionWhoseOutputFailedShowsNoMoreChunks) {
  // The output fails at its first piece: the conversion stops early, and its caller reads the
  // rest of the input (as the service drains a call), with the other long size's reading gone.
  const Buffer input =
      Buffer::Copy(ScalarOverLargeStorage(1, 1 << 18) + ScalarOverLargeStorage(3, 16));
  absl::StatusOr<std::optional<Torch7StreamLayout>> decided = DecideFromPrefix(input);
  ASSERT_TRUE(decided.ok() && decided->has_value());
  ASSERT_TRUE((*decided)->check_other_long_size);
  ChunkedInput in(ChunkedInput::ChunksOf(input, 4096), "torch7", input.size());
  ByteWriter out([](Buffer) { return absl::UnavailableError("the client went away"); });
  EXPECT_TRUE(TranscodeTorch7(in, **decided, Torch7Layout{}, out, {}).ok());
  EXPECT_EQ(out.Finish(), absl::UnavailableError("the client went away"));
  uint64_t rest = 0;
  while (true) {
    absl::StatusOr<Buffer> piece = in.Take(1 << 20);
    ASSERT_TRUE(piece.ok()) << piece.status();
    if (piece->empty()) break;
    rest += piece->size();
  }
  EXPECT_EQ(in.offset(), input.size());
  EXPECT_GT(rest, 0u);
}

TEST(Torch7TranscoderTest, AFailedStreamIsReadOnOnlyWhileTheOtherLongSizeStillReadsIt) {
  // With 8-byte longs, two objects (the second over an 8 MiB storage) and a bad tag, then 64 MiB
  // more; with 4-byte longs the stream fails at the end of the first object. The error needs no
  // more input than the conversion read: the rest is not read through for the rival.
  StreamBytes bad_tag;
  bad_tag.Int(99);
  const std::string valid = ScalarOverLargeStorage(1, 1 << 18) + ScalarOverLargeStorage(3, 2 << 20);
  const Buffer input = Buffer::Copy(valid + bad_tag.str() + std::string(64 << 20, '\x01'));
  absl::StatusOr<std::optional<Torch7StreamLayout>> decided = DecideFromPrefix(input);
  ASSERT_TRUE(decided.ok() && decided->has_value());
  ASSERT_TRUE((*decided)->check_other_long_size);
  ChunkedInput::NextChunk chunks = ChunkedInput::ChunksOf(input, 1 << 20);
  uint64_t pulled = 0;
  ChunkedInput in(
      [&]() -> absl::StatusOr<std::optional<Buffer>> {
        absl::StatusOr<std::optional<Buffer>> chunk = chunks();
        if (chunk.ok() && chunk->has_value()) pulled += (*chunk)->size();
        return chunk;
      },
      "torch7", input.size());
  ByteWriter out;
  const absl::Status status = TranscodeTorch7(in, **decided, Torch7Layout{}, out, {});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InputErrorOffset(status), valid.size());
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("the whole stream reads")));
  // The conversion's own chunk, and at most the rival's queue (4 MiB) and a few chunks more while
  // it finishes.
  EXPECT_LE(pulled, valid.size() + (16 << 20)) << input.size();
}

// The first object's data ends in four zero bytes: with 4-byte longs they read as a nil, and
// both readings are then at the same byte, where the 8-byte reading's first object ends.
std::string ScalarOverLargeStorageEndingInZeros(int32_t first, uint64_t elements) {
  std::string bytes = ScalarOverLargeStorage(first, elements);
  bytes.replace(bytes.size() - 4, 4, 4, '\0');
  return bytes;
}

TEST(Torch7TranscoderTest, AStreamThatReadsBothWaysIsRefusedAtItsEndAsReadTorch7RefusesIt) {
  // Then a number, which both read alike: 2 objects with 8-byte longs, 4 with 4-byte longs.
  StreamBytes number;
  number.Int(1).Double(2.5);
  const Buffer input = Buffer::Copy(ScalarOverLargeStorageEndingInZeros(1, 1 << 18) + number.str());
  absl::StatusOr<Value> whole = ReadTorch7(input);
  ASSERT_FALSE(whole.ok());
  EXPECT_THAT(std::string(whole.status().message()),
              HasSubstr("reads completely both with 8-byte and with 4-byte longs"));
  absl::StatusOr<std::optional<Torch7StreamLayout>> decided = DecideFromPrefix(input);
  ASSERT_TRUE(decided.ok() && decided->has_value());
  ASSERT_TRUE((*decided)->check_other_long_size);
  absl::StatusOr<std::string> actual = Streamed(input, **decided, Torch7Layout{}, 4096);
  ASSERT_FALSE(actual.ok());
  EXPECT_EQ(actual.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(actual.status().message(),
            absl::StrCat("torch7: the input reads completely both with 8-byte and with 4-byte "
                         "longs, giving different objects; pass the long size it was written "
                         "with (torch7_long_size, like torch.load's 'b64' / 'b32') at byte ",
                         input.size()));
  // Given the long size, it converts.
  ReadOptions options;
  options.torch7_long_size = 8;
  decided = DecideTorch7StreamLayout(input.Slice(0, 4096), false, input.size(), options,
                                     Torch7Mode::kDetect);
  ASSERT_TRUE(decided.ok() && decided->has_value());
  EXPECT_FALSE((*decided)->check_other_long_size);
  actual = Streamed(input, **decided, Torch7Layout{}, 65536);
  ASSERT_TRUE(actual.ok()) << actual.status();
  EXPECT_EQ(*actual, *ThroughValue(input, Torch7Layout{}, options));
}

TEST(Torch7TranscoderTest, AStreamOfSeveralObjectsThatTheOtherLongSizeReadsAsOneIsRefused) {
  // Taken as 4-byte longs (a caller's guess), it reads as three objects; with 8-byte longs it is
  // one, which ReadTorch7 takes: the conversion already written is not that reading.
  const Buffer input = Buffer::Copy(ScalarOverLargeStorageEndingInZeros(1, 1 << 18));
  EXPECT_EQ(LayoutOf(input).long_size, 8);
  const Torch7StreamLayout guessed{.layout = {.long_size = 4}, .check_other_long_size = true};
  absl::StatusOr<std::string> actual = Streamed(input, guessed, Torch7Layout{}, 65536);
  ASSERT_FALSE(actual.ok());
  EXPECT_EQ(actual.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(actual.status().message(),
            absl::StrCat("torch7: the stream was converted with 4-byte longs, as its first bytes "
                         "said, into 3 objects, but with 8-byte longs it reads completely as one "
                         "object, as torch.save writes; pass the long size it was written with "
                         "(torch7_long_size) at byte ",
                         input.size()));
}

TEST(Torch7TranscoderTest, AStreamThatFailsWithTheLongSizeTakenSaysTheOtherReadsIt) {
  // Then a tensor with a 4-byte storage offset: the 8-byte reading runs out inside it.
  StreamBytes tensor(/*long_size=*/4);
  tensor.TorchHeader(3, "torch.FloatTensor").Int(0).Long(1).Int(0);
  const Buffer input = Buffer::Copy(ScalarOverLargeStorageEndingInZeros(1, 1 << 18) + tensor.str());
  // The whole input reads with 4-byte longs only.
  EXPECT_EQ(LayoutOf(input).long_size, 4);
  absl::StatusOr<std::optional<Torch7StreamLayout>> decided = DecideFromPrefix(input);
  ASSERT_TRUE(decided.ok() && decided->has_value());
  ASSERT_TRUE((*decided)->check_other_long_size);
  ASSERT_EQ((*decided)->layout.long_size, 8);
  for (size_t step : {size_t{65536}, size_t{1000}}) {
    absl::StatusOr<std::string> actual = Streamed(input, **decided, Torch7Layout{}, step);
    ASSERT_FALSE(actual.ok());
    EXPECT_EQ(actual.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(actual.status().message()),
                HasSubstr(" (the long size was taken as 8 from the stream's first bytes; with "
                          "4-byte longs the whole stream reads: pass the long size it was "
                          "written with, torch7_long_size)"));
    EXPECT_EQ(InputErrorOffset(actual.status()), input.size());
  }
  // Given the long size, it converts; decided from the whole input, it is taken.
  ReadOptions options;
  options.torch7_long_size = 4;
  decided = DecideTorch7StreamLayout(input.Slice(0, 4096), false, input.size(), options,
                                     Torch7Mode::kDetect);
  ASSERT_TRUE(decided.ok() && decided->has_value());
  absl::StatusOr<std::string> actual = Streamed(input, **decided, Torch7Layout{}, 65536);
  ASSERT_TRUE(actual.ok()) << actual.status();
  EXPECT_EQ(*actual, *ThroughValue(input, Torch7Layout{}));
  decided = DecideTorch7StreamLayout(input, true, input.size(), {}, Torch7Mode::kDetect);
  ASSERT_TRUE(decided.ok() && decided->has_value());
  EXPECT_EQ((*decided)->layout.long_size, 4);
  EXPECT_FALSE((*decided)->check_other_long_size);
}

TEST(Torch7TranscoderTest, ACountFourByteLongsCannotHoldIsRefusedBeforeItsData) {
  // A storage of 2^31 bytes, into 4-byte longs: refused at its header, naming the object, as
  // WriteTorch7 refuses it; its data (absent here) is never waited for.
  StreamBytes storage;
  storage.TorchHeader(1, "torch.ByteStorage").Long(int64_t{1} << 31);
  absl::StatusOr<std::string> actual =
      Streamed(storage.buffer(), Torch7StreamLayout{}, Torch7Layout{.long_size = 4}, 16,
               /*size_known=*/false);
  ASSERT_FALSE(actual.ok());
  EXPECT_EQ(actual.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(actual.status().message()),
              HasSubstr("the torch.ByteStorage at byte 0 has a storage size of 2147483648, which "
                        "does not fit a 4-byte long"));
  // With 8-byte longs the same header goes on to wait for the data, which is missing.
  actual = Streamed(storage.buffer(), Torch7StreamLayout{}, Torch7Layout{}, 16, false);
  ASSERT_FALSE(actual.ok());
  EXPECT_THAT(std::string(actual.status().message()), HasSubstr("input ends inside storage data"));
}

TEST(Torch7TranscoderTest, HugeCountsWithoutATotalSizeFailWhereTheInputEnds) {
  // A storage claiming 2^40 elements and a tensor claiming 2^31-1 dimensions, in a few bytes:
  // nothing is allocated for the claims, and the error is where the bytes run out.
  StreamBytes storage;
  storage.TorchHeader(1, "torch.DoubleStorage").Long(int64_t{1} << 40).Double(1.5);
  absl::StatusOr<std::string> actual =
      Streamed(storage.buffer(), Torch7StreamLayout{}, Torch7Layout{}, 16, /*size_known=*/false);
  ASSERT_FALSE(actual.ok());
  EXPECT_THAT(std::string(actual.status().message()), HasSubstr("input ends inside storage data"));
  EXPECT_EQ(InputErrorOffset(actual.status()), storage.str().size());

  StreamBytes tensor;
  tensor.TorchHeader(1, "torch.DoubleTensor").Int(INT32_MAX).Long(1).Long(2);
  actual = Streamed(tensor.buffer(), Torch7StreamLayout{}, Torch7Layout{}, 16, false);
  ASSERT_FALSE(actual.ok());
  EXPECT_THAT(std::string(actual.status().message()), HasSubstr("tensor size"));
  // With the total size known, the claims are refused where they are made, as ReadTorch7 does.
  actual = Streamed(storage.buffer(), Torch7StreamLayout{}, Torch7Layout{}, 16, true);
  ASSERT_FALSE(actual.ok());
  EXPECT_THAT(std::string(actual.status().message()),
              HasSubstr("storage size 1099511627776 is more than the remaining"));
}

}  // namespace
}  // namespace seriald
