#include "tests/core/torch7/testing/t7dump_form.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "core/torch7/classes.h"
#include "core/torch7/primitives.h"
#include "tests/core/torch7/testing/sha256.h"

namespace seriald::testing {
namespace {

// t7dump.py num(): integral doubles below 2^63 become ints; non-finite and -0 become strings.
Json Num(double x) {
  if (std::isnan(x)) return Json::String("nan");
  if (std::isinf(x)) return Json::String(x > 0 ? "inf" : "-inf");
  if (x == 0 && std::signbit(x)) return Json::String("-0.0");
  if (x == std::trunc(x) && std::fabs(x) < 9223372036854775808.0) {
    return Json::Int(static_cast<int64_t>(x));
  }
  return Json::Double(x);
}

// Strict UTF-8 (as Python's bytes.decode): no overlongs, surrogates or code points past 10FFFF.
// Appends the code points to `codes`.
bool DecodeUtf8(std::string_view s, std::vector<uint32_t>* codes) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    int extra;
    uint32_t code, min;
    if (c < 0x80) {
      extra = 0, code = c, min = 0;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1, code = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, code = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, code = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto d = static_cast<uint8_t>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      code = code << 6 | (d & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) return false;
    codes->push_back(code);
    i += extra + 1;
  }
  return true;
}

// t7dump.py sval().
Json StringValueJson(std::string_view bytes) {
  std::vector<uint32_t> codes;
  bool text = DecodeUtf8(bytes, &codes);
  for (uint32_t code : codes) text = text && code >= 0x20;
  if (text) return Json::String(std::string(bytes));
  std::string hex;
  for (char c : bytes) hex += absl::StrFormat("%02x", static_cast<uint8_t>(c));
  Json json = Json::Object();
  json.object["$bytes_hex"] = Json::String(hex);
  return json;
}

// Class names are decoded as latin-1 by t7dump.py; JSON holds them as UTF-8.
std::string Latin1ToUtf8(std::string_view bytes) {
  std::string out;
  for (char ch : bytes) {
    const auto c = static_cast<uint8_t>(ch);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }
  return out;
}

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

class Renderer {
 public:
  Renderer(const Value& value, size_t max_elements)
      : value_(value),
        max_elements_(max_elements),
        ascii_(value.source().torch7.has_value() && value.source().torch7->ascii) {}

  Json Render() {
    if (value_.roots().size() == 1) return Object(value_.roots()[0]);
    Json list = Json::Array();
    for (NodeId root : value_.roots()) list.array.push_back(Object(root));
    return list;
  }

 private:
  // {"$ref": n} for an object seen before; otherwise assigns the next index.
  bool Reference(NodeId id, Json* out) {
    if (auto it = index_.find(id); it != index_.end()) {
      *out = Json::Object();
      out->object["$ref"] = Json::Int(it->second);
      return true;
    }
    int index = static_cast<int>(index_.size()) + 1;
    index_[id] = index;
    *out = Json::Object();
    out->object["$id"] = Json::Int(index);
    return false;
  }

  Json Object(NodeId id) {
    const Node& node = value_.node(id);
    switch (node.kind()) {
      case NodeKind::kNil:
        return Json::Null();
      case NodeKind::kBoolean:
        return Json::Bool(std::get<Boolean>(node.data).value);
      case NodeKind::kNumber:
        return Num(std::get<Number>(node.data).value);
      case NodeKind::kString:
        return StringValueJson(std::get<StringValue>(node.data).bytes);
      case NodeKind::kTable: {
        Json out;
        if (Reference(id, &out)) return out;
        out.object["$table"] = Pairs(std::get<Table>(node.data));
        return out;
      }
      case NodeKind::kLuaFunction: {
        const auto& function = std::get<LuaFunction>(node.data);
        Json out = Json::Object();
        if (function.tag != 6 && Reference(id, &out)) return out;
        out.object["$function"] = Json::Int(function.tag);
        std::string_view code = function.bytecode.view();
        Json info = Json::Object();
        info.object["len"] = Json::Int(static_cast<int64_t>(code.size()));
        info.object["sha256"] = Json::String(Sha256Hex(code).substr(0, 16));
        std::string head;
        for (char c : code.substr(0, 4)) head += absl::StrFormat("%02x", static_cast<uint8_t>(c));
        info.object["head_hex"] = Json::String(head);
        out.object["bytecode"] = std::move(info);
        out.object["upvalues"] = Object(function.upvalues);
        return out;
      }
      case NodeKind::kTorchObject:
        return Torch(id, std::get<TorchObject>(node.data));
      default:
        return Json::String("<not a Torch7 object>");
    }
  }

  Json Pairs(const Table& table) {
    Json entries = Json::Array();
    for (const TableEntry& entry : table.entries) {
      Json pair = Json::Array();
      pair.array.push_back(Object(entry.key));
      pair.array.push_back(Object(entry.value));
      entries.array.push_back(std::move(pair));
    }
    return entries;
  }

  Json Element(ElementType type, const uint8_t* p) const {
    switch (type) {
      case ElementType::kUint8:
        return Json::Int(Load<uint8_t>(p));
      case ElementType::kInt8:
        return Json::Int(Load<int8_t>(p));
      case ElementType::kInt16:
        return Json::Int(Load<int16_t>(p));
      case ElementType::kInt32:
        return Json::Int(Load<int32_t>(p));
      case ElementType::kInt64:
        return Json::Int(Load<int64_t>(p));
      case ElementType::kFloat64:
        return Num(Load<double>(p));
      case ElementType::kFloat16:
      case ElementType::kFloat32: {
        float f =
            type == ElementType::kFloat16 ? torch7::HalfToFloat(Load<uint16_t>(p)) : Load<float>(p);
        if (!ascii_) return Num(f);
        // t7dump.py reads ascii floats as Python floats of the "%.9g" text.
        char text[64];
        std::snprintf(text, sizeof text, "%.9g", static_cast<double>(f));
        return Num(std::strtod(text, nullptr));
      }
      default:
        return Json::String("<not a Torch7 element type>");
    }
  }

  Json Torch(NodeId id, const TorchObject& object) {
    Json out;
    if (Reference(id, &out)) return out;
    out.object["$class"] = Json::String(Latin1ToUtf8(object.class_name));
    out.object["$version"] =
        Json::String(object.version ? Latin1ToUtf8(*object.version) : "0 (unversioned)");
    const torch7::ClassInfo info = torch7::ClassifyClass(object.class_name);
    const Node& payload = value_.node(object.payload);
    switch (info.payload) {
      case torch7::Payload::kTensor: {
        const auto& tensor = std::get<Tensor>(payload.data);
        Json sizes = Json::Array(), strides = Json::Array();
        for (int64_t s : tensor.sizes) sizes.array.push_back(Json::Int(s));
        for (int64_t s : tensor.strides) strides.array.push_back(Json::Int(s));
        out.object["size"] = std::move(sizes);
        out.object["stride"] = std::move(strides);
        out.object["storageOffset(1-based)"] = Json::Int(tensor.storage_offset + 1);
        out.object["storage"] = tensor.storage == kNoNode ? Json::Null() : Object(tensor.storage);
        break;
      }
      case torch7::Payload::kStorage: {
        const auto& array = std::get<Array>(payload.data);
        Json data = Json::Array();
        const size_t size = ElementSize(array.type);
        for (uint64_t i = 0; i < array.length && i < max_elements_; ++i) {
          data.array.push_back(Element(array.type, array.data.data() + i * size));
        }
        out.object["n"] = Json::Int(static_cast<int64_t>(array.length));
        out.object["data"] = std::move(data);
        if (array.length > max_elements_) out.object["data_truncated"] = Json::Bool(true);
        break;
      }
      case torch7::Payload::kTdsHash:
        out.object["entries"] = Pairs(std::get<Table>(payload.data));
        break;
      case torch7::Payload::kTdsVec: {
        Json items = Json::Array();
        for (NodeId item : std::get<List>(payload.data).items) items.array.push_back(Object(item));
        out.object["items"] = std::move(items);
        break;
      }
      case torch7::Payload::kTdsAtomicCounter:
        out.object["value"] = Json::Int(Load<int64_t>(std::get<Array>(payload.data).data.data()));
        break;
      case torch7::Payload::kGpuModule: {
        const auto& list = std::get<List>(payload.data);
        out.object["header"] = Object(list.items[0]);
        out.object["fields"] = Object(list.items[1]);
        break;
      }
      case torch7::Payload::kGenerator:
        out.object["state_bytes"] =
            Json::Int(static_cast<int64_t>(std::get<Opaque>(payload.data).bytes.size()));
        break;
      case torch7::Payload::kObject:
        out.object["fields"] = Object(object.payload);
        break;
    }
    return out;
  }

  const Value& value_;
  const size_t max_elements_;
  const bool ascii_;
  absl::flat_hash_map<NodeId, int> index_;
};

}  // namespace

Json RenderLikeT7dump(const Value& value, size_t max_elements) {
  return Renderer(value, max_elements).Render();
}

}  // namespace seriald::testing
