// Plain data -> Torch7 value (torch7_mapping.h). Items are converted from a work queue, each once,
// so shared items and cycles stay shared (Torch7 writes back-references for them).
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/data/internal/conversion_queue.h"
#include "core/data/ndarray.h"
#include "core/data/torch7_mapping.h"
#include "core/io/byte_order.h"
#include "core/status_macros.h"
#include "core/torch7/classes.h"

namespace seriald {
namespace {

using data::Item;
using data::ItemKind;
using data::NdArray;

// The Torch7 type stem an array of `type` is written with: R's logical and raw arrays become
// Byte tensors (logical as bytes 0/1); complex has none.
std::string_view TypeStem(ElementType type) {
  if (type == ElementType::kRaw || type == ElementType::kLogical) return "Byte";
  return torch7::TypeStem(type);
}

class DataToTorch7Converter {
 public:
  explicit DataToTorch7Converter(const data::Data& plain) : plain_(plain) {}

  absl::StatusOr<Value> Run() {
    RETURN_IF_ERROR(plain_.Validate());
    for (ItemId root : plain_.roots()) value_.roots().push_back(NodeFor(root));
    RETURN_IF_ERROR(queue_.Drain([&](ItemId item, NodeId node) -> absl::Status {
      ASSIGN_OR_RETURN(Node converted, Convert(item));
      value_.mutable_node(node) = std::move(converted);
      return absl::OkStatus();
    }));
    value_.source().torch7 = Torch7Layout{};
    RETURN_IF_ERROR(value_.Validate());
    return std::move(value_);
  }

 private:
  NodeId NodeFor(ItemId item) {
    return queue_.IdFor(item, [&] { return value_.Add(Nil{}); });
  }

  absl::Status ItemError(ItemId id, std::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat("item ", id, " (", AsAbsl(data::ItemKindName(plain_.item(id).kind())),
                     "): ", AsAbsl(problem)));
  }

  bool IsNull(ItemId id) const { return plain_.item(id).kind() == ItemKind::kNull; }

  absl::StatusOr<Node> Convert(ItemId id) {
    const Item& item = plain_.item(id);
    switch (item.kind()) {
      case ItemKind::kNull:
        return Node(Nil{});
      case ItemKind::kBoolean:
        return Node(Boolean{std::get<data::Boolean>(item.data).value});
      case ItemKind::kNumber:
        return Classed(item, Node(Number{std::get<data::Number>(item.data).value}));
      case ItemKind::kInteger:
        return Node(Number{static_cast<double>(std::get<data::Integer>(item.data).value)});
      case ItemKind::kString:
        return Node(StringValue{std::get<data::String>(item.data).bytes});
      case ItemKind::kBinary: {
        const Buffer& bytes = std::get<data::Binary>(item.data).bytes;
        return Node(
            StringValue{std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size())});
      }
      case ItemKind::kArray:
        return ConvertArray(id, std::get<NdArray>(item.data),
                            item.classes.empty() ? std::string_view() : item.classes[0]);
      case ItemKind::kStrings: {
        const auto& strings = std::get<data::Strings>(item.data).values;
        Table table;
        for (size_t i = 0; i < strings.size(); ++i) {
          StringVector::Element e = strings.Get(i);
          if (e.is_na) continue;  // Lua tables hold no nil: NA leaves a hole
          table.entries.push_back(
              {value_.AddNumber(static_cast<double>(i + 1)), value_.AddString(e.bytes)});
        }
        return Node(std::move(table));
      }
      case ItemKind::kSequence: {
        const auto& items = std::get<data::Sequence>(item.data).items;
        if (!item.classes.empty() && item.classes[0] == "tds.Vec") {
          List list;
          for (ItemId child : items) list.items.push_back(NodeFor(child));
          return Object(item, value_.Add(std::move(list)));
        }
        Table table;
        for (size_t i = 0; i < items.size(); ++i) {
          if (IsNull(items[i])) continue;
          table.entries.push_back(
              {value_.AddNumber(static_cast<double>(i + 1)), NodeFor(items[i])});
        }
        return Classed(item, Node(std::move(table)));
      }
      case ItemKind::kMap: {
        Table table;
        for (const auto& [key, value] : std::get<data::Map>(item.data).entries) {
          if (IsNull(key)) return ItemError(id, "a Lua table key cannot be nil");
          if (IsNull(value)) continue;
          table.entries.push_back({NodeFor(key), NodeFor(value)});
        }
        return Classed(item, Node(std::move(table)));
      }
      case ItemKind::kDataFrame: {
        const auto& frame = std::get<data::DataFrame>(item.data);
        Table table;
        for (size_t i = 0; i < frame.columns.size(); ++i) {
          table.entries.push_back(
              {value_.AddString(frame.column_names[i]), NodeFor(frame.columns[i])});
        }
        return Node(std::move(table));
      }
      case ItemKind::kFactor: {
        const auto& factor = std::get<data::Factor>(item.data);
        Table table;
        table.entries.push_back({value_.AddString("codes"), NodeFor(factor.codes)});
        table.entries.push_back({value_.AddString("levels"), NodeFor(factor.levels)});
        return Node(std::move(table));
      }
      case ItemKind::kOpaque: {
        const auto& opaque = std::get<data::Opaque>(item.data);
        return ItemError(id, absl::StrCat("an opaque ", opaque.type, " (", opaque.description,
                                          ") has no plain-data form and cannot be written"));
      }
    }
    return ItemError(id, "unknown kind");
  }

  // A class object when the item names a class: its table (or other node) as the payload.
  absl::StatusOr<Node> Classed(const Item& item, Node node) {
    if (item.classes.empty()) return node;
    const std::string& class_name = item.classes[0];
    if (class_name == "tds.AtomicCounter") {
      const auto* number = std::get_if<Number>(&node.data);
      if (number == nullptr) return node;
      int64_t counter = static_cast<int64_t>(number->value);
      return Object(item, value_.Add(Array{ElementType::kInt64, 1, Buffer::Copy(&counter, 8)}));
    }
    if (node.kind() != NodeKind::kTable) return node;
    return Object(item, value_.Add(std::move(node)));
  }

  // A class object; its version from the item's torch7_version attribute (a string, or null for
  // a legacy object without one), else "0" for tds classes and "1" for the rest.
  Node Object(const Item& item, NodeId payload) {
    const std::string& class_name = item.classes[0];
    std::optional<std::string> version = class_name.starts_with("tds.") ? "0" : "1";
    for (const auto& [name, value] : item.attributes) {
      if (name != "torch7_version") continue;
      if (const auto* text = plain_.GetIf<data::String>(value)) {
        version = text->bytes;
      } else if (plain_.GetIf<data::Null>(value) != nullptr) {
        version = std::nullopt;
      }
    }
    return Node(TorchObject{class_name, std::move(version), payload});
  }

  // `class_name`: the Torch7 class the array was read as, when the element type alone does not
  // say it (a storage rather than a tensor; a Cuda type).
  absl::StatusOr<Node> ConvertArray(ItemId id, const NdArray& array, std::string_view class_name) {
    const std::string_view stem = TypeStem(array.dtype);
    if (stem.empty()) {
      return ItemError(id, absl::StrCat(AsAbsl(ElementTypeName(array.dtype)),
                                        " elements have no Torch7 tensor type"));
    }
    const torch7::ClassInfo info = torch7::ClassifyClass(class_name);
    const bool class_fits = !class_name.empty() && info.element_type == array.dtype;
    if (class_fits && info.payload == torch7::Payload::kStorage && array.shape.size() == 1 &&
        array.offset == 0 && array.strides[0] == 1 &&
        static_cast<uint64_t>(array.shape[0]) == array.length) {
      return Node(TorchObject{
          std::string(class_name), "1",
          value_.Add(Array{array.dtype, array.length, array.data, data::KeptBigEndian(array)})});
    }
    const std::string tensor_class = class_fits && info.payload == torch7::Payload::kTensor
                                         ? std::string(class_name)
                                         : absl::StrCat("torch.", AsAbsl(stem), "Tensor");
    const uint64_t count = data::ElementCount(array);
    Tensor tensor;
    if (count == 0 || array.shape.empty()) {
      if (array.shape.empty()) {
        // A 0-d array: Torch7 has no scalars, so a one-element tensor.
        NdArray one = array;
        one.shape = {1};
        one.strides = {1};
        return ConvertArray(id, one, class_name);
      }
      return Node(TorchObject{tensor_class, "1", value_.Add(std::move(tensor))});
    }
    bool non_negative = true;
    for (int64_t stride : array.strides) non_negative = non_negative && stride >= 0;
    const bool convert = array.dtype == ElementType::kLogical;
    if (non_negative && !convert) {
      tensor.sizes = array.shape;
      tensor.strides = array.strides;
      tensor.storage_offset = static_cast<int64_t>(array.offset);
      // Raw bytes are a ByteStorage's elements as they are.
      const ElementType type = array.dtype == ElementType::kRaw ? ElementType::kUint8 : array.dtype;
      tensor.storage = StorageFor(StorageClassOf(tensor_class), type, array.length, array.data,
                                  data::KeptBigEndian(array));
    } else {
      // Gathering moves whole elements: their byte order stays.
      Buffer contiguous = data::Gather(array, data::Order::kRowMajor);
      ElementType type = array.dtype == ElementType::kRaw ? ElementType::kUint8 : array.dtype;
      bool big_endian = data::KeptBigEndian(array);
      if (convert) {
        auto [bytes, out] = Buffer::Allocate(count);
        for (uint64_t i = 0; i < count; ++i) {
          const int32_t v = LoadElementBytes<int32_t>(contiguous.data() + 4 * i, big_endian);
          if (v == kNaInteger) {
            return ItemError(
                id, absl::StrCat("logical element ", i, " is NA, which a ByteTensor cannot hold"));
          }
          out[i] = v != 0 ? 1 : 0;
        }
        contiguous = bytes;
        type = ElementType::kUint8;
        big_endian = false;
      }
      tensor.sizes = array.shape;
      tensor.strides = data::ContiguousStrides(array.shape, data::Order::kRowMajor);
      tensor.storage =
          StorageFor(StorageClassOf(tensor_class), type, count, contiguous, big_endian);
    }
    return Node(TorchObject{tensor_class, "1", value_.Add(std::move(tensor))});
  }

  // torch.CudaTensor -> torch.CudaStorage.
  static std::string StorageClassOf(std::string_view tensor_class) {
    return absl::StrCat(AsAbsl(tensor_class.substr(0, tensor_class.size() - 6)), "Storage");
  }

  // One storage per distinct buffer and type, so arrays that shared a storage still do.
  NodeId StorageFor(const std::string& storage_class, ElementType type, uint64_t length,
                    const Buffer& bytes, bool big_endian) {
    const auto key = std::make_tuple(bytes.data(), bytes.size(), static_cast<int>(type));
    auto it = storages_.find(key);
    if (it != storages_.end()) return it->second;
    NodeId elements = value_.Add(Array{type, length, bytes, big_endian});
    NodeId storage = value_.Add(TorchObject{storage_class, "1", elements});
    storages_.emplace(key, storage);
    return storage;
  }

  const data::Data& plain_;
  Value value_;
  data::ConversionQueue<ItemId, NodeId> queue_;
  absl::flat_hash_map<std::tuple<const uint8_t*, size_t, int>, NodeId> storages_;
};

}  // namespace

absl::StatusOr<Value> DataToTorch7(const data::Data& plain) {
  return DataToTorch7Converter(plain).Run();
}

}  // namespace seriald
