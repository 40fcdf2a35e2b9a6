#include "tests/testing/torch7_tensor.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace seriald::testing {
namespace {

// Torch7's type tag of a torch class instance (TYPE_TORCH).
constexpr int32_t kTypeTorch = 4;

class HeaderWriter {
 public:
  explicit HeaderWriter(bool big_endian) : big_endian_(big_endian) {}

  HeaderWriter& Int(int32_t value) { return Word(static_cast<uint32_t>(value), 4); }
  HeaderWriter& Long(int64_t value) { return Word(static_cast<uint64_t>(value), 8); }
  HeaderWriter& String(const std::string& text) {
    Int(static_cast<int32_t>(text.size()));
    bytes_ += text;
    return *this;
  }
  std::string str() && { return std::move(bytes_); }

 private:
  HeaderWriter& Word(uint64_t value, int size) {
    for (int i = 0; i < size; ++i) {
      int shift = 8 * (big_endian_ ? size - 1 - i : i);
      bytes_.push_back(static_cast<char>((value >> shift) & 0xff));
    }
    return *this;
  }

  bool big_endian_;
  std::string bytes_;
};

}  // namespace

std::string FloatTensorHeader(uint64_t count, bool big_endian) {
  HeaderWriter out(big_endian);
  // The tensor: object index 1, one dimension of `count` elements, stride 1, storage offset 1.
  out.Int(kTypeTorch).Int(1).String("V 1").String("torch.FloatTensor");
  out.Int(1).Long(static_cast<int64_t>(count)).Long(1).Long(1);
  // Its storage: object index 2, `count` elements, the data follows.
  out.Int(kTypeTorch).Int(2).String("V 1").String("torch.FloatStorage");
  out.Long(static_cast<int64_t>(count));
  return std::move(out).str();
}

void FillFloatTensorData(uint64_t first, size_t n, bool big_endian, char* out) {
  for (size_t i = 0; i < n; ++i) {
    // Knuth's multiplicative hash: every byte of the element varies along the data.
    uint32_t bits = static_cast<uint32_t>((first + i) * 2654435761u);
    if (big_endian) bits = __builtin_bswap32(bits);
    std::memcpy(out + 4 * i, &bits, 4);
  }
}

std::string FloatTensorStream(uint64_t count, bool big_endian) {
  std::string stream = FloatTensorHeader(count, big_endian);
  size_t header = stream.size();
  stream.resize(header + 4 * count);
  FillFloatTensorData(0, count, big_endian, stream.data() + header);
  return stream;
}

absl::Status WriteFloatTensorFile(const std::string& path, uint64_t count, bool big_endian) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat(path, ": ", std::strerror(errno)));
  auto write_all = [fd](const char* data, size_t size) {
    while (size > 0) {
      ssize_t n = write(fd, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  };
  bool ok = true;
  const std::string header = FloatTensorHeader(count, big_endian);
  ok = write_all(header.data(), header.size());
  constexpr size_t kBlockElements = size_t{1} << 20;  // 4 MiB
  std::vector<char> block(4 * kBlockElements);
  for (uint64_t first = 0; ok && first < count; first += kBlockElements) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kBlockElements, count - first));
    FillFloatTensorData(first, n, big_endian, block.data());
    ok = write_all(block.data(), 4 * n);
  }
  if (close(fd) != 0) ok = false;
  if (!ok) return absl::InternalError(absl::StrCat(path, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

}  // namespace seriald::testing
