#include "proto/json_codec.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "proto/value_json.h"

namespace seriald {
namespace {

bool IsJsonWhitespace(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The first node nested deeper than `max_depth` when the graph is walked as a writer nests it
// (roots at depth 1, each node at its first occurrence, references in ForEachReference order),
// or kNoNode. Iterative, so the walk itself has no depth limit.
NodeId FirstNodeDeeperThan(const Value& value, uint64_t max_depth) {
  std::vector<bool> seen(value.size());
  // Children of the nodes on the current path, each frame's after its parent's: a frame's children
  // are pending[begin, end) and the next to visit is pending[next].
  std::vector<NodeId> pending;
  struct Frame {
    size_t begin;
    size_t next;
    size_t end;
  };
  std::vector<Frame> path;
  auto enter = [&](NodeId id) {
    seen[id] = true;
    const size_t begin = pending.size();
    ForEachReference(value.node(id), [&](NodeId child) { pending.push_back(child); });
    path.push_back(Frame{begin, begin, pending.size()});
  };
  for (NodeId root : value.roots()) {
    if (seen[root]) continue;
    if (max_depth < 1) return root;
    enter(root);
    while (!path.empty()) {
      Frame& top = path.back();
      if (top.next == top.end) {
        pending.resize(top.begin);
        path.pop_back();
        continue;
      }
      const NodeId child = pending[top.next++];
      if (seen[child]) continue;
      if (path.size() + 1 > max_depth) return child;
      enter(child);
    }
  }
  return kNoNode;
}

class JsonCodec : public Codec {
 public:
  std::string_view name() const override { return "json"; }
  std::string_view description() const override {
    return "JSON form of the seriald.v1.Value message (lossless; bytes as base64)";
  }
  std::string_view family() const override { return "json"; }
  bool WritesBigEndianArrays() const override { return true; }  // WriteValueJson swaps them

  Recognition Recognize(const Buffer& input) const override {
    for (uint8_t byte : input.view()) {
      if (IsJsonWhitespace(byte)) continue;
      if (byte == '{') return {Recognition::kYes, "starts with {"};
      break;
    }
    return {Recognition::kNo, "first non-whitespace byte is not {"};
  }

  absl::StatusOr<Value> Read(const Buffer& input, const ReadOptions& options) const override {
    ASSIGN_OR_RETURN(Value value, ValueFromJson(input));
    if (NodeId deep = FirstNodeDeeperThan(value, options.max_depth); deep != kNoNode) {
      return absl::InvalidArgumentError(absl::StrCat("json: node ", deep,
                                                     " is nested deeper than the limit of ",
                                                     options.max_depth, " levels"));
    }
    return value;
  }

  absl::Status Write(const Value& value, const WriteOptions& options,
                     ByteWriter& out) const override {
    return WriteValueJson(value, options.json_pretty, /*newline_at_end=*/true, out);
  }
};

}  // namespace

void RegisterJsonCodec(CodecRegistry& registry) {
  registry.Register(std::make_unique<JsonCodec>());
}

}  // namespace seriald
