// File: wire/array_assembler.h
//
// ArrayAssembler: the one place streamed array data is put back together, on both ends of the
// service: the server assembles SerializeStream's arrays, the C++ client DeserializeStream's.
// A header message lists the arrays whose data follows in ArrayChunk messages; each array's
// chunks must come whole and in order. Nothing a peer sends is taken on trust: a chunk for an
// array not listed, at another offset than where the last one ended, or past the array's size,
// and a stream that ends before every array is whole, are errors naming the array and the
// offsets, never writes out of place or allocations the peer merely claims.
//
// Each array is collected in its own GrowableBuffer (core/io/growable_buffer.h): memory is taken
// as bytes arrive, and growing moves page tables, not bytes, so a 1.5 GiB array from a peer trusted
// with only 64 MiB up front is still copied once, from gRPC's slices into its place. An array's
// memory starts at what its first chunk needs, or more, up to a head start the caller justifies
// (the C++ client: the size of the input it sent), and at least doubles when it grows, never past
// the declared size. The head start is shared: all arrays together hold at most that many bytes
// beyond what has arrived (plus what doubling adds), so a peer that starts many arrays at once,
// a byte each, gets no more memory than one head start and what it sends.
//
// Example:
//
//   ArrayAssembler arrays;
//   RETURN_IF_ERROR(arrays.Expect(id, array_proto.data().size(), bytes, /*reserve=*/bytes));
//   while (stream->Read(&message)) {
//     ... decode `chunk` (wire/chunk_wire.h) ...
//     RETURN_IF_ERROR(arrays.Add(chunk));
//   }
//   RETURN_IF_ERROR(arrays.CheckComplete());
//   ASSIGN_OR_RETURN(Value value, FromProto(std::move(message), std::move(arrays).Finish()));
#ifndef SERIALD_WIRE_ARRAY_ASSEMBLER_H_
#define SERIALD_WIRE_ARRAY_ASSEMBLER_H_

#include <cstdint>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/io/buffer.h"
#include "core/io/growable_buffer.h"
#include "wire/chunk_wire.h"

namespace seriald::wire {

class ArrayAssembler {
 public:
  // `head_start_bytes`: what all arrays together may hold beyond the data that has arrived, when
  // they grow (see the file comment).
  explicit ArrayAssembler(uint64_t head_start_bytes = 0) : head_start_bytes_(head_start_bytes) {}

  // Declares that array `id`'s data, `expected` bytes, arrives in chunks. `inline_bytes` is what
  // the header itself holds of it, which must be nothing. Room for `reserve_bytes` is made now:
  // all of it when the size has been checked against a budget (the server), nothing when it comes
  // from a peer not trusted with memory (the head start, then what arrives, decide).
  absl::Status Expect(uint32_t id, uint64_t inline_bytes, uint64_t expected,
                      uint64_t reserve_bytes);

  // Appends a chunk's data to its array (its bytes are copied once, from the received pieces).
  absl::Status Add(const ReceivedChunk& chunk);

  // OK when every declared array has all its bytes.
  absl::Status CheckComplete() const;

  // The arrays, by id, once CheckComplete is OK; the assembler is left empty.
  absl::flat_hash_map<uint32_t, Buffer> Finish() &&;

  // The memory the arrays hold, all together: what has arrived and the room made beyond it.
  uint64_t held_bytes() const;

 private:
  struct Pending {
    std::unique_ptr<GrowableBuffer> data;
    uint64_t expected;
  };
  absl::flat_hash_map<uint32_t, Pending> pending_;
  const uint64_t head_start_bytes_;
  uint64_t ahead_ = 0;  // the room all arrays have beyond the bytes that arrived
};

}  // namespace seriald::wire

#endif  // SERIALD_WIRE_ARRAY_ASSEMBLER_H_
