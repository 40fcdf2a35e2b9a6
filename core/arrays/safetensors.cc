#include "core/arrays/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <optional>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/arrays/internal/elements.h"
#include "core/data/ndarray.h"
#include "core/io/input_error.h"
#include "core/model/element_type.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace seriald::arrays {
namespace {

// The reference implementation's limit (safetensors MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr std::string_view kMetadataKey = "__metadata__";

struct Dtype {
  std::string_view name;
  ElementType type;
  size_t wire_size;  // bytes per element in the file
};

constexpr Dtype kDtypes[] = {
    {"BOOL", ElementType::kLogical, 1}, {"U8", ElementType::kUint8, 1},
    {"I8", ElementType::kInt8, 1},      {"I16", ElementType::kInt16, 2},
    {"I32", ElementType::kInt32, 4},    {"I64", ElementType::kInt64, 8},
    {"F16", ElementType::kFloat16, 2},  {"F32", ElementType::kFloat32, 4},
    {"F64", ElementType::kFloat64, 8},
};

const Dtype* FindDtype(std::string_view name) {
  for (const Dtype& dtype : kDtypes) {
    if (dtype.name == name) return &dtype;
  }
  return nullptr;
}

// The safetensors dtype of an element type, or nullopt (complex numbers).
std::optional<std::string_view> WrittenDtype(ElementType type) {
  switch (type) {
    case ElementType::kUint8:
    case ElementType::kRaw:
      return "U8";
    case ElementType::kLogical:
      return "BOOL";
    case ElementType::kComplex128:
      return std::nullopt;
    default:
      for (const Dtype& dtype : kDtypes) {
        if (dtype.type == type) return dtype.name;
      }
      return std::nullopt;
  }
}

std::string Quoted(std::string_view name) { return absl::StrCat("'", AsAbsl(name), "'"); }

// A tensor's entry in the header, as written there.
struct TensorEntry {
  std::string name;
  std::optional<std::string> dtype;
  std::optional<std::vector<int64_t>> shape;
  std::optional<std::vector<uint64_t>> offsets;
};

// Follows the parser's events through the one shape a safetensors header has: an object of
// tensor entries (objects with "dtype", "shape" and "data_offsets"; other fields are skipped, as
// the reference implementation ignores them) and an optional "__metadata__" object of strings.
// Anything else stops the parse with `problem` set. No document is built: the work is linear in
// the header's size however many tensors it lists.
class HeaderHandler : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<TensorEntry> tensors;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string problem;                      // the handler's refusal
  std::optional<uint64_t> syntax_position;  // the parser's, in bytes from the header start
  std::string syntax_message;

  bool null() override {
    if (skip_depth_ == 0 && place_ == Place::kRootValue && key_ == kMetadataKey) {
      place_ = Place::kRoot;  // "__metadata__": null is no metadata, as in the reference
      return true;
    }
    return Scalar("null", nullptr, nullptr, nullptr);
  }
  bool boolean(bool) override { return Scalar("a boolean", nullptr, nullptr, nullptr); }
  bool number_integer(number_integer_t value) override {
    return Scalar("a negative number", nullptr, nullptr, &value);
  }
  bool number_unsigned(number_unsigned_t value) override {
    return Scalar("a number", nullptr, &value, nullptr);
  }
  bool number_float(number_float_t, const string_t&) override {
    return Scalar("a fraction", nullptr, nullptr, nullptr);
  }
  bool string(string_t& value) override { return Scalar("a string", &value, nullptr, nullptr); }
  bool binary(binary_t&) override { return Scalar("binary", nullptr, nullptr, nullptr); }

  bool start_object(std::size_t) override {
    if (skip_depth_ > 0) {
      ++skip_depth_;
      return true;
    }
    switch (place_) {
      case Place::kStart:
        place_ = Place::kRoot;
        return true;
      case Place::kRootValue:
        if (key_ == kMetadataKey) {
          place_ = Place::kMetadata;
        } else {
          tensors.push_back({key_, std::nullopt, std::nullopt, std::nullopt});
          fields_.clear();
          place_ = Place::kTensor;
        }
        return true;
      case Place::kTensorValue:
        return StartContainer("an object");
      default:
        return Unexpected("an object");
    }
  }

  bool end_object() override {
    if (skip_depth_ > 0) return EndSkipped();
    switch (place_) {
      case Place::kRoot:
        place_ = Place::kDone;
        return true;
      case Place::kMetadata:
        place_ = Place::kRoot;
        return true;
      case Place::kTensor: {
        const TensorEntry& tensor = tensors.back();
        const std::string_view missing = !tensor.dtype     ? "dtype"
                                         : !tensor.shape   ? "shape"
                                         : !tensor.offsets ? "data_offsets"
                                                           : "";
        if (!missing.empty()) {
          return Refuse(
              absl::StrCat("tensor ", Quoted(tensor.name), " has no \"", AsAbsl(missing), "\""));
        }
        place_ = Place::kRoot;
        return true;
      }
      default:
        return Refuse("unexpected end of an object");
    }
  }

  bool start_array(std::size_t) override {
    if (skip_depth_ > 0) {
      ++skip_depth_;
      return true;
    }
    if (place_ == Place::kTensorValue) {
      if (key_ == "shape") {
        tensors.back().shape.emplace();
        place_ = Place::kShape;
        return true;
      }
      if (key_ == "data_offsets") {
        tensors.back().offsets.emplace();
        place_ = Place::kOffsets;
        return true;
      }
      return StartContainer("an array");
    }
    return Unexpected("an array");
  }

  bool end_array() override {
    if (skip_depth_ > 0) return EndSkipped();
    if (place_ == Place::kShape) {
      place_ = Place::kTensor;
      return true;
    }
    if (place_ == Place::kOffsets) {
      if (tensors.back().offsets->size() != 2) {
        return Refuse(absl::StrCat("tensor ", Quoted(tensors.back().name), " has ",
                                   tensors.back().offsets->size(),
                                   " data_offsets, not two (begin, end)"));
      }
      place_ = Place::kTensor;
      return true;
    }
    return Refuse("unexpected end of an array");
  }

  bool key(string_t& value) override {
    if (skip_depth_ > 0) return true;
    switch (place_) {
      case Place::kRoot:
        if (!names_.insert(value).second) {
          return Refuse(value == kMetadataKey
                            ? std::string("\"__metadata__\" appears twice")
                            : absl::StrCat("tensor ", Quoted(value), " appears twice"));
        }
        place_ = Place::kRootValue;
        break;
      case Place::kMetadata:
        if (!metadata_keys_.insert(value).second) {
          return Refuse(absl::StrCat("metadata key ", Quoted(value), " appears twice"));
        }
        place_ = Place::kMetadataValue;
        break;
      case Place::kTensor:
        if (!fields_.insert(value).second) {
          return Refuse(absl::StrCat("tensor ", Quoted(tensors.back().name), " has \"",
                                     AsAbsl(value), "\" twice"));
        }
        place_ = Place::kTensorValue;
        break;
      default:
        return Refuse("unexpected key");
    }
    key_ = value;
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& error) override {
    syntax_position = position > 0 ? position - 1 : 0;
    // "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error ...":
    // the offset is reported separately, the problem is the part after the position.
    std::string_view message = error.what();
    if (size_t at = message.find("] "); at != std::string_view::npos) message.remove_prefix(at + 2);
    if (message.substr(0, 11) == "parse error") {
      if (size_t at = message.find(": "); at != std::string_view::npos) {
        message.remove_prefix(at + 2);
      }
    }
    syntax_message = std::string(message);
    return false;
  }

 private:
  enum class Place {
    kStart,          // before the root object
    kRoot,           // in the root object, before a key
    kRootValue,      // after a root key
    kMetadata,       // in "__metadata__", before a key
    kMetadataValue,  // after a metadata key
    kTensor,         // in a tensor entry, before a field name
    kTensorValue,    // after a field name
    kShape,          // in "shape"
    kOffsets,        // in "data_offsets"
    kDone,
  };

  bool Refuse(std::string why) {
    problem = std::move(why);
    return false;
  }

  std::string TensorField() const {
    return absl::StrCat("tensor ", Quoted(tensors.back().name), ": \"", AsAbsl(key_), "\"");
  }

  // A value of the wrong kind where the place allows none of this kind.
  bool Unexpected(std::string_view kind) {
    switch (place_) {
      case Place::kStart:
        return Refuse("the header is not a JSON object");
      case Place::kRootValue:
        return Refuse(
            key_ == kMetadataKey
                ? absl::StrCat("\"__metadata__\" is ", AsAbsl(kind), ", not an object")
                : absl::StrCat("tensor ", Quoted(key_), " is ", AsAbsl(kind), ", not an object"));
      case Place::kMetadataValue:
        return Refuse(
            absl::StrCat("metadata ", Quoted(key_), " is ", AsAbsl(kind), ", not a string"));
      case Place::kShape:
        return Refuse(absl::StrCat("tensor ", Quoted(tensors.back().name), ": shape holds ",
                                   AsAbsl(kind), ", not a size"));
      case Place::kOffsets:
        return Refuse(absl::StrCat("tensor ", Quoted(tensors.back().name), ": data_offsets holds ",
                                   AsAbsl(kind), ", not an offset"));
      case Place::kTensorValue:
        return Refuse(absl::StrCat(TensorField(), " is ", AsAbsl(kind)));
      default:
        return Refuse(absl::StrCat("unexpected ", AsAbsl(kind)));
    }
  }

  // An object or array as a field's value: skipped whole when the field is not one this reader
  // knows, refused for "dtype" (the other known fields handle arrays themselves).
  bool StartContainer(std::string_view kind) {
    if (key_ == "dtype" || key_ == "shape" || key_ == "data_offsets") return Unexpected(kind);
    skip_depth_ = 1;
    return true;
  }
  bool EndSkipped() {
    if (--skip_depth_ == 0) place_ = Place::kTensor;
    return true;
  }

  // Exactly one of the value pointers is set for a string, an unsigned and a negative number.
  bool Scalar(std::string_view kind, const std::string* text, const uint64_t* unsigned_value,
              const int64_t* negative_value) {
    if (skip_depth_ > 0) return true;
    switch (place_) {
      case Place::kMetadataValue:
        if (text == nullptr) return Unexpected(kind);
        metadata.emplace_back(key_, *text);
        place_ = Place::kMetadata;
        return true;
      case Place::kTensorValue:
        if (key_ == "dtype") {
          if (text == nullptr) return Unexpected(kind);
          tensors.back().dtype = *text;
        } else if (key_ == "shape" || key_ == "data_offsets") {
          return Unexpected(kind);
        }
        place_ = Place::kTensor;  // an unknown field's scalar is skipped
        return true;
      case Place::kShape:
        if (negative_value != nullptr) {
          return Refuse(absl::StrCat("tensor ", Quoted(tensors.back().name),
                                     ": shape has a negative size ", *negative_value));
        }
        if (unsigned_value == nullptr) return Unexpected(kind);
        if (*unsigned_value > uint64_t{INT64_MAX}) {
          return Refuse(absl::StrCat("tensor ", Quoted(tensors.back().name), ": size ",
                                     *unsigned_value, " in shape does not fit in 63 bits"));
        }
        tensors.back().shape->push_back(static_cast<int64_t>(*unsigned_value));
        return true;
      case Place::kOffsets:
        if (unsigned_value == nullptr) return Unexpected(kind);
        if (tensors.back().offsets->size() == 2) {
          return Refuse(absl::StrCat("tensor ", Quoted(tensors.back().name),
                                     " has more than two data_offsets"));
        }
        tensors.back().offsets->push_back(*unsigned_value);
        return true;
      default:
        return Unexpected(kind);
    }
  }

  Place place_ = Place::kStart;
  int64_t skip_depth_ = 0;                          // > 0 while inside a skipped field's value
  std::string key_;                                 // the last key read
  absl::flat_hash_set<std::string> names_;          // root keys
  absl::flat_hash_set<std::string> metadata_keys_;  // keys of "__metadata__"
  absl::flat_hash_set<std::string> fields_;         // field names of the current tensor
};

// A tensor whose entry has been checked: its element type and count, and its bytes.
struct TensorLayout {
  const Dtype* dtype = nullptr;
  uint64_t count = 0;
  uint64_t begin = 0;
  uint64_t end = 0;
};

absl::Status Error(uint64_t offset, std::string_view problem) {
  return InputError("safetensors", offset, problem);
}

}  // namespace

bool LooksLikeSafetensors(const Buffer& input) {
  if (input.size() < 8) return false;
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{input.data()[i]} << (8 * i);
  return n >= 2 && n <= input.size() - 8 && n <= kMaxHeaderBytes && input.data()[8] == '{';
}

absl::StatusOr<SafetensorsFile> ReadSafetensors(const Buffer& input) {
  const uint64_t size = input.size();
  if (size < 8) {
    return Error(
        0, absl::StrCat("input ends inside the header length (needs 8 bytes, ", size, " remain)"));
  }
  uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) header_size |= uint64_t{input.data()[i]} << (8 * i);
  if (header_size > kMaxHeaderBytes) {
    return Error(0, absl::StrCat("header length ", header_size, " exceeds the limit of ",
                                 kMaxHeaderBytes, " bytes"));
  }
  if (header_size > size - 8) {
    return Error(0, absl::StrCat("header length ", header_size, " runs past the end of the input (",
                                 size - 8, " bytes follow the length)"));
  }
  const std::string_view header = input.view().substr(8, header_size);
  if (header.empty() || header[0] != '{') {
    return Error(8, "the header does not start with '{'");
  }

  HeaderHandler handler;
  bool parsed = false;
  try {
    parsed = nlohmann::json::sax_parse(header.begin(), header.end(), &handler);
  } catch (const nlohmann::json::exception& e) {
    return Error(8, absl::StrCat("the header is not valid JSON (", e.what(), ")"));
  }
  if (!parsed) {
    if (!handler.problem.empty()) return Error(8, handler.problem);
    return Error(8 + handler.syntax_position.value_or(0),
                 absl::StrCat("the header is not valid JSON: ", handler.syntax_message));
  }

  // Each entry's type and size, in header order.
  std::vector<TensorLayout> layouts(handler.tensors.size());
  for (size_t i = 0; i < handler.tensors.size(); ++i) {
    const TensorEntry& tensor = handler.tensors[i];
    TensorLayout& layout = layouts[i];
    layout.dtype = FindDtype(*tensor.dtype);
    if (layout.dtype == nullptr) {
      return Error(
          8, absl::StrCat("tensor ", Quoted(tensor.name), " has dtype ", Quoted(*tensor.dtype),
                          ", which is not supported (BOOL, U8, I8, "
                          "I16, I32, I64, F16, F32 and F64 are)"));
    }
    const std::optional<uint64_t> count = internal::CheckedElementCount(*tensor.shape);
    if (!count.has_value()) {
      return Error(8,
                   absl::StrCat("tensor ", Quoted(tensor.name), " has shape [",
                                absl::StrJoin(*tensor.shape, ", "), "], more than 2^62 elements"));
    }
    layout.count = *count;
    layout.begin = (*tensor.offsets)[0];
    layout.end = (*tensor.offsets)[1];
  }

  // The tensors must tile the data buffer: in offset order, each begins where the one before it
  // ends, and the last ends where the buffer does.
  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = size - data_start;
  std::vector<size_t> order(layouts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::pair(layouts[a].begin, layouts[a].end) <
           std::pair(layouts[b].begin, layouts[b].end);
  });
  uint64_t covered = 0;  // the data buffer is tiled up to here
  const std::string* previous = nullptr;
  for (size_t i : order) {
    const TensorLayout& layout = layouts[i];
    const std::string& name = handler.tensors[i].name;
    const std::string offsets = absl::StrCat("data_offsets [", layout.begin, ", ", layout.end, "]");
    if (layout.end < layout.begin) {
      return Error(
          data_start + std::min(layout.begin, data_size),
          absl::StrCat("tensor ", Quoted(name), " has ", offsets, ", which end before they begin"));
    }
    if (layout.end > data_size) {
      return Error(data_start + std::min(layout.begin, data_size),
                   absl::StrCat("tensor ", Quoted(name), " has ", offsets, ", past the end of the ",
                                data_size, "-byte data buffer"));
    }
    if (layout.begin < covered) {
      return Error(data_start + layout.begin,
                   absl::StrCat("tensor ", Quoted(name), " (", offsets, ") overlaps tensor ",
                                Quoted(*previous), ", which ends at ", covered));
    }
    if (layout.begin > covered) {
      return Error(data_start + covered,
                   absl::StrCat("data bytes [", covered, ", ", layout.begin,
                                ") belong to no tensor (a gap before tensor ", Quoted(name), ")"));
    }
    const uint64_t span = layout.end - layout.begin;
    const uint64_t wire_size = layout.dtype->wire_size;
    if (span % wire_size != 0 || span / wire_size != layout.count) {
      return Error(data_start + layout.begin,
                   absl::StrCat("tensor ", Quoted(name), " (", AsAbsl(layout.dtype->name),
                                ", shape [", absl::StrJoin(*handler.tensors[i].shape, ", "),
                                "]: ", layout.count, " elements of ", wire_size, " bytes) has ",
                                offsets, ", which span ", span, " bytes"));
    }
    covered = layout.end;
    previous = &name;
  }
  if (covered != data_size) {
    return Error(data_start + covered, absl::StrCat("data bytes [", covered, ", ", data_size,
                                                    ") after the last tensor belong to no tensor"));
  }

  SafetensorsFile file;
  file.metadata = std::move(handler.metadata);
  file.arrays.reserve(layouts.size());
  for (size_t i = 0; i < layouts.size(); ++i) {
    const TensorLayout& layout = layouts[i];
    TensorEntry& tensor = handler.tensors[i];
    const uint64_t span = layout.end - layout.begin;
    Buffer data;
    if (layout.count == 0) {
      // Nothing to refer to; an empty buffer keeps no part of the input alive.
    } else if (layout.dtype->type == ElementType::kLogical) {
      std::optional<uint64_t> bad;
      data = internal::BoolToLogical(input.data() + data_start + layout.begin, layout.count, &bad);
      if (bad.has_value()) {
        return Error(data_start + layout.begin + *bad,
                     absl::StrCat("tensor ", Quoted(tensor.name), ": BOOL element ",
                                  internal::IndexText(*bad, *tensor.shape, data::Order::kRowMajor),
                                  " is byte ", input.data()[data_start + layout.begin + *bad],
                                  ", not 0 or 1"));
      }
    } else {
      data = input.Slice(data_start + layout.begin, span);
    }
    data::NdArray array;
    array.dtype = layout.dtype->type;
    array.strides = data::ContiguousStrides(*tensor.shape, data::Order::kRowMajor);
    array.shape = std::move(*tensor.shape);
    array.length = layout.count;
    array.data = std::move(data);
    RETURN_IF_ERROR(data::CheckView(array, absl::StrCat("tensor ", Quoted(tensor.name))));
    file.arrays.push_back({std::move(tensor.name), std::move(array)});
  }
  return file;
}

absl::Status WriteSafetensors(const std::vector<NamedArray>& arrays,
                              const std::vector<std::pair<std::string, std::string>>& metadata,
                              ByteWriter& out) {
  using Json = nlohmann::ordered_json;
  absl::flat_hash_set<std::string_view> names;
  for (const NamedArray& named : arrays) {
    if (named.name == kMetadataKey) {
      return absl::InvalidArgumentError(
          "safetensors: no tensor may be named \"__metadata__\" (the header's metadata key)");
    }
    if (!names.insert(named.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("safetensors: two tensors are named ", Quoted(named.name)));
    }
  }
  absl::flat_hash_set<std::string_view> keys;
  for (const auto& [key, value] : metadata) {
    if (!keys.insert(key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("safetensors: metadata key ", Quoted(key), " appears twice"));
    }
  }

  // Entries are appended to the objects' underlying vectors: names are known to be unique, and
  // ordered_json's own insertion searches the object first, which would make a header of n
  // tensors cost n^2.
  Json root = Json::object();
  auto& root_entries = root.get_ref<Json::object_t&>();
  if (!metadata.empty()) {
    Json object = Json::object();
    auto& entries = object.get_ref<Json::object_t&>();
    for (const auto& [key, value] : metadata) entries.emplace_back(key, value);
    root_entries.emplace_back(std::string(kMetadataKey), std::move(object));
  }
  std::vector<internal::ArrayBody> bodies;
  bodies.reserve(arrays.size());
  uint64_t offset = 0;
  for (const NamedArray& named : arrays) {
    const data::NdArray& array = named.array;
    const std::string what = absl::StrCat("safetensors: tensor ", Quoted(named.name));
    RETURN_IF_ERROR(data::CheckView(array, what));
    const std::optional<std::string_view> dtype = WrittenDtype(array.dtype);
    if (!dtype.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(what, " is ",
                                                     AsAbsl(ElementTypeName(array.dtype)),
                                                     ", and safetensors has no complex type"));
    }
    ASSIGN_OR_RETURN(internal::ArrayBody body,
                     internal::BodyOf(array, data::Order::kRowMajor, what, "safetensors BOOL"));
    Json info = Json::object();
    auto& fields = info.get_ref<Json::object_t&>();
    fields.emplace_back("dtype", std::string(*dtype));
    fields.emplace_back("shape", array.shape);
    fields.emplace_back("data_offsets", Json::array({offset, offset + body.size()}));
    root_entries.emplace_back(named.name, std::move(info));
    offset += body.size();
    bodies.push_back(std::move(body));
  }

  std::string header;
  try {
    header = root.dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::type_error&) {
    return absl::InvalidArgumentError(
        "safetensors: a tensor name or metadata string is not valid UTF-8");
  }
  // Spaces after the JSON, so that the data buffer starts 8-byte aligned.
  header.append((8 - header.size() % 8) % 8, ' ');
  if (header.size() > kMaxHeaderBytes) {
    return absl::InvalidArgumentError(absl::StrCat("safetensors: the header would be ",
                                                   header.size(), " bytes, more than the ",
                                                   kMaxHeaderBytes, " readers accept"));
  }
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(uint64_t{header.size()} >> (8 * i));
  out.Append(length, 8);
  out.Append(header);
  for (const internal::ArrayBody& body : bodies) internal::AppendBody(body, out);
  return absl::OkStatus();
}

}  // namespace seriald::arrays
