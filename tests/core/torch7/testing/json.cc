#include "tests/core/torch7/testing/json.h"

#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace seriald::testing {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<Json> Document() {
    Json json;
    if (!Value(&json)) return Failure();
    SkipSpace();
    if (pos_ != text_.size()) return Failure();
    return json;
  }

 private:
  absl::Status Failure() const {
    return absl::InvalidArgumentError(absl::StrCat("bad JSON at ", pos_));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && std::strchr(" \t\r\n", text_[pos_]) != nullptr) ++pos_;
  }

  bool Consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool Value(Json* out) {
    SkipSpace();
    if (pos_ >= text_.size()) return false;
    char c = text_[pos_];
    if (c == '{') return Object(out);
    if (c == '[') return Array(out);
    if (c == '"') {
      *out = Json::String("");
      return String(&out->string);
    }
    if (Consume("null")) return (*out = Json::Null(), true);
    if (Consume("true")) return (*out = Json::Bool(true), true);
    if (Consume("false")) return (*out = Json::Bool(false), true);
    return Number(out);
  }

  bool Number(Json* out) {
    size_t start = pos_;
    while (pos_ < text_.size() && std::strchr("+-0123456789.eE", text_[pos_]) != nullptr) ++pos_;
    std::string_view literal = text_.substr(start, pos_ - start);
    if (literal.empty()) return false;
    if (literal.find_first_of(".eE") == std::string_view::npos) {
      int64_t value;
      auto [end, error] = std::from_chars(literal.data(), literal.data() + literal.size(), value);
      if (error == std::errc() && end == literal.data() + literal.size()) {
        *out = Json::Int(value);
        return true;
      }
    }
    double value;
    auto [end, error] = std::from_chars(literal.data(), literal.data() + literal.size(), value);
    if (error != std::errc() || end != literal.data() + literal.size()) return false;
    *out = Json::Double(value);
    return true;
  }

  static void AppendUtf8(uint32_t code, std::string* out) {
    if (code < 0x80) {
      out->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (code >> 6)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else if (code < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (code >> 12)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (code >> 18)));
      out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    }
  }

  bool Hex4(uint32_t* code) {
    if (pos_ + 4 > text_.size()) return false;
    auto [end, error] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, *code, 16);
    if (error != std::errc() || end != text_.data() + pos_ + 4) return false;
    pos_ += 4;
    return true;
  }

  bool String(std::string* out) {
    ++pos_;  // opening quote
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return false;
      char e = text_[pos_++];
      switch (e) {
        case 'n':
          out->push_back('\n');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'u': {
          uint32_t code;
          if (!Hex4(&code)) return false;
          if (code >= 0xd800 && code < 0xdc00 && Consume("\\u")) {
            uint32_t low;
            if (!Hex4(&low)) return false;
            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          }
          AppendUtf8(code, out);
          break;
        }
        default:
          out->push_back(e);  // \" \\ \/
      }
    }
    return false;
  }

  bool Array(Json* out) {
    *out = Json::Array();
    ++pos_;
    SkipSpace();
    if (Consume("]")) return true;
    while (true) {
      Json item;
      if (!Value(&item)) return false;
      out->array.push_back(std::move(item));
      SkipSpace();
      if (Consume("]")) return true;
      if (!Consume(",")) return false;
    }
  }

  bool Object(Json* out) {
    *out = Json::Object();
    ++pos_;
    SkipSpace();
    if (Consume("}")) return true;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return false;
      std::string key;
      if (!String(&key)) return false;
      SkipSpace();
      if (!Consume(":")) return false;
      Json item;
      if (!Value(&item)) return false;
      out->object[key] = std::move(item);
      SkipSpace();
      if (Consume("}")) return true;
      if (!Consume(",")) return false;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

std::string Difference(const Json& a, const Json& b, const std::string& path) {
  auto differ = [&] { return absl::StrCat(path, ": expected ", ToText(a), ", got ", ToText(b)); };
  if (a.type != b.type) return differ();
  switch (a.type) {
    case Json::Type::kNull:
      return "";
    case Json::Type::kBool:
      return a.boolean == b.boolean ? "" : differ();
    case Json::Type::kInt:
      return a.integer == b.integer ? "" : differ();
    case Json::Type::kDouble:
      return std::memcmp(&a.number, &b.number, sizeof(double)) == 0 ? "" : differ();
    case Json::Type::kString:
      return a.string == b.string ? "" : differ();
    case Json::Type::kArray:
      if (a.array.size() != b.array.size()) {
        return absl::StrCat(path, ": expected ", a.array.size(), " items, got ", b.array.size());
      }
      for (size_t i = 0; i < a.array.size(); ++i) {
        std::string d = Difference(a.array[i], b.array[i], absl::StrCat(path, "[", i, "]"));
        if (!d.empty()) return d;
      }
      return "";
    case Json::Type::kObject:
      for (const auto& [key, value] : a.object) {
        auto it = b.object.find(key);
        if (it == b.object.end()) return absl::StrCat(path, ": missing member ", key);
        std::string d = Difference(value, it->second, absl::StrCat(path, ".", key));
        if (!d.empty()) return d;
      }
      for (const auto& [key, value] : b.object) {
        if (!a.object.contains(key)) return absl::StrCat(path, ": unexpected member ", key);
      }
      return "";
  }
  return "";
}

}  // namespace

absl::StatusOr<Json> ParseJson(std::string_view text) { return Parser(text).Document(); }

std::string JsonDifference(const Json& expected, const Json& actual) {
  return Difference(expected, actual, "$");
}

std::string ToText(const Json& json) {
  switch (json.type) {
    case Json::Type::kNull:
      return "null";
    case Json::Type::kBool:
      return json.boolean ? "true" : "false";
    case Json::Type::kInt:
      return absl::StrCat(json.integer);
    case Json::Type::kDouble:
      return absl::StrFormat("%.17g", json.number);
    case Json::Type::kString:
      return absl::StrCat("\"", json.string, "\"");
    case Json::Type::kArray: {
      std::string text = "[";
      for (size_t i = 0; i < json.array.size(); ++i) {
        absl::StrAppend(&text, i > 0 ? ", " : "", ToText(json.array[i]));
      }
      return text + "]";
    }
    case Json::Type::kObject: {
      std::string text = "{";
      bool first = true;
      for (const auto& [key, value] : json.object) {
        absl::StrAppend(&text, first ? "" : ", ", "\"", key, "\": ", ToText(value));
        first = false;
      }
      return text + "}";
    }
  }
  return "";
}

}  // namespace seriald::testing
