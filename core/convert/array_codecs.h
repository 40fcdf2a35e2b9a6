// File: core/convert/array_codecs.h
//
// The array file formats as codecs, so that serialctl, the service and format detection offer
// them like Torch7 and R: "npy" (one numpy array), "npz" and "npz-compressed" (numpy.savez and
// numpy.savez_compressed: a ZIP of .npy files), "safetensors" (Hugging Face). They hold named
// arrays and nothing else, so they read and write plain data (core/data/data.h) rather than a
// Value: conversions (convert.h) export a Torch7 or R object's arrays by path (array_export.h)
// and import an array file as a flat table of tensors (Torch7) or named list of arrays (R).
//
// The Value forms exist for callers that need one (inspect, Deserialize's Value view): Read gives
// the Torch7 value of the arrays, Write exports any Value's arrays without notes.
//
// Example:
//
//   CodecRegistry registry = CoreCodecs();           // includes these
//   ASSIGN_OR_RETURN(const Codec* codec, registry.Find("safetensors"));
//   ConversionNotes notes;
//   RETURN_IF_ERROR(codec->AsArrayCodec()->WriteData(plain, WriteOptions{}, out, notes));
#ifndef SERIALD_CORE_CONVERT_ARRAY_CODECS_H_
#define SERIALD_CORE_CONVERT_ARRAY_CODECS_H_

#include "absl/status/statusor.h"
#include "core/convert/conversion_notes.h"
#include "core/data/data.h"
#include "core/format/codec.h"

namespace seriald {

class ArrayCodec : public Codec {
 public:
  const ArrayCodec* AsArrayCodec() const final { return this; }

  // The arrays of `input`: a root map from name to array (npz, safetensors), or the array
  // itself (npy, which holds one unnamed array).
  virtual absl::StatusOr<data::Data> ReadData(const Buffer& input,
                                              const ReadOptions& options) const = 0;
  // Writes the arrays of `plain` (any family's conventions), noting what is skipped.
  virtual absl::Status WriteData(const data::Data& plain, const WriteOptions& options,
                                 ByteWriter& out, ConversionNotes& notes) const = 0;

  absl::StatusOr<Value> Read(const Buffer& input, const ReadOptions& options) const final;
  absl::Status Write(const Value& value, const WriteOptions& options,
                     ByteWriter& out) const final;
};

void RegisterArrayCodecs(CodecRegistry& registry);

}  // namespace seriald

#endif  // SERIALD_CORE_CONVERT_ARRAY_CODECS_H_
