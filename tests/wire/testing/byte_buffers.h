// File: tests/wire/testing/byte_buffers.h
//
// gRPC byte buffers for wire/'s tests: a message as gRPC would hand it over, cut into slices
// where a test says, and an encoded message's bytes in one string.
//
// Example:
//
//   grpc::ByteBuffer message = Received(request.SerializeAsString(), {3, 100});  // 3 slices
//   EXPECT_EQ(Flatten(EncodeArrayChunk(...)), expected.SerializeAsString());
#ifndef SERIALD_TESTS_WIRE_TESTING_BYTE_BUFFERS_H_
#define SERIALD_TESTS_WIRE_TESTING_BYTE_BUFFERS_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace seriald::wire::testing {

// All of `message`'s bytes, its slices joined.
inline std::string Flatten(const grpc::ByteBuffer& message) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(message.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

// `bytes` as a received message, cut into slices at the given offsets (increasing; others are
// ignored).
inline grpc::ByteBuffer Received(const std::string& bytes, std::vector<size_t> cuts = {}) {
  std::vector<grpc::Slice> slices;
  size_t begin = 0;
  cuts.push_back(bytes.size());
  for (size_t cut : cuts) {
    if (cut < begin || cut > bytes.size()) continue;
    slices.emplace_back(bytes.data() + begin, cut - begin);
    begin = cut;
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

}  // namespace seriald::wire::testing

#endif  // SERIALD_TESTS_WIRE_TESTING_BYTE_BUFFERS_H_
