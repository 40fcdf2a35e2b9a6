#include "core/torch7/detect.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/format/codec.h"

namespace seriald::torch7 {
namespace {

constexpr int32_t kLastTag = 8;
// How far SniffStream looks for the first tag that is not nil.
constexpr size_t kSniffLimit = 4096;

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

uint32_t LoadLittleEndian32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

uint32_t LoadBigEndian32(const uint8_t* p) {
  return uint32_t{p[3]} | uint32_t{p[2]} << 8 | uint32_t{p[1]} << 16 | uint32_t{p[0]} << 24;
}

// Ascii streams start with the one-digit tag of their first object, then whitespace (Torch writes
// "%d\n"); fscanf would also skip leading whitespace.
bool LooksAscii(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size() && IsAsciiSpace(bytes[i])) ++i;
  if (i >= bytes.size() || bytes[i] < '0' || bytes[i] > '0' + kLastTag) return false;
  return i + 1 == bytes.size() || IsAsciiSpace(bytes[i + 1]);
}

}  // namespace

Sniff SniffStream(const Buffer& input) {
  std::string_view bytes = input.view();
  if (bytes.empty()) return {Sniff::kNotTorch7, "the input is empty"};
  if (LooksAscii(bytes.substr(0, 64))) {
    return {Sniff::kAscii, "starts with an ascii type tag"};
  }
  if (bytes.size() < 4) {
    return {Sniff::kNotTorch7,
            absl::StrCat("the input has ", bytes.size(), " bytes, fewer than one binary type tag")};
  }
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t limit = std::min(bytes.size(), kSniffLimit) / 4 * 4;
  for (size_t offset = 0; offset < limit; offset += 4) {
    uint32_t little = LoadLittleEndian32(data + offset);
    if (little == 0) continue;  // nil: reads the same in both byte orders
    if (little <= kLastTag) {
      return {Sniff::kBinaryLittleEndian,
              absl::StrCat("binary type tag ", little, " (little-endian) at byte ", offset),
              offset};
    }
    uint32_t big = LoadBigEndian32(data + offset);
    if (big <= kLastTag) {
      return {Sniff::kBinaryBigEndian,
              absl::StrCat("binary type tag ", big, " (big-endian) at byte ", offset), offset};
    }
    return {Sniff::kNotTorch7,
            absl::StrCat("word ", static_cast<int32_t>(little), " at byte ", offset,
                         " is not a type tag (0..8) in either byte order"),
            offset};
  }
  return {Sniff::kBinaryLittleEndian, "starts with nil objects only"};
}

std::string DescribeBadTag(const Buffer& input, uint64_t offset, int64_t tag, bool binary) {
  // Only the first tag tells what the whole input is; a bad tag further in means corruption.
  bool first_tag = true;
  for (uint64_t i = 0; i < offset && i < input.size(); ++i) {
    if (binary ? input.data()[i] != 0 : !IsAsciiSpace(static_cast<char>(input.data()[i]))) {
      first_tag = false;
      break;
    }
  }
  const Buffer at = offset <= input.size() ? input.Slice(offset, input.size() - offset) : Buffer();
  return DescribeBadTagAt(at, tag, binary, first_tag ? std::optional<Buffer>(input) : std::nullopt);
}

std::string DescribeBadTagAt(const Buffer& at, int64_t tag, bool binary,
                             const std::optional<Buffer>& whole_input) {
  std::string message = absl::StrCat("unknown type tag ", tag);
  if (binary && at.size() >= 4) {
    const uint8_t* p = at.data();
    std::string printable;
    for (int i = 0; i < 4; ++i) {
      printable.push_back(p[i] >= 0x20 && p[i] < 0x7f ? static_cast<char>(p[i]) : '.');
    }
    absl::StrAppend(&message, absl::StrFormat(" (bytes %02x %02x %02x %02x \"%s\")", p[0], p[1],
                                              p[2], p[3], printable));
  }
  if (whole_input.has_value()) {
    if (std::optional<std::string> foreign = DescribeForeignInput(*whole_input)) {
      absl::StrAppend(&message, ": ", *foreign);
    } else {
      absl::StrAppend(&message, ": the input is not a Torch7 object stream");
    }
  } else {
    absl::StrAppend(&message, binary ? ": the input is corrupt, or was written with another long "
                                       "size or byte order"
                                     : ": the input is corrupt");
  }
  return message;
}

absl::StatusOr<StartingLayout> LayoutToStartWith(const Sniff& sniff, const ReadOptions& options,
                                                  Torch7Mode mode) {
  if (options.torch7_long_size.has_value() && *options.torch7_long_size != 4 &&
      *options.torch7_long_size != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("torch7 long size must be 4 or 8, not ", *options.torch7_long_size));
  }
  StartingLayout start;
  Torch7Layout& layout = start.layout;
  layout.ascii = mode == Torch7Mode::kAscii ||
                 (mode == Torch7Mode::kDetect && sniff.encoding == Sniff::kAscii);
  if (layout.ascii) {
    // Text records no long size or byte order; only a torch.Generator's raw state depends on
    // them (8-byte little-endian longs unless the caller says otherwise).
    layout.long_size = options.torch7_long_size.value_or(8);
    layout.big_endian = options.torch7_big_endian.value_or(false);
    start.long_size_known = true;
    return start;
  }
  layout.big_endian = options.torch7_big_endian.value_or(sniff.encoding == Sniff::kBinaryBigEndian);
  start.long_size_known = options.torch7_long_size.has_value();
  layout.long_size = options.torch7_long_size.value_or(8);
  return start;
}

}  // namespace seriald::torch7
