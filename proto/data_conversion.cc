#include "proto/data_conversion.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/input_error.h"
#include "core/model/utf8.h"
#include "core/status_macros.h"

namespace seriald {
namespace {

namespace pb = ::seriald::v1;

static_assert(static_cast<int>(data::Temporal::kNone) == pb::TEMPORAL_NONE);
static_assert(static_cast<int>(data::Temporal::kDate) == pb::TEMPORAL_DATE);
static_assert(static_cast<int>(data::Temporal::kDateTime) == pb::TEMPORAL_DATETIME);
// StringArray.codes are little-endian int32s, copied as they are.
static_assert(std::endian::native == std::endian::little);

// The dictionary form of a string array is worth its hashing from this many elements on, and
// when at most half of them are distinct.
constexpr size_t kMinCodedStrings = 16;

absl::Status ItemError(ItemId id, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("item ", id, ": ", AsAbsl(problem)));
}

// A `string` field's text, which protobuf requires to be UTF-8.
absl::Status CheckText(ItemId id, std::string_view field, std::string_view text) {
  if (IsValidUtf8(text)) return absl::OkStatus();
  return ItemError(id, absl::StrCat(AsAbsl(field), " is not UTF-8"));
}

// Text for people: bytes that are not UTF-8 become \xNN.
std::string Printable(std::string_view bytes) {
  if (IsValidUtf8(bytes)) return std::string(bytes);
  std::string out;
  for (char c : bytes) {
    const auto byte = static_cast<uint8_t>(c);
    if (byte < 0x80) {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(byte, absl::kZeroPad2));
    }
  }
  return out;
}

// `strings` into `out`: as CodedStrings when `codes` allows it and it pays (see
// kMinCodedStrings), else as a StringArray.
void WriteStrings(const data::Strings& strings, bool codes, pb::DataItem* out) {
  const size_t count = strings.values.size();
  if (codes && count >= kMinCodedStrings) {
    pb::CodedStrings* coded = out->mutable_coded_strings();
    // Element bytes stay where the StringVector holds them: the map keys are views.
    absl::flat_hash_map<std::string_view, int32_t> code_of;
    std::string bytes(4 * count, '\0');
    size_t i = 0;
    for (; i < count; ++i) {
      const StringVector::Element e = strings.values.Get(i);
      int32_t code = -1;
      if (!e.is_na) {
        auto [it, inserted] = code_of.try_emplace(e.bytes, static_cast<int32_t>(code_of.size()));
        if (inserted) {
          if (code_of.size() > count / 2) break;  // mostly distinct: a StringArray is smaller
          coded->add_values(e.bytes.data(), e.bytes.size());
        }
        code = it->second;
      }
      std::memcpy(bytes.data() + 4 * i, &code, 4);
    }
    if (i == count) {
      coded->set_codes(std::move(bytes));
      for (int64_t size : strings.shape) coded->add_shape(size);
      return;
    }
  }
  pb::StringArray* message = out->mutable_strings();  // clears coded_strings, if set
  message->mutable_values()->Reserve(static_cast<int>(count));
  for (size_t i = 0; i < count; ++i) {
    StringVector::Element e = strings.values.Get(i);
    message->add_values(e.bytes.data(), e.bytes.size());
    if (e.is_na) message->add_na(i);
  }
  for (int64_t size : strings.shape) message->add_shape(size);
}

absl::Status WriteItem(ItemId id, const data::Item& item, bool inline_data, bool string_codes,
                       pb::DataItem* out) {
  for (const std::string& name : item.classes) {
    RETURN_IF_ERROR(CheckText(id, "a class", name));
    out->add_classes(name);
  }
  if (item.names != kNoItem) out->set_names(item.names);
  if (item.dim_names != kNoItem) out->set_dim_names(item.dim_names);
  for (const auto& [name, value] : item.attributes) {
    RETURN_IF_ERROR(CheckText(id, "an attribute name", name));
    pb::Attribute* attribute = out->add_attributes();
    attribute->set_name(name);
    attribute->set_value(value);
  }
  switch (item.kind()) {
    case data::ItemKind::kNull:
      out->mutable_null();
      break;
    case data::ItemKind::kBoolean:
      out->set_boolean(std::get<data::Boolean>(item.data).value);
      break;
    case data::ItemKind::kNumber:
      out->set_number(std::get<data::Number>(item.data).value);
      break;
    case data::ItemKind::kInteger:
      out->set_integer(std::get<data::Integer>(item.data).value);
      break;
    case data::ItemKind::kString:
      out->set_string(std::get<data::String>(item.data).bytes);
      break;
    case data::ItemKind::kBinary: {
      const Buffer& bytes = std::get<data::Binary>(item.data).bytes;
      out->set_binary(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      break;
    }
    case data::ItemKind::kArray: {
      const auto& array = std::get<data::NdArray>(item.data);
      pb::NdArray* message = out->mutable_array();
      message->set_dtype(static_cast<pb::ElementType>(array.dtype));
      for (int64_t size : array.shape) message->add_shape(size);
      for (int64_t stride : array.strides) message->add_strides(stride);
      message->set_offset(array.offset);
      message->set_length(array.length);
      if (inline_data && array.big_endian) {
        // Little-endian on the wire, as data.proto says.
        std::string* bytes = message->mutable_data();
        bytes->resize(array.data.size());
        CopyLittleEndian(Array{array.dtype, array.length, array.data, true}, 0, array.length,
                         reinterpret_cast<uint8_t*>(bytes->data()));
      } else if (inline_data) {
        message->set_data(reinterpret_cast<const char*>(array.data.data()), array.data.size());
      }
      message->set_temporal(static_cast<pb::Temporal>(array.temporal));
      if (array.timezone.has_value()) {
        RETURN_IF_ERROR(CheckText(id, "the time zone", *array.timezone));
        message->set_timezone(*array.timezone);
      }
      message->set_na_present(array.na_present);
      break;
    }
    case data::ItemKind::kStrings:
      WriteStrings(std::get<data::Strings>(item.data), string_codes, out);
      break;
    case data::ItemKind::kSequence: {
      pb::ListItem* message = out->mutable_list();
      for (ItemId child : std::get<data::Sequence>(item.data).items) message->add_items(child);
      break;
    }
    case data::ItemKind::kMap: {
      pb::MapItem* message = out->mutable_map();
      for (const auto& [key, value] : std::get<data::Map>(item.data).entries) {
        pb::MapItem::Entry* entry = message->add_entries();
        entry->set_key(key);
        entry->set_value(value);
      }
      break;
    }
    case data::ItemKind::kDataFrame: {
      const auto& frame = std::get<data::DataFrame>(item.data);
      pb::DataFrame* message = out->mutable_data_frame();
      for (const std::string& name : frame.column_names) {
        RETURN_IF_ERROR(CheckText(id, "a column name", name));
        message->add_column_names(name);
      }
      for (ItemId column : frame.columns) message->add_columns(column);
      message->set_row_count(frame.row_count);
      if (frame.row_names != kNoItem) message->set_row_names(frame.row_names);
      break;
    }
    case data::ItemKind::kFactor: {
      const auto& factor = std::get<data::Factor>(item.data);
      pb::Factor* message = out->mutable_factor();
      message->set_codes(factor.codes);
      message->set_levels(factor.levels);
      message->set_ordered(factor.ordered);
      break;
    }
    case data::ItemKind::kOpaque: {
      const auto& opaque = std::get<data::Opaque>(item.data);
      pb::OpaqueItem* message = out->mutable_opaque();
      message->set_type(Printable(opaque.type));
      message->set_description(Printable(opaque.description));
      break;
    }
  }
  return absl::OkStatus();
}

// The elements of a StringArray.
absl::Status ReadStringArray(ItemId id, const pb::StringArray& message, StringVector& values) {
  uint64_t total = 0;
  for (const std::string& value : message.values()) total += value.size();
  values.Reserve(message.values_size(), total);
  int next_na = 0;
  uint64_t previous_na = 0;
  for (int i = 0; i < message.na_size(); ++i) {
    if (message.na(i) >= static_cast<uint64_t>(message.values_size()) ||
        (i > 0 && message.na(i) <= previous_na)) {
      return ItemError(id, "NA indices must be increasing and within the values");
    }
    previous_na = message.na(i);
  }
  for (int i = 0; i < message.values_size(); ++i) {
    if (next_na < message.na_size() && message.na(next_na) == static_cast<uint64_t>(i)) {
      if (!message.values(i).empty()) return ItemError(id, "an NA string with bytes");
      values.AppendNa();
      ++next_na;
    } else {
      values.Append(message.values(i), StringEncoding::kUtf8);
    }
  }
  return absl::OkStatus();
}

// The elements of CodedStrings. `coded_bytes` counts what the dictionary form has expanded to
// so far, over the whole message: checked and counted before anything is built, since a 4-byte
// code can stand for a long value.
absl::Status ReadCodedStrings(ItemId id, const pb::CodedStrings& message,
                              const DataFromProtoLimits& limits, uint64_t& coded_bytes,
                              StringVector& values) {
  const std::string& codes = message.codes();
  if (codes.size() % 4 != 0) {
    return ItemError(
        id, absl::StrCat("codes hold ", codes.size(), " bytes, not a whole number of int32s"));
  }
  const size_t count = codes.size() / 4;
  auto code_at = [&codes](size_t i) {
    int32_t code;
    std::memcpy(&code, codes.data() + 4 * i, 4);
    return code;
  };
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    const int32_t code = code_at(i);
    if (code < -1 || code >= message.values_size()) {
      return ItemError(id, absl::StrCat("element ", i, " has code ", code, ", outside -1 .. ",
                                        message.values_size() - 1));
    }
    if (code >= 0) total += message.values(code).size();
  }
  const uint64_t left =
      limits.max_coded_string_bytes - std::min(coded_bytes, limits.max_coded_string_bytes);
  if (total > left) {
    return LimitExceeded(
        limits.limit_name,
        absl::StrCat("item ", id, ": coded strings expand to ", total, " bytes, past the ", left,
                     " left of the limit of ", limits.max_coded_string_bytes,
                     " bytes for coded strings (", limits.limit_name, ")"));
  }
  coded_bytes += total;
  values.Reserve(count, total);
  for (size_t i = 0; i < count; ++i) {
    const int32_t code = code_at(i);
    if (code < 0) {
      values.AppendNa();
    } else {
      values.Append(message.values(code), StringEncoding::kUtf8);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<data::Item> ReadItem(ItemId id, pb::DataItem& in, const DataFromProtoLimits& limits,
                                    uint64_t& coded_bytes) {
  data::Item item;
  switch (in.kind_case()) {
    case pb::DataItem::kNull:
      item.data = data::Null{};
      break;
    case pb::DataItem::kBoolean:
      item.data = data::Boolean{in.boolean()};
      break;
    case pb::DataItem::kNumber:
      item.data = data::Number{in.number()};
      break;
    case pb::DataItem::kInteger:
      item.data = data::Integer{in.integer()};
      break;
    case pb::DataItem::kString:
      item.data = data::String{std::move(*in.mutable_string())};
      break;
    case pb::DataItem::kBinary:
      item.data = data::Binary{Buffer::FromString(std::move(*in.mutable_binary()))};
      break;
    case pb::DataItem::kArray: {
      pb::NdArray& message = *in.mutable_array();
      if (!pb::ElementType_IsValid(message.dtype())) {
        return ItemError(id, absl::StrCat("undeclared dtype ", message.dtype()));
      }
      if (!pb::Temporal_IsValid(message.temporal())) {
        return ItemError(id, absl::StrCat("undeclared temporal ", message.temporal()));
      }
      data::NdArray array;
      array.dtype = static_cast<ElementType>(message.dtype());
      array.shape.assign(message.shape().begin(), message.shape().end());
      array.strides.assign(message.strides().begin(), message.strides().end());
      array.offset = message.offset();
      array.length = message.length();
      array.data = Buffer::FromString(std::move(*message.mutable_data()));
      array.temporal = static_cast<data::Temporal>(message.temporal());
      if (message.has_timezone()) array.timezone = message.timezone();
      array.na_present = message.na_present();
      item.data = std::move(array);
      break;
    }
    case pb::DataItem::kStrings: {
      data::Strings strings;
      RETURN_IF_ERROR(ReadStringArray(id, in.strings(), strings.values));
      strings.shape.assign(in.strings().shape().begin(), in.strings().shape().end());
      item.data = std::move(strings);
      break;
    }
    case pb::DataItem::kCodedStrings: {
      data::Strings strings;
      RETURN_IF_ERROR(
          ReadCodedStrings(id, in.coded_strings(), limits, coded_bytes, strings.values));
      strings.shape.assign(in.coded_strings().shape().begin(), in.coded_strings().shape().end());
      item.data = std::move(strings);
      break;
    }
    case pb::DataItem::kList: {
      data::Sequence sequence;
      sequence.items.assign(in.list().items().begin(), in.list().items().end());
      item.data = std::move(sequence);
      break;
    }
    case pb::DataItem::kMap: {
      data::Map map;
      for (const pb::MapItem::Entry& entry : in.map().entries()) {
        map.entries.emplace_back(entry.key(), entry.value());
      }
      item.data = std::move(map);
      break;
    }
    case pb::DataItem::kDataFrame: {
      const pb::DataFrame& message = in.data_frame();
      data::DataFrame frame;
      frame.column_names.assign(message.column_names().begin(), message.column_names().end());
      frame.columns.assign(message.columns().begin(), message.columns().end());
      frame.row_count = message.row_count();
      if (message.has_row_names()) frame.row_names = message.row_names();
      item.data = std::move(frame);
      break;
    }
    case pb::DataItem::kFactor:
      item.data = data::Factor{in.factor().codes(), in.factor().levels(), in.factor().ordered()};
      break;
    case pb::DataItem::kOpaque:
      item.data = data::Opaque{in.opaque().type(), in.opaque().description()};
      break;
    case pb::DataItem::KIND_NOT_SET:
      return ItemError(id, "no kind is set");
  }
  item.classes.assign(in.classes().begin(), in.classes().end());
  if (in.has_names()) item.names = in.names();
  if (in.has_dim_names()) item.dim_names = in.dim_names();
  for (const pb::Attribute& attribute : in.attributes()) {
    item.attributes.emplace_back(attribute.name(), attribute.value());
  }
  return item;
}

}  // namespace

absl::Status DataToProto(const data::Data& plain, pb::Data* message,
                         const ToProtoOptions& options) {
  message->Clear();
  message->mutable_items()->Reserve(static_cast<int>(plain.size()));
  for (ItemId id = 0; id < plain.size(); ++id) {
    const data::Item& item = plain.item(id);
    const auto* array = std::get_if<data::NdArray>(&item.data);
    const bool inline_data =
        array == nullptr || array->data.size() <= options.max_inline_array_bytes;
    RETURN_IF_ERROR(WriteItem(id, item, inline_data, options.string_codes, message->add_items()));
  }
  for (ItemId root : plain.roots()) message->add_roots(root);
  return absl::OkStatus();
}

std::vector<ItemId> DataArraysLeftOut(const data::Data& plain, const ToProtoOptions& options) {
  std::vector<ItemId> ids;
  for (ItemId id = 0; id < plain.size(); ++id) {
    const auto* array = plain.GetIf<data::NdArray>(id);
    if (array != nullptr && array->data.size() > options.max_inline_array_bytes) {
      ids.push_back(id);
    }
  }
  return ids;
}

namespace {

// The items of `message`, their bytes moved out of it, and `streamed`'s array data put in place;
// not yet validated.
absl::StatusOr<data::Data> ReadItems(pb::Data& message, const StreamedArrayData& streamed,
                                     const DataFromProtoLimits& limits) {
  data::Data plain;
  uint64_t coded_bytes = 0;  // what the dictionary form of string arrays has expanded to
  plain.mutable_items().reserve(message.items_size());
  for (int i = 0; i < message.items_size(); ++i) {
    ASSIGN_OR_RETURN(data::Item item, ReadItem(static_cast<ItemId>(i), *message.mutable_items(i),
                                               limits, coded_bytes));
    plain.Add(std::move(item));
  }
  plain.roots().assign(message.roots().begin(), message.roots().end());
  for (const auto& [id, data] : streamed) {
    data::NdArray* array =
        id < plain.size() ? std::get_if<data::NdArray>(&plain.mutable_items()[id].data) : nullptr;
    if (array == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("streamed data for item ", id, ", which is not an array item"));
    }
    if (!array->data.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("item ", id, " has data both in its message and streamed"));
    }
    array->data = data;
  }
  return plain;
}

}  // namespace

absl::StatusOr<data::Data> DataFromProto(pb::Data&& message, const DataFromProtoLimits& limits) {
  return DataFromProto(std::move(message), StreamedArrayData(), limits);
}

absl::StatusOr<data::Data> DataFromProto(pb::Data&& message, const StreamedArrayData& streamed,
                                         const DataFromProtoLimits& limits) {
  ASSIGN_OR_RETURN(data::Data plain, ReadItems(message, streamed, limits));
  RETURN_IF_ERROR(plain.Validate());
  return plain;
}

}  // namespace seriald
