// Helpers for the R format tests: hex literals, XDR stream building, and one-call read/write.
#ifndef SERIALD_TESTS_CORE_RDS_RDS_TEST_UTIL_H_
#define SERIALD_TESTS_CORE_RDS_RDS_TEST_UTIL_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/io/buffer.h"
#include "core/io/byte_writer.h"
#include "core/rds/reader.h"
#include "core/rds/writer.h"

namespace seriald::rds_test {

// "580a00" -> "X\n\0".
inline std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

inline std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Builds XDR streams by hand: Header() then items.
class Xdr {
 public:
  Xdr& Header(int version = 3) {
    bytes_ += "X\n";
    Int(version).Int(0x00040202).Int(version == 3 ? 0x00030500 : 0x00020300);
    if (version == 3) Int(5).Raw("UTF-8");
    return *this;
  }
  Xdr& Int(int32_t v) {
    uint32_t u = __builtin_bswap32(static_cast<uint32_t>(v));
    bytes_.append(reinterpret_cast<const char*>(&u), 4);
    return *this;
  }
  Xdr& Double(double d) {
    uint64_t u;
    std::memcpy(&u, &d, 8);
    u = __builtin_bswap64(u);
    bytes_.append(reinterpret_cast<const char*>(&u), 8);
    return *this;
  }
  Xdr& Raw(std::string_view s) {
    bytes_.append(s);
    return *this;
  }
  // An ASCII CHARSXP.
  Xdr& Char(std::string_view s) { return Int(0x40009).Int(static_cast<int32_t>(s.size())).Raw(s); }
  // A symbol item.
  Xdr& Sym(std::string_view name) { return Int(1).Char(name); }
  const std::string& str() const { return bytes_; }

 private:
  std::string bytes_;
};

inline absl::StatusOr<Value> Read(std::string_view bytes, const ReadOptions& options = {}) {
  return ReadR(Buffer::Copy(bytes), options);
}

inline absl::StatusOr<std::string> Write(const Value& value, RFormat format, int version,
                                         RCompression compression = RCompression::kNone) {
  ByteWriter out;
  absl::Status status = WriteR(value, rds::SettingsFor(value, format, version, compression), out);
  if (!status.ok()) return status;
  BufferChain chain;
  status = out.Finish(&chain);
  if (!status.ok()) return status;
  return chain.ToString();
}

// Writes `value` back with the settings of the stream it was read from.
inline absl::StatusOr<std::string> WriteBack(const Value& value) {
  const RStreamInfo& source = *value.source().r;
  return Write(value, source.format, source.version, source.compression);
}

}  // namespace seriald::rds_test

#endif  // SERIALD_TESTS_CORE_RDS_RDS_TEST_UTIL_H_
