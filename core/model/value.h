// File: core/model/value.h
//
// Value: seriald's in-memory form of everything a Torch7 or R stream holds. It is a flat table of
// nodes (node.h) plus the ids of the top-level objects ("roots": a Torch7 stream may hold several
// objects one after another; an R stream holds one). Nodes refer to each other by id, so shared
// references and cycles are ordinary, depth costs no stack, and the table maps one-to-one onto
// the public schema (proto/seriald/v1/value.proto).
//
// A Value also remembers the facts of the stream it was read from (Torch7 mode, long size and
// byte order; R format, version and header), so that writing it back in the same format
// reproduces the input byte for byte unless the caller asks for something else.
//
// Thread safety: a const Value may be read from several threads; mutation needs exclusive access.
//
// Example: build {name = "net", weights = <FloatTensor 2x2>, self = <the table itself>} and walk
// it.
//
//   Value value;
//   NodeId storage = value.Add(TorchObject{"torch.FloatStorage", "1",
//       value.Add(Array{ElementType::kFloat32, 4, Buffer::Copy(floats, 16)})});
//   NodeId tensor = value.Add(TorchObject{"torch.FloatTensor", "1",
//       value.Add(Tensor{{2, 2}, {2, 1}, 0, storage})});
//   NodeId table = value.Add(Table{});
//   value.Get<Table>(table).entries = {
//       {value.AddString("name"), value.AddString("net")},
//       {value.AddString("weights"), tensor},
//       {value.AddString("self"), table}};            // a cycle: the table contains itself
//   value.roots().push_back(table);
//
//   for (const TableEntry& e : value.Get<Table>(table).entries) {
//     if (value.node(e.value).kind() == NodeKind::kTorchObject) { ... }
//   }
#ifndef SERIALD_CORE_MODEL_VALUE_H_
#define SERIALD_CORE_MODEL_VALUE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/model/node.h"

namespace seriald {

// How a Torch7 stream was (or is to be) laid out. Nothing in a Torch7 file records this; readers
// detect it and writers take it from options or from the source.
struct Torch7Layout {
  bool ascii = false;       // text mode rather than binary
  int long_size = 8;        // bytes per C long in binary mode: 8 (LP64) or 4 (Windows, 32-bit)
  bool big_endian = false;  // binary byte order
  friend bool operator==(const Torch7Layout&, const Torch7Layout&) = default;
};

// The encodings of an R serialization stream.
enum class RFormat : uint8_t {
  kXdr = 0,       // "X\n": big-endian binary (serialize's and saveRDS's default)
  kNative = 1,    // "B\n": little-endian binary
  kAscii = 2,     // "A\n": text, doubles as %.16g
  kAsciiHex = 3,  // "A\n": text, doubles as C99 hex floats (serialize(ascii = NA))
};

// What wraps an R stream on disk.
enum class RCompression : uint8_t { kNone = 0, kGzip = 1, kBzip2 = 2, kXz = 3 };

// The header of an R stream, and its container.
struct RStreamInfo {
  RFormat format = RFormat::kXdr;
  int32_t version = 3;                  // 2 or 3
  int32_t writer_version = 0x00040202;  // R_Version of the writer (4.2.2)
  int32_t min_reader_version = 0x00030500;
  std::string native_encoding = "UTF-8";  // version 3 only
  RCompression compression = RCompression::kNone;
  // save()/load() files: the magic line without "\n" ("RDX3", "RDX2", "RDA3", ...); empty for a
  // plain serialize()/saveRDS() stream.
  std::string rdata_magic;
  // Bytes after the object (inside any compression), which R's readRDS(), unserialize() and
  // load() ignore: kept, so that writing the stream back in its own format reproduces them.
  Buffer trailing_bytes = Buffer();
  // gzip: the 10-byte member header of the source (its OS byte, time stamp, extra flags) when it
  // is a plain header that differs from the one R writes; written again when the file is.
  std::string gzip_header = std::string();
  friend bool operator==(const RStreamInfo&, const RStreamInfo&) = default;
};

// Facts about the stream a Value came from.
struct SourceInfo {
  std::optional<Torch7Layout> torch7;
  std::optional<RStreamInfo> r;
  friend bool operator==(const SourceInfo&, const SourceInfo&) = default;
};

class Value {
 public:
  // Appends a node and returns its id.
  NodeId Add(Node node) {
    nodes_.push_back(std::move(node));
    return static_cast<NodeId>(nodes_.size() - 1);
  }
  // Appends a node of kind T (Table, Array, TorchObject, ...) without attributes.
  template <typename T, typename = std::enable_if_t<!std::is_same_v<std::decay_t<T>, Node>>>
  NodeId Add(T data) {
    nodes_.emplace_back(NodeData(std::move(data)));
    return static_cast<NodeId>(nodes_.size() - 1);
  }
  NodeId AddString(std::string_view bytes, StringEncoding encoding = StringEncoding::kNative) {
    return Add(StringValue{std::string(bytes), encoding, false});
  }
  NodeId AddNumber(double number) { return Add(Number{number}); }

  size_t size() const { return nodes_.size(); }
  bool Contains(NodeId id) const { return id < nodes_.size(); }
  const Node& node(NodeId id) const { return nodes_[id]; }
  Node& mutable_node(NodeId id) { return nodes_[id]; }
  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& mutable_nodes() { return nodes_; }

  // The node's data as kind T (which must be its kind).
  template <typename T>
  T& Get(NodeId id) {
    return std::get<T>(nodes_[id].data);
  }
  template <typename T>
  const T& Get(NodeId id) const {
    return std::get<T>(nodes_[id].data);
  }
  // The node's data as kind T, or nullptr if it is another kind or the id is out of range.
  template <typename T>
  const T* GetIf(NodeId id) const {
    return id < nodes_.size() ? std::get_if<T>(&nodes_[id].data) : nullptr;
  }

  // Top-level objects, in stream order.
  const std::vector<NodeId>& roots() const { return roots_; }
  std::vector<NodeId>& roots() { return roots_; }

  const SourceInfo& source() const { return source_; }
  SourceInfo& source() { return source_; }

  // Checks what every writer relies on: each root and each reference names an existing node and
  // sits where its kind is allowed (a tensor's storage is a storage object, a pairlist's tag is a
  // symbol, ...). INVALID_ARGUMENT naming the node otherwise. Values from readers always pass;
  // values built by hand or decoded from JSON are checked before they are written.
  absl::Status Validate() const;

  void Reserve(size_t count) { nodes_.reserve(count); }

  friend bool operator==(const Value&, const Value&) = default;

 private:
  std::vector<Node> nodes_;
  std::vector<NodeId> roots_;
  SourceInfo source_;
};

// Makes every big-endian array of `value` (Array::big_endian, what a reader asked to keep arrays
// as written leaves) of at most `max_bytes` bytes little-endian (MakeLittleEndian). Larger ones
// stay as written, for a consumer that swaps them a step at a time as it streams them out
// (wire::SendArrayChunks): how DeserializeStream sends an XDR input's vectors without holding a
// swapped copy of them.
void MakeArraysLittleEndian(Value& value, uint64_t max_bytes);

// Calls `visit(NodeId)` for every node `node` refers to (kNoNode references are skipped), in the
// order a writer meets them.
template <typename Visit>
void ForEachReference(const Node& node, Visit&& visit);

}  // namespace seriald

#include "core/model/internal/references_inl.h"

#endif  // SERIALD_CORE_MODEL_VALUE_H_
