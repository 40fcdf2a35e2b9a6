// R <-> plain data on values built as R builds them: what each R convention becomes, that mapping
// back writes the very same stream, and what R cannot hold is refused by name. (Real R checks the
// same through the service in the Python client's tests.)
#include "core/data/r_mapping.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/io/byte_writer.h"
#include "core/rds/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald {
namespace {

using ::testing::HasSubstr;

// Builds R values node by node, attributes in the order R's constructors give them.
class RBuilder {
 public:
  NodeId Ints(const std::vector<int32_t>& values, ElementType type = ElementType::kInt32) {
    return value_.Add(Array{type, values.size(), Buffer::Copy(values.data(), values.size() * 4)});
  }
  NodeId Doubles(const std::vector<double>& values) {
    return value_.Add(Array{ElementType::kFloat64, values.size(),
                            Buffer::Copy(values.data(), values.size() * 8)});
  }
  // R marks ASCII strings as such.
  NodeId Strings(const std::vector<std::optional<std::string>>& values,
                 StringEncoding encoding = StringEncoding::kAscii) {
    StringVector strings;
    for (const auto& s : values) {
      if (s) {
        strings.Append(*s, encoding);
      } else {
        strings.AppendNa();
      }
    }
    return value_.Add(std::move(strings));
  }
  NodeId List(std::vector<NodeId> items) { return value_.Add(seriald::List{false, items}); }
  // Appends attribute `name` = `attribute` to `node`; a class sets the OBJECT bit.
  NodeId Attr(NodeId node, const std::string& name, NodeId attribute) {
    if (value_.node(node).attributes == kNoNode) {
      const NodeId pairlist = value_.Add(Pairlist{});  // may move the nodes: no reference held
      value_.mutable_node(node).attributes = pairlist;
    }
    PairlistCell cell;
    cell.tag = value_.Add(Symbol{StringValue{name, StringEncoding::kAscii}});
    cell.value = attribute;
    value_.Get<Pairlist>(value_.node(node).attributes).cells.push_back(cell);
    if (name == "class") value_.mutable_node(node).r_flags.object = true;
    return node;
  }
  Value& Root(NodeId root) {
    value_.roots() = {root};
    value_.source().r = RStreamInfo{};
    return value_;
  }

 private:
  Value value_;
};

std::string WriteXdr(const Value& value) {
  ByteWriter out;
  rds::RWriteSettings settings;
  EXPECT_TRUE(WriteR(value, settings, out).ok());
  BufferChain chain;
  EXPECT_TRUE(out.Finish(&chain).ok());
  return chain.ToString();
}

// R's NA_real_.
double NaReal() {
  double d;
  const uint64_t bits = kNaRealBits;
  std::memcpy(&d, &bits, 8);
  return d;
}

data::Data ToData(const Value& value) {
  absl::StatusOr<data::Data> plain = RToData(value);
  EXPECT_TRUE(plain.ok()) << plain.status();
  return plain.ok() ? *std::move(plain) : data::Data();
}

// R value -> data -> R value writes the same bytes.
void ExpectRoundTrip(const Value& value) {
  data::Data plain = ToData(value);
  absl::StatusOr<Value> back = DataToR(plain);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(WriteXdr(*back), WriteXdr(value));
}

TEST(RMappingTest, MatrixIsAColumnMajorViewOfTheVectorsOwnBytes) {
  RBuilder r;
  NodeId m = r.Ints({1, 2, 3, 4, 5, 6});
  r.Attr(m, "dim", r.Ints({2, 3}));
  r.Attr(m, "dimnames", r.List({r.Strings({"a", "b"}), r.Strings({"x", "y", "z"})}));
  Value& value = r.Root(m);
  data::Data plain = ToData(value);
  const data::Item& item = plain.item(plain.roots()[0]);
  const auto& array = std::get<data::NdArray>(item.data);
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(array.strides, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(array.data.data(), value.Get<Array>(m).data.data());  // not copied
  EXPECT_FALSE(array.na_present);
  ASSERT_NE(item.dim_names, kNoItem);
  EXPECT_TRUE(item.attributes.empty());
  ExpectRoundTrip(value);
}

TEST(RMappingTest, MissingValuesAreKeptAndFlagged) {
  RBuilder r;
  const double na_real = NaReal();
  NodeId list = r.List({r.Ints({1, kNaInteger}), r.Doubles({na_real, std::nan("")}),
                        r.Ints({0, kNaInteger}, ElementType::kLogical),
                        r.Strings({"a", std::nullopt}), r.Doubles({1.5})});
  r.Attr(list, "names", r.Strings({"i", "d", "l", "s", "plain"}));
  Value& value = r.Root(list);
  data::Data plain = ToData(value);
  const auto& items = std::get<data::Sequence>(plain.item(plain.roots()[0]).data).items;
  EXPECT_TRUE(plain.GetIf<data::NdArray>(items[0])->na_present);
  EXPECT_TRUE(plain.GetIf<data::NdArray>(items[1])->na_present);
  EXPECT_TRUE(plain.GetIf<data::NdArray>(items[2])->na_present);
  EXPECT_FALSE(plain.GetIf<data::NdArray>(items[4])->na_present);
  EXPECT_TRUE(plain.GetIf<data::Strings>(items[3])->values.Get(1).is_na);
  ExpectRoundTrip(value);
}

// What a reader asked to keep arrays as written leaves (Array::big_endian): the bytes swapped.
void MakeBigEndian(Value& value, NodeId id) {
  Array& array = value.Get<Array>(id);
  const size_t size = ElementSize(array.type);
  std::string bytes(array.data.view());
  for (size_t at = 0; at < bytes.size(); at += size) {
    std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                 bytes.begin() + static_cast<std::ptrdiff_t>(at + size));
  }
  array.data = Buffer::Copy(bytes);
  array.big_endian = true;
}

// Big-endian vectors (XDR input that DeserializeStream leaves as written) become big-endian
// arrays over their own bytes; NAs are found and dims read in that order.
TEST(RMappingTest, BigEndianVectorsStayAsWrittenWithTheirNasFoundAndDimsRead) {
  RBuilder r;
  const double na_real = NaReal();
  const NodeId m = r.Ints({1, 2, 3, 4, 5, 6});
  const NodeId dim = r.Ints({2, 3});
  r.Attr(m, "dim", dim);
  const NodeId ints = r.Ints({1, kNaInteger});
  const NodeId doubles = r.Doubles({2.5, na_real});
  const NodeId plain_doubles = r.Doubles({1.5, 2.5, 3.5});
  const NodeId logicals = r.Ints({1, 0}, ElementType::kLogical);
  Value& value = r.Root(r.List({m, ints, doubles, plain_doubles, logicals}));
  for (NodeId id : {m, dim, ints, doubles, plain_doubles, logicals}) MakeBigEndian(value, id);
  data::Data plain = ToData(value);
  const auto& items = std::get<data::Sequence>(plain.item(plain.roots()[0]).data).items;
  const auto* matrix = plain.GetIf<data::NdArray>(items[0]);
  ASSERT_NE(matrix, nullptr);
  EXPECT_EQ(matrix->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(matrix->big_endian);
  EXPECT_EQ(matrix->data.data(), value.Get<Array>(m).data.data());  // not copied
  EXPECT_FALSE(matrix->na_present);
  EXPECT_TRUE(plain.GetIf<data::NdArray>(items[1])->na_present);
  EXPECT_TRUE(plain.GetIf<data::NdArray>(items[2])->na_present);
  EXPECT_FALSE(plain.GetIf<data::NdArray>(items[3])->na_present);
  EXPECT_FALSE(plain.GetIf<data::NdArray>(items[4])->na_present);
  for (size_t i = 1; i < 5; ++i) EXPECT_TRUE(plain.GetIf<data::NdArray>(items[i])->big_endian);
}

TEST(RMappingTest, DataFrameWithFactorDateAndCompactRowNames) {
  RBuilder r;
  NodeId factor = r.Ints({2, 1, kNaInteger});
  r.Attr(factor, "levels", r.Strings({"lo", "hi"}));
  r.Attr(factor, "class", r.Strings({"ordered", "factor"}));
  NodeId date = r.Doubles({18262, 0, 1});
  r.Attr(date, "class", r.Strings({"Date"}));
  NodeId time = r.Doubles({1.5e9, 0, 1});
  r.Attr(time, "class", r.Strings({"POSIXct", "POSIXt"}));
  r.Attr(time, "tzone", r.Strings({"UTC"}));
  NodeId frame = r.List({factor, date, time});
  r.Attr(frame, "names", r.Strings({"f", "d", "t"}));
  r.Attr(frame, "class", r.Strings({"tbl_df", "tbl", "data.frame"}));
  r.Attr(frame, "row.names", r.Ints({kNaInteger, -3}));
  Value& value = r.Root(frame);
  data::Data plain = ToData(value);
  const data::Item& item = plain.item(plain.roots()[0]);
  const auto& df = std::get<data::DataFrame>(item.data);
  EXPECT_EQ(df.column_names, (std::vector<std::string>{"f", "d", "t"}));
  EXPECT_EQ(df.row_count, 3u);
  EXPECT_EQ(df.row_names, kNoItem);
  EXPECT_EQ(item.classes, (std::vector<std::string>{"tbl_df", "tbl", "data.frame"}));
  const auto* f = plain.GetIf<data::Factor>(df.columns[0]);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->ordered);
  EXPECT_TRUE(plain.GetIf<data::NdArray>(f->codes)->na_present);
  EXPECT_EQ(plain.GetIf<data::NdArray>(df.columns[1])->temporal, data::Temporal::kDate);
  const auto* t = plain.GetIf<data::NdArray>(df.columns[2]);
  EXPECT_EQ(t->temporal, data::Temporal::kDateTime);
  EXPECT_EQ(t->timezone, "UTC");
  EXPECT_TRUE(plain.item(df.columns[2]).attributes.empty());
  ExpectRoundTrip(value);
}

TEST(RMappingTest, ClassedListsOtherAttributesAndOneDimensionalArraysComeBack) {
  RBuilder r;
  NodeId counts = r.Ints({3, 4});
  r.Attr(counts, "dim", r.Ints({2}));  // a 1-d table: dim stays an attribute
  r.Attr(counts, "comment", r.Strings({"note"}));
  NodeId fit = r.List({counts, r.Doubles({0.5})});
  r.Attr(fit, "names", r.Strings({"counts", "coef"}));
  r.Attr(fit, "class", r.Strings({"lm"}));
  Value& value = r.Root(fit);
  data::Data plain = ToData(value);
  EXPECT_EQ(plain.item(plain.roots()[0]).classes, (std::vector<std::string>{"lm"}));
  const ItemId counts_item = std::get<data::Sequence>(plain.item(plain.roots()[0]).data).items[0];
  ASSERT_EQ(plain.item(counts_item).attributes.size(), 2u);
  EXPECT_EQ(plain.item(counts_item).attributes[0].first, "dim");
  ExpectRoundTrip(value);
}

TEST(RMappingTest, Latin1StringsBecomeUtf8) {
  RBuilder r;
  NodeId s = r.Strings({"caf\xe9"}, StringEncoding::kLatin1);
  data::Data plain = ToData(r.Root(s));
  EXPECT_EQ(plain.GetIf<data::Strings>(plain.roots()[0])->values.Get(0).bytes, "caf\xc3\xa9");
}

// Whether the vector is copied whole (nothing to translate) or element by element (a latin1
// element among them), the strings come out the same: translated where R translates, NA kept,
// and without the stream's CHARSXP flags.
TEST(RMappingTest, StringsComeAsRShowsThemWithoutTheirCharFlags) {
  for (const bool with_latin1 : {false, true}) {
    SCOPED_TRACE(with_latin1 ? "with a latin1 element" : "UTF-8 and ASCII only");
    RBuilder r;
    NodeId s = r.Strings({"alpha", "caf\xc3\xa9"}, StringEncoding::kUtf8);
    Value& value = r.Root(s);
    StringVector& strings = value.Get<StringVector>(s);
    strings.SetLastCharFlags(0x8009);
    strings.AppendNa();
    if (with_latin1) strings.Append("caf\xe9", StringEncoding::kLatin1);

    StringVector expected;
    expected.Append("alpha", StringEncoding::kUtf8);
    expected.Append("caf\xc3\xa9", StringEncoding::kUtf8);
    expected.AppendNa();
    if (with_latin1) expected.Append("caf\xc3\xa9", StringEncoding::kUtf8);
    data::Data plain = ToData(value);
    const auto* shown = plain.GetIf<data::Strings>(plain.roots()[0]);
    ASSERT_NE(shown, nullptr);
    EXPECT_EQ(shown->values, expected);
    EXPECT_EQ(shown->values.CharFlagsOf(1), std::nullopt);
    EXPECT_EQ(strings.CharFlagsOf(1), 0x8009u) << "the Value keeps them";
  }
}

TEST(RMappingTest, WhatHasNoPlainFormIsOpaqueAndRefusedWhenWritten) {
  RBuilder r;
  Value& value = r.Root(r.List({}));
  const NodeId closure = value.Add(Closure{});
  value.Get<seriald::List>(value.roots()[0]).items.push_back(closure);
  data::Data plain = ToData(value);
  const auto& items = std::get<data::Sequence>(plain.item(plain.roots()[0]).data).items;
  EXPECT_EQ(plain.GetIf<data::Opaque>(items[0])->type, "closure");
  EXPECT_THAT(DataToR(plain).status().message(),
              HasSubstr("an opaque closure (a function) has no plain-data form"));
}

TEST(RMappingTest, PersistentReferencesKeepTheirNamesAndComeBack) {
  RBuilder r;
  Value& value = r.Root(r.List({}));
  StringVector names;
  names.Append("myenv", StringEncoding::kAscii);
  names.Append("caf\xc3\xa9", StringEncoding::kUtf8);
  const NodeId reference = value.Add(PersistentReference{names});
  value.Get<seriald::List>(value.roots()[0]).items = {reference, reference};
  data::Data plain = ToData(value);
  const auto& items = std::get<data::Sequence>(plain.item(plain.roots()[0]).data).items;
  const auto* opaque = plain.GetIf<data::Opaque>(items[0]);
  ASSERT_NE(opaque, nullptr);
  EXPECT_EQ(opaque->type, "persistent reference");
  EXPECT_EQ(opaque->description, "myenv, caf\xc3\xa9");
  const auto* item_names = plain.GetIf<data::Strings>(plain.item(items[0]).names);
  ASSERT_NE(item_names, nullptr);
  EXPECT_EQ(item_names->values, names);
  ExpectRoundTrip(value);

  // Without names, or with attributes, it is refused like any other opaque item.
  data::Data unnamed = plain;
  unnamed.mutable_item(items[0]).names = kNoItem;
  EXPECT_THAT(DataToR(unnamed).status().message(),
              HasSubstr("an opaque persistent reference (myenv, caf\xc3\xa9) has no plain-data"));
  data::Data classed = plain;
  classed.mutable_item(items[0]).classes = {"x"};
  EXPECT_THAT(DataToR(classed).status().message(), HasSubstr("carries no class"));
}

TEST(RMappingTest, CompactSequencesExpandWithinTheLimit) {
  RBuilder r;
  Value& value = r.Root(kNoNode);
  const NodeId state = value.Add(Array{ElementType::kFloat64, 3, Buffer()});
  const double seq[3] = {1e12, 1, 1};
  value.Get<Array>(state).data = Buffer::Copy(seq, 24);
  value.roots() = {value.Add(Altrep{"compact_realseq", "base", 14, state})};
  absl::StatusOr<data::Data> plain = RToData(value, RToDataOptions{.max_expanded_bytes = 1 << 20});
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(plain.status().message(), HasSubstr("over the limit of 1048576"));
}

data::Data OneArray(ElementType type, const void* bytes, uint64_t count) {
  data::Data plain;
  plain.roots().push_back(plain.Add(
      data::NdArray::Vector(type, count, Buffer::Copy(bytes, count * ElementSize(type)))));
  return plain;
}

TEST(RMappingTest, Int64BecomesIntegerOrDoubleOrIsRefused) {
  const int64_t small[2] = {1, -5};
  absl::StatusOr<Value> as_integer = DataToR(OneArray(ElementType::kInt64, small, 2));
  ASSERT_TRUE(as_integer.ok());
  EXPECT_EQ(as_integer->Get<Array>(as_integer->roots()[0]).type, ElementType::kInt32);
  const int64_t large[2] = {1, int64_t{1} << 40};
  absl::StatusOr<Value> as_double = DataToR(OneArray(ElementType::kInt64, large, 2));
  ASSERT_TRUE(as_double.ok());
  EXPECT_EQ(as_double->Get<Array>(as_double->roots()[0]).type, ElementType::kFloat64);
  const int64_t huge[1] = {(int64_t{1} << 53) + 1};
  EXPECT_THAT(DataToR(OneArray(ElementType::kInt64, huge, 1)).status().message(),
              HasSubstr("int64 element 0 (9007199254740993) is beyond 2^53"));
}

TEST(RMappingTest, NarrowElementsAreLeftForTheWriterExceptWhereTheirValuesAreRead) {
  // A float32 vector stays float32 (R's writer widens it as it writes it)...
  const float floats[2] = {1.5f, -2.25f};
  absl::StatusOr<Value> vector = DataToR(OneArray(ElementType::kFloat32, floats, 2));
  ASSERT_TRUE(vector.ok()) << vector.status();
  EXPECT_EQ(vector->Get<Array>(vector->roots()[0]).type, ElementType::kFloat32);
  // ... but a factor's int8 codes, which are checked against the levels, and float32 dates,
  // which are checked to be numbers, are widened here: from big-endian bytes too.
  for (bool big_endian : {false, true}) {
    SCOPED_TRACE(big_endian ? "big-endian" : "little-endian");
    data::Data plain;
    const int8_t codes[3] = {2, 1, 2};
    StringVector levels;
    levels.Append("a", StringEncoding::kAscii);
    levels.Append("b", StringEncoding::kAscii);
    const ItemId codes_id =
        plain.Add(data::NdArray::Vector(ElementType::kInt8, 3, Buffer::Copy(codes, 3)));
    const ItemId levels_id = plain.Add(data::Strings{std::move(levels), {}});
    const ItemId factor = plain.Add(data::Factor{codes_id, levels_id, false});
    const uint16_t half_bits[2] = {0x3c00, 0xc000};  // 1.0, -2.0
    data::NdArray days =
        data::NdArray::Vector(ElementType::kFloat16, 2, Buffer::Copy(half_bits, 4));
    if (big_endian) {
      const uint16_t swapped[2] = {0x003c, 0x00c0};
      days.data = Buffer::Copy(swapped, 4);
      days.big_endian = true;
    }
    days.temporal = data::Temporal::kDate;
    const ItemId dates = plain.Add(std::move(days));
    plain.roots().push_back(plain.Add(data::Sequence{{factor, dates}}));
    absl::StatusOr<Value> value = DataToR(plain);
    ASSERT_TRUE(value.ok()) << value.status();
    const auto& list = value->Get<List>(value->roots()[0]);
    const Array& r_codes = value->Get<Array>(list.items[0]);
    ASSERT_EQ(r_codes.type, ElementType::kInt32);
    EXPECT_EQ(LoadElement<int32_t>(r_codes, 0), 2);
    EXPECT_EQ(LoadElement<int32_t>(r_codes, 1), 1);
    const Array& r_days = value->Get<Array>(list.items[1]);
    ASSERT_EQ(r_days.type, ElementType::kFloat64);
    EXPECT_FALSE(r_days.big_endian);
    EXPECT_EQ(LoadElement<double>(r_days, 0), 1.0);
    EXPECT_EQ(LoadElement<double>(r_days, 1), -2.0);
  }
}

TEST(RMappingTest, RefusesCyclesAndColumnsOfTheWrongLength) {
  data::Data cyclic;
  const ItemId list = cyclic.Add(data::Sequence{});
  cyclic.Get<data::Sequence>(list).items.push_back(list);
  cyclic.roots().push_back(list);
  EXPECT_THAT(DataToR(cyclic).status().message(), HasSubstr("contains itself"));

  const double x[2] = {1, 2};
  data::Data frame;
  const ItemId column =
      frame.Add(data::NdArray::Vector(ElementType::kFloat64, 2, Buffer::Copy(x, 16)));
  frame.roots().push_back(frame.Add(data::DataFrame{{"x"}, {column}, 3, kNoItem}));
  EXPECT_THAT(DataToR(frame).status().message(),
              HasSubstr("column 1 (\"x\") has 2 rows, but the data frame has 3"));
}

TEST(RMappingTest, PlainDataGetsRsConventions) {
  // A data frame built from scratch: class attribute with the OBJECT bit, compact row names.
  const double x[2] = {1, 2};
  data::Data plain;
  const ItemId column =
      plain.Add(data::NdArray::Vector(ElementType::kFloat64, 2, Buffer::Copy(x, 16)));
  plain.roots().push_back(plain.Add(data::DataFrame{{"x"}, {column}, 2, kNoItem}));
  absl::StatusOr<Value> value = DataToR(plain);
  ASSERT_TRUE(value.ok()) << value.status();
  const Node& root = value->node(value->roots()[0]);
  EXPECT_TRUE(root.r_flags.object);
  const auto& attributes = value->Get<Pairlist>(root.attributes).cells;
  ASSERT_EQ(attributes.size(), 3u);
  EXPECT_EQ(value->Get<Symbol>(attributes[0].tag).name.bytes, "names");
  EXPECT_EQ(value->Get<Symbol>(attributes[1].tag).name.bytes, "class");
  EXPECT_EQ(value->Get<Symbol>(attributes[2].tag).name.bytes, "row.names");
  const auto& row_names = value->Get<Array>(attributes[2].value);
  int32_t compact[2];
  std::memcpy(compact, row_names.data.data(), 8);
  EXPECT_EQ(compact[0], kNaInteger);
  EXPECT_EQ(compact[1], -2);
}

}  // namespace
}  // namespace seriald
