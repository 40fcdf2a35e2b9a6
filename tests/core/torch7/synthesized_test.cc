// Streams the corpus lacks, built by hand from the format description: legacy unversioned
// objects, "V 1.0" (Lua 5.3 writers), tag 6 and tag 7 functions, CUDA class names, tds.Hash's
// legacy name, tds.AtomicCounter, nn.GPU, old torch.serialize's trailing NUL. Each is read, its
// content checked, and written back byte for byte.
#include <string>
#include <vector>

#include "core/io/byte_writer.h"
#include "core/io/input_error.h"
#include "core/torch7/reader.h"
#include "core/torch7/serialize.h"
#include "core/torch7/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/torch7/testing/corpus.h"
#include "tests/core/torch7/testing/lookup.h"

namespace seriald {
namespace {

using ::seriald::testing::ArrayOf;
using ::seriald::testing::CorpusFile;
using ::seriald::testing::Elements;
using ::seriald::testing::Field;
using ::seriald::testing::Item;
using ::seriald::testing::StorageOf;
using ::seriald::testing::StreamBytes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Rewrite(const Value& value) {
  ByteWriter out;
  absl::Status status = WriteTorch7(value, *value.source().torch7, out);
  EXPECT_TRUE(status.ok()) << status;
  BufferChain bytes;
  EXPECT_TRUE(out.Finish(&bytes).ok());
  return bytes.ToString();
}

// Reads `bytes`, expects success and a byte-exact rewrite.
Value ReadAndRoundTrip(const std::string& bytes) {
  absl::StatusOr<Value> value = ReadTorch7(Buffer::Copy(bytes));
  EXPECT_TRUE(value.ok()) << value.status();
  if (!value.ok()) return Value();
  EXPECT_TRUE(Rewrite(*value) == bytes) << "rewrite differs";
  return *std::move(value);
}

TEST(Torch7SynthesizedTest, LegacyUnversionedObject) {
  // Before torch7 recorded versions: tag 4, index, class name, payload (File.lua:333-341).
  std::string bytes = StreamBytes()
                          .Int(4)
                          .Int(1)
                          .String("test.Point")
                          .Int(3)
                          .Int(2)
                          .Int(1)
                          .Int(2)
                          .String("x")
                          .Int(1)
                          .Double(3)
                          .str();
  Value value = ReadAndRoundTrip(bytes);
  const auto& object = value.Get<TorchObject>(value.roots()[0]);
  EXPECT_EQ(object.class_name, "test.Point");
  EXPECT_EQ(object.version, std::nullopt);
  EXPECT_EQ(value.Get<Number>(Field(value, value.roots()[0], "x")).value, 3);

  // A legacy storage: the class name is followed directly by the storage payload.
  std::string storage = StreamBytes()
                            .Int(4)
                            .Int(1)
                            .String("torch.DoubleStorage")
                            .Long(2)
                            .Double(1.5)
                            .Double(-2)
                            .str();
  Value legacy_storage = ReadAndRoundTrip(storage);
  EXPECT_THAT(Elements<double>(legacy_storage, legacy_storage.roots()[0]), ElementsAre(1.5, -2));
}

TEST(Torch7SynthesizedTest, VersionStringsAreParsedLenientlyAndKeptVerbatim) {
  for (const char* version : {"1.0", "2", " 3 ", "0x10", "1e0"}) {
    SCOPED_TRACE(version);
    std::string bytes =
        StreamBytes().TorchHeader(1, "nn.Module", version).Int(3).Int(2).Int(0).str();
    Value value = ReadAndRoundTrip(bytes);
    EXPECT_EQ(value.Get<TorchObject>(value.roots()[0]).version, version);
    EXPECT_EQ(value.Get<TorchObject>(value.roots()[0]).class_name, "nn.Module");
  }
  // "V x" is not a version: it is the class name of a legacy object.
  std::string bytes = StreamBytes().Int(4).Int(1).String("V x").Int(0).str();
  Value value = ReadAndRoundTrip(bytes);
  EXPECT_EQ(value.Get<TorchObject>(value.roots()[0]).class_name, "V x");
  EXPECT_EQ(value.Get<TorchObject>(value.roots()[0]).version, std::nullopt);
}

TEST(Torch7SynthesizedTest, Tag6FunctionHasNoIndex) {
  // Before mid-2014: tag 6, bytecode, upvalues (plain values), no index (File.lua:273-284).
  std::string code =
      "\x1bLJ\x01\x02"
      "code";
  std::string bytes = StreamBytes()
                          .Int(3)
                          .Int(1)
                          .Int(2)
                          .Int(1)
                          .Double(1)
                          .Int(6)
                          .String(code)
                          .Int(3)
                          .Int(2)
                          .Int(1)
                          .Int(1)
                          .Double(1)
                          .Int(1)
                          .Double(10)
                          .Int(1)
                          .Double(2)
                          .Int(6)
                          .String(code)
                          .Int(3)
                          .Int(3)
                          .Int(0)
                          .str();
  Value value = ReadAndRoundTrip(bytes);
  NodeId first = Item(value, value.roots()[0], 1);
  NodeId second = Item(value, value.roots()[0], 2);
  EXPECT_NE(first, second);
  const auto& function = value.Get<LuaFunction>(first);
  EXPECT_EQ(function.tag, 6);
  EXPECT_TRUE(function.bytecode.view() == code);
  EXPECT_EQ(value.Get<Number>(Item(value, function.upvalues, 1)).value, 10);
}

TEST(Torch7SynthesizedTest, Tag7FunctionIsIndexedAndReferable) {
  // 2014-2015: like tag 8 but with plain upvalue values (File.lua:309-310).
  std::string bytes = StreamBytes()
                          .Int(3)
                          .Int(1)
                          .Int(2)
                          .Int(2)
                          .String("f")
                          .Int(7)
                          .Int(2)
                          .String("\x1bLJ\x02")
                          .Int(3)
                          .Int(3)
                          .Int(1)
                          .Int(1)
                          .Double(1)
                          .Int(7)
                          .Int(2)  // upvalue: itself
                          .Int(2)
                          .String("g")
                          .Int(7)
                          .Int(2)
                          .str();
  Value value = ReadAndRoundTrip(bytes);
  NodeId f = Field(value, value.roots()[0], "f");
  EXPECT_EQ(value.Get<LuaFunction>(f).tag, 7);
  EXPECT_EQ(Field(value, value.roots()[0], "g"), f);
  EXPECT_EQ(Item(value, value.Get<LuaFunction>(f).upvalues, 1), f);

  // A tag 8 reference to a tag 7 function is not something torch7 writes.
  std::string mismatch = StreamBytes()
                             .Int(3)
                             .Int(1)
                             .Int(2)
                             .Int(1)
                             .Double(1)
                             .Int(7)
                             .Int(2)
                             .String("x")
                             .Int(0)
                             .Int(1)
                             .Double(2)
                             .Int(8)
                             .Int(2)
                             .str();
  absl::StatusOr<Value> bad = ReadTorch7(Buffer::Copy(mismatch));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("function with tag 7"));
}

// `bytes` with every length-prefixed occurrence of `from` replaced by `to` (binary: int32 length;
// ascii: "<length>\n").
std::string RenameClass(std::string bytes, const std::string& from, const std::string& to,
                        bool ascii) {
  auto prefixed = [ascii](const std::string& name) {
    if (ascii) return std::to_string(name.size()) + "\n" + name;
    return StreamBytes().String(name).str();
  };
  const std::string old_text = prefixed(from), new_text = prefixed(to);
  for (size_t at = bytes.find(old_text); at != std::string::npos;
       at = bytes.find(old_text, at + new_text.size())) {
    bytes.replace(at, old_text.size(), new_text);
  }
  return bytes;
}

TEST(Torch7SynthesizedTest, CudaClassesHaveTheCpuPayload) {
  struct Case {
    const char* file;
    const char* cpu;
    const char* cuda;
    ElementType type;
  };
  for (const Case& c : {Case{"float_2x3", "Float", "Cuda", ElementType::kFloat32},
                        Case{"double_2x3", "Double", "CudaDouble", ElementType::kFloat64},
                        Case{"half_2x3", "Half", "CudaHalf", ElementType::kFloat16},
                        Case{"byte_2x3", "Byte", "CudaByte", ElementType::kUint8},
                        Case{"char_2x3", "Char", "CudaChar", ElementType::kInt8},
                        Case{"short_2x3", "Short", "CudaShort", ElementType::kInt16},
                        Case{"int_2x3", "Int", "CudaInt", ElementType::kInt32},
                        Case{"long_2x3", "Long", "CudaLong", ElementType::kInt64}}) {
    for (bool ascii : {false, true}) {
      std::string path =
          std::string("generated/tensor_") + c.file + (ascii ? ".ascii.t7" : ".bin.t7");
      SCOPED_TRACE(path);
      std::string bytes(CorpusFile(path).view());
      for (const char* kind : {"Tensor", "Storage"}) {
        bytes = RenameClass(bytes, std::string("torch.") + c.cpu + kind,
                            std::string("torch.") + c.cuda + kind, ascii);
      }
      Value value = ReadAndRoundTrip(bytes);
      NodeId tensor = value.roots()[0];
      EXPECT_EQ(value.Get<TorchObject>(tensor).class_name,
                std::string("torch.") + c.cuda + "Tensor");
      NodeId storage = StorageOf(value, tensor);
      ASSERT_NE(storage, kNoNode);
      EXPECT_EQ(value.Get<TorchObject>(storage).class_name,
                std::string("torch.") + c.cuda + "Storage");
      EXPECT_EQ(ArrayOf(value, storage).type, c.type);
      EXPECT_EQ(ArrayOf(value, storage).length, 6u);
    }
  }
  // A CudaTensor over a FloatStorage is refused, as cutorch's luaT_checkudata would.
  std::string mixed(CorpusFile("generated/tensor_float_2x3.bin.t7").view());
  mixed = RenameClass(mixed, "torch.FloatTensor", "torch.CudaTensor", false);
  absl::StatusOr<Value> value = ReadTorch7(Buffer::Copy(mixed));
  ASSERT_FALSE(value.ok());
  EXPECT_THAT(value.status().message(),
              HasSubstr("the storage of a torch.CudaTensor must be nil or its own storage type, "
                        "found a torch.FloatStorage"));
}

TEST(Torch7SynthesizedTest, TdsAtomicCounterAndLegacyHash) {
  std::string counter = StreamBytes().TorchHeader(1, "tds.AtomicCounter", "0").Long(-42).str();
  Value value = ReadAndRoundTrip(counter);
  const auto& object = value.Get<TorchObject>(value.roots()[0]);
  EXPECT_THAT(Elements<int64_t>(value, value.roots()[0]), ElementsAre(-42));
  EXPECT_EQ(value.Get<Array>(object.payload).type, ElementType::kInt64);

  std::string counter4 =
      StreamBytes(4).TorchHeader(1, "tds.AtomicCounter", "0").Long(7).Int(0).str();
  ReadOptions four;
  four.torch7_long_size = 4;
  absl::StatusOr<Value> value4 = ReadTorch7(Buffer::Copy(counter4), four);
  ASSERT_TRUE(value4.ok()) << value4.status();
  EXPECT_THAT(Elements<int64_t>(*value4, value4->roots()[0]), ElementsAre(7));

  std::string hash =
      StreamBytes().TorchHeader(1, "tds_hash", "0").Long(1).Int(2).String("k").Int(5).Int(1).str();
  Value legacy = ReadAndRoundTrip(hash);
  EXPECT_TRUE(legacy.Get<Boolean>(Field(legacy, legacy.roots()[0], "k")).value);
}

TEST(Torch7SynthesizedTest, NnGpuHasTwoObjects) {
  // nn.GPU (GPU.lua:228-256): a header table {_type, device}, then the fields table.
  std::string bytes = StreamBytes()
                          .TorchHeader(1, "nn.GPU")
                          .Int(3)
                          .Int(2)
                          .Int(2)
                          .Int(1)
                          .Double(1)
                          .Int(2)
                          .String("torch.CudaTensor")
                          .Int(1)
                          .Double(2)
                          .Int(1)
                          .Double(3)
                          .Int(3)
                          .Int(3)
                          .Int(1)
                          .Int(2)
                          .String("device")
                          .Int(1)
                          .Double(3)
                          .str();
  Value value = ReadAndRoundTrip(bytes);
  const auto& object = value.Get<TorchObject>(value.roots()[0]);
  const auto& list = value.Get<List>(object.payload);
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(value.Get<Number>(Item(value, list.items[0], 2)).value, 3);
  EXPECT_EQ(value.Get<Number>(Field(value, list.items[1], "device")).value, 3);
}

TEST(Torch7SynthesizedTest, BooleansAreTrueOnlyWhenOne) {
  absl::StatusOr<Value> value = ReadTorch7(Buffer::Copy(StreamBytes().Int(5).Int(2).str()));
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_FALSE(value->Get<Boolean>(value->roots()[0]).value);  // File.lua reads "== 1"
}

TEST(Torch7SynthesizedTest, TrailingNulOfOldSerializeIsAcceptedOnlyThere) {
  std::string bytes(CorpusFile("generated/table_map.bin.t7").view());
  absl::StatusOr<Value> value = DeserializeTorch7(bytes + std::string(1, '\0'));
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->roots().size(), 1u);
  EXPECT_FALSE(DeserializeTorch7(bytes + std::string(2, '\0')).ok());
  absl::StatusOr<Value> junk = DeserializeTorch7(bytes + "x");
  ASSERT_FALSE(junk.ok());
  EXPECT_THAT(junk.status().message(), HasSubstr("1 unexpected bytes after the object"));
  EXPECT_EQ(InputErrorOffset(junk.status()), bytes.size());
  // A whole-stream read has no such allowance: the NUL is a truncated type tag.
  EXPECT_FALSE(ReadTorch7(Buffer::Copy(bytes + std::string(1, '\0'))).ok());
  // Ascii: the NUL follows the final newline.
  std::string ascii(CorpusFile("generated/table_map.ascii.t7").view());
  EXPECT_TRUE(DeserializeTorch7(ascii + std::string(1, '\0'), Torch7Mode::kAscii).ok());
}

TEST(Torch7SynthesizedTest, ByteOrderIsFoundPastLeadingNils) {
  // Two roots: nil (all zero, either order), then a big-endian table.
  std::string bytes =
      StreamBytes(8, true).Int(0).Int(3).Int(1).Int(1).Int(1).Double(1).Int(5).Int(1).str();
  Value value = ReadAndRoundTrip(bytes);
  EXPECT_TRUE(value.source().torch7->big_endian);
  ASSERT_EQ(value.roots().size(), 2u);
  EXPECT_TRUE(value.Get<Boolean>(Item(value, value.roots()[1], 1)).value);
}

TEST(Torch7SynthesizedTest, AsciiNumbersAcceptWhatFscanfAccepts) {
  // Leading whitespace of any kind, '+' signs, CR before LF, tokens without a trailing newline.
  std::string text = " \t3\r\n+1\n2\n1\n+1.5\n1\n -2.5e1\n1\n  inf\n5\n+1";
  absl::StatusOr<Value> value = ReadTorch7(Buffer::Copy(text));
  ASSERT_TRUE(value.ok()) << value.status();
  NodeId root = value->roots()[0];
  EXPECT_EQ(value->Get<Number>(Item(*value, root, 1.5)).value, -25);
  EXPECT_TRUE(value->Get<Boolean>(Item(*value, root, INFINITY)).value);
}

}  // namespace
}  // namespace seriald
