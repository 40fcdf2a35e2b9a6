#include "core/format/codec.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/status_macros.h"

namespace seriald {

std::optional<std::string> DescribeForeignInput(const Buffer& input) {
  std::string_view bytes = input.view();
  auto starts = [&](std::string_view magic) { return bytes.substr(0, magic.size()) == magic; };
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x80 &&
      static_cast<uint8_t>(bytes[1]) >= 2 && static_cast<uint8_t>(bytes[1]) <= 5) {
    return absl::StrCat("it is a Python pickle (protocol ", static_cast<int>(bytes[1]),
                        "), as PyTorch's torch.save wrote before 1.6 - load it with PyTorch, "
                        "not as Torch7");
  }
  if (starts("PK\x03\x04")) {
    return std::string(
        "it is a ZIP archive, as PyTorch's torch.save writes since 1.6 (or a .npz) - load it "
        "with PyTorch, not as Torch7");
  }
  // A POSIX or GNU tar header: "ustar" at offset 257 of the first 512-byte block.
  if (bytes.size() >= 512 && bytes.substr(257, 5) == "ustar") {
    return std::string(
        "it is a tar archive, as PyTorch's torch.save wrote in its oldest (legacy tar) format - "
        "load it with PyTorch, not as Torch7");
  }
  if (starts("\x93NUMPY")) return std::string("it is a NumPy .npy file");
  if (starts("\x89HDF\r\n\x1a\n")) return std::string("it is an HDF5 file");
  if (bytes.empty()) return std::string("it is empty");
  size_t probe = std::min<size_t>(bytes.size(), 64);
  bool text = std::all_of(bytes.begin(), bytes.begin() + probe, [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 || u == '\n' || u == '\r' || u == '\t' || u >= 0x80;
  });
  if (text) {
    std::string head(bytes.substr(0, std::min<size_t>(probe, 24)));
    for (char& c : head) {
      if (!std::isprint(static_cast<unsigned char>(c))) c = '.';
    }
    return absl::StrCat("it looks like text (\"", head, "\"), not a serialized object");
  }
  return std::nullopt;
}

void CodecRegistry::Register(std::unique_ptr<Codec> codec) { codecs_.push_back(std::move(codec)); }

absl::StatusOr<const Codec*> CodecRegistry::Find(std::string_view name) const {
  std::vector<std::string> names;
  for (const auto& codec : codecs_) {
    if (codec->name() == name) return codec.get();
    names.emplace_back(codec->name());
  }
  return absl::NotFoundError(absl::StrCat("unknown format \"", AsAbsl(name),
                                          "\" (known: ", absl::StrJoin(names, ", "), ")"));
}

std::vector<const Codec*> CodecRegistry::codecs() const {
  std::vector<const Codec*> out;
  for (const auto& codec : codecs_) out.push_back(codec.get());
  return out;
}

absl::StatusOr<const Codec*> CodecRegistry::Detect(const Buffer& input) const {
  std::vector<const Codec*> matches;
  std::vector<std::string> tried;
  std::vector<std::string_view> families;
  for (const auto& codec : codecs_) {
    // Only the first codec of a family is asked: the family reads all its encodings.
    if (std::find(families.begin(), families.end(), codec->family()) != families.end()) continue;
    families.push_back(codec->family());
    Recognition recognition = codec->Recognize(input);
    if (recognition.verdict == Recognition::kYes) {
      matches.push_back(codec.get());
    } else {
      tried.push_back(absl::StrCat(AsAbsl(codec->family()), ": ", recognition.reason));
    }
  }
  if (matches.size() == 1) return matches[0];
  if (matches.size() > 1) {
    std::vector<std::string> names;
    for (const Codec* codec : matches) names.emplace_back(codec->name());
    return absl::InvalidArgumentError(absl::StrCat("cannot tell the input format: it could be ",
                                                   absl::StrJoin(names, " or "),
                                                   "; name it with --from"));
  }
  std::string what = "unrecognised input";
  if (std::optional<std::string> foreign = DescribeForeignInput(input)) {
    what = absl::StrCat("unrecognised input: ", *foreign);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what, " (tried ", absl::StrJoin(tried, "; "), ")"));
}

absl::StatusOr<Value> ReadAs(const CodecRegistry& registry, std::string_view format,
                             const Buffer& input, const ReadOptions& options) {
  const Codec* codec = nullptr;
  if (format.empty()) {
    ASSIGN_OR_RETURN(codec, registry.Detect(input));
  } else {
    ASSIGN_OR_RETURN(codec, registry.Find(format));
  }
  return codec->Read(input, options);
}

absl::StatusOr<BufferChain> WriteAs(const CodecRegistry& registry, std::string_view format,
                                    const Value& value, const WriteOptions& options) {
  ASSIGN_OR_RETURN(const Codec* codec, registry.Find(format));
  ByteWriter out;
  RETURN_IF_ERROR(codec->Write(value, options, out));
  BufferChain chain;
  RETURN_IF_ERROR(out.Finish(&chain));
  return chain;
}

}  // namespace seriald
