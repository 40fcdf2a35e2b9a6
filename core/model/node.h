// File: core/model/node.h
//
// The node kinds of seriald's object model. A Value (value.h) is a table of these nodes; a node
// refers to other nodes by NodeId (its index in that table), never by pointer. Two references to
// the same NodeId are the same object: that is how shared references and cycles are represented,
// and why no reader or writer needs recursion to follow them.
//
// The kinds cover everything Torch7 and R serialize:
//   common      Nil, Boolean, Number, String, Array (typed data), Opaque (kept verbatim)
//   Torch7      Table (any keys, file order), TorchObject (class, version, payload),
//               Tensor (a view onto a storage), LuaFunction (bytecode, never executed)
//   R           StringVector, List, Pairlist, Symbol, Environment, Special, Namespace,
//               PackageEnvironment, PersistentReference, Closure, Promise, Builtin, Bytecode,
//               ExternalPointer, WeakReference, S4Object, Altrep
// Any node may carry R attributes (a Pairlist node of tagged cells) and R's flag bits.
//
// Example: see value.h.
#ifndef SERIALD_CORE_MODEL_NODE_H_
#define SERIALD_CORE_MODEL_NODE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/io/buffer.h"
#include "core/model/element_type.h"
#include "core/model/strings.h"

namespace seriald {

// Index of a node in its Value.
using NodeId = uint32_t;
// "No node here": an absent optional reference (R writes NULL for it, Torch7 nil).
inline constexpr NodeId kNoNode = std::numeric_limits<NodeId>::max();

// ---------------------------------------------------------------------------------------------
// Kinds shared by both formats.

// Lua nil / R NULL. Has no identity: readers may use one Nil node for every occurrence.
struct Nil {
  friend bool operator==(const Nil&, const Nil&) = default;
};

// A Lua boolean (R logicals are Arrays of ElementType::kLogical).
struct Boolean {
  bool value = false;
  friend bool operator==(const Boolean&, const Boolean&) = default;
};

// A Lua number (always a double on the wire).
struct Number {
  double value = 0;
  // Bitwise, so that NaN payloads and -0 compare as written.
  friend bool operator==(const Number& a, const Number& b);
};

// A typed array: Torch7 storage data, R logical/integer/double/complex/raw vector (or, in an R
// value made from plain data, a float32, float16, int8, int16 or uint8 one, which R's writer
// widens to doubles or integers as it writes it: rds::WidenedForR). `data` holds
// `length * ElementSize(type)` little-endian bytes and may be shared with other nodes or with the
// input it was read from. It is not necessarily aligned to the element size.
struct Array {
  ElementType type = ElementType::kUint8;
  uint64_t length = 0;
  Buffer data;
  // The elements are big-endian, as an XDR stream or a big-endian Torch7 file holds them. Only a
  // reader asked to keep arrays as written (ReadOptions::keep_array_byte_order) leaves them so:
  // a conversion hands the input's bytes to a writer (of that family, the other one through the
  // plain data, or of an array file), which swaps them only if its output's order differs, so
  // big-endian to big-endian copies nothing. Code that reads element values goes through
  // ForEachLittleEndianStep, CopyLittleEndian or LoadElement.
  bool big_endian = false;
  friend bool operator==(const Array&, const Array&) = default;
};

// Calls `step(values, count)` on `array`'s elements in order as little-endian bytes: once on
// `data` itself, or, when big_endian, a MiB at a time on a swapped copy of each piece
// (ReadInSteps: a mapped input is read from its file, never all resident). For writers that need
// the values (ascii, 4-byte longs).
void ForEachLittleEndianStep(
    const Array& array, const std::function<void(const uint8_t* values, uint64_t count)>& step);
// Copies elements [begin, begin + count) of `array` to `out` as little-endian bytes. The range
// must lie within the array.
void CopyLittleEndian(const Array& array, uint64_t begin, uint64_t count, uint8_t* out);
// Makes `array` little-endian in place: a big-endian array's data becomes a swapped copy (a
// step of a mapped input resident at a time) and big_endian is cleared; others are left as
// they are.
void MakeLittleEndian(Array& array);
// Element `i` of `array` as a T of the element's size (int32_t for logical and integer, double,
// ...), in either byte order.
template <typename T>
T LoadElement(const Array& array, uint64_t i) {
  T value;
  CopyLittleEndian(array, i, 1, reinterpret_cast<uint8_t*>(&value));
  return value;
}

// Bytes kept verbatim because they have no structure seriald can know (torch.Generator state,
// unknown payloads).
struct Opaque {
  Buffer bytes;
  friend bool operator==(const Opaque&, const Opaque&) = default;
};

// ---------------------------------------------------------------------------------------------
// Torch7.

// A Lua table: entries in file order; keys and values are nodes of any kind.
struct TableEntry {
  NodeId key = kNoNode;
  NodeId value = kNoNode;
  friend bool operator==(const TableEntry&, const TableEntry&) = default;
};
struct Table {
  std::vector<TableEntry> entries;
  friend bool operator==(const Table&, const Table&) = default;
};

// An instance of a Torch class (wire tag 4). Its identity is this node.
//   torch.*Storage / torch.Cuda*Storage   payload: Array of the class's element type
//   torch.*Tensor / torch.Cuda*Tensor     payload: Tensor
//   torch.Generator                       payload: Opaque (the raw THGenerator struct)
//   tds.Hash                              payload: Table (its entries)
//   tds.Vec                               payload: List (its items)
//   tds.AtomicCounter                     payload: Array of one int64
//   nn.GPU                                payload: List of two objects (header, fields)
//   any other class (nn modules, nngraph, user classes): payload is the one object the class
//   wrote, normally a Table of its fields. No class registry is needed to read or write it.
struct TorchObject {
  std::string class_name;
  // The text after "V " in the version string ("1", "1.0", "4"); nullopt for legacy objects
  // written before Torch7 recorded versions (no version string at all).
  std::optional<std::string> version = "1";
  NodeId payload = kNoNode;
  friend bool operator==(const TorchObject&, const TorchObject&) = default;
};

// A tensor: a view onto a storage. `storage` is the TorchObject node of the storage, shared
// between tensors that view it, or kNoNode for an empty tensor (written as nil).
struct Tensor {
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  int64_t storage_offset = 0;  // in elements, 0-based (Torch7 writes it 1-based)
  NodeId storage = kNoNode;
  friend bool operator==(const Tensor&, const Tensor&) = default;
};

// A serialized Lua function: its bytecode (VM specific, carried verbatim, never executed) and its
// upvalues object.
struct LuaFunction {
  // The wire tag: 8 (current, with index, upvalues as {name, value, id} tables), 7 (2014-2015,
  // with index, plain upvalue values) or 6 (before mid-2014, no index).
  uint8_t tag = 8;
  Buffer bytecode;
  NodeId upvalues = kNoNode;
  friend bool operator==(const LuaFunction&, const LuaFunction&) = default;
};

// ---------------------------------------------------------------------------------------------
// R.

// An R character vector.
// (StringVector is defined in strings.h.)

// An R generic vector (VECSXP) or expression vector (EXPRSXP); also tds.Vec items and nn.GPU's
// pair of objects.
struct List {
  bool expression = false;  // EXPRSXP rather than VECSXP
  std::vector<NodeId> items;
  friend bool operator==(const List&, const List&) = default;
};

// The type of one pairlist cell.
enum class CellType : uint8_t {
  kList = 0,      // LISTSXP: pairlists, attribute lists, environment frames, formals
  kLanguage = 1,  // LANGSXP: the first cell of a call
  kDots = 2,      // DOTSXP: `...` bindings
};

// R's per-object flag bits as written in a stream, beyond type and the attribute/tag bits.
struct RFlags {
  uint16_t levels =
      0;  // "gp" bits: S4 object (16), binding lock (1<<14), active binding (1<<15)...
  bool object = false;  // OBJECT bit: the object has a class attribute
  // The tag bit on an object that has no tag (a vector, an S4 object, an external pointer), as old
  // R versions sometimes wrote it; R ignores it, writers reproduce it.
  bool stray_tag = false;
  // The attributes bit over an attribute list written as NULL (a vector, an S4 object, an
  // external pointer...: whatever has its attributes after its payload), as no R version writes
  // but R reads as no attributes; writers reproduce it with the NULL.
  bool null_attributes = false;
  friend bool operator==(const RFlags&, const RFlags&) = default;
};

// One cell of a pairlist: an optional tag (a Symbol node), a value, and its own attributes and
// flags (binding locks live here).
struct PairlistCell {
  CellType type = CellType::kList;
  NodeId tag = kNoNode;
  NodeId value = kNoNode;
  NodeId attributes = kNoNode;
  RFlags flags;
  friend bool operator==(const PairlistCell&, const PairlistCell&) = default;
};

// A chain of pairlist cells: R pairlists, calls (first cell kLanguage), `...`, attribute lists.
// `tail` is what the last cell's CDR holds when it is not NULL: a dotted pair's value, or another
// Pairlist node where a chain is shared (byte code). A pairlist's attributes and flags are its
// cells'; the node-level attributes and flags of a Pairlist node stay empty.
struct Pairlist {
  std::vector<PairlistCell> cells;
  NodeId tail = kNoNode;
  friend bool operator==(const Pairlist&, const Pairlist&) = default;
};

// An R symbol. R interns symbols by name, so writers treat equal names as one symbol.
struct Symbol {
  StringValue name;
  friend bool operator==(const Symbol&, const Symbol&) = default;
};

// An R environment (ENVSXP). Identity matters: shared and cyclic environments are shared nodes.
struct Environment {
  bool locked = false;
  NodeId enclosure = kNoNode;   // parent environment (kNoNode reads as the base environment)
  NodeId frame = kNoNode;       // Pairlist of bindings (unhashed), or kNoNode
  NodeId hash_table = kNoNode;  // List of buckets, each Nil or a Pairlist (hashed), or kNoNode
  friend bool operator==(const Environment&, const Environment&) = default;
};

// R's singleton values that streams write as bare markers.
enum class SpecialKind : uint8_t {
  kGlobalEnv = 0,      // .GlobalEnv
  kBaseEnv = 1,        // baseenv()
  kEmptyEnv = 2,       // emptyenv()
  kBaseNamespace = 3,  // .BaseNamespaceEnv
  kMissingArg = 4,     // the empty argument (quote(expr=))
  kUnboundValue = 5,   // an unforced promise's value slot
};
struct Special {
  SpecialKind which = SpecialKind::kGlobalEnv;
  friend bool operator==(const Special&, const Special&) = default;
};

// A namespace written by reference: info is c(name, version), e.g. "stats", "4.2.2".
struct Namespace {
  StringVector info;
  friend bool operator==(const Namespace&, const Namespace&) = default;
};

// An attached package environment written by reference: info is e.g. "package:stats".
struct PackageEnvironment {
  StringVector info;
  friend bool operator==(const PackageEnvironment&, const PackageEnvironment&) = default;
};

// A persistent reference (PERSISTSXP): the strings a refhook produced for an object; the caller
// resolves them. seriald never calls back into R.
struct PersistentReference {
  StringVector names;
  friend bool operator==(const PersistentReference&, const PersistentReference&) = default;
};

// An R closure.
struct Closure {
  NodeId environment = kNoNode;
  NodeId formals = kNoNode;  // Pairlist tagged with argument names, or kNoNode
  NodeId body = kNoNode;
  friend bool operator==(const Closure&, const Closure&) = default;
};

// An R promise. A forced promise has no environment and holds its value; an unforced one holds
// Special kUnboundValue as its value.
struct Promise {
  NodeId environment = kNoNode;
  NodeId value = kNoNode;
  NodeId code = kNoNode;
  friend bool operator==(const Promise&, const Promise&) = default;
};

// A primitive function, by name ("sum", "if").
struct Builtin {
  bool special = false;  // SPECIALSXP rather than BUILTINSXP
  std::string name;
  friend bool operator==(const Builtin&, const Builtin&) = default;
};

// R byte code: the code vector (an int32 Array, element 0 is the byte-code version) and the
// constant pool. Constant 0 is the source expression. Language objects shared between constants
// are shared Pairlist nodes.
struct Bytecode {
  NodeId code = kNoNode;
  std::vector<NodeId> constants;
  friend bool operator==(const Bytecode&, const Bytecode&) = default;
};

// An external pointer: the address is never serialized; its protected value and tag are.
struct ExternalPointer {
  NodeId protected_value = kNoNode;
  NodeId tag = kNoNode;
  friend bool operator==(const ExternalPointer&, const ExternalPointer&) = default;
};

// A weak reference (serialized as an empty shell).
struct WeakReference {
  friend bool operator==(const WeakReference&, const WeakReference&) = default;
};

// An S4 object that is not a basic type: everything is in its attributes.
struct S4Object {
  friend bool operator==(const S4Object&, const S4Object&) = default;
};

// An ALTREP object kept as R wrote it (version 3 streams): the class that can rebuild it and that
// class's serialized state, e.g. compact_intseq from package base with state c(n, first, incr).
struct Altrep {
  std::string class_name;  // "compact_intseq", "deferred_string", "wrap_real", ...
  std::string package;     // "base"
  int32_t base_type = 0;   // SEXPTYPE of the vector it stands for (13 = integer, ...)
  NodeId state = kNoNode;
  friend bool operator==(const Altrep&, const Altrep&) = default;
};

// ---------------------------------------------------------------------------------------------

// The kinds, in the order of NodeData's alternatives.
enum class NodeKind : uint8_t {
  kNil,
  kBoolean,
  kNumber,
  kString,
  kArray,
  kStringVector,
  kOpaque,
  kTable,
  kTorchObject,
  kTensor,
  kLuaFunction,
  kList,
  kPairlist,
  kSymbol,
  kEnvironment,
  kSpecial,
  kNamespace,
  kPackageEnvironment,
  kPersistentReference,
  kClosure,
  kPromise,
  kBuiltin,
  kBytecode,
  kExternalPointer,
  kWeakReference,
  kS4Object,
  kAltrep,
};

using NodeData =
    std::variant<Nil, Boolean, Number, StringValue, Array, StringVector, Opaque, Table, TorchObject,
                 Tensor, LuaFunction, List, Pairlist, Symbol, Environment, Special, Namespace,
                 PackageEnvironment, PersistentReference, Closure, Promise, Builtin, Bytecode,
                 ExternalPointer, WeakReference, S4Object, Altrep>;

// The name of a kind as used in messages and the schema: "nil", "table", "torch_object", ...
std::string_view NodeKindName(NodeKind kind);

// A node: its data, plus the R attributes and flags any R object may carry.
struct Node {
  NodeData data;
  NodeId attributes = kNoNode;  // R attributes: a Pairlist node of tagged cells, or kNoNode
  RFlags r_flags;

  Node() = default;
  Node(NodeData d) : data(std::move(d)) {}  // NOLINT: implicit on purpose, for Value::Add
  NodeKind kind() const { return static_cast<NodeKind>(data.index()); }
  friend bool operator==(const Node&, const Node&) = default;
};

}  // namespace seriald

#endif  // SERIALD_CORE_MODEL_NODE_H_
