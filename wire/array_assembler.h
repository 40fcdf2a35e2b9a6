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
// Example:
//
//   ArrayAssembler arrays;
//   RETURN_IF_ERROR(arrays.Expect(id, array_proto->mutable_data(), bytes, /*reserve=*/bytes));
//   while (stream->Read(&message)) {
//     ... decode `chunk` (wire/chunk_wire.h) ...
//     RETURN_IF_ERROR(arrays.Add(chunk));
//   }
//   RETURN_IF_ERROR(arrays.CheckComplete());
#ifndef SERIALD_WIRE_ARRAY_ASSEMBLER_H_
#define SERIALD_WIRE_ARRAY_ASSEMBLER_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "wire/chunk_wire.h"

namespace seriald::wire {

class ArrayAssembler {
 public:
  // Declares that array `id`'s data, `expected` bytes, arrives in chunks, to be collected in
  // `target` (the array's data field in the header, which must be empty). Room for
  // `reserve_bytes` is made now: all of it when the size has been checked against a budget, less
  // when it comes from a peer not trusted with memory (more is then made as data arrives).
  absl::Status Expect(uint32_t id, std::string* target, uint64_t expected, uint64_t reserve_bytes);

  // Appends a chunk's data to its array (its bytes are copied once, from the received pieces).
  absl::Status Add(const ReceivedChunk& chunk);

  // OK when every declared array has all its bytes.
  absl::Status CheckComplete() const;

  bool empty() const { return pending_.empty(); }

 private:
  struct Pending {
    std::string* data;
    uint64_t expected;
  };
  absl::flat_hash_map<uint32_t, Pending> pending_;
};

}  // namespace seriald::wire

#endif  // SERIALD_WIRE_ARRAY_ASSEMBLER_H_
