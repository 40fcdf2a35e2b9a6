#include "core/rds/serialize.h"

#include "core/io/buffer.h"
#include "core/io/byte_writer.h"
#include "core/io/file.h"
#include "core/rds/reader.h"
#include "core/rds/writer.h"
#include "core/status_macros.h"

namespace seriald {
namespace {

absl::StatusOr<BufferChain> Write(const Value& value, const rds::RWriteSettings& settings) {
  ByteWriter out;
  RETURN_IF_ERROR(WriteR(value, settings, out));
  BufferChain bytes;
  RETURN_IF_ERROR(out.Finish(&bytes));
  return bytes;
}

rds::RWriteSettings SaveSettings(const Value& value, const SaveROptions& options) {
  return rds::SettingsFor(value, options.format, options.version, options.compression);
}

}  // namespace

absl::StatusOr<std::string> SerializeR(const Value& value, RFormat format, int version) {
  ASSIGN_OR_RETURN(BufferChain bytes,
                   Write(value, rds::SettingsFor(value, format, version, RCompression::kNone)));
  return bytes.ToString();
}

absl::StatusOr<Value> UnserializeR(std::string_view bytes, const ReadOptions& options) {
  // The copy is this call's alone: lent to the read, which swaps XDR vectors where they are.
  ReadOptions lent = options;
  lent.input_is_scratch = true;
  return ReadR(Buffer::Copy(bytes), lent);
}

absl::Status SaveRds(const std::string& path, const Value& value, const SaveROptions& options) {
  ASSIGN_OR_RETURN(BufferChain bytes, Write(value, SaveSettings(value, options)));
  return WriteFile(path, bytes);
}

absl::StatusOr<Value> ReadRds(const std::string& path, const ReadOptions& options) {
  ASSIGN_OR_RETURN(Buffer input, ReadFile(path));
  return ReadR(input, options);
}

absl::Status SaveRData(const std::string& path, const Value& value, const SaveROptions& options) {
  rds::RWriteSettings settings = SaveSettings(value, options);
  settings.rdata_magic = rds::RDataMagic(options.format, options.version);
  ASSIGN_OR_RETURN(BufferChain bytes, Write(value, settings));
  return WriteFile(path, bytes);
}

absl::StatusOr<Value> LoadRData(const std::string& path, const ReadOptions& options) {
  ASSIGN_OR_RETURN(Value value, ReadRds(path, options));
  const std::optional<RStreamInfo>& source = value.source().r;
  if (!source || source->rdata_magic.empty()) {
    return absl::InvalidArgumentError(path + " is a single serialized object, not a save() file");
  }
  return value;
}

}  // namespace seriald
