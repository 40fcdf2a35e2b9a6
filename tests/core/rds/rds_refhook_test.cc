// The refhook transformations (core/rds/refhook.h): persistent references resolved to bound
// values (grafted, sharing and cycles kept, nothing changed on error) and nodes made into
// persistent references; the bytes are R 4.2.2's.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/rds/reader.h"
#include "core/rds/refhook.h"
#include "core/rds/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/rds/rds_test_util.h"

namespace seriald {
namespace {

using rds_test::Hex;
using rds_test::Read;
using rds_test::ToHex;
using rds_test::Write;
using ::testing::HasSubstr;

// e <- new.env(); h <- function(x) if (identical(x, e)) "myenv" else NULL
// serialize(list(a = 1, e = e), NULL, refhook = h)
constexpr char kListWithReference[] =
    "580a000000030004020200030500000000055554462d3800000213000000020000000e000000013ff00000000000"
    "00000000f7000000000000000100040009000000056d79656e760000040200000001000400090000000"
    "56e616d65730000001000000002000400090000000161000400090000000165000000fe";
// serialize(list(e, e), NULL, refhook = h): a PERSISTSXP at each occurrence.
constexpr char kTwoReferences[] =
    "580a000000030004020200030500000000055554462d380000001300000002000000f700000000000000010004"
    "0009000000056d79656e76000000f7000000000000000100040009000000056d79656e76";
// serialize(list(k = 42), NULL)
constexpr char kBoundList[] =
    "580a000000030004020200030500000000055554462d3800000213000000010000000e0000000140450000000000"
    "0000000402000000010004000900000005"
    "6e616d6573000000100000000100040009000000016b000000fe";
// serialize(list(a = 1, e = list(k = 42)), NULL): what unserialize(..., refhook = function(n)
// list(k = 42)) gives, written again.
constexpr char kListWithBoundList[] =
    "580a000000030004020200030500000000055554462d3800000213000000020000000e000000013ff00000000000"
    "0000000213000000010000000e000000014045000000000000000004020000000100040009000000056e616d6573"
    "000000100000000100040009000000016b000000fe00000402000001ff000000100000000200040009000000016100"
    "0400090000000165000000fe";
// e <- new.env(); e$self <- e; serialize(e, NULL)
constexpr char kSelfEnvironment[] =
    "580a000000030004020200030500000000055554462d380000000400000000000000fd000000fe00000013000000"
    "1d000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe00"
    "0000fe000000fe0000040200000001000400090000000473656c66000001ff000000fe000000fe000000fe000000"
    "fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe00"
    "0000fe000000fe";
// serialize(list(a = 1, e = e), NULL) for that e (no hook).
constexpr char kListWithSelfEnvironment[] =
    "580a000000030004020200030500000000055554462d3800000213000000020000000e000000013ff00000000000"
    "000000000400000000000000fd000000fe000000130000001d000000fe000000fe000000fe000000fe000000fe00"
    "0000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000004020000000100040009000000"
    "0473656c66000001ff000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe00"
    "0000fe000000fe000000fe000000fe000000fe000000fe000000fe000000fe000004020000000100040009000000"
    "056e616d65730000001000000002000400090000000161000400090000000165000000fe";

Value ReadHex(const char* hex) {
  absl::StatusOr<Value> value = Read(Hex(hex));
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *std::move(value) : Value();
}

std::string WriteXdr(const Value& value) {
  absl::StatusOr<std::string> bytes = Write(value, RFormat::kXdr, 3);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? ToHex(*bytes) : std::string();
}

// A resolver binding `name` to `bound`, counting its calls.
PersistentReferenceResolver BindOne(std::string name, Value bound, int* calls) {
  return [=](const StringVector& names) -> absl::StatusOr<std::optional<Value>> {
    ++*calls;
    if (names.size() == 1 && names.Get(0).bytes == name) return bound;
    return std::nullopt;
  };
}

TEST(RdsRefhookTest, ResolvedReferenceGivesTheObjectRsHookReturns) {
  Value value = ReadHex(kListWithReference);
  const size_t before = value.size();
  int calls = 0;
  ASSERT_TRUE(
      ResolvePersistentReferences(value, BindOne("myenv", ReadHex(kBoundList), &calls)).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_GT(value.size(), before);  // the bound list's attributes, its names, 42
  EXPECT_EQ(WriteXdr(value), kListWithBoundList);
}

TEST(RdsRefhookTest, EveryReferenceToTheNodeReachesTheBoundObject) {
  Value value = ReadHex(kListWithReference);
  const NodeId reference = value.Get<List>(value.roots()[0]).items[1];
  ASSERT_EQ(value.node(reference).kind(), NodeKind::kPersistentReference);
  int calls = 0;
  ASSERT_TRUE(
      ResolvePersistentReferences(value, BindOne("myenv", ReadHex(kBoundList), &calls)).ok());
  // The node keeps its id and now holds the bound root, with its attributes.
  const Node& bound = value.node(value.Get<List>(value.roots()[0]).items[1]);
  EXPECT_EQ(value.Get<List>(value.roots()[0]).items[1], reference);
  ASSERT_EQ(bound.kind(), NodeKind::kList);
  EXPECT_NE(bound.attributes, kNoNode);
  EXPECT_TRUE(value.Validate().ok());
}

TEST(RdsRefhookTest, ReferencesWithTheSameNamesBecomeOneObject) {
  Value value = ReadHex(kTwoReferences);
  int calls = 0;
  ASSERT_TRUE(
      ResolvePersistentReferences(value, BindOne("myenv", ReadHex(kSelfEnvironment), &calls)).ok());
  EXPECT_EQ(calls, 1);
  const List& list = value.Get<List>(value.roots()[0]);
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(list.items[0], list.items[1]);
  EXPECT_EQ(value.node(list.items[0]).kind(), NodeKind::kEnvironment);
  EXPECT_TRUE(value.Validate().ok());
  // One environment, written once and then referred to, as R writes list(e, e).
  absl::StatusOr<Value> again = Read(Hex(WriteXdr(value)));
  ASSERT_TRUE(again.ok()) << again.status();
  const List& read = again->Get<List>(again->roots()[0]);
  EXPECT_EQ(read.items[0], read.items[1]);
}

TEST(RdsRefhookTest, ACycleThroughTheBoundRootLeadsToTheReferenceNode) {
  Value value = ReadHex(kListWithReference);
  const NodeId reference = value.Get<List>(value.roots()[0]).items[1];
  int calls = 0;
  ASSERT_TRUE(
      ResolvePersistentReferences(value, BindOne("myenv", ReadHex(kSelfEnvironment), &calls)).ok());
  const auto& environment = value.Get<Environment>(reference);
  bool found_self = false;
  for (NodeId bucket : value.Get<List>(environment.hash_table).items) {
    if (const auto* cells = value.GetIf<Pairlist>(bucket)) {
      for (const PairlistCell& cell : cells->cells) found_self |= cell.value == reference;
    }
  }
  EXPECT_TRUE(found_self);
  EXPECT_EQ(WriteXdr(value), kListWithSelfEnvironment);
}

TEST(RdsRefhookTest, AReferenceAtTheRootIsReplacedToo) {
  Value value;
  StringVector names;
  names.Append("top", StringEncoding::kAscii);
  value.roots().push_back(value.Add(PersistentReference{names}));
  int calls = 0;
  ASSERT_TRUE(ResolvePersistentReferences(value, BindOne("top", ReadHex(kBoundList), &calls)).ok());
  EXPECT_EQ(value.roots()[0], 0u);
  EXPECT_EQ(WriteXdr(value), ToHex(Hex(kBoundList)));
}

TEST(RdsRefhookTest, UnresolvedReferencesStayAsTheyWere) {
  Value value = ReadHex(kListWithReference);
  const Value original = value;
  int calls = 0;
  ASSERT_TRUE(
      ResolvePersistentReferences(value, BindOne("other", ReadHex(kBoundList), &calls)).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(value == original);
  EXPECT_EQ(WriteXdr(value), kListWithReference);
}

TEST(RdsRefhookTest, ErrorsNameTheNodeAndChangeNothing) {
  Value value = ReadHex(kListWithReference);
  const Value original = value;
  absl::Status failed = ResolvePersistentReferences(
      value, [](const StringVector&) -> absl::StatusOr<std::optional<Value>> {
        return absl::NotFoundError("no such object");
      });
  EXPECT_EQ(failed.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(failed.message(), HasSubstr("node 2 (persistent reference \"myenv\"): no such"));

  absl::Status two_roots = ResolvePersistentReferences(
      value, [](const StringVector&) -> absl::StatusOr<std::optional<Value>> {
        Value two;
        two.roots() = {two.Add(Nil{}), two.Add(Nil{})};
        return two;
      });
  EXPECT_EQ(two_roots.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(two_roots.message(), HasSubstr("node 2 (persistent reference \"myenv\")"));
  EXPECT_THAT(two_roots.message(), HasSubstr("2 roots"));

  absl::Status invalid = ResolvePersistentReferences(
      value, [](const StringVector&) -> absl::StatusOr<std::optional<Value>> {
        Value broken;
        broken.roots().push_back(broken.Add(List{false, {7}}));
        return broken;
      });
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.message(), HasSubstr("the value bound to it: node 0"));
  EXPECT_TRUE(value == original);
}

TEST(RdsRefhookTest, BindingsMatchNamesAsUtf8) {
  Value value;
  StringVector latin1;
  latin1.Append("caf\xe9", StringEncoding::kLatin1);
  StringVector na;
  na.AppendNa();
  NodeId first = value.Add(PersistentReference{latin1});
  NodeId second = value.Add(PersistentReference{na});
  value.roots().push_back(value.Add(List{false, {first, second}}));
  std::vector<ReferenceBinding> bindings;
  bindings.push_back({{"caf\xc3\xa9"}, ReadHex(kBoundList)});
  ASSERT_TRUE(BindPersistentReferences(value, bindings).ok());
  EXPECT_EQ(value.node(first).kind(), NodeKind::kList);
  EXPECT_EQ(value.node(second).kind(), NodeKind::kPersistentReference);  // NA names nothing

  bindings.push_back({{"caf\xc3\xa9"}, Value()});
  EXPECT_THAT(BindPersistentReferences(value, bindings).message(),
              HasSubstr("reference bindings 0 and 1 have the same names"));
  EXPECT_THAT(BindPersistentReferences(value, {{{}, Value()}}).message(), HasSubstr("no names"));
}

// A list(a = 1, e = e) whose environment has attributes, as a hand-built value.
struct ListWithEnvironment {
  Value value;
  NodeId environment;
};
ListWithEnvironment MakeListWithEnvironment() {
  ListWithEnvironment made{ReadHex(kListWithSelfEnvironment), kNoNode};
  Value& value = made.value;
  made.environment = value.Get<List>(value.roots()[0]).items[1];
  // Give the environment an attribute: R would drop it from the PERSISTSXP.
  PairlistCell note;
  note.tag = value.Add(Symbol{StringValue{"note", StringEncoding::kAscii, false}});
  note.value = value.Add(Array{ElementType::kFloat64, 0, Buffer()});
  value.mutable_node(made.environment).attributes = value.Add(Pairlist{{note}, kNoNode});
  return made;
}

TEST(RdsRefhookTest, HookNamesEnvironmentsAsRsSerializeWritesThem) {
  ListWithEnvironment made = MakeListWithEnvironment();
  std::vector<NodeId> asked;
  ASSERT_TRUE(
      MakePersistentReferences(
          made.value,
          [&](const Value& value, NodeId id) -> absl::StatusOr<std::optional<StringVector>> {
            asked.push_back(id);
            EXPECT_EQ(value.node(id).kind(), NodeKind::kEnvironment);
            return PersistentNamesFromUtf8({"myenv"});
          })
          .ok());
  EXPECT_EQ(asked, std::vector<NodeId>{made.environment});
  const Node& node = made.value.node(made.environment);
  EXPECT_EQ(node.kind(), NodeKind::kPersistentReference);
  EXPECT_EQ(node.attributes, kNoNode);
  EXPECT_EQ(WriteXdr(made.value), kListWithReference);
}

TEST(RdsRefhookTest, HookLeavesWhatItDoesNotNameAndRefusesEmptyNames) {
  ListWithEnvironment made = MakeListWithEnvironment();
  const Value original = made.value;
  auto none = [](const Value&, NodeId) -> absl::StatusOr<std::optional<StringVector>> {
    return std::nullopt;
  };
  ASSERT_TRUE(MakePersistentReferences(made.value, none).ok());
  EXPECT_TRUE(made.value == original);
  absl::Status empty = MakePersistentReferences(
      made.value, [](const Value&, NodeId) -> absl::StatusOr<std::optional<StringVector>> {
        return StringVector();
      });
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.message(),
              HasSubstr(absl::StrCat("node ", made.environment, " (environment)")));
  EXPECT_TRUE(made.value == original);
}

TEST(RdsRefhookTest, ChosenNodesMustBeEnvironmentsExternalPointersOrWeakReferences) {
  ListWithEnvironment made = MakeListWithEnvironment();
  const Value original = made.value;
  std::map<NodeId, StringVector> names;
  names[made.environment] = PersistentNamesFromUtf8({"myenv"});
  names[made.value.roots()[0]] = PersistentNamesFromUtf8({"the list"});
  absl::Status refused = MakePersistentReferences(made.value, names);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("node 0 (list): only environments"));
  EXPECT_TRUE(made.value == original);
  EXPECT_THAT(MakePersistentReferences(made.value, {{99999, names[made.environment]}}).message(),
              HasSubstr("node 99999 cannot be a persistent reference"));

  names.erase(made.value.roots()[0]);
  ASSERT_TRUE(MakePersistentReferences(made.value, names).ok());
  EXPECT_EQ(WriteXdr(made.value), kListWithReference);

  Value pointers;
  NodeId pointer = pointers.Add(ExternalPointer{});
  NodeId weak = pointers.Add(WeakReference{});
  pointers.roots().push_back(pointers.Add(List{false, {pointer, weak}}));
  ASSERT_TRUE(MakePersistentReferences(pointers, {{pointer, PersistentNamesFromUtf8({"p"})},
                                                  {weak, PersistentNamesFromUtf8({"w", "2"})}})
                  .ok());
  EXPECT_EQ(pointers.Get<PersistentReference>(weak).names, PersistentNamesFromUtf8({"w", "2"}));
}

TEST(RdsRefhookTest, DeepBoundValuesCostNoStack) {
  // list(list(list(...))) 200000 levels deep, bound at the root, written and read back.
  constexpr int kDepth = 200000;
  Value deep;
  NodeId inner = deep.Add(Nil{});
  for (int i = 0; i < kDepth; ++i) inner = deep.Add(List{false, {inner}});
  deep.roots().push_back(inner);
  Value value;
  value.roots().push_back(value.Add(PersistentReference{PersistentNamesFromUtf8({"deep"})}));
  int calls = 0;
  ASSERT_TRUE(ResolvePersistentReferences(value, BindOne("deep", std::move(deep), &calls)).ok());
  EXPECT_EQ(value.size(), static_cast<size_t>(kDepth + 1));
  absl::StatusOr<std::string> bytes = Write(value, RFormat::kXdr, 3);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(Read(*bytes).ok());
}

TEST(RdsRefhookTest, NamesAsUtf8) {
  StringVector names = PersistentNamesFromUtf8({"a", "\xc3\xa9"});
  EXPECT_EQ(names.Get(0).encoding, StringEncoding::kAscii);
  EXPECT_EQ(names.Get(1).encoding, StringEncoding::kUtf8);
  EXPECT_EQ(PersistentNamesAsUtf8(names), (std::vector<std::string>{"a", "\xc3\xa9"}));
  names.AppendNa();
  EXPECT_EQ(PersistentNamesAsUtf8(names), std::nullopt);
  EXPECT_TRUE(AsksRefhook(NodeKind::kEnvironment));
  EXPECT_FALSE(AsksRefhook(NodeKind::kNamespace));
  EXPECT_FALSE(AsksRefhook(NodeKind::kSpecial));
}

}  // namespace
}  // namespace seriald
