// The byte-order kernel (core/io/byte_order.h): every element of 2, 4 or 8 bytes comes out with
// its bytes reversed, copied or in place, at any count (the vectorised body and its scalar tail);
// other sizes are copied, or left, unchanged; large copies (streaming stores) at any placement.
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

// Past 4 MiB, SwapCopy writes with streaming stores from the first 32-byte aligned element of
// the destination: every placement of source and destination (aligned or not, on an element
// boundary or not) must still give every element reversed, with no byte written outside.
TEST(ByteOrderTest, LargeCopiesReverseEveryElementAtEveryPlacement) {
  for (size_t size : {2, 4, 8}) {
    const uint64_t count = ((uint64_t{4} << 20) / size) + 37;
    const std::string source = Elements(count + 8, size);
    for (size_t from_offset : {size_t{0}, size_t{1}, size}) {
      for (size_t to_offset : {size_t{0}, size_t{1}, size, 3 * size, size_t{32}}) {
        SCOPED_TRACE(::testing::Message() << size << "-byte elements, source at +" << from_offset
                                          << ", destination at +" << to_offset);
        const std::string expected = Reversed(source.substr(from_offset, count * size), size);
        // Over-allocated and filled with a marker, to see bytes written outside the destination.
        std::string destination(count * size + 64, '\x7f');
        SwapCopy(reinterpret_cast<const uint8_t*>(source.data()) + from_offset,
                 Bytes(destination) + to_offset, count, size);
        EXPECT_TRUE(destination.compare(to_offset, count * size, expected) == 0);
        EXPECT_EQ(destination.substr(0, to_offset), std::string(to_offset, '\x7f'));
        EXPECT_EQ(destination.substr(to_offset + count * size),
                  std::string(64 - to_offset, '\x7f'));
      }
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
