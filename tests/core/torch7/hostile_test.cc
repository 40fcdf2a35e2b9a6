// ReadTorch7 on hostile input: every malformed stream is refused with one INVALID_ARGUMENT line
// naming the problem and its byte offset, before anything the input cannot justify is allocated,
// and without recursion (deep nesting costs heap, not stack).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/inspect.h"
#include "core/io/byte_writer.h"
#include "core/io/input_error.h"
#include "core/torch7/reader.h"
#include "core/torch7/serialize.h"
#include "core/torch7/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/torch7/testing/corpus.h"

namespace seriald {
namespace {

using ::seriald::testing::CorpusFile;
using ::seriald::testing::StreamBytes;
using ::testing::HasSubstr;
using ::testing::Not;

// Expects `input` to be refused with an InputError at `offset` whose message contains `words`.
void ExpectRefused(const std::string& input, uint64_t offset, std::string_view words,
                   const ReadOptions& options = {}) {
  absl::StatusOr<Value> value = ReadTorch7(Buffer::Copy(input), options);
  ASSERT_FALSE(value.ok()) << "accepted";
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InputErrorOffset(value.status()), offset) << value.status();
  EXPECT_EQ(InputErrorFormat(value.status()), "torch7");
  EXPECT_THAT(std::string(value.status().message()), HasSubstr(words));
  EXPECT_THAT(std::string(value.status().message()), Not(HasSubstr("\n")));
}

ReadOptions LongSize(int size) {
  ReadOptions options;
  options.torch7_long_size = size;
  return options;
}

TEST(Torch7HostileTest, TruncatedBinaryFilesFailAtEveryByte) {
  for (const char* path :
       {"generated/tensor_double_2x3.bin.t7", "generated/nn_linear.bin.t7",
        "generated/function_upvalues.bin.t7", "generated/tensor_double_2x3.bigendian.bin.t7",
        "generated/tensor_long_2x3.long4.bin.t7", "python-torchfile/tds_hash.t7",
        "generated/generator.bin.t7", "generated/table_cycle.bin.t7",
        "python-torchfile/gmodule_with_linear_identity.t7"}) {
    SCOPED_TRACE(path);
    Buffer whole = CorpusFile(path);
    absl::StatusOr<Value> full = ReadTorch7(whole);
    ASSERT_TRUE(full.ok()) << full.status();
    const int long_size = full->source().torch7->long_size;
    // With the layout known, no proper prefix of a one-object file is a stream.
    ReadOptions options = LongSize(long_size);
    for (size_t size = 0; size < whole.size(); ++size) {
      Buffer prefix = whole.Slice(0, size);
      absl::StatusOr<Value> cut = ReadTorch7(prefix, options);
      ASSERT_FALSE(cut.ok()) << "prefix of " << size << " bytes accepted";
      ASSERT_EQ(cut.status().code(), absl::StatusCode::kInvalidArgument);
      std::optional<uint64_t> at = InputErrorOffset(cut.status());
      ASSERT_TRUE(at.has_value()) << cut.status();
      ASSERT_LE(*at, size);
      // Detecting the long size may find that a prefix is a complete stream with the other long
      // size (an 8-byte long's two halves read as two 4-byte fields); never with its own.
      absl::StatusOr<Value> detected = ReadTorch7(prefix);
      if (detected.ok()) {
        ASSERT_NE(detected->source().torch7->long_size, long_size) << "prefix " << size;
      } else {
        ASSERT_TRUE(InputErrorOffset(detected.status()).has_value()) << detected.status();
      }
    }
  }
}

bool IsSpace(char c) { return c == ' ' || c == '\n'; }

TEST(Torch7HostileTest, TruncatedAsciiFilesFailAtEveryTokenBoundary) {
  for (const char* path :
       {"generated/tensor_double_2x3.ascii.t7", "generated/nn_linear.ascii.t7",
        "generated/string_binary.ascii.t7", "opencv_ascii/net_softmax_net.txt",
        "generated/function_upvalues.ascii.t7", "generated/storage_char.ascii.t7"}) {
    SCOPED_TRACE(path);
    Buffer whole = CorpusFile(path);
    std::string_view text = whole.view();
    ASSERT_TRUE(ReadTorch7(whole).ok());
    // A cut inside a number changes the number ("11" -> "1", which may be a valid back-reference)
    // and the final newline is optional, so only cuts between tokens before the last one must
    // fail; every cut must fail cleanly or read.
    const size_t last_token = text.find_last_of(" \n", text.size() - 2) + 1;
    for (size_t size = 0; size < whole.size(); ++size) {
      absl::StatusOr<Value> cut = ReadTorch7(whole.Slice(0, size));
      const bool between_tokens = size == 0 || IsSpace(text[size - 1]) || IsSpace(text[size]);
      if (size < last_token && between_tokens) {
        ASSERT_FALSE(cut.ok()) << "prefix of " << size << " bytes accepted";
      }
      if (!cut.ok()) {
        ASSERT_EQ(cut.status().code(), absl::StatusCode::kInvalidArgument);
        ASSERT_TRUE(InputErrorOffset(cut.status()).has_value()) << cut.status();
        ASSERT_LE(*InputErrorOffset(cut.status()), size);
      }
    }
  }
}

// A function with empty bytecode and no upvalues (found by fuzzing): the empty bytecode is an
// empty Buffer with a null data pointer, which the writer once passed to memcpy (undefined
// behaviour, reported by UBSan). It reads and writes back unchanged.
TEST(Torch7HostileTest, EmptyFunctionBytecodeWritesBackUnchanged) {
  const std::string input("\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 12);
  absl::StatusOr<Value> value = ReadTorch7(Buffer::Copy(input));
  ASSERT_TRUE(value.ok()) << value.status();
  ASSERT_EQ(value->node(value->roots()[0]).kind(), NodeKind::kLuaFunction);
  EXPECT_EQ(value->Get<LuaFunction>(value->roots()[0]).bytecode.size(), 0u);
  ByteWriter out;
  ASSERT_TRUE(WriteTorch7(*value, *value->source().torch7, out).ok());
  BufferChain chain;
  ASSERT_TRUE(out.Finish(&chain).ok());
  EXPECT_EQ(chain.ToString(), input);
  ByteWriter empty;
  empty.Append(nullptr, 0);  // the contract: nothing, and no memcpy
  EXPECT_EQ(empty.size(), 0u);
}

TEST(Torch7HostileTest, UnknownTypeTags) {
  ExpectRefused(StreamBytes().Int(9).str(), 0,
                "unknown type tag 9 (bytes 09 00 00 00 \"....\"): the input is not a Torch7");
  // Inside a table: the value of its first entry.
  ExpectRefused(StreamBytes().Int(3).Int(1).Int(1).Int(1).Double(1).Int(42).str(), 24,
                "unknown type tag 42 (bytes 2a 00 00 00 \"*...\"): the input is corrupt");
  ExpectRefused("3\n1\n1\n1\n1\n-3\n", 10, "unknown type tag -3: the input is corrupt");
}

TEST(Torch7HostileTest, ForeignFilesSayWhatTheyAre) {
  // A text file named .t7: the first "tag" is the bytes "This".
  ExpectRefused("This is not a Torch7 file, sorry.\n", 0,
                "unknown type tag 1936287828 (bytes 54 68 69 73 \"This\"): it looks like text");
  // A PyTorch torch.save file (a pickle) named .t7.
  std::string pickle("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
  ExpectRefused(pickle, 0, "unknown type tag 176816768 (bytes 80 02 8a 0a");
  ExpectRefused(pickle, 0, "it is a Python pickle (protocol 2), as PyTorch's torch.save wrote");
  ExpectRefused(std::string("PK\x03\x04\x14\x00\x00\x00", 8), 0, "it is a ZIP archive");
  ExpectRefused("", 0, "the input is empty");
  ExpectRefused("ab", 0, "the input has 2 bytes, fewer than one binary type tag");
}

TEST(Torch7HostileTest, HugeCountsAreRefusedBeforeAllocating) {
  ExpectRefused(StreamBytes().Int(2).Int(INT32_MAX).Raw("abc").str(), 4,
                "string length 2147483647 is more than the remaining 3 bytes can hold");
  ExpectRefused(StreamBytes().Int(3).Int(1).Int(INT32_MAX).Int(0).str(), 8,
                "table size 2147483647 is more than the remaining 4 bytes can hold");
  ExpectRefused(
      StreamBytes().TorchHeader(1, "torch.DoubleStorage").Long(int64_t{1} << 60).Double(1).str(),
      38, "storage size 1152921504606846976 is more than the remaining 8 bytes");
  ExpectRefused(StreamBytes().TorchHeader(1, "torch.FloatTensor").Int(INT32_MAX).Long(1).str(), 36,
                "tensor dimension count 2147483647 is more than the remaining 8 bytes");
  ExpectRefused(StreamBytes().TorchHeader(1, "tds.Vec", "0").Long(INT64_MAX).Int(0).str(), 26,
                "tds.Vec size 9223372036854775807 is more than the remaining 4 bytes");
  ExpectRefused("4\n1\n3\nV 1\n19\ntorch.DoubleStorage\n99999999999\n1 2\n", 33,
                "storage size 99999999999 is more than the remaining 4 bytes can hold");
  ExpectRefused("2\n99999999999\nab\n", 2, "string length 99999999999 is out of range");
}

TEST(Torch7HostileTest, NegativeCountsAreRefused) {
  ExpectRefused(StreamBytes().Int(2).Int(-1).str(), 4, "negative string length -1");
  ExpectRefused(StreamBytes().Int(3).Int(1).Int(-5).str(), 8, "negative table size -5");
  ExpectRefused(StreamBytes().TorchHeader(1, "torch.IntStorage").Long(-2).str(), 35,
                "negative storage size -2");
  ExpectRefused(StreamBytes().TorchHeader(1, "torch.IntTensor").Int(-1).str(), 34,
                "negative tensor dimension count -1");
  ExpectRefused(StreamBytes().TorchHeader(1, "tds.Hash", "0").Long(-1).str(), 27,
                "negative tds.Hash size -1");
  ExpectRefused("2\n-4\n", 2, "negative string length -4");
}

TEST(Torch7HostileTest, BadBackReferences) {
  // Index 1 was never defined, and new objects are numbered upwards from the last one (2).
  ExpectRefused(StreamBytes().Int(3).Int(2).Int(1).Int(3).Int(1).str(), 16,
                "reference to object index 1, which no earlier object has (last index 2)");
  // A torch object tag referring to a table.
  ExpectRefused(StreamBytes().Int(3).Int(1).Int(1).Int(1).Double(1).Int(4).Int(1).str(), 24,
                "type tag 4 (torch object) refers to object index 1, which is a table");
  // A table tag referring to a torch object (through the generic payload).
  ExpectRefused(StreamBytes().TorchHeader(1, "nn.Module").Int(3).Int(1).str(), 28,
                "type tag 3 (table) refers to object index 1, which is a torch_object");
}

TEST(Torch7HostileTest, TensorStorageMustBeItsOwnStorageType) {
  // A DoubleTensor whose storage is a FloatStorage.
  std::string bytes(CorpusFile("generated/tensor_double_2x3.bin.t7").view());
  std::string from = StreamBytes().String("torch.DoubleStorage").str();
  std::string to = StreamBytes().String("torch.FloatStorage").str();
  bytes.replace(bytes.find(from), from.size(), to);
  ExpectRefused(bytes, 81,
                "the storage of a torch.DoubleTensor must be nil or its own storage type, found a "
                "torch.FloatStorage",
                LongSize(8));
  // Detection tries both long sizes; the report is the 8-byte parse's, which failed inside the
  // first object, and mentions the other.
  absl::StatusOr<Value> detected = ReadTorch7(Buffer::Copy(bytes));
  ASSERT_FALSE(detected.ok());
  EXPECT_THAT(std::string(detected.status().message()),
              HasSubstr("found a torch.FloatStorage at byte 81 (reading with 8-byte longs; with "
                        "4-byte longs: "));
  // A table where the storage belongs.
  ExpectRefused(
      StreamBytes().TorchHeader(1, "torch.FloatTensor").Int(0).Long(1).Int(3).Int(2).Int(0).str(),
      48, "found a table", LongSize(8));
  // The tensor itself where its storage belongs (a cycle Torch7 cannot build).
  ExpectRefused(
      StreamBytes().TorchHeader(1, "torch.FloatTensor").Int(0).Long(1).Int(4).Int(1).str(), 48,
      "found a torch.FloatTensor", LongSize(8));
}

// `depth` tables, each the value of the one before: {[1] = {[1] = ... {}}}.
std::string NestedTables(int depth, bool ascii) {
  std::string bytes;
  StreamBytes binary;
  for (int i = 1; i < depth; ++i) {
    if (ascii) {
      bytes += "3\n" + std::to_string(i) + "\n1\n1\n1\n";
    } else {
      binary.Int(3).Int(i).Int(1).Int(1).Double(1);
    }
  }
  if (ascii) return bytes + "3\n" + std::to_string(depth) + "\n0\n";
  return binary.Int(3).Int(depth).Int(0).str();
}

TEST(Torch7HostileTest, DeepNestingReadsWithoutRecursion) {
  constexpr int kDepth = 200000;
  for (bool ascii : {false, true}) {
    SCOPED_TRACE(ascii ? "ascii" : "binary");
    std::string bytes = NestedTables(kDepth, ascii);
    absl::StatusOr<Value> value = ReadTorch7(Buffer::Copy(bytes));
    ASSERT_TRUE(value.ok()) << value.status();
    NodeId node = value->roots()[0];
    int depth = 1;
    while (!value->Get<Table>(node).entries.empty()) {
      node = value->Get<Table>(node).entries[0].value;
      ++depth;
    }
    EXPECT_EQ(depth, kDepth);
    // The writer and Inspect do not recurse either.
    ByteWriter out;
    ASSERT_TRUE(WriteTorch7(*value, *value->source().torch7, out).ok());
    BufferChain chain;
    ASSERT_TRUE(out.Finish(&chain).ok());
    EXPECT_TRUE(chain.ToString() == bytes);
    EXPECT_THAT(Inspect(*value), HasSubstr("{...}"));

    ReadOptions limited;
    limited.max_depth = 1000;
    absl::StatusOr<Value> refused = ReadTorch7(Buffer::Copy(bytes), limited);
    ASSERT_FALSE(refused.ok());
    EXPECT_THAT(refused.status().message(),
                HasSubstr("objects nested more than 1000 deep (ReadOptions::max_depth)"));
    EXPECT_TRUE(InputErrorOffset(refused.status()).has_value());
  }
}

TEST(Torch7HostileTest, AsciiGarbage) {
  ExpectRefused("3\n1\nx\n", 4, "expected table size (an integer), found 'x'");
  ExpectRefused("1\nfoo\n", 2, "expected number (a number), found 'f'");
  ExpectRefused("3\n1\n99999999999\n", 4, "table size 99999999999 is out of range");
  ExpectRefused("4\n1\n3\nV 1\n18\ntorch.ShortStorage\n1\n70000\n", 34,
                "storage data 70000 is out of range");
  ExpectRefused("1\n", 2, "input ends where number (a number) was expected");
  ExpectRefused("2\n5\nab", 2, "string length 5 is more than the remaining 2 bytes can hold");
  ExpectRefused("4\n1\n3\nV 1\n19\ntorch.DoubleStorage\n3\n1 2", 38,
                "input ends where storage data (a number) was expected");
}

TEST(Torch7HostileTest, RandomCorruptionNeverCrashes) {
  // Flip, insert and delete bytes of real files: every result is a Value or an InputError.
  std::mt19937 random(7);
  const std::vector<std::string> files = {"generated/nn_sequential.bin.t7",
                                          "generated/checkpoint_like.ascii.t7",
                                          "generated/function_shared_upvalue.bin.t7",
                                          "generated/tensor_double_2x3.bigendian.bin.t7",
                                          "python-torchfile/tds_hash.t7",
                                          "opencv_ascii/net_prelu_net.txt"};
  int refused = 0, accepted = 0;
  for (const std::string& path : files) {
    std::string original(CorpusFile(path).view());
    for (int round = 0; round < 300; ++round) {
      std::string bytes = original;
      for (int edits = 1 + random() % 3; edits > 0; --edits) {
        size_t at = random() % bytes.size();
        switch (random() % 4) {
          case 0:
            bytes[at] = static_cast<char>(random());
            break;
          case 1:
            bytes[at] ^= static_cast<char>(1 << (random() % 8));
            break;
          case 2:
            bytes.insert(at, 1, static_cast<char>(random()));
            break;
          default:
            bytes.erase(at, 1);
        }
      }
      absl::StatusOr<Value> value = ReadTorch7(Buffer::Copy(bytes));
      if (value.ok()) {
        ++accepted;
        EXPECT_TRUE(value->Validate().ok());
        Inspect(*value);
      } else {
        ++refused;
        ASSERT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument) << value.status();
        ASSERT_TRUE(InputErrorOffset(value.status()).has_value()) << value.status();
      }
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace seriald
