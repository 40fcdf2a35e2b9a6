// File: core/torch7/writer.h
//
// Writes a Value as a Torch7 object stream, byte for byte as torch7's File:writeObject would
// (File.lua:107-243): each root in turn on one "file", object indices numbered 1, 2, 3, ... in
// pre-order and continued across roots, torch objects as "V <version>" + class name + payload,
// tensors with their 1-based storage offset, numbers in the layout's binary or ascii form.
//
// A node reached a second time (by NodeId) is written as a back-reference (its tag and index),
// as torch7 does for the same Lua object. With `referenced` false (torch.save(..., referenced =
// false)) every occurrence is written in full under a fresh index instead; a cycle then cannot
// be written and is an error.
//
// The writer walks the Value with its own stack, so depth costs no C++ stack. Little-endian
// storage data goes to the ByteWriter by reference (no copy); big-endian data is byte-swapped
// straight into the writer's blocks.
//
// What Torch7 cannot hold is refused with INVALID_ARGUMENT naming the node: R kinds (pairlists,
// environments, string vectors, ...), R attributes and flags, NA strings, a payload that does
// not fit its class (an Array whose element type is not the storage's, a Tensor under a class
// that is not a tensor class, a tensor whose storage is not its storage class, a
// torch.Generator state of the wrong size for the long size), and Arrays, Tensors and Lists
// anywhere but as the payload of their class.
//
// Example:
//
//   ByteWriter out;
//   RETURN_IF_ERROR(WriteTorch7(value, Torch7Layout{.ascii = true}, out));
//   BufferChain bytes;
//   RETURN_IF_ERROR(out.Finish(&bytes));
//   RETURN_IF_ERROR(WriteFile("model.ascii.t7", bytes));
#ifndef SERIALD_CORE_TORCH7_WRITER_H_
#define SERIALD_CORE_TORCH7_WRITER_H_

#include "absl/status/status.h"
#include "core/io/byte_writer.h"
#include "core/model/value.h"

namespace seriald {

// Appends `value`'s roots to `out` in `layout` (long_size must be 4 or 8). On error, `out` may
// hold part of the stream.
absl::Status WriteTorch7(const Value& value, const Torch7Layout& layout, ByteWriter& out,
                         bool referenced = true);

}  // namespace seriald

#endif  // SERIALD_CORE_TORCH7_WRITER_H_
