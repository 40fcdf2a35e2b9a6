#include "core/data/ndarray.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"

namespace seriald::data {
namespace {

// Views larger than this are refused: far beyond any real array, and it keeps every product of a
// size and a stride inside int64.
constexpr uint64_t kMaxElements = uint64_t{1} << 62;

}  // namespace

std::vector<int64_t> ContiguousStrides(const std::vector<int64_t>& shape, Order order) {
  std::vector<int64_t> strides(shape.size());
  int64_t step = 1;
  if (order == Order::kColumnMajor) {
    for (size_t d = 0; d < shape.size(); ++d) {
      strides[d] = step;
      step *= shape[d] > 0 ? shape[d] : 1;
    }
  } else {
    for (size_t d = shape.size(); d-- > 0;) {
      strides[d] = step;
      step *= shape[d] > 0 ? shape[d] : 1;
    }
  }
  return strides;
}

absl::Status CheckView(const NdArray& array, std::string_view what) {
  auto invalid = [&](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), ": ", parts...));
  };
  const size_t element_size = ElementSize(array.dtype);
  if (array.length > kMaxElements || array.data.size() / element_size != array.length ||
      array.data.size() % element_size != 0) {
    return invalid("data holds ", array.data.size(), " bytes, but length ", array.length,
                   " elements of ", AsAbsl(ElementTypeName(array.dtype)), " need ",
                   array.length <= kMaxElements ? array.length * element_size : 0);
  }
  if (array.strides.size() != array.shape.size()) {
    return invalid(array.shape.size(), " dimensions but ", array.strides.size(), " strides");
  }
  uint64_t count = 1;
  bool empty = false;
  for (int64_t size : array.shape) {
    if (size < 0) return invalid("negative size ", size);
    if (size == 0) empty = true;
    if (size != 0 && count > kMaxElements / static_cast<uint64_t>(size)) {
      return invalid("more than 2^62 elements");
    }
    count *= size == 0 ? 1 : static_cast<uint64_t>(size);
  }
  if (empty) return absl::OkStatus();  // no element to reach; strides and offset are moot
  // The lowest and highest element the view reaches, relative to `offset`.
  int64_t low = 0;
  int64_t high = 0;
  for (size_t d = 0; d < array.shape.size(); ++d) {
    const int64_t stride = array.strides[d];
    const uint64_t reach = static_cast<uint64_t>(array.shape[d] - 1);
    if (stride > 0 ? static_cast<uint64_t>(stride) > kMaxElements / (reach == 0 ? 1 : reach)
                   : stride < -static_cast<int64_t>(kMaxElements / (reach == 0 ? 1 : reach))) {
      return invalid("stride ", stride, " of dimension ", d, " is out of range");
    }
    const int64_t span = stride * static_cast<int64_t>(reach);
    (span > 0 ? high : low) += span;
    if (high > static_cast<int64_t>(kMaxElements) || low < -static_cast<int64_t>(kMaxElements)) {
      return invalid("the view spans more than 2^62 elements");
    }
  }
  if (array.offset > kMaxElements) return invalid("offset ", array.offset, " is beyond 2^62");
  // Offset, low and high all lie within 2^62 of zero: no sum overflows.
  const int64_t first = static_cast<int64_t>(array.offset) + low;
  const int64_t last = static_cast<int64_t>(array.offset) + high;
  if (first < 0 || static_cast<uint64_t>(last) >= array.length) {
    return invalid("the view (offset ", array.offset, ", shape and strides) reaches elements ",
                   first, " to ", last, ", outside the ", array.length, " elements of its data");
  }
  return absl::OkStatus();
}

uint64_t ElementCount(const NdArray& array) {
  uint64_t count = 1;
  for (int64_t size : array.shape) count *= static_cast<uint64_t>(size);
  return count;
}

bool IsContiguous(const NdArray& array, Order order) {
  const std::vector<int64_t> expected = ContiguousStrides(array.shape, order);
  for (size_t d = 0; d < array.shape.size(); ++d) {
    if (array.shape[d] > 1 && array.strides[d] != expected[d]) return false;
  }
  return true;
}

bool KeptBigEndian(const NdArray& array) { return array.big_endian && SwapUnit(array.dtype) != 0; }

Buffer Gather(const NdArray& array, Order order) {
  const size_t element_size = ElementSize(array.dtype);
  const uint64_t count = ElementCount(array);
  if (count == 0) return Buffer();
  if (IsContiguous(array, order)) {
    return array.data.Slice(array.offset * element_size, count * element_size);
  }
  auto [buffer, out] = Buffer::Allocate(count * element_size);
  const size_t dims = array.shape.size();
  // Visit dimensions from the fastest-varying one in `order` outwards, like an odometer. The
  // innermost dimension is copied in one loop.
  std::vector<size_t> visit(dims);
  for (size_t i = 0; i < dims; ++i) visit[i] = order == Order::kColumnMajor ? i : dims - 1 - i;
  std::vector<int64_t> index(dims, 0);
  const int64_t inner_size = array.shape[visit[0]];
  const int64_t inner_stride = array.strides[visit[0]] * static_cast<int64_t>(element_size);
  const uint8_t* base = array.data.data();
  int64_t position = static_cast<int64_t>(array.offset * element_size);  // of index's element
  for (uint64_t done = 0; done < count; done += static_cast<uint64_t>(inner_size)) {
    const uint8_t* source = base + position;
    if (element_size == 8) {
      for (int64_t i = 0; i < inner_size; ++i, out += 8)
        std::memcpy(out, source + i * inner_stride, 8);
    } else if (element_size == 4) {
      for (int64_t i = 0; i < inner_size; ++i, out += 4)
        std::memcpy(out, source + i * inner_stride, 4);
    } else {
      for (int64_t i = 0; i < inner_size; ++i, out += element_size) {
        std::memcpy(out, source + i * inner_stride, element_size);
      }
    }
    // Advance the outer dimensions.
    for (size_t k = 1; k < dims; ++k) {
      const size_t d = visit[k];
      const int64_t step = array.strides[d] * static_cast<int64_t>(element_size);
      if (++index[d] < array.shape[d]) {
        position += step;
        break;
      }
      position -= step * (array.shape[d] - 1);
      index[d] = 0;
    }
  }
  return buffer;
}

}  // namespace seriald::data
