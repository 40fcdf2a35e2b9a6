#include "core/torch7/reader.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/input_error.h"
#include "core/status_macros.h"
#include "core/torch7/classes.h"
#include "core/torch7/detect.h"
#include "core/torch7/primitives.h"
#include "core/torch7/tags.h"

namespace seriald {
namespace {

using torch7::ClassInfo;
using torch7::Payload;
using torch7::PrimitiveReader;

using torch7::kBooleanTag;
using torch7::kFunctionTag;
using torch7::kLegacyRecurFunctionTag;
using torch7::kNilTag;
using torch7::kNumberTag;
using torch7::kRecurFunctionTag;
using torch7::kStringTag;
using torch7::kTableTag;
using torch7::kTorchTag;
using torch7::MissingReference;
using torch7::ReferenceMismatch;
using torch7::StorageMismatch;

// NodeIds are 32-bit and kNoNode is reserved.
constexpr size_t kMaxNodes = kNoNode - 1;

// An object whose content is still being read: the objects that follow in the stream are its
// children, delivered to it in order until `remaining` reaches zero.
struct Frame {
  enum class Role : uint8_t {
    kEntries,        // `target` is a Table (a table, or tds.Hash's payload): key, value, key, ...
    kItems,          // `target` is a List (tds.Vec, nn.GPU)
    kPayload,        // `target` is a TorchObject of a generic class: its one payload object
    kTensorStorage,  // `target` is a Tensor: its storage object (nil or a matching storage)
    kUpvalues,       // `target` is a LuaFunction: its upvalues object
  };
  Role role;
  NodeId target;
  NodeId result;         // the object that is complete when this frame is
  uint64_t remaining;    // children still to read
  uint64_t start;        // offset of the result's type tag
  NodeId key = kNoNode;  // kEntries: the key waiting for its value
};

// One parse of a stream with a fixed layout.
struct Parse {
  Value value;
  // Array nodes that still hold elements as written (see torch7::ElementsNeedConversion).
  std::vector<NodeId> unconverted;
};

class StreamParser {
 public:
  StreamParser(const Buffer& input, const Torch7Layout& layout, const ReadOptions& options)
      : in_(input, layout), options_(options) {}

  size_t objects_read() const { return value_.roots().size(); }

  absl::StatusOr<Parse> Run(Torch7Extent extent) {
    do {
      ASSIGN_OR_RETURN(NodeId root, ReadObject());
      value_.roots().push_back(root);
    } while (extent == Torch7Extent::kWholeStream && !in_.AtEnd());
    if (extent == Torch7Extent::kOneObject && !in_.AtEnd() && !in_.OnlyNulRemains()) {
      return in_.Error(absl::StrCat(in_.remaining(), " unexpected bytes after the object"));
    }
    return Parse{std::move(value_), std::move(unconverted_)};
  }

 private:
  bool ascii() const { return in_.layout().ascii; }

  // Reads one complete object and everything it contains, without recursion.
  absl::StatusOr<NodeId> ReadObject() {
    while (true) {
      uint64_t start = in_.offset();
      ASSIGN_OR_RETURN(NodeId done, StartObject());
      // Hand finished objects to the frames waiting for them; a frame whose last child arrived
      // is finished in turn.
      while (done != kNoNode) {
        if (stack_.empty()) return done;
        Frame& frame = stack_.back();
        RETURN_IF_ERROR(Deliver(frame, done, start));
        if (frame.remaining > 0) break;
        done = frame.result;
        start = frame.start;
        stack_.pop_back();
      }
    }
  }

  // Reads the object at the cursor up to its first child. Returns the object when it has no
  // children (or is a back-reference), else kNoNode after pushing a frame for its children.
  absl::StatusOr<NodeId> StartObject() {
    if (value_.size() >= kMaxNodes) return in_.Error("too many objects");
    const uint64_t tag_offset = in_.offset();
    ASSIGN_OR_RETURN(int32_t tag, in_.ReadInt("type tag"));
    switch (tag) {
      case kNilTag:
        if (nil_ == kNoNode) nil_ = value_.Add(Nil{});
        return nil_;
      case kNumberTag: {
        ASSIGN_OR_RETURN(double number, in_.ReadDouble("number"));
        return value_.AddNumber(number);
      }
      case kStringTag: {
        ASSIGN_OR_RETURN(Buffer bytes, ReadString("string length", "string"));
        return value_.AddString(bytes.view());
      }
      case kBooleanTag: {
        ASSIGN_OR_RETURN(int32_t flag, in_.ReadInt("boolean"));
        return value_.Add(Boolean{flag == 1});  // File.lua:11-13 reads "== 1"
      }
      case kFunctionTag:
        return StartFunction(tag, tag_offset);
      case kTableTag:
      case kTorchTag:
      case kLegacyRecurFunctionTag:
      case kRecurFunctionTag:
        return StartIndexed(tag, tag_offset);
      default:
        return in_.ErrorAt(tag_offset,
                           torch7::DescribeBadTag(in_.input(), tag_offset, tag, !ascii()));
    }
  }

  // Tables, torch objects and recursive functions carry an index: a known one is a
  // back-reference to the object read under it.
  absl::StatusOr<NodeId> StartIndexed(int32_t tag, uint64_t tag_offset) {
    const uint64_t index_offset = in_.offset();
    ASSIGN_OR_RETURN(int32_t index, in_.ReadInt("object index"));
    if (auto it = objects_.find(index); it != objects_.end()) {
      RETURN_IF_ERROR(CheckReference(tag, index, it->second, tag_offset));
      return it->second;
    }
    // torch7 numbers new objects 1, 2, 3, ... in stream order, so an unknown index at or below
    // the last one can only be a reference to an object that does not exist.
    if (last_index_.has_value() && index <= *last_index_) {
      return in_.ErrorAt(index_offset, MissingReference(index, *last_index_));
    }
    last_index_ = index;
    switch (tag) {
      case kTableTag:
        return StartTable(index, tag_offset);
      case kTorchTag:
        return StartTorchObject(index, tag_offset);
      default:
        return StartFunction(tag, tag_offset, index);
    }
  }

  absl::Status CheckReference(int32_t tag, int32_t index, NodeId node, uint64_t tag_offset) {
    const Node& target = value_.node(node);
    bool matches = false;
    switch (tag) {
      case kTableTag:
        matches = target.kind() == NodeKind::kTable;
        break;
      case kTorchTag:
        matches = target.kind() == NodeKind::kTorchObject;
        break;
      default:
        matches = target.kind() == NodeKind::kLuaFunction &&
                  std::get<LuaFunction>(target.data).tag == tag;
    }
    if (matches) return absl::OkStatus();
    std::string what(NodeKindName(target.kind()));
    if (const auto* function = std::get_if<LuaFunction>(&target.data)) {
      what = absl::StrCat("function with tag ", function->tag);
    }
    return in_.ErrorAt(tag_offset, ReferenceMismatch(tag, index, what));
  }

  absl::StatusOr<NodeId> StartTable(int32_t index, uint64_t tag_offset) {
    const uint64_t count_offset = in_.offset();
    ASSIGN_OR_RETURN(int32_t count, in_.ReadInt("table size"));
    if (count < 0) {
      return in_.ErrorAt(count_offset, absl::StrCat("negative table size ", count));
    }
    // Each entry is at least a key tag and a value tag.
    RETURN_IF_ERROR(in_.CheckRoom(count, 2 * in_.MinIntBytes(), "table size", count_offset));
    NodeId table = value_.Add(Table{});
    value_.Get<Table>(table).entries.reserve(count);
    objects_[index] = table;  // before the content, so that the content may refer to it
    return Push(Frame{Frame::Role::kEntries, table, table, 2 * uint64_t(count), tag_offset});
  }

  absl::StatusOr<NodeId> StartFunction(int32_t tag, uint64_t tag_offset,
                                       std::optional<int32_t> index = std::nullopt) {
    ASSIGN_OR_RETURN(Buffer bytecode, ReadString("bytecode length", "bytecode"));
    NodeId function =
        value_.Add(LuaFunction{static_cast<uint8_t>(tag), std::move(bytecode), kNoNode});
    if (index.has_value()) objects_[*index] = function;
    return Push(Frame{Frame::Role::kUpvalues, function, function, 1, tag_offset});
  }

  absl::StatusOr<NodeId> StartTorchObject(int32_t index, uint64_t tag_offset) {
    ASSIGN_OR_RETURN(Buffer first, ReadString("version length", "version string"));
    std::optional<std::string> version = torch7::VersionOf(first.view());
    std::string class_name;
    if (version.has_value()) {
      ASSIGN_OR_RETURN(Buffer name, ReadString("class name length", "class name"));
      class_name = std::string(name.view());
    } else {
      class_name = std::string(first.view());  // legacy object: the first string is the class
    }
    const ClassInfo info = torch7::ClassifyClass(class_name);
    NodeId object = value_.Add(TorchObject{std::move(class_name), std::move(version), kNoNode});
    objects_[index] = object;

    switch (info.payload) {
      case Payload::kStorage: {
        ASSIGN_OR_RETURN(NodeId array, ReadStorageData(info.element_type));
        value_.Get<TorchObject>(object).payload = array;
        return object;
      }
      case Payload::kTensor:
        return StartTensor(object, tag_offset);
      case Payload::kGenerator: {
        // writeByteRaw: raw bytes in both modes.
        ASSIGN_OR_RETURN(Buffer state,
                         in_.ReadRaw(torch7::GeneratorStateSize(in_.layout().long_size),
                                     "torch.Generator state"));
        value_.Get<TorchObject>(object).payload = value_.Add(Opaque{std::move(state)});
        return object;
      }
      case Payload::kTdsHash: {
        ASSIGN_OR_RETURN(uint64_t count, ReadCount("tds.Hash size", 2 * in_.MinIntBytes()));
        NodeId table = value_.Add(Table{});
        value_.Get<Table>(table).entries.reserve(count);
        value_.Get<TorchObject>(object).payload = table;
        return Push(Frame{Frame::Role::kEntries, table, object, 2 * count, tag_offset});
      }
      case Payload::kTdsVec: {
        ASSIGN_OR_RETURN(uint64_t count, ReadCount("tds.Vec size", in_.MinIntBytes()));
        NodeId list = value_.Add(List{});
        value_.Get<List>(list).items.reserve(count);
        value_.Get<TorchObject>(object).payload = list;
        return Push(Frame{Frame::Role::kItems, list, object, count, tag_offset});
      }
      case Payload::kTdsAtomicCounter: {
        ASSIGN_OR_RETURN(int64_t counter, in_.ReadLong("tds.AtomicCounter value"));
        value_.Get<TorchObject>(object).payload =
            value_.Add(Array{ElementType::kInt64, 1, Buffer::Copy(&counter, sizeof counter)});
        return object;
      }
      case Payload::kGpuModule: {
        NodeId list = value_.Add(List{});
        value_.Get<TorchObject>(object).payload = list;
        return Push(Frame{Frame::Role::kItems, list, object, 2, tag_offset});
      }
      case Payload::kObject:
        return Push(Frame{Frame::Role::kPayload, object, object, 1, tag_offset});
    }
    return in_.Error("unhandled class payload");
  }

  // generic/Tensor.c:1275-1297: int nDimension, long size[n], long stride[n], long offset + 1,
  // then the storage object.
  absl::StatusOr<NodeId> StartTensor(NodeId object, uint64_t tag_offset) {
    const uint64_t count_offset = in_.offset();
    ASSIGN_OR_RETURN(int32_t dimensions, in_.ReadInt("tensor dimension count"));
    if (dimensions < 0) {
      return in_.ErrorAt(count_offset,
                         absl::StrCat("negative tensor dimension count ", dimensions));
    }
    RETURN_IF_ERROR(
        in_.CheckRoom(dimensions, 2 * in_.MinLongBytes(), "tensor dimension count", count_offset));
    Tensor tensor;
    RETURN_IF_ERROR(in_.ReadLongs(dimensions, &tensor.sizes, "tensor size"));
    RETURN_IF_ERROR(in_.ReadLongs(dimensions, &tensor.strides, "tensor stride"));
    ASSIGN_OR_RETURN(int64_t offset, in_.ReadLong("tensor storage offset"));
    tensor.storage_offset = static_cast<int64_t>(static_cast<uint64_t>(offset) - 1);
    NodeId payload = value_.Add(std::move(tensor));
    value_.Get<TorchObject>(object).payload = payload;
    return Push(Frame{Frame::Role::kTensorStorage, payload, object, 1, tag_offset});
  }

  // generic/Storage.c:251-261: long n, then n elements.
  absl::StatusOr<NodeId> ReadStorageData(ElementType type) {
    ASSIGN_OR_RETURN(uint64_t count, ReadCount("storage size", in_.MinElementBytes(type)));
    ASSIGN_OR_RETURN(Buffer data, in_.ReadElements(type, count, "storage data"));
    NodeId array = value_.Add(Array{type, count, std::move(data)});
    if (torch7::ElementsNeedConversion(in_.layout(), type)) unconverted_.push_back(array);
    return array;
  }

  // A long count of items of at least `bytes_each` bytes each.
  absl::StatusOr<uint64_t> ReadCount(std::string_view what, uint64_t bytes_each) {
    const uint64_t count_offset = in_.offset();
    ASSIGN_OR_RETURN(int64_t count, in_.ReadLong(what));
    if (count < 0) {
      return in_.ErrorAt(count_offset, absl::StrCat("negative ", AsAbsl(what), " ", count));
    }
    RETURN_IF_ERROR(in_.CheckRoom(count, bytes_each, what, count_offset));
    return static_cast<uint64_t>(count);
  }

  // int32 length, then raw bytes (File.lua:202-207).
  absl::StatusOr<Buffer> ReadString(std::string_view length_name, std::string_view bytes_name) {
    const uint64_t length_offset = in_.offset();
    ASSIGN_OR_RETURN(int32_t length, in_.ReadInt(length_name));
    if (length < 0) {
      return in_.ErrorAt(length_offset,
                         absl::StrCat("negative ", AsAbsl(length_name), " ", length));
    }
    RETURN_IF_ERROR(in_.CheckRoom(length, 1, length_name, length_offset));
    return in_.ReadRaw(length, bytes_name);
  }

  absl::StatusOr<NodeId> Push(Frame frame) {
    if (frame.remaining == 0) return frame.result;
    if (stack_.size() >= options_.max_depth) {
      return in_.ErrorAt(frame.start, absl::StrCat("objects nested more than ", options_.max_depth,
                                                   " deep (ReadOptions::max_depth)"));
    }
    stack_.push_back(frame);
    return kNoNode;
  }

  absl::Status Deliver(Frame& frame, NodeId child, uint64_t child_offset) {
    --frame.remaining;
    switch (frame.role) {
      case Frame::Role::kEntries:
        if (frame.key == kNoNode) {
          frame.key = child;
        } else {
          value_.Get<Table>(frame.target).entries.push_back({frame.key, child});
          frame.key = kNoNode;
        }
        return absl::OkStatus();
      case Frame::Role::kItems:
        value_.Get<List>(frame.target).items.push_back(child);
        return absl::OkStatus();
      case Frame::Role::kPayload:
        value_.Get<TorchObject>(frame.target).payload = child;
        return absl::OkStatus();
      case Frame::Role::kUpvalues:
        value_.Get<LuaFunction>(frame.target).upvalues = child;
        return absl::OkStatus();
      case Frame::Role::kTensorStorage:
        return SetTensorStorage(frame, child, child_offset);
    }
    return absl::OkStatus();
  }

  // The storage of a tensor must be nil or a storage of the tensor's own type
  // (luaT_checkudata(L, -1, torch_Storage) in generic/Tensor.c).
  absl::Status SetTensorStorage(const Frame& frame, NodeId child, uint64_t child_offset) {
    if (child == nil_) return absl::OkStatus();  // an empty tensor: storage stays kNoNode
    const std::string& tensor_class = value_.Get<TorchObject>(frame.result).class_name;
    const auto* storage = value_.GetIf<TorchObject>(child);
    if (storage == nullptr || !torch7::IsStorageClassOf(tensor_class, storage->class_name)) {
      std::string found = storage != nullptr
                              ? absl::StrCat("a ", storage->class_name)
                              : absl::StrCat("a ", AsAbsl(NodeKindName(value_.node(child).kind())));
      return in_.ErrorAt(child_offset, StorageMismatch(tensor_class, found));
    }
    value_.Get<Tensor>(frame.target).storage = child;
    return absl::OkStatus();
  }

  PrimitiveReader in_;
  const ReadOptions& options_;
  Value value_;
  std::vector<Frame> stack_;
  absl::flat_hash_map<int32_t, NodeId> objects_;  // object index -> node, for the whole stream
  std::optional<int32_t> last_index_;
  NodeId nil_ = kNoNode;  // nil has no identity: one node serves every occurrence
  std::vector<NodeId> unconverted_;
};

// A parse, and how many top-level objects it completed (also when it failed).
struct Attempt {
  absl::StatusOr<Parse> parse;
  size_t objects_read = 0;
};

Attempt ParseStream(const Buffer& input, const Torch7Layout& layout, const ReadOptions& options,
                    Torch7Extent extent) {
  StreamParser parser(input, layout, options);
  absl::StatusOr<Parse> parse = parser.Run(extent);
  return Attempt{std::move(parse), parser.objects_read()};
}

// The result of a parse in its final form: element data converted (or, when the options keep
// the byte order, big-endian arrays marked as such), layout recorded.
Value Finish(Parse parse, const Torch7Layout& layout, const ReadOptions& options) {
  for (NodeId id : parse.unconverted) {
    Array& array = parse.value.Get<Array>(id);
    // 4-byte Longs still widen: an int64 array is 8 bytes an element in either order.
    const bool widens = array.type == ElementType::kInt64 && layout.long_size == 4;
    if (options.keep_array_byte_order && !widens) {
      array.big_endian = array.length > 0;
      continue;
    }
    array.data = torch7::ConvertElements(layout, array.type, array.length, array.data);
  }
  parse.value.source().torch7 = layout;
  return std::move(parse.value);
}

// Binary with unknown long size: parse with 8 and with 4 (see reader.h).
absl::StatusOr<Value> ReadDetectingLongSize(const Buffer& input, Torch7Layout layout,
                                            const ReadOptions& options, Torch7Extent extent) {
  layout.long_size = 8;
  Attempt with8 = ParseStream(input, layout, options, extent);
  Torch7Layout layout4 = layout;
  layout4.long_size = 4;
  Attempt with4 = ParseStream(input, layout4, options, extent);
  if (with8.parse.ok() && with4.parse.ok()) {
    if (with8.parse->value == with4.parse->value)
      return Finish(*std::move(with8.parse), layout, options);
    // torch.save writes exactly one object. An empty tensor's 8-byte storage offset, read as two
    // 4-byte longs, ends the tensor with a nil storage and leaves a stray nil behind it: the
    // wrong long size typically splits one object into several.
    const bool one8 = with8.parse->value.roots().size() == 1;
    const bool one4 = with4.parse->value.roots().size() == 1;
    if (one8 && !one4) return Finish(*std::move(with8.parse), layout, options);
    if (one4 && !one8) return Finish(*std::move(with4.parse), layout4, options);
    return InputError(
        "torch7", 0,
        "the input reads completely both with 8-byte and with 4-byte longs, giving different "
        "objects; pass the long size it was written with (ReadOptions::torch7_long_size, like "
        "torch.load's 'b64' / 'b32')");
  }
  if (with8.parse.ok()) return Finish(*std::move(with8.parse), layout, options);
  if (with4.parse.ok()) return Finish(*std::move(with4.parse), layout4, options);
  // Both fail. The more plausible failure is the one inside an earlier top-level object (a wrong
  // long size tends to end an object early and fail in a phantom next one), then the one further
  // into the input; report it, and the other in passing.
  const uint64_t at8 = InputErrorOffset(with8.parse.status()).value_or(0);
  const uint64_t at4 = InputErrorOffset(with4.parse.status()).value_or(0);
  if (at8 == at4 && with8.parse.status().message() == with4.parse.status().message()) {
    return with8.parse.status();  // e.g. not a Torch7 stream at all
  }
  const bool four = with4.objects_read != with8.objects_read
                        ? with4.objects_read < with8.objects_read
                        : at4 > at8;
  const absl::Status& primary = four ? with4.parse.status() : with8.parse.status();
  const absl::Status& other = four ? with8.parse.status() : with4.parse.status();
  std::string_view other_message = AsStd(other.message());
  if (other_message.starts_with("torch7: ")) other_message.remove_prefix(8);
  return Annotate(primary, absl::StrCat("(reading with ", four ? 4 : 8, "-byte longs; with ",
                                        four ? 8 : 4, "-byte longs: ", AsAbsl(other_message), ")"));
}

}  // namespace

absl::StatusOr<Value> ReadTorch7(const Buffer& input, const ReadOptions& options, Torch7Mode mode) {
  return ReadTorch7(input, options, mode, Torch7Extent::kWholeStream);
}

absl::StatusOr<Value> ReadTorch7(const Buffer& input, const ReadOptions& options, Torch7Mode mode,
                                 Torch7Extent extent) {
  const torch7::Sniff sniff = torch7::SniffStream(input);
  ASSIGN_OR_RETURN(torch7::StartingLayout start, torch7::LayoutToStartWith(sniff, options, mode));
  if (mode == Torch7Mode::kDetect) {
    if (input.empty()) return InputError("torch7", 0, "the input is empty");
    if (sniff.encoding == torch7::Sniff::kNotTorch7 && input.size() < 4) {
      return InputError("torch7", 0, sniff.reason);
    }
  }
  const Torch7Layout& layout = start.layout;
  if (!start.long_size_known) return ReadDetectingLongSize(input, layout, options, extent);
  ASSIGN_OR_RETURN(Parse parse, ParseStream(input, layout, options, extent).parse);
  return Finish(std::move(parse), layout, options);
}

}  // namespace seriald
