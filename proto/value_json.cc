#include "proto/value_json.h"

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/step_reader.h"
#include "core/model/element_type.h"
#include "core/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "proto/internal/json_large_arrays.h"
#include "proto/internal/json_parse.h"
#include "proto/value_conversion.h"
#include "seriald/v1/value.pb.h"

namespace seriald {

namespace {

// Protobuf's JSON text of `message`.
absl::StatusOr<std::string> PrintJson(const seriald::v1::Value& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  // Fields at their default stay out: the text is shorter, and protobuf 3.21 prints defaults by
  // first building the whole message as a tree (about 20 us per node). Ids are `optional` in the
  // schema, so a reference to node 0 is printed all the same.
  options.always_print_primitive_fields = false;
  options.always_print_enums_as_ints = false;
  options.preserve_proto_field_names = false;
  std::string json;
  google::protobuf::util::Status status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat(
        "json: printing failed: ", std::string(status.message().data(), status.message().size())));
  }
  return json;
}

// What a large array holds while the message is printed: 24 bytes (32 base64 characters, no
// padding) with this writing's random nonce and the node id, so that no bytes of the value are
// taken for it.
std::string Placeholder(uint64_t nonce, NodeId id) {
  std::string bytes = "seriald:";
  bytes.append(reinterpret_cast<const char*>(&nonce), 8);
  const uint64_t wide_id = id;
  bytes.append(reinterpret_cast<const char*>(&wide_id), 8);
  return bytes;
}

// Appends the base64 text (RFC 4648 with padding, as protobuf prints bytes) of the bytes given
// to Add, in pieces of any size, to `out`: every whole group of three bytes as it comes, what is
// left at Finish.
class Base64Appender {
 public:
  explicit Base64Appender(ByteWriter& out) : out_(out) {}

  void Add(std::string_view bytes) {
    if (carried_ > 0) {
      while (carried_ < 3 && !bytes.empty()) {
        carry_[carried_++] = bytes.front();
        bytes.remove_prefix(1);
      }
      if (carried_ < 3) return;
      Encode(std::string_view(carry_, 3));
      carried_ = 0;
    }
    const size_t whole = bytes.size() / 3 * 3;
    if (whole > 0) Encode(bytes.substr(0, whole));
    for (char byte : bytes.substr(whole)) carry_[carried_++] = byte;
  }

  void Finish() {
    if (carried_ > 0) Encode(std::string_view(carry_, carried_));
    carried_ = 0;
  }

 private:
  void Encode(std::string_view bytes) {
    absl::Base64Escape(AsAbsl(bytes), &text_);  // text_'s memory serves every step
    out_.Append(text_);
  }

  ByteWriter& out_;
  std::string text_;
  char carry_[3] = {};
  size_t carried_ = 0;
};

// 3 MiB: whole groups of three bytes and whole elements of every size, so that only the last
// step leaves bytes over.
constexpr size_t kBase64StepBytes = size_t{3} << 20;

// The base64 of `array`'s data as little-endian bytes, a step at a time (a mapped input's read
// from its file, big-endian ones swapped).
absl::Status AppendArrayBase64(const Array& array, ByteWriter& out) {
  Base64Appender base64(out);
  const size_t swap_bytes = array.big_endian ? SwapUnit(array.type) : 0;
  const absl::Status read =
      ReadInSteps(array.data, kBase64StepBytes, swap_bytes, [&](const Buffer& step) {
        base64.Add(step.view());
        return out.ok() ? absl::OkStatus() : absl::CancelledError();
      });
  // An output that failed (its limit, its file) stops the steps; its own error is what
  // ByteWriter::Finish returns.
  if (!out.ok()) return absl::OkStatus();
  RETURN_IF_ERROR(read);
  base64.Finish();
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteValueJson(const Value& value, bool pretty, bool newline_at_end, ByteWriter& out) {
  const ToProtoOptions options{.max_inline_array_bytes = kJsonInlineArrayBytes};
  seriald::v1::Value message;
  RETURN_IF_ERROR(ToProto(value, &message, options));
  const std::vector<NodeId> large = ArraysLeftOut(value, options);
  std::vector<std::string> placeholders;
  if (!large.empty()) {
    std::random_device random;
    const uint64_t nonce = (static_cast<uint64_t>(random()) << 32) ^ random();
    for (NodeId id : large) {
      std::string bytes = Placeholder(nonce, id);
      placeholders.push_back(absl::Base64Escape(bytes));
      message.mutable_nodes(static_cast<int>(id))->mutable_array()->set_data(std::move(bytes));
    }
  }
  ASSIGN_OR_RETURN(const std::string text, PrintJson(message, pretty));
  message.Clear();
  // Nodes are printed in id order, so each placeholder comes after the one before.
  size_t written = 0;
  for (size_t i = 0; i < large.size() && out.ok(); ++i) {
    const size_t at = text.find(placeholders[i], written);
    if (at == std::string::npos) {
      return absl::InternalError(absl::StrCat("json: the data of node ", large[i],
                                              " is not where protobuf printed the array"));
    }
    out.Append(text.data() + written, at - written);
    RETURN_IF_ERROR(AppendArrayBase64(value.Get<Array>(large[i]), out));
    written = at + placeholders[i].size();
  }
  out.Append(text.data() + written, text.size() - written);
  if (newline_at_end && (text.empty() || text.back() != '\n')) out.AppendByte('\n');
  return absl::OkStatus();
}

absl::StatusOr<std::string> ValueToJson(const Value& value, bool pretty) {
  ByteWriter out;
  RETURN_IF_ERROR(WriteValueJson(value, pretty, /*newline_at_end=*/false, out));
  BufferChain text;
  RETURN_IF_ERROR(out.Finish(&text));
  return text.ToString();
}

namespace {

absl::StatusOr<Value> ReadJson(std::string_view json, const Buffer* input) {
  if (std::optional<Value> value = internal::ReadJsonDecodingLargeArrays(json, input)) {
    return *std::move(value);
  }
  seriald::v1::Value message;
  RETURN_IF_ERROR(internal::ParseJsonMessage(json, &message));
  absl::StatusOr<Value> value = FromProto(std::move(message));
  if (!value.ok()) {
    return absl::Status(value.status().code(), absl::StrCat("json: ", value.status().message()));
  }
  return value;
}

}  // namespace

absl::StatusOr<Value> ValueFromJson(std::string_view json) { return ReadJson(json, nullptr); }

absl::StatusOr<Value> ValueFromJson(const Buffer& json) { return ReadJson(json.view(), &json); }

}  // namespace seriald
