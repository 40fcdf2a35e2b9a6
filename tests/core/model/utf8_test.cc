// R strings shown as UTF-8 (core/model/utf8.h): which strings R translates, and into what.
#include "core/model/utf8.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace seriald {
namespace {

TEST(RStringAsUtf8Test, TranslatesLatin1AndEightBitNativeTextOnly) {
  struct Case {
    std::string bytes;
    StringEncoding encoding;
    NativeEncoding native;
    std::optional<std::string> shown;  // nullopt: shown as it is
  };
  const Case cases[] = {
      // Declared latin1: translated whatever the stream's native encoding, unless ASCII.
      {"caf\xe9", StringEncoding::kLatin1, NativeEncoding::kOther, "caf\xc3\xa9"},
      {"\x80", StringEncoding::kLatin1, NativeEncoding::kWindows1252, "\xc2\x80"},
      {"cafe", StringEncoding::kLatin1, NativeEncoding::kLatin1, std::nullopt},
      // Undeclared: as the stream's native encoding says; Windows-1252 has the euro at 0x80.
      {"\x80", StringEncoding::kNative, NativeEncoding::kWindows1252, "\xe2\x82\xac"},
      {"caf\xe9", StringEncoding::kNative, NativeEncoding::kLatin1, "caf\xc3\xa9"},
      {"caf\xc3\xa9", StringEncoding::kNative, NativeEncoding::kOther, std::nullopt},
      // Declared UTF-8, ASCII or bytes: never.
      {"caf\xc3\xa9", StringEncoding::kUtf8, NativeEncoding::kLatin1, std::nullopt},
      {"\xe9", StringEncoding::kBytes, NativeEncoding::kLatin1, std::nullopt},
      {"cafe", StringEncoding::kAscii, NativeEncoding::kLatin1, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.bytes + " " + std::string(StringEncodingName(c.encoding)));
    EXPECT_EQ(RStringNeedsUtf8(c.bytes, c.encoding, c.native), c.shown.has_value());
    EXPECT_EQ(RStringAsUtf8(c.bytes, c.encoding, c.native), c.shown);
  }
}

}  // namespace
}  // namespace seriald
