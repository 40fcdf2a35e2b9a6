#include "core/torch7/serialize.h"

#include "core/io/buffer.h"
#include "core/io/byte_writer.h"
#include "core/io/file.h"
#include "core/status_macros.h"
#include "core/torch7/writer.h"

namespace seriald {

absl::StatusOr<std::string> SerializeTorch7(const Value& value, Torch7Mode mode) {
  if (mode == Torch7Mode::kDetect) {
    return absl::InvalidArgumentError("SerializeTorch7 needs a mode: binary or ascii");
  }
  Torch7Layout layout;
  layout.ascii = mode == Torch7Mode::kAscii;
  ByteWriter out;
  RETURN_IF_ERROR(WriteTorch7(value, layout, out));
  BufferChain bytes;
  RETURN_IF_ERROR(out.Finish(&bytes));
  return bytes.ToString();
}

absl::StatusOr<Value> DeserializeTorch7(std::string_view bytes, Torch7Mode mode,
                                        const ReadOptions& options) {
  return ReadTorch7(Buffer::Copy(bytes), options, mode, Torch7Extent::kOneObject);
}

absl::Status SaveTorch7File(const std::string& path, const Value& value, const Torch7Layout& layout,
                            bool referenced) {
  ByteWriter out;
  RETURN_IF_ERROR(WriteTorch7(value, layout, out, referenced));
  BufferChain bytes;
  RETURN_IF_ERROR(out.Finish(&bytes));
  return WriteFile(path, bytes);
}

absl::StatusOr<Value> LoadTorch7File(const std::string& path, const ReadOptions& options,
                                     Torch7Mode mode) {
  ASSIGN_OR_RETURN(Buffer input, ReadFile(path));
  return ReadTorch7(input, options, mode);
}

}  // namespace seriald
