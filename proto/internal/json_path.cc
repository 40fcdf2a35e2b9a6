#include "proto/internal/json_path.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace seriald::internal {
namespace {

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool IsDelimiter(char c) {
  return IsWhitespace(c) || c == ',' || c == ':' || c == '{' || c == '}' || c == '[' || c == ']' ||
         c == '"' || c == '\'';
}

// Skips values as text protobuf's parser accepts. Nested searches skip the same values again (a
// member's object is skipped whole while its parent's members are looked through, then searched
// itself), so a long string (a large array's base64) would be read once per level: the strings
// of kRememberedStringBytes or more are remembered when first scanned, and skipped again without
// reading them. With `pages` (the Buffer `json` views, a mapped file), such a string's pages are
// given back once it is scanned, so that the text is not all resident while it is searched.
class JsonScanner {
 public:
  static constexpr size_t kRememberedStringBytes = size_t{64} << 10;

  explicit JsonScanner(std::string_view json, const Buffer* pages = nullptr)
      : json_(json), pages_(pages) {}

  size_t SkipWhitespace(size_t pos) const {
    while (pos < json_.size() && IsWhitespace(json_[pos])) ++pos;
    return pos;
  }

  // The offset just past the value starting at `pos`.
  size_t SkipValue(size_t pos) const {
    if (pos >= json_.size()) return json_.size();
    const char c = json_[pos];
    if (c == '"' || c == '\'') return SkipString(pos);
    if (c == '{' || c == '[') {
      // Brackets balance in text the parser accepted, so a depth count is enough.
      size_t depth = 0;
      while (pos < json_.size()) {
        const char d = json_[pos];
        if (d == '"' || d == '\'') {
          pos = SkipString(pos);
          continue;
        }
        if (d == '{' || d == '[') {
          ++depth;
        } else if ((d == '}' || d == ']') && --depth == 0) {
          return pos + 1;
        }
        ++pos;
      }
      return json_.size();
    }
    return SkipBare(pos);
  }

  // Calls visit(key, key_offset, value_offset) for each member of the object at `pos` until it
  // returns true.
  template <typename Visit>
  void ForEachMember(size_t pos, Visit&& visit) const {
    if (pos >= json_.size() || json_[pos] != '{') return;
    pos = SkipWhitespace(pos + 1);
    while (pos < json_.size() && json_[pos] != '}') {
      if (json_[pos] == ',') {
        pos = SkipWhitespace(pos + 1);
        continue;
      }
      const size_t key_offset = pos;
      std::string_view key;
      if (json_[pos] == '"' || json_[pos] == '\'') {
        const size_t end = SkipString(pos);
        if (end >= pos + 2) key = json_.substr(pos + 1, end - pos - 2);
        pos = end;
      } else {
        const size_t end = SkipBare(pos);
        key = json_.substr(pos, end - pos);
        pos = end;
      }
      pos = SkipWhitespace(pos);
      if (pos >= json_.size() || json_[pos] != ':') return;
      pos = SkipWhitespace(pos + 1);
      if (visit(key, key_offset, pos)) return;
      pos = SkipWhitespace(SkipValue(pos));
    }
  }

  // Calls visit(offset) for each element of the array at `pos` until it returns true.
  template <typename Visit>
  void ForEachElement(size_t pos, Visit&& visit) const {
    if (pos >= json_.size() || json_[pos] != '[') return;
    pos = SkipWhitespace(pos + 1);
    while (pos < json_.size() && json_[pos] != ']') {
      if (json_[pos] == ',') {
        pos = SkipWhitespace(pos + 1);
        continue;
      }
      if (visit(pos)) return;
      pos = SkipWhitespace(SkipValue(pos));
    }
  }

  // The contents [begin, end) of the string at `pos`, between its quotes, or nullopt when no
  // whole string without escapes starts there.
  std::optional<std::pair<size_t, size_t>> PlainStringAt(size_t pos) const {
    if (pos >= json_.size() || (json_[pos] != '"' && json_[pos] != '\'')) return std::nullopt;
    const ScannedString string = ScanString(pos);
    if (!string.closed || string.escaped) return std::nullopt;
    return std::make_pair(pos + 1, string.end - 1);
  }

 private:
  // A string starting at `begin` (its opening quote): `end` just past its closing quote, or the
  // end of the text when it is not closed; whether a backslash occurs in it.
  struct ScannedString {
    size_t begin;
    size_t end;
    bool closed;
    bool escaped;
  };

  size_t SkipString(size_t pos) const { return ScanString(pos).end; }

  // memchr for the closing quote and for a backslash before it, a step of the text at a time:
  // a large array's base64 is skipped at memory speed, only once (remembered_), and with
  // `pages_` the steps of a long string are given back behind the scan (the string may be most
  // of the text).
  ScannedString ScanString(size_t begin) const {
    const auto known =
        std::lower_bound(remembered_.begin(), remembered_.end(), begin,
                         [](const ScannedString& string, size_t at) { return string.begin < at; });
    if (known != remembered_.end() && known->begin == begin) return *known;
    ScannedString string{begin, json_.size(), false, false};
    const char quote = json_[begin];
    size_t pos = begin + 1;
    size_t kept_from = begin;  // what is not given back yet
    while (pos < json_.size()) {
      // The next quote within a step: the string's end unless a backslash escapes it. Each
      // part of the text is searched once for each character: searching again for the quote
      // after every escape made a string of many escapes (a text's newlines) quadratic.
      const size_t step_end = pos + std::min(kScanStepBytes, json_.size() - pos);
      const auto* closing =
          static_cast<const char*>(std::memchr(json_.data() + pos, quote, step_end - pos));
      const size_t limit = closing == nullptr ? step_end : closing - json_.data();
      while (pos < limit) {
        const auto* escape =
            static_cast<const char*>(std::memchr(json_.data() + pos, '\\', limit - pos));
        if (escape == nullptr) {
          pos = limit;
          break;
        }
        string.escaped = true;
        pos = escape - json_.data() + 2;  // past the escaped character, maybe the quote
      }
      if (closing != nullptr && pos == limit) {
        string.end = limit + 1;
        string.closed = true;
        break;
      }
      // The quote was escaped, or the step holds none: on from where the escapes left off.
      pos = std::min(pos, json_.size());
      if (pages_ != nullptr && pos - begin >= kRememberedStringBytes) {
        pages_->Slice(kept_from, pos - kept_from).DropPages();
        kept_from = pos;
      }
    }
    if (string.end - begin >= kRememberedStringBytes) {
      remembered_.insert(known, string);
      if (pages_ != nullptr) pages_->Slice(kept_from, string.end - kept_from).DropPages();
    }
    return string;
  }

  static constexpr size_t kScanStepBytes = size_t{4} << 20;

  // A number, true/false/null or an unquoted key; always at least one byte.
  size_t SkipBare(size_t pos) const {
    size_t end = pos + 1;
    while (end < json_.size() && !IsDelimiter(json_[end])) ++end;
    return std::min(end, json_.size());
  }

  std::string_view json_;
  const Buffer* pages_;
  // Long strings already scanned, by where they begin.
  mutable std::vector<ScannedString> remembered_;
};

// One step of a path: a field name, and the index into it when it is repeated.
struct PathStep {
  std::string_view name;
  std::optional<uint64_t> index;
};

std::vector<PathStep> ParsePath(std::string_view path) {
  std::vector<PathStep> steps;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view part = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    PathStep step;
    size_t bracket = part.find('[');
    step.name = part.substr(0, bracket);
    if (bracket != std::string_view::npos) {
      uint64_t index = 0;
      for (size_t i = bracket + 1; i < part.size() && part[i] >= '0' && part[i] <= '9'; ++i) {
        index = index * 10 + static_cast<uint64_t>(part[i] - '0');
      }
      step.index = index;
    }
    steps.push_back(step);
  }
  return steps;
}

// protobuf's JSON name of a field: "torch_object" -> "torchObject".
std::string JsonName(std::string_view field) {
  std::string name;
  bool upper = false;
  for (char c : field) {
    if (c == '_') {
      upper = true;
    } else {
      name += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
      upper = false;
    }
  }
  return name;
}

// Finds the path step by step. A field may occur under several keys of one object (protobuf
// merges them; its error paths index each occurrence from 0), so each occurrence is tried in turn
// until the rest of the path resolves. Recursion is bounded by the path's length, which protobuf's
// own nesting limit (100) bounds.
class PathResolver {
 public:
  PathResolver(const JsonScanner& scanner, std::vector<PathStep> steps, std::string_view key)
      : scanner_(scanner), steps_(std::move(steps)), key_(key) {}

  // The offset of the value at the path (or of `key` inside it), if the path resolves.
  std::optional<size_t> Resolve(size_t pos, size_t step) {
    if (deepest_step_ == kNone || step > deepest_step_) {
      deepest_step_ = step;
      deepest_offset_ = pos;
    }
    if (step == steps_.size()) return key_.empty() ? std::optional<size_t>(pos) : FindKey(pos);
    const PathStep& want = steps_[step];
    const std::string json_name = JsonName(want.name);
    std::optional<size_t> found;
    scanner_.ForEachMember(pos, [&](std::string_view member, size_t, size_t value) {
      if (member != want.name && member != json_name) return false;
      if (!want.index) {
        found = Resolve(value, step + 1);
        return found.has_value();
      }
      uint64_t remaining = *want.index;
      scanner_.ForEachElement(value, [&](size_t element) {
        if (remaining-- > 0) return false;
        found = Resolve(element, step + 1);
        return true;
      });
      return found.has_value();
    });
    return found;
  }

  size_t deepest_offset() const { return deepest_offset_; }

 private:
  std::optional<size_t> FindKey(size_t pos) const {
    const std::string json_key = JsonName(key_);
    std::optional<size_t> found;
    scanner_.ForEachMember(pos, [&](std::string_view member, size_t key_offset, size_t) {
      if (member != key_ && member != json_key) return false;
      found = key_offset;
      return true;
    });
    return found;
  }

  static constexpr size_t kNone = static_cast<size_t>(-1);

  const JsonScanner& scanner_;
  std::vector<PathStep> steps_;
  std::string_view key_;
  size_t deepest_step_ = kNone;
  size_t deepest_offset_ = 0;
};

// Calls visit(value_offset) for the member `name` of the object at `pos`; false when `name` is
// there under more than one key.
template <typename Visit>
bool ForTheMember(const JsonScanner& scanner, size_t pos, std::string_view name, Visit&& visit) {
  int found = 0;
  std::optional<size_t> value;
  scanner.ForEachMember(pos, [&](std::string_view member, size_t, size_t at) {
    if (member == name) {
      ++found;
      value = at;
    }
    return false;
  });
  if (found > 1) return false;
  if (value.has_value()) visit(*value);
  return true;
}

}  // namespace

std::vector<ArrayDataText> FindLongArrayData(std::string_view json, uint64_t min_length,
                                             const Buffer* pages) {
  const JsonScanner scanner(json, pages);
  std::vector<ArrayDataText> found;
  // False once a field is found under two keys of one object, at any depth. Each level's answer
  // is its own variable: assigned to one shared flag, an outer level's "single" would overwrite
  // an inner level's "not single" found while it was being computed.
  bool single = true;
  const bool nodes_single =
      ForTheMember(scanner, scanner.SkipWhitespace(0), "nodes", [&](size_t nodes) {
        uint64_t node = 0;
        scanner.ForEachElement(nodes, [&](size_t element) {
          const bool array_single = ForTheMember(scanner, element, "array", [&](size_t array) {
            const bool data_single = ForTheMember(scanner, array, "data", [&](size_t data) {
              const auto contents = scanner.PlainStringAt(data);
              if (contents && contents->second - contents->first >= min_length) {
                found.push_back({node, contents->first, contents->second});
              }
            });
            single = single && data_single;
          });
          single = single && array_single;
          ++node;
          return !single;
        });
      });
  if (!nodes_single || !single) found.clear();
  return found;
}

uint64_t LocateJsonPath(std::string_view json, std::string_view path, std::string_view key) {
  const JsonScanner scanner(json);
  const size_t top = scanner.SkipWhitespace(0);
  PathResolver with_key(scanner, ParsePath(path), key);
  if (std::optional<size_t> offset = with_key.Resolve(top, 0)) return *offset;
  // The key may be spelt in a way the scan does not match (escapes): settle for its object.
  PathResolver without_key(scanner, ParsePath(path), {});
  if (std::optional<size_t> offset = without_key.Resolve(top, 0)) return *offset;
  return without_key.deepest_offset();
}

}  // namespace seriald::internal
