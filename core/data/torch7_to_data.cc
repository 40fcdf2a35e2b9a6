// Torch7 value -> plain data (torch7_mapping.h). Like r_to_data.cc: each node gets its item the
// first time it is referred to and is converted from a work queue, so sharing and cycles are kept
// and depth costs no recursion.
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/data/internal/conversion_queue.h"
#include "core/data/ndarray.h"
#include "core/data/torch7_mapping.h"
#include "core/status_macros.h"
#include "core/torch7/classes.h"

namespace seriald {
namespace {

using data::Item;
using data::NdArray;

constexpr const char* kTorch7VersionAttribute = "torch7_version";

class Torch7ToDataConverter {
 public:
  explicit Torch7ToDataConverter(const Value& value) : value_(value) {}

  absl::StatusOr<data::Data> Run() {
    for (NodeId root : value_.roots()) data_.roots().push_back(ItemFor(root));
    RETURN_IF_ERROR(queue_.Drain([&](NodeId node, ItemId item) -> absl::Status {
      ASSIGN_OR_RETURN(Item converted, Convert(node));
      data_.mutable_item(item) = std::move(converted);
      return absl::OkStatus();
    }));
    return std::move(data_);
  }

 private:
  // The item of `node`: allocated (and queued for conversion) the first time it is asked for; an
  // absent node (nil) is one Null item.
  ItemId ItemFor(NodeId node) {
    if (node == kNoNode) {
      if (null_item_ == kNoItem) null_item_ = data_.Add(data::Null{});
      return null_item_;
    }
    return queue_.IdFor(node, [&] { return data_.Add(data::Null{}); });
  }

  absl::Status NodeError(NodeId id, std::string_view problem) const {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", id, " (", AsAbsl(NodeKindName(value_.node(id).kind())), "): ", AsAbsl(problem)));
  }

  absl::StatusOr<Item> Convert(NodeId id) {
    const Node& node = value_.node(id);
    switch (node.kind()) {
      case NodeKind::kNil:
        return Item(data::Null{});
      case NodeKind::kBoolean:
        return Item(data::Boolean{std::get<Boolean>(node.data).value});
      case NodeKind::kNumber:
        return Item(data::Number{std::get<Number>(node.data).value});
      case NodeKind::kString:
        return Item(data::String{std::get<StringValue>(node.data).bytes});
      case NodeKind::kTable:
        return ConvertTable(std::get<Table>(node.data));
      case NodeKind::kList: {  // tds.Vec items, nn.GPU's pair (reached through their objects)
        data::Sequence sequence;
        for (NodeId child : std::get<List>(node.data).items)
          sequence.items.push_back(ItemFor(child));
        return Item(std::move(sequence));
      }
      case NodeKind::kTorchObject:
        return ConvertObject(id, std::get<TorchObject>(node.data));
      case NodeKind::kArray: {
        const auto& array = std::get<Array>(node.data);
        NdArray ndarray = NdArray::Vector(array.type, array.length, array.data);
        ndarray.big_endian = array.big_endian;
        return Item(std::move(ndarray));
      }
      case NodeKind::kLuaFunction:
        return Item(data::Opaque{
            "function",
            absl::StrCat("a Lua function (", std::get<LuaFunction>(node.data).bytecode.size(),
                         " bytes of bytecode)")});
      case NodeKind::kOpaque:
        return Item(data::Opaque{"opaque",
                                 absl::StrCat(std::get<Opaque>(node.data).bytes.size(), " bytes")});
      default:
        return Item(data::Opaque{std::string(NodeKindName(node.kind())), "not a Torch7 value"});
    }
  }

  // Keys exactly 1..n (as numbers, in any order) make a sequence; anything else a map.
  absl::StatusOr<Item> ConvertTable(const Table& table) {
    const size_t n = table.entries.size();
    std::vector<NodeId> by_position(n, kNoNode);
    bool sequence = true;
    for (const TableEntry& entry : table.entries) {
      const auto* key = value_.GetIf<Number>(entry.key);
      if (key == nullptr || !(key->value >= 1 && key->value <= static_cast<double>(n)) ||
          key->value != std::floor(key->value) ||
          by_position[static_cast<size_t>(key->value) - 1] != kNoNode) {
        sequence = false;
        break;
      }
      by_position[static_cast<size_t>(key->value) - 1] = entry.value;
    }
    if (sequence) {
      data::Sequence result;
      result.items.reserve(n);
      for (NodeId child : by_position) result.items.push_back(ItemFor(child));
      return Item(std::move(result));
    }
    data::Map map;
    map.entries.reserve(n);
    for (const TableEntry& entry : table.entries) {
      map.entries.emplace_back(ItemFor(entry.key), ItemFor(entry.value));
    }
    return Item(std::move(map));
  }

  absl::StatusOr<Item> ConvertObject(NodeId id, const TorchObject& object) {
    const torch7::ClassInfo info = torch7::ClassifyClass(object.class_name);
    const Node* payload = value_.Contains(object.payload) ? &value_.node(object.payload) : nullptr;
    switch (info.payload) {
      case torch7::Payload::kStorage: {
        const auto* array = payload ? std::get_if<Array>(&payload->data) : nullptr;
        if (array == nullptr) return NodeError(id, "a storage without its elements");
        // The class says it was a storage, not a tensor, so that it is written back as one.
        NdArray ndarray = NdArray::Vector(array->type, array->length, array->data);
        ndarray.big_endian = array->big_endian;
        Item item(std::move(ndarray));
        item.classes = {object.class_name};
        return item;
      }
      case torch7::Payload::kTensor: {
        const auto* tensor = payload ? std::get_if<Tensor>(&payload->data) : nullptr;
        if (tensor == nullptr) return NodeError(id, "a tensor without its view");
        ASSIGN_OR_RETURN(Item item, ConvertTensor(id, info.element_type, *tensor));
        // A class the element type alone does not give (torch.CudaTensor) is kept.
        if (object.class_name.find("Cuda") != std::string::npos) item.classes = {object.class_name};
        return item;
      }
      case torch7::Payload::kGenerator:
        return Item(data::Opaque{"torch.Generator", "random number generator state"});
      case torch7::Payload::kTdsAtomicCounter: {
        const auto* array = payload ? std::get_if<Array>(&payload->data) : nullptr;
        if (array == nullptr || array->length != 1) return NodeError(id, "a counter without value");
        int64_t counter;
        std::memcpy(&counter, array->data.data(), 8);
        Item item(data::Number{static_cast<double>(counter)});
        item.classes = {object.class_name};
        return item;
      }
      default:
        break;
    }
    // A class object: its payload's entries (a field table, tds.Hash) or items (tds.Vec, nn.GPU)
    // with the class name; a payload of any other kind is kept as the only entry.
    Item item;
    if (payload != nullptr && payload->kind() == NodeKind::kTable) {
      data::Map map;
      for (const TableEntry& entry : std::get<Table>(payload->data).entries) {
        map.entries.emplace_back(ItemFor(entry.key), ItemFor(entry.value));
      }
      item = Item(std::move(map));
    } else if (payload != nullptr && payload->kind() == NodeKind::kList) {
      data::Sequence sequence;
      for (NodeId child : std::get<List>(payload->data).items) {
        sequence.items.push_back(ItemFor(child));
      }
      item = Item(std::move(sequence));
    } else {
      data::Map map;
      map.entries.emplace_back(data_.Add(data::String{"payload"}), ItemFor(object.payload));
      item = Item(std::move(map));
    }
    item.classes = {object.class_name};
    // A version other than the one DataToTorch7 writes by default is kept, since a class's reader
    // may depend on it (nn.BatchNormalization's "V 2" changes its fields); no version at all (a
    // legacy object) is kept as null.
    const char* usual = object.class_name.starts_with("tds.") ? "0" : "1";
    if (object.version != usual) {
      item.attributes.emplace_back(kTorch7VersionAttribute,
                                   object.version.has_value()
                                       ? data_.Add(data::String{*object.version})
                                       : data_.Add(data::Null{}));
    }
    return item;
  }

  absl::StatusOr<Item> ConvertTensor(NodeId id, ElementType type, const Tensor& tensor) {
    NdArray array;
    array.dtype = type;
    if (tensor.storage == kNoNode || tensor.sizes.empty()) {
      // An empty tensor (nDimension 0): no elements, whatever its storage.
      array.shape = {0};
      array.strides = {1};
      return Item(std::move(array));
    }
    const auto* storage = value_.GetIf<TorchObject>(tensor.storage);
    const auto* elements = storage ? value_.GetIf<Array>(storage->payload) : nullptr;
    if (elements == nullptr) return NodeError(id, "a tensor whose storage has no elements");
    array.dtype = elements->type;
    array.shape = tensor.sizes;
    array.strides = tensor.strides;
    array.offset = static_cast<uint64_t>(tensor.storage_offset);
    array.length = elements->length;
    array.data = elements->data;
    array.big_endian = elements->big_endian;
    absl::Status view = data::CheckView(array, absl::StrCat("node ", id, " (tensor)"));
    if (!view.ok()) return absl::FailedPreconditionError(view.message());
    return Item(std::move(array));
  }

  const Value& value_;
  data::Data data_;
  data::ConversionQueue<NodeId, ItemId> queue_;
  ItemId null_item_ = kNoItem;
};

}  // namespace

absl::StatusOr<data::Data> Torch7ToData(const Value& value) {
  return Torch7ToDataConverter(value).Run();
}

}  // namespace seriald
