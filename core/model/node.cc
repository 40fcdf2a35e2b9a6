#include "core/model/node.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/io/byte_order.h"
#include "core/io/step_reader.h"

namespace seriald {

void ForEachLittleEndianStep(
    const Array& array, const std::function<void(const uint8_t* values, uint64_t count)>& step) {
  const size_t size = ElementSize(array.type);
  if (array.length == 0) return;
  const size_t unit = SwapUnit(array.type);
  if (!array.big_endian || unit == 0) {
    step(array.data.data(), array.length);
    return;
  }
  // A MiB (a whole number of elements of every size) at a time, swapped by ReadInSteps into
  // memory of its own, a mapped input read from its file.
  (void)ReadInSteps(array.data, size_t{1} << 20, unit, [&](const Buffer& piece) {
    step(piece.data(), piece.size() / size);
    return absl::OkStatus();
  });
}

void MakeLittleEndian(Array& array) {
  if (!array.big_endian) return;
  const size_t unit = SwapUnit(array.type);
  if (unit != 0 && array.length > 0) {
    auto [swapped, bytes] = Buffer::Allocate(array.data.size());
    SwapCopy(array.data, bytes, array.data.size() / unit, unit);
    array.data = std::move(swapped);
  }
  array.big_endian = false;
}

void CopyLittleEndian(const Array& array, uint64_t begin, uint64_t count, uint8_t* out) {
  const size_t size = ElementSize(array.type);
  const uint8_t* from = array.data.data() + begin * size;
  const size_t unit = SwapUnit(array.type);
  if (!array.big_endian || unit == 0) {
    if (count > 0) std::memcpy(out, from, count * size);
  } else {
    SwapCopy(from, out, count * (size / unit), unit);
  }
}

}  // namespace seriald
