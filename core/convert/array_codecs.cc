#include "core/convert/array_codecs.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/arrays/npy.h"
#include "core/arrays/npz.h"
#include "core/arrays/safetensors.h"
#include "core/convert/array_export.h"
#include "core/data/mapping.h"
#include "core/status_macros.h"

namespace seriald {

absl::StatusOr<Value> ArrayCodec::Read(const Buffer& input, const ReadOptions& options) const {
  ASSIGN_OR_RETURN(data::Data plain, ReadData(input, options));
  ASSIGN_OR_RETURN(Value value, FromData(plain, DataFamily::kTorch7));
  // Not a Torch7 stream: no layout to report or to keep when written.
  value.source().torch7.reset();
  return value;
}

absl::Status ArrayCodec::Write(const Value& value, const WriteOptions& options,
                               ByteWriter& out) const {
  RToDataOptions r_options;
  ASSIGN_OR_RETURN(data::Data plain, ToData(value, r_options));
  ConversionNotes notes;
  return WriteData(plain, options, out, notes);
}

namespace {

class NpyCodec final : public ArrayCodec {
 public:
  std::string_view name() const override { return "npy"; }
  std::string_view description() const override {
    return "numpy .npy: one array (numpy.save); written when the input holds exactly one";
  }
  std::string_view family() const override { return "npy"; }
  Recognition Recognize(const Buffer& input) const override {
    if (arrays::LooksLikeNpy(input)) return {Recognition::kYes, "starts with \\x93NUMPY"};
    return {Recognition::kNo, "does not start with \\x93NUMPY"};
  }
  absl::StatusOr<data::Data> ReadData(const Buffer& input, const ReadOptions&) const override {
    ASSIGN_OR_RETURN(data::NdArray array, arrays::ReadNpy(input));
    data::Data plain;
    plain.roots().push_back(plain.Add(std::move(array)));
    return plain;
  }
  absl::Status WriteData(const data::Data& plain, const WriteOptions& options, ByteWriter& out,
                         ConversionNotes& notes) const override {
    ASSIGN_OR_RETURN(std::vector<arrays::NamedArray> named,
                     ExportArrays(plain, {.strict = options.strict_arrays}, notes));
    if (named.size() != 1) {
      std::string names;
      for (size_t i = 0; i < named.size() && i < 5; ++i) {
        absl::StrAppend(&names, i == 0 ? "" : ", ", named[i].name);
      }
      if (named.size() > 5) absl::StrAppend(&names, ", ...");
      return absl::InvalidArgumentError(
          absl::StrCat("an npy file holds one array, but the input has ", named.size(), " (", names,
                       "); write npz or safetensors instead"));
    }
    return arrays::WriteNpy(named[0].array, out);
  }
};

class NpzCodec final : public ArrayCodec {
 public:
  explicit NpzCodec(bool compressed) : compressed_(compressed) {}
  std::string_view name() const override { return compressed_ ? "npz-compressed" : "npz"; }
  std::string_view description() const override {
    return compressed_ ? "numpy .npz, deflated (numpy.savez_compressed)"
                       : "numpy .npz: a ZIP of .npy arrays named by path (numpy.savez)";
  }
  std::string_view family() const override { return "npz"; }
  Recognition Recognize(const Buffer& input) const override {
    if (arrays::LooksLikeNpz(input)) return {Recognition::kYes, "a ZIP of .npy files"};
    return {Recognition::kNo, "not a ZIP of .npy files"};
  }
  absl::StatusOr<data::Data> ReadData(const Buffer& input,
                                      const ReadOptions& options) const override {
    arrays::ArrayReadLimits limits;
    limits.max_decompressed_bytes = options.DecompressionLimit(input.size());
    ASSIGN_OR_RETURN(std::vector<arrays::NamedArray> named, arrays::ReadNpz(input, limits));
    return ImportArrays(std::move(named));
  }
  absl::Status WriteData(const data::Data& plain, const WriteOptions& options, ByteWriter& out,
                         ConversionNotes& notes) const override {
    ASSIGN_OR_RETURN(std::vector<arrays::NamedArray> named,
                     ExportArrays(plain, {.strict = options.strict_arrays}, notes));
    return arrays::WriteNpz(named,
                            {.compressed = compressed_,
                             .spill_dir = options.spill_dir,
                             .reserve_spill = options.reserve_spill},
                            out);
  }

 private:
  bool compressed_;
};

class SafetensorsCodec final : public ArrayCodec {
 public:
  std::string_view name() const override { return "safetensors"; }
  std::string_view description() const override {
    return "Hugging Face safetensors: arrays named by path, little-endian, row-major";
  }
  std::string_view family() const override { return "safetensors"; }
  Recognition Recognize(const Buffer& input) const override {
    if (arrays::LooksLikeSafetensors(input)) {
      return {Recognition::kYes, "an 8-byte header length, then a JSON object"};
    }
    return {Recognition::kNo, "no 8-byte header length followed by a JSON object"};
  }
  absl::StatusOr<data::Data> ReadData(const Buffer& input, const ReadOptions&) const override {
    ASSIGN_OR_RETURN(arrays::SafetensorsFile file, arrays::ReadSafetensors(input));
    return ImportArrays(std::move(file.arrays));
  }
  absl::Status WriteData(const data::Data& plain, const WriteOptions& options, ByteWriter& out,
                         ConversionNotes& notes) const override {
    ASSIGN_OR_RETURN(std::vector<arrays::NamedArray> named,
                     ExportArrays(plain, {.strict = options.strict_arrays}, notes));
    return arrays::WriteSafetensors(named, {}, out);
  }
};

}  // namespace

void RegisterArrayCodecs(CodecRegistry& registry) {
  registry.Register(std::make_unique<NpyCodec>());
  registry.Register(std::make_unique<NpzCodec>(false));
  registry.Register(std::make_unique<NpzCodec>(true));
  registry.Register(std::make_unique<SafetensorsCodec>());
}

}  // namespace seriald
