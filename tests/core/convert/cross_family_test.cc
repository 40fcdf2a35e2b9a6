// Torch7 <-> R conversions (core/convert/cross_family.h through ConvertInput): every tensor of the
// Torch7 corpus reaches R with its values at the same indices, R objects of every mapped kind
// reach Torch7 as the mapping says, round trips keep tensors' types, sizes and values, and what
// cannot be converted is refused naming the item's path and the option that allows it; a retyping
// conversion of a mapped input holds its converted copy, not the input besides.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/ndarray.h"
#include "core/data/r_mapping.h"
#include "core/data/torch7_mapping.h"
#include "core/io/file.h"
#include "core/io/input_error.h"
#include "core/rds/reader.h"
#include "core/rds/writer.h"
#include "core/torch7/reader.h"
#include "core/torch7/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/convert/convert_testing.h"
#include "tests/core/torch7/testing/corpus.h"
#include "tests/testing/process_memory.h"

namespace seriald {
namespace {

using testing::ArraysByPath;
using testing::ArrayValues;
using testing::ConvertBytes;
using testing::CorpusFile;
using testing::CorpusStreams;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ReadPlain;

// The value of map entry `key` (a string key) of item `id`, or kNoItem.
ItemId Field(const data::Data& plain, ItemId id, std::string_view key) {
  if (const auto* map = plain.GetIf<data::Map>(id)) {
    for (const auto& [k, v] : map->entries) {
      if (const auto* text = plain.GetIf<data::String>(k); text != nullptr && text->bytes == key) {
        return v;
      }
    }
  }
  if (const auto* sequence = plain.GetIf<data::Sequence>(id)) {
    const auto* names = plain.GetIf<data::Strings>(plain.item(id).names);
    for (size_t i = 0; names != nullptr && i < sequence->items.size(); ++i) {
      if (names->values.Get(i).bytes == key) return sequence->items[i];
    }
  }
  return kNoItem;
}

// The text of an R attribute (a one-string character vector) of item `id`, or "".
std::string TextAttribute(const data::Data& plain, ItemId id, std::string_view name) {
  for (const auto& [n, value] : plain.item(id).attributes) {
    if (n != name) continue;
    if (const auto* strings = plain.GetIf<data::Strings>(value)) {
      return std::string(strings->values.Get(0).bytes);
    }
  }
  return "";
}

std::string BytesOf(const data::Data& plain, const WriteOptions& options, bool r) {
  absl::StatusOr<Value> value = r ? DataToR(plain) : DataToTorch7(plain);
  EXPECT_TRUE(value.ok()) << value.status();
  ByteWriter out;
  if (r) {
    EXPECT_TRUE(WriteR(*value, rds::RWriteSettings{}, out).ok());
  } else {
    EXPECT_TRUE(WriteTorch7(*value, Torch7Layout{}, out).ok());
  }
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return chain.ToString();
}

// ---- Torch7 -> R

TEST(Torch7ToRTest, EveryCorpusTensorReachesRWithItsValuesAtTheSameIndices) {
  WriteOptions drop;
  drop.drop_unconvertible = true;  // functions and cycles elsewhere in a file are not the point
  int files = 0, tensors = 0;
  for (const std::string& path : CorpusStreams()) {
    Buffer input = CorpusFile(path);
    absl::StatusOr<Value> value = ReadTorch7(input);
    if (!value.ok()) continue;
    absl::StatusOr<data::Data> torch = Torch7ToData(*value);
    ASSERT_TRUE(torch.ok()) << path;
    absl::StatusOr<testing::Converted> r = ConvertBytes(input, "t7", "rds", drop);
    ASSERT_TRUE(r.ok()) << path << ": " << r.status();
    const std::map<std::string, ArrayValues> expected = ArraysByPath(*torch);
    const std::map<std::string, ArrayValues> got = ArraysByPath(ReadPlain(r->bytes, "rds"));
    for (const auto& [where, array] : expected) {
      SCOPED_TRACE(absl::StrCat(path, " ", where));
      auto it = got.find(where);
      if (it == got.end()) {
        // Under a table with keys that are not strings, R has a list of list(key, value) pairs:
        // the tensor is the value of one of them.
        it = std::find_if(got.begin(), got.end(), [&](const auto& entry) {
          return entry.first.find(".value") != std::string::npos &&
                 entry.second.shape == array.shape && entry.second.values == array.values;
        });
      }
      ASSERT_NE(it, got.end());
      EXPECT_EQ(it->second.shape, array.shape);
      ASSERT_EQ(it->second.values.size(), array.values.size());
      for (size_t i = 0; i < array.values.size(); ++i) {
        if (std::isnan(array.values[i])) {
          EXPECT_TRUE(std::isnan(it->second.values[i]));
        } else {
          EXPECT_EQ(it->second.values[i], array.values[i]) << "element " << i;
        }
      }
      // R's types: double for floating and long tensors, integer for the rest.
      const bool floating =
          array.dtype == ElementType::kFloat64 || array.dtype == ElementType::kFloat32 ||
          array.dtype == ElementType::kFloat16 || array.dtype == ElementType::kInt64;
      EXPECT_EQ(it->second.dtype, floating ? ElementType::kFloat64 : ElementType::kInt32);
      ++tensors;
    }
    ++files;
  }
  EXPECT_GE(files, 140);
  EXPECT_GE(tensors, 150);
}

TEST(Torch7ToRTest, MatrixIndicesFollowTheTensorAndTypesAreKeptAsAnAttribute) {
  absl::StatusOr<testing::Converted> r =
      ConvertBytes(CorpusFile("generated/tensor_float_2x3.bin.t7"), "t7", "rds");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->notes, ::testing::IsEmpty());
  const data::Data plain = ReadPlain(r->bytes, "rds");
  const ItemId root = plain.roots()[0];
  const auto& array = std::get<data::NdArray>(plain.item(root).data);
  EXPECT_EQ(array.dtype, ElementType::kFloat64);
  EXPECT_THAT(array.shape, ElementsAre(2, 3));
  EXPECT_THAT(array.strides, ElementsAre(1, 2));  // R's column-major layout
  EXPECT_EQ(TextAttribute(plain, root, "torch7_type"), "torch.FloatTensor");
}

TEST(Torch7ToRTest, LongsBecomeDoublesExactUpTo2To53AndBeyondOnlyWhenAsked) {
  absl::StatusOr<testing::Converted> r =
      ConvertBytes(CorpusFile("generated/tensor_long_2x3.bin.t7"), "t7", "rds");
  ASSERT_TRUE(r.ok()) << r.status();
  const data::Data plain = ReadPlain(r->bytes, "rds");
  const ArrayValues values = ArraysByPath(plain).at("");
  EXPECT_EQ(values.dtype, ElementType::kFloat64);
  EXPECT_THAT(values.values, ElementsAre(-5000000000.0, 2, 3, 4, 5, 9007199254740992.0));

  // 2^53 + 1 has no double.
  data::Data big;
  const int64_t elements[2] = {1, (int64_t{1} << 53) + 1};
  big.roots().push_back(
      big.Add(data::NdArray::Vector(ElementType::kInt64, 2, Buffer::Copy(elements, 16))));
  const Buffer input = Buffer::FromString(BytesOf(big, {}, false));
  absl::StatusOr<testing::Converted> refused = ConvertBytes(input, "t7", "rds");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("the root: element 1 (9007199254740993) is beyond 2^53"));
  EXPECT_THAT(refused.status().message(), HasSubstr("--allow-inexact-integers"));

  WriteOptions allow;
  allow.allow_inexact_integers = true;
  absl::StatusOr<testing::Converted> rounded = ConvertBytes(input, "t7", "rds", allow);
  ASSERT_TRUE(rounded.ok()) << rounded.status();
  EXPECT_THAT(rounded->notes,
              ElementsAre("the root: 1 int64 elements beyond 2^53 rounded to the nearest double"));
  EXPECT_THAT(ArraysByPath(ReadPlain(rounded->bytes, "rds")).at("").values,
              ElementsAre(1.0, 9007199254740992.0));
}

TEST(Torch7ToRTest, ModulesBecomeNamedListsWithTheirClass) {
  absl::StatusOr<testing::Converted> r =
      ConvertBytes(CorpusFile("generated/checkpoint_like.bin.t7"), "t7", "rds");
  ASSERT_TRUE(r.ok()) << r.status();
  const data::Data plain = ReadPlain(r->bytes, "rds");
  const ItemId root = plain.roots()[0];
  const ItemId model = Field(plain, root, "model");
  ASSERT_NE(model, kNoItem);
  EXPECT_THAT(plain.item(model).classes, ElementsAre("nn.Linear", "torch7_object"));
  const ItemId weight = Field(plain, model, "weight");
  ASSERT_NE(weight, kNoItem);
  EXPECT_THAT(std::get<data::NdArray>(plain.item(weight).data).shape, ElementsAre(2, 3));
  // Numbers and strings: length-1 vectors.
  const ItemId epoch = Field(plain, root, "epoch");
  ASSERT_NE(epoch, kNoItem);
  EXPECT_EQ(ArraysByPath(plain).at("epoch").values, std::vector<double>{3});
  const ItemId name = Field(plain, Field(plain, root, "opt"), "name");
  ASSERT_NE(name, kNoItem);
  EXPECT_EQ(std::get<data::Strings>(plain.item(name).data).values.Get(0).bytes, "sgd");
}

TEST(Torch7ToRTest, OneElementTensorsAreOneDimensionalArrays) {
  absl::StatusOr<testing::Converted> r =
      ConvertBytes(CorpusFile("generated/nn_linear_float.bin.t7"), "t7", "rds");
  ASSERT_TRUE(r.ok()) << r.status();
  const data::Data plain = ReadPlain(r->bytes, "rds");
  const ItemId bias = Field(plain, plain.roots()[0], "bias");
  ASSERT_NE(bias, kNoItem);
  bool has_dim = false;
  for (const auto& [name, value] : plain.item(bias).attributes) has_dim |= name == "dim";
  EXPECT_TRUE(has_dim);
}

// A torch.FloatTensor of `size` elements, all one stored 2.5 (stride 0), as Torch7 bytes.
Buffer ExpandedTensor(int64_t size) {
  Value value;
  const float element = 2.5f;
  NodeId array = value.Add(Array{ElementType::kFloat32, 1, Buffer::Copy(&element, 4)});
  NodeId storage = value.Add(TorchObject{"torch.FloatStorage", "1", array});
  NodeId tensor = value.Add(Tensor{{size}, {0}, 0, storage});
  value.roots().push_back(value.Add(TorchObject{"torch.FloatTensor", "1", tensor}));
  ByteWriter out;
  EXPECT_TRUE(WriteTorch7(value, Torch7Layout{}, out).ok());
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return Buffer::FromString(chain.ToString());
}

TEST(Torch7ToRTest, ExpandedViewsAreGatheredWithinTheOutputLimit) {
  // tensor.expand() gives a stride-0 view: converting it writes every element it shows.
  absl::StatusOr<testing::Converted> small = ConvertBytes(ExpandedTensor(3), "t7", "rds");
  ASSERT_TRUE(small.ok()) << small.status();
  const data::Data plain = ReadPlain(small->bytes, "rds");
  const auto* array = plain.GetIf<data::NdArray>(plain.roots()[0]);
  ASSERT_NE(array, nullptr);
  EXPECT_THAT(testing::LogicalValues(*array), ElementsAre(2.5, 2.5, 2.5));

  // A checkpoint of under 200 bytes showing 2^40 floats (4 TiB) is refused before anything is
  // gathered, for every target that writes the elements out.
  const Buffer huge = ExpandedTensor(int64_t{1} << 40);
  EXPECT_LT(huge.size(), 200u);
  WriteOptions bounded;
  bounded.max_output_bytes = uint64_t{64} << 20;
  for (const char* to : {"rds", "rds-ascii", "rdata", "npy", "npz", "safetensors"}) {
    absl::StatusOr<testing::Converted> refused = ConvertBytes(huge, "t7", to, bounded);
    ASSERT_FALSE(refused.ok()) << to;
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << to;
    EXPECT_EQ(LimitName(refused.status()), "max-output-bytes") << to;
    EXPECT_THAT(refused.status().message(),
                HasSubstr("an array of 1099511627776 float32 elements (1 stored) would write "
                          "more than the 67108864 bytes left of the limit of 67108864 "
                          "(--max-output-bytes)"))
        << to;
  }
}

TEST(Torch7ToRTest, GatheredViewsAreReservedAndARefusedReservationStopsTheConversion) {
  // The stride-0 view of 3 floats is gathered into a 12-byte copy, which is reserved first.
  static const CodecRegistry registry = CoreCodecs();
  const Buffer input = ExpandedTensor(3);
  for (bool refuse : {false, true}) {
    std::vector<uint64_t> reserved;
    ReadOptions read_options;
    read_options.reserve_memory = [&](uint64_t bytes) -> absl::Status {
      reserved.push_back(bytes);
      if (refuse && bytes == 12) return LimitExceeded("max-inflight-bytes", "no room");
      return absl::OkStatus();
    };
    ByteWriter out;
    ConversionNotes notes;
    absl::StatusOr<std::string> read_as = ConvertInput(
        **registry.Find("t7"), **registry.Find("rds"), input, read_options, {}, out, notes);
    EXPECT_THAT(reserved, ::testing::Contains(12u));
    if (refuse) {
      ASSERT_FALSE(read_as.ok());
      EXPECT_EQ(LimitName(read_as.status()), "max-inflight-bytes");
    } else {
      EXPECT_TRUE(read_as.ok()) << read_as.status();
    }
  }
}

TEST(Torch7ToRTest, PlainDataViewsAreBoundedByTheOutputLimitToo) {
  // What the service's Serialize writes from plain data: a view showing 2^40 floats of one.
  data::Data plain;
  const float element = 1.0f;
  data::NdArray view = data::NdArray::Vector(ElementType::kFloat32, 1, Buffer::Copy(&element, 4));
  view.shape = {int64_t{1} << 40};
  view.strides = {0};
  plain.roots().push_back(plain.Add(std::move(view)));
  static const CodecRegistry registry = CoreCodecs();
  WriteOptions bounded;
  bounded.max_output_bytes = uint64_t{1} << 20;
  bounded.output_limit = "max-response-bytes";
  for (const char* to : {"rds", "npy", "safetensors", "t7"}) {
    ByteWriter out;
    ConversionNotes notes;
    absl::Status status =
        WritePlainData(plain, **registry.Find(to), bounded, DataToROptions{}, out, notes, {});
    ASSERT_FALSE(status.ok()) << to;
    EXPECT_EQ(LimitName(status), "max-response-bytes") << to;
    EXPECT_THAT(status.message(),
                HasSubstr("item 0: an array of 1099511627776 float32 elements (1 stored) would "
                          "write more than the 1048576 bytes left of the limit of 1048576 "
                          "(--max-response-bytes)"))
        << to;
  }
}

TEST(Torch7ToRTest, FunctionsAndCyclesAreRefusedByPathOrDroppedWhenAsked) {
  absl::StatusOr<testing::Converted> function =
      ConvertBytes(CorpusFile("generated/function_plain.bin.t7"), "t7", "rds");
  ASSERT_FALSE(function.ok());
  EXPECT_THAT(function.status().message(), HasSubstr("the root is a Lua function"));
  EXPECT_THAT(function.status().message(), HasSubstr("--drop-unconvertible"));

  absl::StatusOr<testing::Converted> cycle =
      ConvertBytes(CorpusFile("generated/table_cycle.bin.t7"), "t7", "rds");
  ASSERT_FALSE(cycle.ok());
  EXPECT_THAT(cycle.status().message(), HasSubstr("R lists cannot contain themselves"));

  WriteOptions drop;
  drop.drop_unconvertible = true;
  absl::StatusOr<testing::Converted> dropped =
      ConvertBytes(CorpusFile("generated/table_cycle.bin.t7"), "t7", "rds", drop);
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  ASSERT_EQ(dropped->notes.size(), 1u);
  EXPECT_THAT(dropped->notes[0], HasSubstr("a cycle R cannot hold; NULL in its place"));
}

TEST(Torch7ToRTest, BinaryLuaStringsKeepTheirBytes) {
  // Not UTF-8: a string declared as bytes.
  data::Data latin;
  latin.roots().push_back(latin.Add(data::String{"caf\xe9"}));
  absl::StatusOr<testing::Converted> r =
      ConvertBytes(Buffer::FromString(BytesOf(latin, {}, false)), "t7", "rds");
  ASSERT_TRUE(r.ok()) << r.status();
  absl::StatusOr<Value> value = ReadR(r->bytes);
  ASSERT_TRUE(value.ok());
  const auto& strings = value->Get<StringVector>(value->roots()[0]);
  EXPECT_EQ(strings.Get(0).bytes, "caf\xe9");
  EXPECT_EQ(strings.Get(0).encoding, StringEncoding::kBytes);

  // A NUL byte, which no R string holds: a raw vector, noted.
  r = ConvertBytes(CorpusFile("generated/string_binary.bin.t7"), "t7", "rds");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->notes, ElementsAre("the root: a string holding a NUL byte, which R strings "
                                    "cannot: written as a raw vector of its 11 bytes"));
  value = ReadR(r->bytes);
  ASSERT_TRUE(value.ok());
  const auto& raw = value->Get<Array>(value->roots()[0]);
  EXPECT_EQ(raw.type, ElementType::kRaw);
  EXPECT_EQ(raw.data.view(), std::string("a\0b\nc\r\n\xff"
                                         "end",
                                         11));
}

// ---- R -> Torch7

// An R value built the way RToData gives it: a named list.
struct RList {
  data::Data plain;
  std::vector<std::string> names;
  std::vector<ItemId> items;
  void Add(std::string name, data::Item item) {
    names.push_back(std::move(name));
    items.push_back(plain.Add(std::move(item)));
  }
  void Add(std::string name, data::ItemData item) {
    Add(std::move(name), data::Item(std::move(item)));
  }
  Buffer Rds() {
    StringVector strings;
    for (const std::string& n : names) strings.Append(n, StringEncoding::kAscii);
    data::Item list(data::Sequence{items});
    list.names = plain.Add(data::Strings{strings, {}});
    plain.roots() = {plain.Add(std::move(list))};
    return Buffer::FromString(BytesOf(plain, {}, true));
  }
};

template <typename T>
data::NdArray VectorOf(ElementType type, std::vector<T> values) {
  return data::NdArray::Vector(type, values.size(),
                               Buffer::Copy(values.data(), values.size() * sizeof(T)));
}

TEST(RToTorch7Test, ListsVectorsMatricesAndScalarsMapAsDocumented) {
  RList list;
  list.Add("lr", VectorOf<double>(ElementType::kFloat64, {0.01}));
  list.Add("epochs", VectorOf<int32_t>(ElementType::kInt32, {10}));
  list.Add("ok", VectorOf<int32_t>(ElementType::kLogical, {1}));
  list.Add("flags", VectorOf<int32_t>(ElementType::kLogical, {1, 0, 1}));
  data::NdArray matrix = VectorOf<double>(ElementType::kFloat64, {1, 4, 2, 5, 3, 6});
  matrix.shape = {2, 3};
  matrix.strides = {1, 2};
  list.Add("w", std::move(matrix));
  list.Add("counts", VectorOf<int32_t>(ElementType::kInt32, {1, 2, 3}));
  list.Add("", VectorOf<double>(ElementType::kFloat64, {7, 8}));  // unnamed: key 7
  absl::StatusOr<testing::Converted> t7 = ConvertBytes(list.Rds(), "rds", "t7");
  ASSERT_TRUE(t7.ok()) << t7.status();
  EXPECT_THAT(t7->notes, ::testing::IsEmpty());

  const data::Data plain = ReadPlain(t7->bytes, "t7");
  const ItemId root = plain.roots()[0];
  ASSERT_NE(plain.GetIf<data::Map>(root), nullptr);
  EXPECT_EQ(plain.GetIf<data::Number>(Field(plain, root, "lr"))->value, 0.01);
  EXPECT_EQ(plain.GetIf<data::Number>(Field(plain, root, "epochs"))->value, 10);
  EXPECT_TRUE(plain.GetIf<data::Boolean>(Field(plain, root, "ok"))->value);
  const std::map<std::string, ArrayValues> arrays = ArraysByPath(plain);
  EXPECT_EQ(arrays.at("flags").dtype, ElementType::kUint8);
  EXPECT_THAT(arrays.at("flags").values, ElementsAre(1, 0, 1));
  EXPECT_EQ(arrays.at("w").dtype, ElementType::kFloat64);
  EXPECT_THAT(arrays.at("w").shape, ElementsAre(2, 3));
  EXPECT_THAT(arrays.at("w").values, ElementsAre(1, 2, 3, 4, 5, 6));  // x[i, j] == t[i-1][j-1]
  EXPECT_EQ(arrays.at("counts").dtype, ElementType::kInt32);
  EXPECT_THAT(arrays.at("7").values, ElementsAre(7, 8));
}

TEST(RToTorch7Test, DataFramesFactorsAndStringsBecomeTables) {
  RList list;
  data::Data& plain = list.plain;
  const ItemId x = plain.Add(VectorOf<double>(ElementType::kFloat64, {1.5, 2.5}));
  StringVector labels;
  labels.Append("a", StringEncoding::kAscii);
  labels.AppendNa();
  const ItemId y = plain.Add(data::Strings{labels, {}});
  list.Add("df", data::DataFrame{{"x", "y"}, {x, y}, 2});
  const ItemId codes = plain.Add(VectorOf<int32_t>(ElementType::kInt32, {2, 1, 2}));
  StringVector levels;
  levels.Append("lo", StringEncoding::kAscii);
  levels.Append("hi", StringEncoding::kAscii);
  const ItemId level_id = plain.Add(data::Strings{levels, {}});
  list.Add("f", data::Factor{codes, level_id, false});
  absl::StatusOr<testing::Converted> t7 = ConvertBytes(list.Rds(), "rds", "t7");
  ASSERT_TRUE(t7.ok()) << t7.status();

  const data::Data back = ReadPlain(t7->bytes, "t7");
  const std::map<std::string, ArrayValues> arrays = ArraysByPath(back);
  EXPECT_THAT(arrays.at("df.x").values, ElementsAre(1.5, 2.5));
  EXPECT_THAT(arrays.at("f.codes").values, ElementsAre(2, 1, 2));
  const ItemId root = back.roots()[0];
  // Strings: a table with keys 1..n, NA leaving a hole.
  const ItemId column = Field(back, Field(back, root, "df"), "y");
  const auto* strings = back.GetIf<data::Sequence>(column);  // keys {1}: the NA was key 2
  ASSERT_NE(strings, nullptr);
  ASSERT_EQ(strings->items.size(), 1u);
  EXPECT_EQ(back.GetIf<data::String>(strings->items[0])->bytes, "a");
  const ItemId level_table = Field(back, Field(back, root, "f"), "levels");
  ASSERT_NE(back.GetIf<data::Sequence>(level_table), nullptr);
  EXPECT_EQ(back.GetIf<data::Sequence>(level_table)->items.size(), 2u);
}

TEST(RToTorch7Test, WhatTorch7CannotHoldIsRefusedByPathOrDroppedWhenAsked) {
  RList list;
  list.Add("mask", VectorOf<int32_t>(ElementType::kLogical, {1, kNaInteger}));
  list.plain.mutable_item(list.items.back()).data = [&] {
    data::NdArray a = VectorOf<int32_t>(ElementType::kLogical, {1, kNaInteger});
    a.na_present = true;
    return a;
  }();
  const double complex[2] = {1, 2};  // 1+2i
  list.Add("z", data::NdArray::Vector(ElementType::kComplex128, 1, Buffer::Copy(complex, 16)));
  const Buffer rds = list.Rds();
  absl::StatusOr<testing::Converted> refused = ConvertBytes(rds, "rds", "t7");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "mask is a logical vector with NA (a ByteTensor holds 0 and 1 only), which Torch7 "
            "cannot hold (--drop-unconvertible leaves it out)");

  WriteOptions drop;
  drop.drop_unconvertible = true;
  absl::StatusOr<testing::Converted> dropped = ConvertBytes(rds, "rds", "t7", drop);
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_THAT(dropped->notes, ElementsAre(HasSubstr("left out mask (a logical vector with NA"),
                                          HasSubstr("left out z (a complex vector)")));
  const data::Data back = ReadPlain(dropped->bytes, "t7");
  // Both left out: an empty table (which reads back as an empty list).
  ASSERT_NE(back.GetIf<data::Sequence>(back.roots()[0]), nullptr);
  EXPECT_TRUE(back.GetIf<data::Sequence>(back.roots()[0])->items.empty());
}

TEST(RToTorch7Test, ATorch7TypeAttributeRestoresTheTypeOrRefusesValuesItCannotHold) {
  auto with_type = [](RList& list, std::string name, std::vector<double> values, std::string type) {
    list.Add(std::move(name), VectorOf<double>(ElementType::kFloat64, std::move(values)));
    StringVector text;
    text.Append(type, StringEncoding::kAscii);
    const ItemId attribute = list.plain.Add(data::Strings{text, {}});
    list.plain.mutable_item(list.items.back()).attributes.emplace_back("torch7_type", attribute);
  };
  RList fits;
  with_type(fits, "b", {1, 255}, "torch.ByteTensor");
  with_type(fits, "s", {1.5, 2.5}, "torch.FloatStorage");
  absl::StatusOr<testing::Converted> t7 = ConvertBytes(fits.Rds(), "rds", "t7");
  ASSERT_TRUE(t7.ok()) << t7.status();
  const data::Data back = ReadPlain(t7->bytes, "t7");
  const std::map<std::string, ArrayValues> arrays = ArraysByPath(back);
  EXPECT_EQ(arrays.at("b").dtype, ElementType::kUint8);
  EXPECT_THAT(arrays.at("b").values, ElementsAre(1, 255));
  EXPECT_EQ(arrays.at("s").dtype, ElementType::kFloat32);
  EXPECT_THAT(back.item(Field(back, back.roots()[0], "s")).classes,
              ElementsAre("torch.FloatStorage"));

  RList too_big;
  with_type(too_big, "b", {1, 300}, "torch.ByteTensor");
  absl::StatusOr<testing::Converted> refused = ConvertBytes(too_big.Rds(), "rds", "t7");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "b: element 2 (300) does not fit a torch.ByteTensor");

  RList fraction;
  with_type(fraction, "l", {0.5}, "torch.LongTensor");
  refused = ConvertBytes(fraction.Rds(), "rds", "t7");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "l: element 1 (0.5) does not fit a torch.LongTensor");

  RList na;
  na.Add("i", VectorOf<int32_t>(ElementType::kInt32, {1, kNaInteger}));
  StringVector text;
  text.Append("torch.ShortTensor", StringEncoding::kAscii);
  const ItemId attribute = na.plain.Add(data::Strings{text, {}});
  na.plain.mutable_item(na.items.back()).attributes.emplace_back("torch7_type", attribute);
  refused = ConvertBytes(na.Rds(), "rds", "t7");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "i: element 2 is NA, which a torch.ShortTensor cannot hold");
}

TEST(RToTorch7Test, RClassesAreNotedAndTorch7ObjectsComeBack) {
  // An R classed list ("lm") is a plain table; c("nn.Linear", "torch7_object") is the object.
  RList list;
  data::Item fit(data::Sequence{});
  fit.classes = {"lm"};
  list.Add("fit", std::move(fit));
  data::Item module(data::Sequence{});
  module.classes = {"nn.Identity", "torch7_object"};
  list.Add("module", std::move(module));
  absl::StatusOr<testing::Converted> t7 = ConvertBytes(list.Rds(), "rds", "t7");
  ASSERT_TRUE(t7.ok()) << t7.status();
  EXPECT_THAT(t7->notes, ElementsAre("fit: R class lm not carried; written as a plain table (and "
                                     "so is every other object of this class)"));
  absl::StatusOr<Value> value = ReadTorch7(t7->bytes);
  ASSERT_TRUE(value.ok());
  int objects = 0;
  for (const Node& node : value->nodes()) {
    if (const auto* object = std::get_if<TorchObject>(&node.data)) {
      EXPECT_EQ(object->class_name, "nn.Identity");
      ++objects;
    }
  }
  EXPECT_EQ(objects, 1);
}

// ---- round trips

// ---- big-endian input (an XDR .rds, a big-endian Torch7 file)

// A vector of `count` elements of `type` whose i-th element is element(i).
template <typename Element>
data::NdArray VectorOf(ElementType type, uint64_t count, Element element) {
  using T = decltype(element(0));
  std::vector<T> values;
  for (uint64_t i = 0; i < count; ++i) values.push_back(element(i));
  return data::NdArray::Vector(type, count, Buffer::Copy(values.data(), count * sizeof(T)));
}

// Plain data of `family` that takes every path of a conversion to the other family, each array
// small (swapped as read) and large (over 1 MiB: kept in the input's order, swapped as written or
// loaded element by element): R vectors Torch7 holds as they are, logicals that become bytes,
// vectors a torch7_type attribute retypes, a matrix, a factor, a data frame and lone numbers;
// Torch7 tensors R holds as they are, ones R widens (int64, float, half, int16, int8, bytes), a
// matrix, a transposed view and a storage.
data::Data CrossFamilyTwins(DataFamily family) {
  data::Data plain;
  data::Map root;
  auto add = [&](const std::string& name, auto item) {
    root.entries.emplace_back(plain.Add(data::String{name}), plain.Add(std::move(item)));
  };
  auto text = [&](std::string_view value) {
    StringVector strings;
    strings.Append(value, StringEncoding::kAscii);
    return plain.Add(data::Strings{std::move(strings), {}});
  };
  auto doubles = [](uint64_t i) { return static_cast<double>(i) * 0.25 - 7; };
  auto ints = [](uint64_t i) { return static_cast<int32_t>(i % 60000) - 30000; };
  for (uint64_t count : {uint64_t{37}, uint64_t{300000}}) {
    const std::string size = count > 1000 ? "large" : "small";
    const int64_t rows = count > 1000 ? 500 : 4;
    const int64_t cols = static_cast<int64_t>(count) / rows;
    if (family == DataFamily::kR) {
      add(size + "_doubles", VectorOf(ElementType::kFloat64, count, doubles));
      add(size + "_ints", VectorOf(ElementType::kInt32, count, ints));
      add(size + "_logicals",
          VectorOf(ElementType::kLogical, count, [](uint64_t i) { return int32_t(i % 3 == 0); }));
      add(size + "_raw", VectorOf(ElementType::kRaw, count,
                                  [](uint64_t i) { return static_cast<uint8_t>(i * 7); }));
      data::Item floats(VectorOf(ElementType::kFloat64, count, doubles));
      floats.attributes.emplace_back("torch7_type", text("torch.FloatTensor"));
      add(size + "_as_floats", std::move(floats));
      data::Item shorts(VectorOf(ElementType::kInt32, count, ints));
      shorts.attributes.emplace_back("torch7_type", text("torch.ShortTensor"));
      add(size + "_as_shorts", std::move(shorts));
      data::Item longs(
          VectorOf(ElementType::kLogical, count, [](uint64_t i) { return int32_t(i % 5 == 0); }));
      longs.attributes.emplace_back("torch7_type", text("torch.LongTensor"));
      add(size + "_logicals_as_longs", std::move(longs));
      data::NdArray matrix = VectorOf(ElementType::kFloat64, rows * cols, doubles);
      matrix.shape = {rows, cols};
      matrix.strides = data::ContiguousStrides(matrix.shape, data::Order::kColumnMajor);
      add(size + "_matrix", matrix);
      StringVector levels;
      for (const char* level : {"low", "mid", "high"}) levels.Append(level, StringEncoding::kAscii);
      const ItemId codes = plain.Add(VectorOf(
          ElementType::kInt32, count, [](uint64_t i) { return static_cast<int32_t>(i % 3 + 1); }));
      add(size + "_factor",
          data::Factor{codes, plain.Add(data::Strings{std::move(levels), {}}), false});
      data::DataFrame frame;
      frame.column_names = {"x", "n"};
      frame.columns = {plain.Add(VectorOf(ElementType::kFloat64, count, doubles)),
                       plain.Add(VectorOf(ElementType::kInt32, count, ints))};
      frame.row_count = count;
      add(size + "_frame", std::move(frame));
      data::NdArray days = VectorOf(ElementType::kFloat64, count, doubles);
      days.temporal = data::Temporal::kDate;
      add(size + "_dates", days);
    } else {
      add(size + "_doubles", VectorOf(ElementType::kFloat64, count, doubles));
      add(size + "_ints", VectorOf(ElementType::kInt32, count, ints));
      add(size + "_longs", VectorOf(ElementType::kInt64, count, [&](uint64_t i) {
            return int64_t{ints(i)} * 70001;  // beyond int32: R's doubles
          }));
      add(size + "_small_longs", VectorOf(ElementType::kInt64, count, [&](uint64_t i) {
            return int64_t{ints(i)};  // within int32: R's integers
          }));
      add(size + "_floats", VectorOf(ElementType::kFloat32, count,
                                     [](uint64_t i) { return static_cast<float>(i) / 3; }));
      // Two-byte elements: twice as many, to pass 1 MiB.
      const uint64_t shorts = count > 1000 ? 2 * count : count;
      add(size + "_halves", VectorOf(ElementType::kFloat16, shorts, [](uint64_t i) {
            return torch7::FloatToHalf(static_cast<float>(i % 2000) / 8);
          }));
      add(size + "_shorts", VectorOf(ElementType::kInt16, shorts,
                                     [](uint64_t i) { return static_cast<int16_t>(i * 31); }));
      add(size + "_chars", VectorOf(ElementType::kInt8, count,
                                    [](uint64_t i) { return static_cast<int8_t>(i * 5); }));
      add(size + "_bytes", VectorOf(ElementType::kUint8, count,
                                    [](uint64_t i) { return static_cast<uint8_t>(i * 7); }));
      data::NdArray matrix = VectorOf(ElementType::kFloat64, rows * cols, doubles);
      matrix.shape = {rows, cols};
      matrix.strides = data::ContiguousStrides(matrix.shape, data::Order::kRowMajor);
      add(size + "_matrix", matrix);
      data::NdArray transposed = VectorOf(ElementType::kFloat32, rows * cols,
                                          [](uint64_t i) { return static_cast<float>(i) - 9; });
      transposed.shape = {cols, rows};
      transposed.strides = {1, cols};
      add(size + "_transposed", transposed);
      data::Item storage(VectorOf(ElementType::kFloat32, count,
                                  [](uint64_t i) { return static_cast<float>(i) * 2; }));
      storage.classes = {"torch.FloatStorage"};
      add(size + "_storage", std::move(storage));
    }
  }
  if (family == DataFamily::kR) {
    add("one_double", VectorOf(ElementType::kFloat64, 1, [](uint64_t) { return 2.5; }));
    add("one_int", VectorOf(ElementType::kInt32, 1, [](uint64_t) { return int32_t{-4}; }));
    add("one_logical", VectorOf(ElementType::kLogical, 1, [](uint64_t) { return int32_t{1}; }));
  }
  plain.roots().push_back(plain.Add(std::move(root)));
  return plain;
}

// The twins of `plain`: written big-endian (R's XDR, a big-endian Torch7 file) and
// little-endian (R's native format, a little-endian Torch7 file), with the format each is read as.
struct Twins {
  Buffer big, little;
  std::string_view big_format, little_format;
};
Twins TwinsOf(const data::Data& plain, DataFamily family) {
  if (family == DataFamily::kR) {
    return {testing::WrittenAs(plain, family, "rds"),
            testing::WrittenAs(plain, family, "rds-native"), "rds", "rds-native"};
  }
  WriteOptions big_endian;
  big_endian.torch7_big_endian = true;
  return {testing::WrittenAs(plain, family, "t7", big_endian),
          testing::WrittenAs(plain, family, "t7"), "t7", "t7"};
}

TEST(CrossFamilyByteOrderTest, BigEndianInputsConvertAsTheirLittleEndianTwinsDo) {
  // The little-endian twin's arrays are never swapped: its conversion is the oracle for every
  // byte of output, in both output byte orders.
  WriteOptions big_endian_torch7;
  big_endian_torch7.torch7_big_endian = true;
  const struct {
    DataFamily family;
    std::string_view to;
    WriteOptions options;
  } cases[] = {
      {DataFamily::kR, "t7", {}},
      {DataFamily::kR, "t7", big_endian_torch7},
      {DataFamily::kR, "t7-ascii", {}},
      {DataFamily::kTorch7, "rds", {}},
      {DataFamily::kTorch7, "rds-native", {}},
      {DataFamily::kTorch7, "rdata", {}},
  };
  for (const auto& c : cases) {
    const Twins twins = TwinsOf(CrossFamilyTwins(c.family), c.family);
    SCOPED_TRACE(absl::StrCat(AsAbsl(twins.big_format), " to ", AsAbsl(c.to),
                              c.options.torch7_big_endian.value_or(false) ? " (big-endian)" : ""));
    ASSERT_NE(twins.big.view(), twins.little.view());
    absl::StatusOr<testing::Converted> big =
        ConvertBytes(twins.big, twins.big_format, c.to, c.options);
    absl::StatusOr<testing::Converted> little =
        ConvertBytes(twins.little, twins.little_format, c.to, c.options);
    ASSERT_TRUE(big.ok()) << big.status();
    ASSERT_TRUE(little.ok()) << little.status();
    EXPECT_TRUE(big->bytes.view() == little->bytes.view());
    EXPECT_EQ(big->notes, little->notes);
  }

  // The values themselves, read back: a widened FloatTensor, int64 that became doubles, a
  // retyped R vector and R logicals that became bytes, from the big-endian twins.
  const Twins torch7 = TwinsOf(CrossFamilyTwins(DataFamily::kTorch7), DataFamily::kTorch7);
  absl::StatusOr<testing::Converted> r = ConvertBytes(torch7.big, "t7", "rds");
  ASSERT_TRUE(r.ok()) << r.status();
  std::map<std::string, ArrayValues> in_r = ArraysByPath(ReadPlain(r->bytes, "rds"));
  ASSERT_EQ(in_r.count("large_floats"), 1u);
  EXPECT_EQ(in_r["large_floats"].dtype, ElementType::kFloat64);
  EXPECT_EQ(in_r["large_floats"].values[299999], static_cast<double>(299999.0f / 3));
  EXPECT_EQ(in_r["large_longs"].dtype, ElementType::kFloat64);
  EXPECT_EQ(in_r["large_longs"].values[299999], (299999 % 60000 - 30000) * 70001.0);
  EXPECT_EQ(in_r["large_small_longs"].values[1], -29999);
  EXPECT_EQ(in_r["large_halves"].values[599999], 1999.0 / 8);
  EXPECT_EQ(in_r["large_shorts"].values[599999], static_cast<int16_t>(599999 * 31));
  EXPECT_EQ(in_r["large_chars"].values[30], static_cast<int8_t>(150));

  const Twins rds = TwinsOf(CrossFamilyTwins(DataFamily::kR), DataFamily::kR);
  absl::StatusOr<testing::Converted> t7 = ConvertBytes(rds.big, "rds", "t7");
  ASSERT_TRUE(t7.ok()) << t7.status();
  std::map<std::string, ArrayValues> in_t7 = ArraysByPath(ReadPlain(t7->bytes, "t7"));
  EXPECT_EQ(in_t7["large_as_floats"].dtype, ElementType::kFloat32);
  EXPECT_EQ(in_t7["large_as_floats"].values[299999], 299999 * 0.25 - 7);
  EXPECT_EQ(in_t7["large_as_shorts"].dtype, ElementType::kInt16);
  EXPECT_EQ(in_t7["large_as_shorts"].values[299999], 299999 % 60000 - 30000);
  EXPECT_EQ(in_t7["large_logicals"].dtype, ElementType::kUint8);
  EXPECT_EQ(in_t7["large_logicals"].values[299997], 1);
  EXPECT_EQ(in_t7["large_logicals"].values[299999], 0);
  EXPECT_EQ(in_t7["large_logicals_as_longs"].dtype, ElementType::kInt64);
  EXPECT_EQ(in_t7["large_logicals_as_longs"].values[299995], 1);
  EXPECT_EQ(in_t7["large_doubles"].values[12345], 12345 * 0.25 - 7);
}

TEST(CrossFamilyByteOrderTest, ValuesABigEndianInputCannotConvertAreRefusedAsItsTwinsAre) {
  // An NA where the target type has none, and an int64 beyond 2^53: refused alike from either
  // byte order, naming the same element, though the big-endian twin's array is never swapped.
  auto large_with = [](DataFamily family, ElementType type, auto value, auto odd_one) {
    data::Data plain;
    data::NdArray array = VectorOf(type, 300000, value);
    auto [bytes, writable] = Buffer::Allocate(array.data.size());
    std::memcpy(writable, array.data.data(), array.data.size());
    std::memcpy(writable + sizeof(odd_one) * 200001, &odd_one, sizeof(odd_one));
    array.data = bytes;
    data::Item item(std::move(array));
    if (type == ElementType::kInt32) {
      StringVector name;
      name.Append("torch.ShortTensor", StringEncoding::kAscii);
      item.attributes.emplace_back("torch7_type", plain.Add(data::Strings{std::move(name), {}}));
    }
    data::Sequence list{{plain.Add(std::move(item))}};
    plain.roots().push_back(plain.Add(std::move(list)));
    return TwinsOf(plain, family);
  };
  const struct {
    Twins twins;
    std::string_view to;
    std::string_view message;
  } cases[] = {
      {large_with(
           DataFamily::kR, ElementType::kInt32, [](uint64_t) { return int32_t{7}; }, kNaInteger),
       "t7", "element 200002 is NA, which a torch.ShortTensor cannot hold"},
      {large_with(
           DataFamily::kR, ElementType::kLogical, [](uint64_t) { return int32_t{1}; }, kNaInteger),
       "t7", "a logical vector with NA"},
      {large_with(
           DataFamily::kTorch7, ElementType::kInt64, [](uint64_t) { return int64_t{7}; },
           (int64_t{1} << 53) + 2),
       "rds", "element 200001 (9007199254740994) is beyond 2^53"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    absl::StatusOr<testing::Converted> big = ConvertBytes(c.twins.big, c.twins.big_format, c.to);
    absl::StatusOr<testing::Converted> little =
        ConvertBytes(c.twins.little, c.twins.little_format, c.to);
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.status(), little.status());
    EXPECT_THAT(big.status().message(), HasSubstr(c.message));
  }
}

// An int64 matrix is gathered into R's column-major order and becomes doubles in that copy; a
// view sharing the same storage keeps its own values (the input is not what was converted).
TEST(Torch7ToRTest, LongMatricesBecomeDoublesInRsOrder) {
  data::Data plain;
  std::vector<int64_t> longs(12);
  for (size_t i = 0; i < longs.size(); ++i)
    longs[i] = (int64_t{1} << 40) * static_cast<int64_t>(i) - 3;
  data::NdArray matrix = VectorOf<int64_t>(ElementType::kInt64, longs);
  matrix.shape = {3, 4};
  matrix.strides = data::ContiguousStrides(matrix.shape, data::Order::kRowMajor);
  data::NdArray vector = matrix;  // the same bytes, as a vector
  vector.shape = {12};
  vector.strides = {1};
  data::Map root;
  root.entries.emplace_back(plain.Add(data::String{"m"}), plain.Add(matrix));
  root.entries.emplace_back(plain.Add(data::String{"v"}), plain.Add(vector));
  plain.roots() = {plain.Add(std::move(root))};
  const Buffer input = testing::WrittenAs(plain, DataFamily::kTorch7, "t7");
  absl::StatusOr<testing::Converted> converted = ConvertBytes(input, "t7", "rds");
  ASSERT_TRUE(converted.ok()) << converted.status();
  std::map<std::string, ArrayValues> arrays = ArraysByPath(ReadPlain(converted->bytes, "rds"));
  std::vector<double> expected(longs.begin(), longs.end());
  ASSERT_EQ(arrays.count("m"), 1u);
  EXPECT_EQ(arrays["m"].dtype, ElementType::kFloat64);
  EXPECT_THAT(arrays["m"].shape, ElementsAre(3, 4));
  EXPECT_EQ(arrays["m"].values, expected);
  ASSERT_EQ(arrays.count("v"), 1u);
  EXPECT_EQ(arrays["v"].values, expected);
}

// A conversion that retypes every element (Torch7's int64 to R's doubles; R's doubles to a
// LongTensor through torch7_type) goes through a mapped input a step at a time, giving each
// step's pages back: it holds its converted copy, not the input besides.
TEST(CrossFamilyMemoryTest, RetypedElementsOfAMappedInputAreHeldAStepAtATime) {
  constexpr uint64_t kCount = uint64_t{6} << 20;  // 48 MiB of 8-byte elements
  struct Case {
    DataFamily family;
    const char* from;
    const char* to;
  };
  for (const Case& c :
       {Case{DataFamily::kTorch7, "t7", "rds"}, Case{DataFamily::kR, "rds", "t7"}}) {
    SCOPED_TRACE(absl::StrCat(c.from, " to ", c.to));
    data::Data plain;
    std::vector<int64_t> longs(kCount);
    for (uint64_t i = 0; i < kCount; ++i) longs[i] = static_cast<int64_t>(i) * 3 - 5;
    std::vector<double> doubles(longs.begin(), longs.end());
    data::Item item(c.family == DataFamily::kTorch7
                        ? VectorOf<int64_t>(ElementType::kInt64, longs)
                        : VectorOf<double>(ElementType::kFloat64, doubles));
    if (c.family == DataFamily::kR) {
      StringVector type;
      type.Append("torch.LongTensor", StringEncoding::kAscii);
      item.attributes.emplace_back("torch7_type", plain.Add(data::Strings{std::move(type), {}}));
    }
    plain.roots() = {plain.Add(std::move(item))};
    const std::string path = ::testing::TempDir() + "/retyped." + c.from;
    {
      BufferChain written;
      written.Append(testing::WrittenAs(plain, c.family, c.from));
      ASSERT_TRUE(WriteFile(path, written).ok());
    }
    longs = {};
    doubles = {};
    absl::StatusOr<Buffer> input = ReadFile(path);
    ASSERT_TRUE(input.ok()) << input.status();
    absl::StatusOr<uint64_t> before = testing::FileRssBytes(getpid());
    ASSERT_TRUE(before.ok()) << before.status();
    absl::StatusOr<testing::Converted> converted = ConvertBytes(*input, c.from, c.to);
    ASSERT_TRUE(converted.ok()) << converted.status();
    // At most a step (8 MiB) of the 48 MiB input left resident.
    absl::StatusOr<uint64_t> after = testing::FileRssBytes(getpid());
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_LT(*after, *before + (uint64_t{8} << 20)) << "bytes resident before: " << *before;
    // Every element arrived: the values read back from the output.
    std::map<std::string, ArrayValues> arrays = ArraysByPath(ReadPlain(converted->bytes, c.to));
    ASSERT_EQ(arrays.size(), 1u);
    const ArrayValues& values = arrays.begin()->second;
    EXPECT_EQ(values.dtype,
              c.family == DataFamily::kTorch7 ? ElementType::kFloat64 : ElementType::kInt64);
    ASSERT_EQ(values.values.size(), kCount);
    for (uint64_t i : {uint64_t{0}, uint64_t{1}, kCount / 2, kCount - 1}) {
      EXPECT_EQ(values.values[i], static_cast<double>(static_cast<int64_t>(i) * 3 - 5)) << i;
    }
    std::remove(path.c_str());
  }
}

TEST(RoundTripTest, Torch7ToRAndBackKeepsEveryTensorsTypeSizesAndValues) {
  WriteOptions drop;
  drop.drop_unconvertible = true;
  int tensors = 0;
  for (const std::string& path : CorpusStreams()) {
    Buffer input = CorpusFile(path);
    absl::StatusOr<Value> value = ReadTorch7(input);
    if (!value.ok()) continue;
    absl::StatusOr<data::Data> torch = Torch7ToData(*value);
    ASSERT_TRUE(torch.ok());
    absl::StatusOr<testing::Converted> r = ConvertBytes(input, "t7", "rds", drop);
    ASSERT_TRUE(r.ok()) << path << ": " << r.status();
    absl::StatusOr<testing::Converted> back = ConvertBytes(r->bytes, "rds", "t7");
    ASSERT_TRUE(back.ok()) << path << ": " << back.status();
    const std::map<std::string, ArrayValues> got = ArraysByPath(ReadPlain(back->bytes, "t7"));
    for (const auto& [where, array] : ArraysByPath(*torch)) {
      SCOPED_TRACE(absl::StrCat(path, " ", where));
      auto it = got.find(where);
      if (it == got.end()) {
        // R's list(key, value) pairs (a table with keys that are not strings) come back as
        // tables {key, value}: the tensor is under a "value".
        it = std::find_if(got.begin(), got.end(), [&](const auto& entry) {
          return entry.first.find(".value") != std::string::npos &&
                 entry.second.shape == array.shape && entry.second.values == array.values;
        });
      }
      ASSERT_NE(it, got.end());
      EXPECT_EQ(it->second.dtype, array.dtype);
      EXPECT_EQ(it->second.shape, array.shape);
      ASSERT_EQ(it->second.values.size(), array.values.size());
      for (size_t i = 0; i < array.values.size(); ++i) {
        if (!std::isnan(array.values[i])) {
          EXPECT_EQ(it->second.values[i], array.values[i]);
        }
      }
      ++tensors;
    }
  }
  EXPECT_GE(tensors, 150);
}

}  // namespace
}  // namespace seriald
