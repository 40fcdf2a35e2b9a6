// File: core/io/piece_queue.h
//
// PieceQueue: pieces of a byte stream handed from one thread that receives them to another that
// consumes them, in order, held in memory up to a bound and in a spill file (spill_file.h)
// beyond it.
//
// When the queue is full the receiving side waits for room as long as the consuming side keeps
// taking pieces (it is just slower: the receiver is held back, and nothing spills). When the
// consumer takes nothing for a while (`stall`: it cannot go on, say because its output cannot be
// sent to a client that sends all its input before it reads any output), the receiver goes on
// and the queue grows into the spill file, so neither end of such a stream waits for the other
// and memory stays at the bound whatever the stream's size. Spilled bytes are read back once;
// the file goes with the queue. (Giving its blocks back behind the reader, by punching holes,
// makes the reader wait for the writeback of the pages it punches: in service_benchmark, a
// 1.5 GiB stream from a client that sends all first went at 394 MiB/s with it, 478 without.)
//
// Thread-safe: one thread pushes, one pops.
//
// Example:
//
//   PieceQueue queue(spill_dir, 16 << 20, reserve_spill);
//   std::thread receiver([&] {
//     while (auto pieces = ReceiveNext()) queue.Push(*pieces);   // never blocks
//     queue.Close(absl::OkStatus());
//   });
//   while (true) {
//     ASSIGN_OR_RETURN(std::optional<Buffer> piece, queue.Pop());   // waits for one
//     if (!piece) break;
//     ...
//   }
#ifndef SERIALD_CORE_IO_PIECE_QUEUE_H_
#define SERIALD_CORE_IO_PIECE_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/io/buffer.h"
#include "core/io/spill_file.h"

namespace seriald {

class PieceQueue {
 public:
  // How long a full queue's receiver waits, by default, for the consumer to take a piece before
  // it counts the consumer as stalled and goes on. Long enough that a consumer which is only
  // slow (converting, or sending to a client that reads a little late) is not taken for stalled;
  // a client that sends all before it reads pays it once.
  static constexpr std::chrono::milliseconds kDefaultStall{250};

  // Pieces beyond `memory_bytes` queued go to a spill file in `spill_dir` (created when first
  // needed), each byte counted first with `reserve_spill` (may be null). An empty `spill_dir`
  // keeps everything in memory, and what is held beyond `memory_bytes` (the caller's to reserve)
  // is counted with `reserve_memory` (may be null) as the most held at once grows.
  PieceQueue(std::string spill_dir, uint64_t memory_bytes,
             std::function<absl::Status(uint64_t bytes)> reserve_spill,
             std::function<absl::Status(uint64_t bytes)> reserve_memory = nullptr,
             std::chrono::milliseconds stall = kDefaultStall);

  // The receiving side. Adds `pieces` after those before. An error (the spill file failing, its
  // budget) is for the receiver to Close the queue with. Once the consumer has Abandoned the
  // queue, pieces are dropped.
  absl::Status Push(const std::vector<Buffer>& pieces);
  // No more pieces: the stream ended (OK), or failed with `status`, which Pop then returns once
  // the pieces before it are consumed.
  void Close(absl::Status status);

  // The consuming side. The next piece, waiting for it; nullopt once the queue is closed with OK
  // and empty.
  absl::StatusOr<std::optional<Buffer>> Pop();
  // The consumer is done (it failed): what is queued is dropped, and so is what comes after.
  void Abandon();

  // The most bytes ever held in memory at once (for tests and benchmarks).
  uint64_t peak_memory_bytes() const;
  // Bytes that went through the spill file.
  uint64_t spilled_bytes() const;

 private:
  // A piece in memory, or one waiting in the spill file at `offset`.
  struct Entry {
    Buffer piece;
    uint64_t offset = 0;
    uint64_t size = 0;
    bool spilled = false;
  };

  const std::string spill_dir_;
  const uint64_t memory_bytes_;
  const std::function<absl::Status(uint64_t)> reserve_spill_;
  const std::function<absl::Status(uint64_t)> reserve_memory_;
  const std::chrono::milliseconds stall_;
  uint64_t memory_reserved_;  // what reserve_memory_ has been told, with memory_bytes_

  mutable std::mutex mutex_;
  std::condition_variable ready_;  // a piece, or the end, for the consumer
  std::condition_variable taken_;  // the consumer took a piece
  uint64_t pops_ = 0;
  uint64_t stalled_at_pops_ = UINT64_MAX;  // pops_ when the consumer was last found stalled
  std::deque<Entry> entries_;
  uint64_t in_memory_ = 0;
  uint64_t peak_memory_ = 0;
  uint64_t spilled_pending_ = 0;  // entries in the spill file not yet popped
  uint64_t spilled_total_ = 0;
  std::optional<absl::Status> closed_;
  bool abandoned_ = false;
  // Written by the pushing thread only, read at offsets it has finished writing.
  std::optional<SpillFile> spill_;
};

}  // namespace seriald

#endif  // SERIALD_CORE_IO_PIECE_QUEUE_H_
