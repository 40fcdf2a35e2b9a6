#include "core/torch7/codec.h"

#include <memory>
#include <string_view>

#include "core/torch7/detect.h"
#include "core/torch7/reader.h"
#include "core/torch7/writer.h"

namespace seriald {
namespace {

class Torch7Codec : public Codec {
 public:
  explicit Torch7Codec(bool ascii) : ascii_(ascii) {}

  std::string_view name() const override { return ascii_ ? "t7-ascii" : "t7"; }
  std::string_view description() const override {
    return ascii_ ? "Torch7 ascii (torch.save(path, obj, 'ascii'))"
                  : "Torch7 binary (torch.save); reads ascii too, detects long size and byte order";
  }
  std::string_view family() const override { return "t7"; }
  std::string_view FormatOf(const Value& value) const override {
    const std::optional<Torch7Layout>& layout = value.source().torch7;
    if (!layout) return name();
    return layout->ascii ? "t7-ascii" : "t7";
  }

  Recognition Recognize(const Buffer& input) const override {
    torch7::Sniff sniff = torch7::SniffStream(input);
    bool yes = ascii_ ? sniff.encoding == torch7::Sniff::kAscii
                      : sniff.encoding != torch7::Sniff::kNotTorch7;
    if (!yes && ascii_ && sniff.encoding != torch7::Sniff::kNotTorch7) {
      return {Recognition::kNo, "binary, not ascii"};
    }
    return {yes ? Recognition::kYes : Recognition::kNo, sniff.reason};
  }

  absl::StatusOr<Value> Read(const Buffer& input, const ReadOptions& options) const override {
    return ReadTorch7(input, options, ascii_ ? Torch7Mode::kAscii : Torch7Mode::kDetect);
  }

  absl::Status Write(const Value& value, const WriteOptions& options,
                     ByteWriter& out) const override {
    return WriteTorch7(value, Torch7OutputLayout(value, options, ascii_), out,
                       options.torch7_referenced);
  }

 private:
  const bool ascii_;
};

}  // namespace

Torch7Layout Torch7OutputLayout(const Value& value, const WriteOptions& options, bool ascii) {
  return Torch7OutputLayout(value.source().torch7.value_or(Torch7Layout{}), options, ascii);
}

Torch7Layout Torch7OutputLayout(const Torch7Layout& read_as, const WriteOptions& options,
                                bool ascii) {
  Torch7Layout source = read_as;
  // An ascii stream records no long size or byte order, yet a torch.Generator's raw state
  // depends on both; readers take 8-byte little-endian longs unless told otherwise, so a binary
  // source's 4-byte or big-endian layout is not carried into ascii.
  if (ascii && !source.ascii) source = Torch7Layout{.ascii = true};
  Torch7Layout layout;
  layout.ascii = ascii;
  layout.long_size = options.torch7_long_size.value_or(source.long_size);
  layout.big_endian = options.torch7_big_endian.value_or(source.big_endian);
  return layout;
}

void RegisterTorch7Codecs(CodecRegistry& registry) {
  registry.Register(std::make_unique<Torch7Codec>(/*ascii=*/false));
  registry.Register(std::make_unique<Torch7Codec>(/*ascii=*/true));
}

}  // namespace seriald
