#include "proto/internal/json_parse.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/input_error.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/zero_copy_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "proto/internal/json_path.h"
#include "core/model/utf8.h"

namespace seriald::internal {
namespace {

namespace pbu = ::google::protobuf::util;

constexpr std::string_view kFormat = "json";
// Chunk size of the first parse; the re-parse that locates a syntax error steps byte by byte
// through only the chunk the error was found in.
constexpr size_t kChunkSize = 64 * 1024;
// protobuf's parser quotes this many bytes either side of the caret.
constexpr size_t kSnippetRadius = 20;

// Hands out `data` to the parser: one piece up to `bulk_end`, then pieces of `chunk_size`.
class ChunkedInput : public google::protobuf::io::ZeroCopyInputStream {
 public:
  ChunkedInput(std::string_view data, size_t bulk_end, size_t chunk_size)
      : data_(data), bulk_end_(bulk_end), chunk_size_(chunk_size) {}

  bool Next(const void** data, int* size) override {
    if (position_ >= data_.size()) {
      exhausted_ = true;
      return false;
    }
    size_t length = position_ < bulk_end_ ? bulk_end_ - position_ : chunk_size_;
    length = std::min({length, data_.size() - position_, static_cast<size_t>(INT_MAX)});
    *data = data_.data() + position_;
    *size = static_cast<int>(length);
    position_ += length;
    last_length_ = length;
    return true;
  }
  void BackUp(int count) override { position_ -= static_cast<size_t>(count); }
  bool Skip(int count) override {
    const size_t step = std::min(static_cast<size_t>(count), data_.size() - position_);
    position_ += step;
    return step == static_cast<size_t>(count);
  }
  int64_t ByteCount() const override { return static_cast<int64_t>(position_); }

  // Bytes handed out so far: the parser has seen exactly these when it fails.
  size_t position() const { return position_; }
  size_t last_length() const { return last_length_; }
  // True once the parser asked for more than there is (it failed while finishing, or later).
  bool exhausted() const { return exhausted_; }

 private:
  std::string_view data_;
  size_t bulk_end_;
  size_t chunk_size_;
  size_t position_ = 0;
  size_t last_length_ = 0;
  bool exhausted_ = false;
};

struct Attempt {
  pbu::Status status;
  size_t position = 0;     // bytes the parser had been given when it stopped
  size_t last_length = 0;  // size of the last piece it was given
  bool exhausted = false;
};

Attempt Parse(std::string_view json, const google::protobuf::Message& prototype, size_t bulk_end,
              size_t chunk_size, std::string* binary) {
  std::unique_ptr<pbu::TypeResolver> resolver(pbu::NewTypeResolverForDescriptorPool(
      "type.googleapis.com", prototype.GetDescriptor()->file()->pool()));
  ChunkedInput input(json, bulk_end, chunk_size);
  google::protobuf::io::StringOutputStream output(binary);
  pbu::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  Attempt attempt;
  attempt.status = pbu::JsonToBinaryStream(
      resolver.get(), "type.googleapis.com/" + prototype.GetDescriptor()->full_name(), &input,
      &output, options);
  attempt.position = input.position();
  attempt.last_length = input.last_length();
  attempt.exhausted = input.exhausted();
  return attempt;
}

// A syntax error as protobuf's parser words it: "<problem>\n<snippet>\n<spaces>^".
struct SyntaxError {
  std::string problem;
  std::string snippet;
  size_t caret = 0;  // offset of the problem within `snippet`
};

std::optional<SyntaxError> SplitSyntaxError(std::string_view message) {
  if (message.empty() || message.back() != '^') return std::nullopt;
  const size_t caret_line = message.rfind('\n', message.size() - 1);
  if (caret_line == std::string_view::npos) return std::nullopt;
  const size_t spaces = message.size() - 1 - (caret_line + 1);
  if (message.substr(caret_line + 1, spaces).find_first_not_of(' ') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view head = message.substr(0, caret_line);
  const size_t problem_end = head.find('\n');
  if (problem_end == std::string_view::npos) return std::nullopt;
  return SyntaxError{std::string(head.substr(0, problem_end)),
                     std::string(head.substr(problem_end + 1)), spaces};
}

// Longest text kept from protobuf's message: it quotes offending values whole, and one may be
// megabytes of base64.
constexpr size_t kMaxQuotedBytes = 240;

// `text` on one line and of bounded length.
std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxQuotedBytes)) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  if (text.size() > kMaxQuotedBytes) {
    // Do not end inside a UTF-8 sequence.
    while (!out.empty() && (static_cast<uint8_t>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<uint8_t>(out.back()) >= 0xC0) out.pop_back();
    out += "...";
  }
  return out;
}

// "Unexpected token." -> "unexpected token", to read well before " at byte N".
std::string Reword(std::string_view problem) {
  while (!problem.empty() && (problem.back() == '.' || problem.back() == ' ')) {
    problem.remove_suffix(1);
  }
  std::string out = OneLine(problem);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') {
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  }
  return out;
}

bool SnippetAt(std::string_view json, size_t offset, const SyntaxError& error) {
  if (offset < error.caret || offset > json.size()) return false;
  return json.substr(offset - error.caret, error.snippet.size()) == error.snippet;
}

// The offset of a syntax error found when the parser had been given json[0, given). The caret
// points into the parser's current chunk; that chunk ends at `given`, or up to three bytes earlier
// when it ends inside a UTF-8 sequence the parser keeps for later. When the snippet stops short of
// the chunk's end (a very long pending token, undecodable bytes the parser set aside), the snippet
// is looked for backwards from there.
uint64_t SyntaxErrorOffset(std::string_view json, size_t given, const SyntaxError& error) {
  given = std::min(given, json.size());
  const size_t after_caret = error.snippet.size() - std::min(error.caret, error.snippet.size());
  if (after_caret < kSnippetRadius) {
    for (size_t lag = 0; lag <= 3 && lag + after_caret <= given; ++lag) {
      const size_t offset = given - lag - after_caret;
      if (SnippetAt(json, offset, error)) return offset;
    }
  }
  const size_t invalid = FirstInvalidUtf8(json);
  if (invalid < json.size() && SnippetAt(json, invalid, error)) return invalid;
  const size_t last_start = given >= error.snippet.size() ? given - error.snippet.size() : 0;
  for (size_t start = last_start + 1; start-- > 0;) {
    if (json.substr(start, error.snippet.size()) == error.snippet) return start + error.caret;
  }
  return given;
}

// An error about a field, as protobuf's JSON-to-proto writer words it:
//   "(path): invalid value ..." / "(path) name: Cannot find field." / "name: ..." at the top.
absl::Status FieldError(std::string_view json, std::string_view message) {
  std::string_view path;
  std::string_view rest = message;
  if (!rest.empty() && rest[0] == '(') {
    const size_t close = rest.find(')');
    if (close != std::string_view::npos) {
      path = rest.substr(1, close - 1);
      rest = rest.substr(close + 1);
    }
  }
  if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  const std::string where = path.empty() ? std::string() : absl::StrCat(AsAbsl(path), ": ");
  if (rest.substr(0, 2) == ": ") {
    // A value error at `path`. A second kind for one node reads "oneof field 'kind' is already
    // set. Cannot set 'boolean'": point at that second key.
    std::string_view problem = rest.substr(2);
    std::string_view key;
    constexpr std::string_view kCannotSet = "Cannot set '";
    if (size_t at = problem.find(kCannotSet); at != std::string_view::npos) {
      key = problem.substr(at + kCannotSet.size());
      key = key.substr(0, key.find('\''));
    }
    return InputError(kFormat, LocateJsonPath(json, path, key),
                      absl::StrCat(where, Reword(problem)));
  }
  // "<name>: <problem>" names a key of the object at `path`.
  const size_t colon = rest.rfind(": ");
  if (colon != std::string_view::npos) {
    const std::string_view name = rest.substr(0, colon);
    const std::string_view problem = rest.substr(colon + 2);
    const std::string text =
        problem == "Cannot find field."
            ? absl::StrCat("unknown field \"", OneLine(name), "\"",
                           path.empty() ? "" : absl::StrCat(" in ", AsAbsl(path)))
            : absl::StrCat(where, OneLine(name), ": ", Reword(problem));
    return InputError(kFormat, LocateJsonPath(json, path, name), text);
  }
  return InputError(kFormat, LocateJsonPath(json, path), absl::StrCat(where, Reword(rest)));
}

}  // namespace

absl::Status ParseJsonMessage(std::string_view json, google::protobuf::Message* message) {
  std::string binary;
  Attempt attempt = Parse(json, *message, 0, kChunkSize, &binary);
  if (attempt.status.ok()) {
    if (!message->ParseFromString(binary)) {
      return absl::InvalidArgumentError(absl::StrCat("json: the text does not describe a valid ",
                                                     message->GetDescriptor()->full_name(),
                                                     " message"));
    }
    return absl::OkStatus();
  }
  const std::string text(attempt.status.message().data(), attempt.status.message().size());
  std::optional<SyntaxError> syntax = SplitSyntaxError(text);
  if (!syntax) return FieldError(json, text);

  size_t given = attempt.position;
  if (!attempt.exhausted) {
    // Parse again, one byte at a time through the chunk that failed, so that the parser's chunk
    // ends right where it noticed the problem.
    std::string scratch;
    const size_t bulk_end = attempt.position - attempt.last_length;
    Attempt exact = Parse(json, *message, bulk_end, 1, &scratch);
    std::optional<SyntaxError> again;
    if (!exact.status.ok()) {
      again = SplitSyntaxError(
          std::string(exact.status.message().data(), exact.status.message().size()));
    }
    if (again) {
      syntax = std::move(again);
      given = exact.position;
    }
  }
  return InputError(kFormat, SyntaxErrorOffset(json, given, *syntax), Reword(syntax->problem));
}

}  // namespace seriald::internal
