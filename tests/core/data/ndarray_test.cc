// Views over NdArray data: bounds checks on hostile views, and gathering in either order.
#include "core/data/ndarray.h"

#include <cstring>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald::data {
namespace {

using ::testing::HasSubstr;

NdArray Int32Array(const std::vector<int32_t>& values, std::vector<int64_t> shape,
                   std::vector<int64_t> strides, uint64_t offset = 0) {
  NdArray array = NdArray::Vector(ElementType::kInt32, values.size(),
                                  Buffer::Copy(values.data(), values.size() * 4));
  array.shape = std::move(shape);
  array.strides = std::move(strides);
  array.offset = offset;
  return array;
}

std::vector<int32_t> Elements(const Buffer& buffer) {
  std::vector<int32_t> out(buffer.size() / 4);
  if (!out.empty()) std::memcpy(out.data(), buffer.data(), buffer.size());
  return out;
}

TEST(NdArrayTest, ContiguousStridesInBothOrders) {
  EXPECT_EQ(ContiguousStrides({2, 3, 4}, Order::kColumnMajor), (std::vector<int64_t>{1, 2, 6}));
  EXPECT_EQ(ContiguousStrides({2, 3, 4}, Order::kRowMajor), (std::vector<int64_t>{12, 4, 1}));
}

TEST(NdArrayTest, GatherSlicesAViewThatIsAlreadyInOrder) {
  NdArray matrix = Int32Array({1, 2, 3, 4, 5, 6}, {2, 3}, {1, 2});  // R's matrix(1:6, 2)
  ASSERT_TRUE(CheckView(matrix, "m").ok());
  Buffer column_major = Gather(matrix, Order::kColumnMajor);
  EXPECT_EQ(column_major.data(), matrix.data.data());  // no copy
  EXPECT_EQ(Elements(Gather(matrix, Order::kRowMajor)), (std::vector<int32_t>{1, 3, 5, 2, 4, 6}));
}

TEST(NdArrayTest, GatherFollowsOffsetsNegativeAndZeroStrides) {
  // Row 1 of a 2x3 row-major matrix, reversed: elements 5, 4, 3 (offset 5, stride -1).
  NdArray reversed = Int32Array({0, 1, 2, 3, 4, 5}, {3}, {-1}, 5);
  ASSERT_TRUE(CheckView(reversed, "r").ok());
  EXPECT_EQ(Elements(Gather(reversed, Order::kRowMajor)), (std::vector<int32_t>{5, 4, 3}));
  // A column expanded over 3 columns (stride 0), as torch's expand gives.
  NdArray expanded = Int32Array({7, 8}, {2, 3}, {1, 0});
  ASSERT_TRUE(CheckView(expanded, "e").ok());
  EXPECT_EQ(Elements(Gather(expanded, Order::kRowMajor)), (std::vector<int32_t>{7, 7, 7, 8, 8, 8}));
  // A 0-d array is its one element.
  NdArray scalar = Int32Array({9, 10}, {}, {}, 1);
  ASSERT_TRUE(CheckView(scalar, "s").ok());
  EXPECT_EQ(ElementCount(scalar), 1u);
  EXPECT_EQ(Elements(Gather(scalar, Order::kColumnMajor)), (std::vector<int32_t>{10}));
}

TEST(NdArrayTest, CheckViewRefusesViewsOutsideTheData) {
  EXPECT_THAT(CheckView(Int32Array({1, 2, 3}, {2, 2}, {2, 1}), "item 4").message(),
              HasSubstr("item 4: the view (offset 0, shape and strides) reaches elements 0 to 3, "
                        "outside the 3 elements of its data"));
  EXPECT_THAT(CheckView(Int32Array({1, 2, 3}, {2}, {-1}), "x").message(),
              HasSubstr("reaches elements -1 to 0"));
  EXPECT_THAT(CheckView(Int32Array({1, 2, 3}, {2}, {}), "x").message(),
              HasSubstr("1 dimensions but 0 strides"));
  EXPECT_THAT(CheckView(Int32Array({1, 2, 3}, {-2}, {1}), "x").message(),
              HasSubstr("negative size -2"));
  EXPECT_THAT(
      CheckView(Int32Array({1}, {int64_t{1} << 40, int64_t{1} << 40}, {1, 1}), "x").message(),
      HasSubstr("more than 2^62 elements"));
  EXPECT_THAT(CheckView(Int32Array({1, 2}, {3}, {int64_t{1} << 62}), "x").message(),
              HasSubstr("stride 4611686018427387904 of dimension 0 is out of range"));
  NdArray short_data = Int32Array({1, 2}, {2}, {1});
  short_data.length = 3;
  EXPECT_THAT(CheckView(short_data, "x").message(), HasSubstr("data holds 8 bytes, but length 3"));
  // An offset beyond 2^62 is refused by itself (found by the fuzzer: with a negative stride,
  // the reach it reported overflowed), and a large one short of that just misses the data.
  EXPECT_EQ(CheckView(Int32Array({1, 2}, {3}, {-(int64_t{1} << 40)}, uint64_t{1} << 63), "x")
                .message(),
            "x: offset 9223372036854775808 is beyond 2^62");
  EXPECT_THAT(CheckView(Int32Array({1, 2}, {3}, {-(int64_t{1} << 40)}, uint64_t{1} << 61), "x")
                  .message(),
              HasSubstr("reaches elements 2305840810190438400 to 2305843009213693952, outside "
                        "the 2 elements"));
  // An empty view reaches nothing, whatever its strides.
  EXPECT_TRUE(CheckView(Int32Array({}, {0, 5}, {99, 99}, 7), "x").ok());
}

}  // namespace
}  // namespace seriald::data
