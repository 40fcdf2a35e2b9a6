// File: core/data/internal/conversion_queue.h
//
// ConversionQueue: how the plain-data mappings walk one flat table (Value nodes, Data items) to
// build another without recursion. An entry gets its id in the target table the first time the
// conversion meets it (a placeholder the caller allocates), and waits in a queue to be converted;
// meeting it again gives the same id, so sharing and cycles carry over.
//
// Example:
//
//   ConversionQueue<NodeId, ItemId> queue;
//   ItemId root = queue.IdFor(value.roots()[0], [&] { return data.Add(data::Null{}); });
//   RETURN_IF_ERROR(queue.Drain([&](NodeId node, ItemId item) -> absl::Status {
//     ASSIGN_OR_RETURN(data.mutable_item(item), Convert(node));   // may call IdFor again
//     return absl::OkStatus();
//   }));
#ifndef SERIALD_CORE_DATA_INTERNAL_CONVERSION_QUEUE_H_
#define SERIALD_CORE_DATA_INTERNAL_CONVERSION_QUEUE_H_

#include <deque>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"

namespace seriald::data {

template <typename FromId, typename ToId>
class ConversionQueue {
 public:
  // The target id of `from`: `allocate()` makes its placeholder the first time, and `from` then
  // waits to be converted.
  template <typename Allocate>
  ToId IdFor(FromId from, Allocate&& allocate) {
    auto [it, inserted] = ids_.try_emplace(from, ToId{});
    if (inserted) {
      it->second = allocate();
      pending_.emplace_back(from, it->second);
    }
    return it->second;
  }

  // Calls `convert(from, to)` for each waiting entry, in the order they were met, including those
  // met while converting; stops at the first error.
  template <typename Convert>
  absl::Status Drain(Convert&& convert) {
    while (!pending_.empty()) {
      const auto [from, to] = pending_.front();
      pending_.pop_front();
      absl::Status status = convert(from, to);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  absl::flat_hash_map<FromId, ToId> ids_;
  std::deque<std::pair<FromId, ToId>> pending_;
};

}  // namespace seriald::data

#endif  // SERIALD_CORE_DATA_INTERNAL_CONVERSION_QUEUE_H_
