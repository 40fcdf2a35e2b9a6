// Dotted key paths of plain data: what array exports name arrays by and conversion errors name
// items by.
#include "core/convert/item_paths.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

data::NdArray Doubles(int n) {
  return data::NdArray::Vector(ElementType::kFloat64, n, Buffer::Copy(std::string(8 * n, '\0')));
}

TEST(ItemPathsTest, KeysAsTheSourceHasThem) {
  data::Data plain;
  const ItemId weight = plain.Add(Doubles(2));
  const ItemId linear_key = plain.Add(data::String{"weight"});
  const ItemId linear = plain.Add(data::Map{{{linear_key, weight}}});
  const ItemId relu = plain.Add(data::Map{});
  const ItemId modules = plain.Add(data::Sequence{{linear, relu}});
  const ItemId modules_key = plain.Add(data::String{"modules"});
  const ItemId three = plain.Add(data::Number{3});
  const ItemId three_key = plain.Add(data::Number{3});
  const ItemId half_key = plain.Add(data::Number{0.5});
  const ItemId half = plain.Add(data::Boolean{true});
  const ItemId root =
      plain.Add(data::Map{{{modules_key, modules}, {three_key, three}, {half_key, half}}});
  plain.roots().push_back(root);

  const ItemPaths paths(plain);
  EXPECT_EQ(paths.Describe(root), "the root");
  EXPECT_EQ(*paths.PathOf(modules), "modules");
  EXPECT_EQ(*paths.PathOf(linear), "modules.1");
  EXPECT_EQ(*paths.PathOf(relu), "modules.2");
  EXPECT_EQ(*paths.PathOf(weight), "modules.1.weight");
  EXPECT_EQ(*paths.PathOf(three), "3");     // an integral number key has no fraction
  EXPECT_EQ(*paths.PathOf(half), "0.5");
  EXPECT_FALSE(paths.PathOf(linear_key).has_value());  // keys are not values
  EXPECT_EQ(paths.Describe(linear_key), absl::StrCat("item ", linear_key));
}

TEST(ItemPathsTest, NamedListsDataFramesAndAttributes) {
  data::Data plain;
  StringVector names;
  names.Append("coefficients", StringEncoding::kAscii);
  names.Append("", StringEncoding::kAscii);
  const ItemId names_id = plain.Add(data::Strings{names, {}});
  const ItemId coefficients = plain.Add(Doubles(2));
  const ItemId column = plain.Add(Doubles(3));
  const ItemId frame = plain.Add(data::DataFrame{{"x"}, {column}, 3});
  data::Item list(data::Sequence{{coefficients, frame}});
  list.names = names_id;
  const ItemId root = plain.Add(std::move(list));
  plain.roots().push_back(root);

  const ItemPaths paths(plain);
  EXPECT_EQ(*paths.PathOf(coefficients), "coefficients");
  EXPECT_EQ(*paths.PathOf(frame), "2");  // unnamed: its 1-based position
  EXPECT_EQ(*paths.PathOf(column), "2.x");
  EXPECT_EQ(paths.RoleOf(column), ItemPaths::Role::kColumn);
  EXPECT_EQ(paths.RoleOf(coefficients), ItemPaths::Role::kValue);
  EXPECT_EQ(*paths.PathOf(names_id), "@names");
  EXPECT_EQ(paths.RoleOf(names_id), ItemPaths::Role::kPart);
}

TEST(ItemPathsTest, SharedItemsTakeTheirFirstPathInFileOrderAndListTheOthers) {
  data::Data plain;
  const ItemId shared = plain.Add(Doubles(1));
  const ItemId inner = plain.Add(data::Sequence{{shared}});
  const ItemId root = plain.Add(data::Sequence{{inner, shared}});
  plain.roots().push_back(root);
  const ItemPaths paths(plain);
  // Depth first: 1.1 comes before 2, although 2 is shallower.
  EXPECT_EQ(*paths.PathOf(shared), "1.1");
  EXPECT_THAT(paths.Repeats(), ElementsAre(Pair(shared, "2")));
  EXPECT_THAT(paths.Order(), ElementsAre(root, inner, shared));
}

TEST(ItemPathsTest, CyclesEndAndDeepNestingCostsNoStack) {
  data::Data plain;
  const ItemId self = plain.Add(data::Sequence{});
  plain.Get<data::Sequence>(self).items.push_back(self);
  plain.roots().push_back(self);
  EXPECT_EQ(ItemPaths(plain).Order().size(), 1u);

  data::Data deep;
  ItemId last = deep.Add(Doubles(1));
  for (int i = 0; i < 200000; ++i) last = deep.Add(data::Sequence{{last}});
  deep.roots().push_back(last);
  const ItemPaths paths(deep);
  EXPECT_EQ(paths.Order().size(), 200001u);
  EXPECT_EQ(paths.PathOf(0)->size(), 2u * 200000 - 1);  // "1.1.1...": 200000 ones
}

}  // namespace
}  // namespace seriald
