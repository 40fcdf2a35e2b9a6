#include "core/model/node.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/io/byte_order.h"

namespace seriald {

void ForEachLittleEndianStep(
    const Array& array, const std::function<void(const uint8_t* values, uint64_t count)>& step) {
  const size_t size = ElementSize(array.type);
  if (array.length == 0) return;
  if (!array.big_endian || size == 1) {
    step(array.data.data(), array.length);
    return;
  }
  constexpr uint64_t kStepBytes = uint64_t{1} << 20;
  const uint64_t per_step = kStepBytes / size;
  std::vector<uint8_t> scratch(std::min(array.length, per_step) * size);
  for (uint64_t begin = 0; begin < array.length; begin += per_step) {
    const uint64_t count = std::min(per_step, array.length - begin);
    const Buffer piece = array.data.Slice(begin * size, count * size);
    // Complex numbers are two doubles, each swapped on its own.
    if (size == 16) {
      SwapCopy(piece, scratch.data(), count * 2, 8);
    } else {
      SwapCopy(piece, scratch.data(), count, size);
    }
    step(scratch.data(), count);
  }
}

void CopyLittleEndian(const Array& array, uint64_t begin, uint64_t count, uint8_t* out) {
  const size_t size = ElementSize(array.type);
  const uint8_t* from = array.data.data() + begin * size;
  if (!array.big_endian || size == 1) {
    if (count > 0) std::memcpy(out, from, count * size);
  } else if (size == 16) {
    SwapCopy(from, out, count * 2, 8);
  } else {
    SwapCopy(from, out, count, size);
  }
}

}  // namespace seriald
