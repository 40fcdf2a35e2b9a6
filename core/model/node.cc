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
  // A MiB (a whole number of elements of every size) at a time, through ConsumeInSteps, which
  // gives the source's pages back behind.
  constexpr size_t kStepBytes = size_t{1} << 20;
  std::vector<uint8_t> scratch(std::min<uint64_t>(array.data.size(), kStepBytes));
  (void)ConsumeInSteps(array.data, kStepBytes, [&](const Buffer& piece) {
    const Array part{array.type, piece.size() / size, piece, true};
    CopyLittleEndian(part, 0, part.length, scratch.data());
    step(scratch.data(), part.length);
    return absl::OkStatus();
  });
}

void CopyLittleEndian(const Array& array, uint64_t begin, uint64_t count, uint8_t* out) {
  const size_t size = ElementSize(array.type);
  const uint8_t* from = array.data.data() + begin * size;
  if (!array.big_endian || size == 1) {
    if (count > 0) std::memcpy(out, from, count * size);
  } else if (size == 16) {  // complex: two doubles, each swapped on its own
    SwapCopy(from, out, count * 2, 8);
  } else {
    SwapCopy(from, out, count, size);
  }
}

}  // namespace seriald
