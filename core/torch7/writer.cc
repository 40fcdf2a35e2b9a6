#include "core/torch7/writer.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/status_macros.h"
#include "core/torch7/classes.h"
#include "core/torch7/primitives.h"
#include "core/torch7/tags.h"

namespace seriald {
namespace {

using torch7::ClassInfo;
using torch7::Payload;
using torch7::PrimitiveWriter;

using torch7::kBooleanTag;
using torch7::kFunctionTag;
using torch7::kNilTag;
using torch7::kNumberTag;
using torch7::kStringTag;
using torch7::kTableTag;
using torch7::kTorchTag;

constexpr uint64_t kMaxInt = std::numeric_limits<int32_t>::max();

absl::Status NodeError(NodeId id, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot write as Torch7: node ", id, " ", AsAbsl(problem)));
}

// "a float32 array", "a table", "a torch.FloatStorage object".
std::string Describe(const Value& value, NodeId id) {
  const Node& node = value.node(id);
  if (const auto* array = std::get_if<Array>(&node.data)) {
    return absl::StrCat("a ", AsAbsl(ElementTypeName(array->type)), " array");
  }
  if (const auto* object = std::get_if<TorchObject>(&node.data)) {
    return absl::StrCat("a ", object->class_name, " object");
  }
  return absl::StrCat("a ", AsAbsl(NodeKindName(node.kind())));
}

// Children still to write after an object's header, in stream order.
struct Frame {
  enum class Kind : uint8_t {
    kEntries,  // `container` is a Table: key, value, key, value, ...
    kItems,    // `container` is a List
    kSingle,   // `container` is the one child itself
  };
  NodeId owner;  // the object whose content this is (marked as being written)
  Kind kind;
  NodeId container;
  uint64_t next;
  uint64_t count;
};

class StreamWriter {
 public:
  StreamWriter(const Value& value, const Torch7Layout& layout, ByteWriter& bytes, bool referenced)
      : value_(value),
        bytes_(bytes),
        out_(bytes, layout),
        referenced_(referenced),
        index_of_(value.size(), 0),
        on_path_(value.size(), false) {}

  absl::Status Run() {
    if (value_.roots().empty()) {
      return absl::InvalidArgumentError("cannot write as Torch7: the value has no objects");
    }
    for (NodeId root : value_.roots()) {
      RETURN_IF_ERROR(WriteObject(root));
    }
    return absl::OkStatus();
  }

 private:
  const Torch7Layout& layout() const { return out_.layout(); }

  // Writes one object and everything in it, in pre-order, without recursion.
  absl::Status WriteObject(NodeId root) {
    RETURN_IF_ERROR(Begin(root));
    while (!stack_.empty() && bytes_.ok()) {
      Frame& frame = stack_.back();
      if (frame.next == frame.count) {
        on_path_[frame.owner] = false;
        stack_.pop_back();
        continue;
      }
      NodeId child = ChildOf(frame, frame.next++);
      RETURN_IF_ERROR(Begin(child));  // may push a frame: `frame` is not used after this
    }
    // A failed output stops the writer; ByteWriter::Finish reports why.
    stack_.clear();
    return absl::OkStatus();
  }

  NodeId ChildOf(const Frame& frame, uint64_t i) const {
    switch (frame.kind) {
      case Frame::Kind::kEntries: {
        const TableEntry& entry = value_.Get<Table>(frame.container).entries[i / 2];
        return i % 2 == 0 ? entry.key : entry.value;
      }
      case Frame::Kind::kItems:
        return value_.Get<List>(frame.container).items[i];
      case Frame::Kind::kSingle:
        return frame.container;
    }
    return kNoNode;
  }

  void Push(NodeId owner, Frame::Kind kind, NodeId container, uint64_t count) {
    if (count == 0) return;
    on_path_[owner] = true;
    stack_.push_back(Frame{owner, kind, container, 0, count});
  }

  // Writes the object `id` up to its children and pushes a frame for them.
  absl::Status Begin(NodeId id) {
    const Node& node = value_.node(id);
    if (node.attributes != kNoNode || node.r_flags != RFlags{}) {
      return NodeError(id, "has R attributes or flags, which Torch7 cannot hold");
    }
    switch (node.kind()) {
      case NodeKind::kNil:
        out_.WriteInt(kNilTag);
        return absl::OkStatus();
      case NodeKind::kBoolean:
        out_.WriteInt(kBooleanTag);
        out_.WriteInt(std::get<Boolean>(node.data).value ? 1 : 0);
        return absl::OkStatus();
      case NodeKind::kNumber:
        out_.WriteInt(kNumberTag);
        out_.WriteDouble(std::get<Number>(node.data).value);
        return absl::OkStatus();
      case NodeKind::kString: {
        const auto& string = std::get<StringValue>(node.data);
        if (string.is_na) return NodeError(id, "is R's NA string, which Torch7 cannot hold");
        out_.WriteInt(kStringTag);
        return WriteString(id, string.bytes);
      }
      case NodeKind::kTable: {
        ASSIGN_OR_RETURN(bool fresh, BeginIndexed(id, kTableTag));
        if (!fresh) return absl::OkStatus();
        const Table& table = value_.Get<Table>(id);
        if (table.entries.size() > kMaxInt) {
          return NodeError(id, "has more table entries than an int32 can count");
        }
        out_.WriteInt(static_cast<int32_t>(table.entries.size()));
        Push(id, Frame::Kind::kEntries, id, 2 * uint64_t{table.entries.size()});
        return absl::OkStatus();
      }
      case NodeKind::kTorchObject:
        return BeginTorchObject(id);
      case NodeKind::kLuaFunction:
        return BeginFunction(id);
      case NodeKind::kArray:
      case NodeKind::kTensor:
      case NodeKind::kOpaque:
      case NodeKind::kList:
        return NodeError(id, absl::StrCat("is ", Describe(value_, id),
                                          ", which Torch7 holds only as the payload of a torch "
                                          "object of a matching class"));
      default:
        return NodeError(id, absl::StrCat("is an R ", AsAbsl(NodeKindName(node.kind())),
                                          ", which Torch7 cannot hold"));
    }
  }

  // The tag and index of a table, torch object or recursive function. Returns false when the
  // object was written before and this is a back-reference (nothing more to write).
  absl::StatusOr<bool> BeginIndexed(NodeId id, int32_t tag) {
    if (index_of_[id] != 0) {
      out_.WriteInt(tag);
      out_.WriteInt(index_of_[id]);
      return false;
    }
    if (on_path_[id]) {
      return NodeError(id, "is part of a cycle, which cannot be written with referenced = false");
    }
    if (next_index_ == std::numeric_limits<int32_t>::max()) {
      return NodeError(id, "is one object more than an int32 index can number");
    }
    const int32_t index = ++next_index_;
    if (referenced_) index_of_[id] = index;  // referenced = false: never a back-reference
    out_.WriteInt(tag);
    out_.WriteInt(index);
    return true;
  }

  absl::Status WriteString(NodeId id, std::string_view bytes) {
    if (bytes.size() > kMaxInt) return NodeError(id, "has a string longer than 2^31-1 bytes");
    out_.WriteInt(static_cast<int32_t>(bytes.size()));
    out_.WriteRaw(bytes);
    return absl::OkStatus();
  }

  absl::Status BeginFunction(NodeId id) {
    const LuaFunction& function = value_.Get<LuaFunction>(id);
    if (function.tag == kFunctionTag) {
      // Tag 6 has no index, so it cannot be referred back to: it is written at each occurrence.
      if (on_path_[id]) {
        return NodeError(id,
                         "is a tag 6 function inside its own upvalues, which cannot be "
                         "written (tag 6 functions have no index to refer back to)");
      }
      out_.WriteInt(kFunctionTag);
    } else {
      ASSIGN_OR_RETURN(bool fresh, BeginIndexed(id, function.tag));
      if (!fresh) return absl::OkStatus();
    }
    if (function.bytecode.size() > kMaxInt) return NodeError(id, "has bytecode over 2^31-1 bytes");
    out_.WriteInt(static_cast<int32_t>(function.bytecode.size()));
    out_.WriteRaw(function.bytecode);
    Push(id, Frame::Kind::kSingle, function.upvalues, 1);
    return absl::OkStatus();
  }

  // A payload node of the kind `T` for object `id`, or an error naming both.
  template <typename T>
  absl::StatusOr<const T*> PayloadAs(NodeId id, const TorchObject& object,
                                     std::string_view needed) {
    const T* payload = value_.GetIf<T>(object.payload);
    if (payload == nullptr) {
      return NodeError(id, absl::StrCat("is a ", object.class_name, ", which needs ",
                                        AsAbsl(needed), " payload, but its payload (node ",
                                        object.payload, ") is ", Describe(value_, object.payload)));
    }
    return payload;
  }

  absl::Status CheckCount(NodeId id, uint64_t count, std::string_view what) {
    if (layout().ascii || layout().long_size == 8 || count <= kMaxInt) return absl::OkStatus();
    return NodeError(id, absl::StrCat("has a ", AsAbsl(what), " of ", count,
                                      ", which does not fit a 4-byte long"));
  }

  absl::Status BeginTorchObject(NodeId id) {
    const TorchObject& object = value_.Get<TorchObject>(id);
    const ClassInfo info = torch7::ClassifyClass(object.class_name);
    RETURN_IF_ERROR(CheckPayloadKind(id, object, info));
    ASSIGN_OR_RETURN(bool fresh, BeginIndexed(id, kTorchTag));
    if (!fresh) return absl::OkStatus();
    // Torch7's readObject (and seriald's reader) tell a version from a legacy class name by
    // whether "V " is followed by a number: anything else would be read as something else.
    if (object.version.has_value()) {
      const std::string first = absl::StrCat("V ", *object.version);
      if (!torch7::VersionOf(first).has_value()) {
        return NodeError(id, absl::StrCat("has version \"", absl::CHexEscape(*object.version),
                                          "\", which is not a number; Torch7 would read \"V ",
                                          absl::CHexEscape(*object.version),
                                          "\" as its class name"));
      }
      RETURN_IF_ERROR(WriteString(id, first));
    } else if (torch7::VersionOf(object.class_name).has_value()) {
      return NodeError(id, absl::StrCat("has no version and the class name \"",
                                        absl::CHexEscape(object.class_name),
                                        "\", which Torch7 would read as a version string"));
    }
    RETURN_IF_ERROR(WriteString(id, object.class_name));

    switch (info.payload) {
      case Payload::kStorage: {
        const Array& array = value_.Get<Array>(object.payload);
        RETURN_IF_ERROR(CheckCount(id, array.length, "storage size"));
        out_.WriteLong(static_cast<int64_t>(array.length));
        out_.WriteElements(array.type, array.length, array.data, array.big_endian);
        return absl::OkStatus();
      }
      case Payload::kTensor:
        return WriteTensor(id, object);
      case Payload::kGenerator:
        return WriteGeneratorState(id, value_.Get<Opaque>(object.payload).bytes);
      case Payload::kTdsHash: {
        const Table& table = value_.Get<Table>(object.payload);
        RETURN_IF_ERROR(CheckCount(id, table.entries.size(), "tds.Hash size"));
        out_.WriteLong(static_cast<int64_t>(table.entries.size()));
        Push(id, Frame::Kind::kEntries, object.payload, 2 * uint64_t{table.entries.size()});
        return absl::OkStatus();
      }
      case Payload::kTdsVec: {
        const List& list = value_.Get<List>(object.payload);
        RETURN_IF_ERROR(CheckCount(id, list.items.size(), "tds.Vec size"));
        out_.WriteLong(static_cast<int64_t>(list.items.size()));
        Push(id, Frame::Kind::kItems, object.payload, list.items.size());
        return absl::OkStatus();
      }
      case Payload::kTdsAtomicCounter: {
        out_.WriteLong(LoadElement<int64_t>(value_.Get<Array>(object.payload), 0));
        return absl::OkStatus();
      }
      case Payload::kGpuModule:
        Push(id, Frame::Kind::kItems, object.payload, 2);
        return absl::OkStatus();
      case Payload::kObject:
        Push(id, Frame::Kind::kSingle, object.payload, 1);
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  // Whether `object`'s payload has the shape its class writes (see classes.h).
  absl::Status CheckPayloadKind(NodeId id, const TorchObject& object, const ClassInfo& info) {
    switch (info.payload) {
      case Payload::kStorage: {
        ASSIGN_OR_RETURN(const Array* array, PayloadAs<Array>(id, object, "an array"));
        if (array->type != info.element_type) {
          return NodeError(id, absl::StrCat("is a ", object.class_name, ", which holds ",
                                            AsAbsl(ElementTypeName(info.element_type)),
                                            " elements, but its payload (node ", object.payload,
                                            ") is ", Describe(value_, object.payload)));
        }
        return absl::OkStatus();
      }
      case Payload::kTensor:
        return PayloadAs<Tensor>(id, object, "a tensor").status();
      case Payload::kGenerator: {
        ASSIGN_OR_RETURN(const Opaque* state, PayloadAs<Opaque>(id, object, "an opaque"));
        const uint64_t size = state->bytes.size();
        if (size != torch7::GeneratorStateSize(4) && size != torch7::GeneratorStateSize(8)) {
          return NodeError(id, absl::StrCat("is a torch.Generator whose state has ", size,
                                            " bytes; it must have ", torch7::GeneratorStateSize(8),
                                            " (8-byte longs) or ", torch7::GeneratorStateSize(4),
                                            " (4-byte longs)"));
        }
        return absl::OkStatus();
      }
      case Payload::kTdsHash:
        return PayloadAs<Table>(id, object, "a table").status();
      case Payload::kTdsVec:
        return PayloadAs<List>(id, object, "a list").status();
      case Payload::kTdsAtomicCounter: {
        ASSIGN_OR_RETURN(const Array* array, PayloadAs<Array>(id, object, "an int64 array"));
        if (array->type != ElementType::kInt64 || array->length != 1) {
          return NodeError(id, absl::StrCat("is a tds.AtomicCounter, which needs one int64 as "
                                            "payload, but node ",
                                            object.payload, " has ", array->length, " ",
                                            AsAbsl(ElementTypeName(array->type))));
        }
        return absl::OkStatus();
      }
      case Payload::kGpuModule: {
        ASSIGN_OR_RETURN(const List* list, PayloadAs<List>(id, object, "a list"));
        if (list->items.size() != 2) {
          return NodeError(id, absl::StrCat("is an nn.GPU, which needs a list of two objects "
                                            "(header, fields), but node ",
                                            object.payload, " has ", list->items.size()));
        }
        return absl::OkStatus();
      }
      case Payload::kObject: {
        const NodeKind kind = value_.node(object.payload).kind();
        if (kind == NodeKind::kArray || kind == NodeKind::kTensor || kind == NodeKind::kOpaque ||
            kind == NodeKind::kList) {
          return NodeError(id,
                           absl::StrCat("is a ", object.class_name,
                                        ", a class whose payload "
                                        "is one object, but its payload (node ",
                                        object.payload, ") is ", Describe(value_, object.payload),
                                        " (only storage, tensor, tds and nn.GPU classes "
                                        "hold those)"));
        }
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }

  // generic/Tensor.c:1249-1273.
  // A THGenerator is a raw struct: its long fields follow the writing machine's long size and
  // byte order. A state from another layout (a Windows checkpoint written for Linux, a
  // big-endian stream written little-endian) is re-laid field by field; one already in this
  // layout is written as it is.
  absl::Status WriteGeneratorState(NodeId id, const Buffer& state) {
    const std::optional<Torch7Layout>& source = value_.source().torch7;
    const torch7::GeneratorLayout to{layout().long_size, layout().big_endian};
    const torch7::GeneratorLayout from{
        state.size() == torch7::GeneratorStateSize(4) ? 4 : 8,
        source.has_value() ? source->big_endian : to.big_endian};
    if (from == to) {
      out_.WriteRaw(state);
      return absl::OkStatus();
    }
    absl::StatusOr<std::string> relaid = torch7::RelayGeneratorState(state.view(), from, to);
    if (!relaid.ok()) return NodeError(id, absl::StrCat("is a torch.Generator whose ", relaid.status().message()));
    out_.WriteRaw(std::string_view(*relaid));
    return absl::OkStatus();
  }

  absl::Status WriteTensor(NodeId id, const TorchObject& object) {
    const Tensor& tensor = value_.Get<Tensor>(object.payload);
    if (tensor.sizes.size() > kMaxInt) return NodeError(id, "has too many dimensions");
    if (tensor.storage != kNoNode) {
      const auto* storage = value_.GetIf<TorchObject>(tensor.storage);
      if (storage == nullptr || !torch7::IsStorageClassOf(object.class_name, storage->class_name)) {
        return NodeError(id, absl::StrCat("is a ", object.class_name, " whose storage (node ",
                                          tensor.storage, ") is ", Describe(value_, tensor.storage),
                                          ", not its own storage class"));
      }
    }
    out_.WriteInt(static_cast<int32_t>(tensor.sizes.size()));
    out_.WriteLongs(tensor.sizes);
    out_.WriteLongs(tensor.strides);
    out_.WriteLong(static_cast<int64_t>(static_cast<uint64_t>(tensor.storage_offset) + 1));
    if (tensor.storage == kNoNode) {
      out_.WriteInt(kNilTag);
      return absl::OkStatus();
    }
    return Begin(tensor.storage);  // a storage has no children: nothing is pushed
  }

  const Value& value_;
  ByteWriter& bytes_;
  PrimitiveWriter out_;
  const bool referenced_;
  std::vector<int32_t> index_of_;  // 0 = not written yet (torch7 indices start at 1)
  std::vector<bool> on_path_;      // objects whose content is being written
  std::vector<Frame> stack_;
  int32_t next_index_ = 0;
};

}  // namespace

absl::Status WriteTorch7(const Value& value, const Torch7Layout& layout, ByteWriter& out,
                         bool referenced) {
  if (layout.long_size != 4 && layout.long_size != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("torch7 long size must be 4 or 8, not ", layout.long_size));
  }
  RETURN_IF_ERROR(value.Validate());
  return StreamWriter(value, layout, out, referenced).Run();
}

}  // namespace seriald
