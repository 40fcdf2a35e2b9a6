// The byte-order kernel (core/io/byte_order.h): every element of 2, 4 or 8 bytes comes out with
// its bytes reversed, copied or in place, at any count (the vectorised body and its scalar tail);
// other sizes are copied, or left, unchanged.
#include "core/io/byte_order.h"

#include <algorithm>
#include <string>

#include "gtest/gtest.h"

namespace seriald {
namespace {

// `count` elements of `size` bytes, byte i being i mod 253.
std::string Elements(uint64_t count, size_t size) {
  std::string bytes(count * size, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i % 253);
  return bytes;
}

// The same with each element's bytes reversed, element by element.
std::string Reversed(std::string bytes, size_t size) {
  for (size_t at = 0; at + size <= bytes.size(); at += size) {
    std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                 bytes.begin() + static_cast<std::ptrdiff_t>(at + size));
  }
  return bytes;
}

uint8_t* Bytes(std::string& s) { return reinterpret_cast<uint8_t*>(s.data()); }

TEST(ByteOrderTest, SwapCopyAndSwapInPlaceReverseEveryElement) {
  for (size_t size : {2, 4, 8}) {
    for (uint64_t count : {0, 1, 3, 31, 32, 33, 1000}) {
      SCOPED_TRACE(::testing::Message() << size << "-byte elements, " << count);
      std::string source = Elements(count, size);
      const std::string expected = Reversed(source, size);
      std::string copied(source.size(), '\0');
      SwapCopy(Bytes(source), Bytes(copied), count, size);
      EXPECT_EQ(copied, expected);
      SwapInPlace(Bytes(source), count, size);
      EXPECT_EQ(source, expected);
    }
  }
}

TEST(ByteOrderTest, OtherSizesHaveNoOrderToChange) {
  for (size_t size : {1, 16}) {
    std::string source = Elements(5, size);
    const std::string original = source;
    std::string copied(source.size(), '\0');
    SwapCopy(Bytes(source), Bytes(copied), 5, size);
    EXPECT_EQ(copied, original);
    SwapInPlace(Bytes(source), 5, size);
    EXPECT_EQ(source, original);
  }
}

}  // namespace
}  // namespace seriald
