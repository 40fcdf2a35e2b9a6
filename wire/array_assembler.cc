#include "wire/array_assembler.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"

namespace seriald::wire {

absl::Status ArrayAssembler::Expect(uint32_t id, uint64_t inline_bytes, uint64_t expected,
                                    uint64_t reserve_bytes) {
  if (inline_bytes != 0 || pending_.contains(id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "streamed array ", id, " must be listed once and have empty data in the header"));
  }
  auto data = std::make_unique<GrowableBuffer>();
  absl::Status reserved = data->Reserve(std::min(expected, reserve_bytes));
  if (!reserved.ok()) return reserved;
  ahead_ += data->capacity();
  pending_[id] = Pending{std::move(data), expected};
  return absl::OkStatus();
}

absl::Status ArrayAssembler::Add(const ReceivedChunk& chunk) {
  auto it = pending_.find(chunk.node);
  if (it == pending_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a chunk for node ", chunk.node, ", which is not listed in streamed_arrays"));
  }
  Pending& target = it->second;
  const uint64_t have = target.data->size();
  if (chunk.offset != have || chunk.size > target.expected - have) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a chunk for node ", chunk.node, " at offset ", chunk.offset, " of ", chunk.size,
        " bytes, where ", have, " of ", target.expected, " bytes had arrived"));
  }
  const uint64_t end = have + chunk.size;
  const uint64_t current = target.data->capacity();
  if (end > current) {
    // What this array may take: what the chunk needs, twice what it has, or what is left of the
    // head start (the room the other arrays hold counts against it); never past its size.
    const uint64_t others_ahead = ahead_ - (current - have);
    const uint64_t head_start =
        head_start_bytes_ > others_ahead ? head_start_bytes_ - others_ahead : 0;
    absl::Status reserved =
        target.data->Reserve(std::min(target.expected, std::max({end, 2 * current, head_start})));
    if (!reserved.ok()) return reserved;
    ahead_ = others_ahead + (target.data->capacity() - have);
  }
  for (std::string_view piece : chunk.pieces) {
    absl::Status appended = target.data->Append(piece.data(), piece.size());
    if (!appended.ok()) return appended;
  }
  ahead_ -= chunk.size;
  return absl::OkStatus();
}

uint64_t ArrayAssembler::held_bytes() const {
  uint64_t held = 0;
  for (const auto& [id, target] : pending_) held += target.data->capacity();
  return held;
}

absl::Status ArrayAssembler::CheckComplete() const {
  // The lowest id first, so that the message does not depend on the map's order.
  std::vector<uint32_t> short_ids;
  for (const auto& [id, target] : pending_) {
    if (target.data->size() != target.expected) short_ids.push_back(id);
  }
  if (short_ids.empty()) return absl::OkStatus();
  const uint32_t id = *std::min_element(short_ids.begin(), short_ids.end());
  const Pending& target = pending_.at(id);
  return absl::InvalidArgumentError(absl::StrCat("the stream ended with node ", id, " at ",
                                                 target.data->size(), " of ", target.expected,
                                                 " bytes"));
}

absl::flat_hash_map<uint32_t, Buffer> ArrayAssembler::Finish() && {
  absl::flat_hash_map<uint32_t, Buffer> arrays;
  for (auto& [id, target] : pending_) arrays[id] = std::move(*target.data).Finish();
  pending_.clear();
  return arrays;
}

}  // namespace seriald::wire
