#include "proto/value_conversion.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/model/utf8.h"
#include "core/status_macros.h"

namespace seriald {
namespace {

namespace pb = ::seriald::v1;

// The model's enums and the schema's share their numbers, so conversion is a cast once the value
// is known to be declared.
static_assert(static_cast<int>(ElementType::kUint8) == pb::ELEMENT_TYPE_UINT8);
static_assert(static_cast<int>(ElementType::kInt8) == pb::ELEMENT_TYPE_INT8);
static_assert(static_cast<int>(ElementType::kInt16) == pb::ELEMENT_TYPE_INT16);
static_assert(static_cast<int>(ElementType::kInt32) == pb::ELEMENT_TYPE_INT32);
static_assert(static_cast<int>(ElementType::kInt64) == pb::ELEMENT_TYPE_INT64);
static_assert(static_cast<int>(ElementType::kFloat16) == pb::ELEMENT_TYPE_FLOAT16);
static_assert(static_cast<int>(ElementType::kFloat32) == pb::ELEMENT_TYPE_FLOAT32);
static_assert(static_cast<int>(ElementType::kFloat64) == pb::ELEMENT_TYPE_FLOAT64);
static_assert(static_cast<int>(ElementType::kComplex128) == pb::ELEMENT_TYPE_COMPLEX128);
static_assert(static_cast<int>(ElementType::kLogical) == pb::ELEMENT_TYPE_LOGICAL);
static_assert(static_cast<int>(ElementType::kRaw) == pb::ELEMENT_TYPE_RAW);
static_assert(kElementTypeCount == pb::ElementType_ARRAYSIZE);
static_assert(static_cast<int>(StringEncoding::kNative) == pb::STRING_ENCODING_NATIVE);
static_assert(static_cast<int>(StringEncoding::kUtf8) == pb::STRING_ENCODING_UTF8);
static_assert(static_cast<int>(StringEncoding::kLatin1) == pb::STRING_ENCODING_LATIN1);
static_assert(static_cast<int>(StringEncoding::kBytes) == pb::STRING_ENCODING_BYTES);
static_assert(static_cast<int>(StringEncoding::kAscii) == pb::STRING_ENCODING_ASCII);
static_assert(static_cast<int>(CellType::kList) == pb::CELL_TYPE_LIST);
static_assert(static_cast<int>(CellType::kLanguage) == pb::CELL_TYPE_LANGUAGE);
static_assert(static_cast<int>(CellType::kDots) == pb::CELL_TYPE_DOTS);
static_assert(static_cast<int>(SpecialKind::kGlobalEnv) == pb::Special::GLOBAL_ENV);
static_assert(static_cast<int>(SpecialKind::kBaseEnv) == pb::Special::BASE_ENV);
static_assert(static_cast<int>(SpecialKind::kEmptyEnv) == pb::Special::EMPTY_ENV);
static_assert(static_cast<int>(SpecialKind::kBaseNamespace) == pb::Special::BASE_NAMESPACE);
static_assert(static_cast<int>(SpecialKind::kMissingArg) == pb::Special::MISSING_ARG);
static_assert(static_cast<int>(SpecialKind::kUnboundValue) == pb::Special::UNBOUND_VALUE);
static_assert(static_cast<int>(RFormat::kXdr) == pb::R_FORMAT_XDR);
static_assert(static_cast<int>(RFormat::kNative) == pb::R_FORMAT_NATIVE);
static_assert(static_cast<int>(RFormat::kAscii) == pb::R_FORMAT_ASCII);
static_assert(static_cast<int>(RFormat::kAsciiHex) == pb::R_FORMAT_ASCII_HEX);
static_assert(static_cast<int>(RCompression::kNone) == pb::R_COMPRESSION_NONE);
static_assert(static_cast<int>(RCompression::kGzip) == pb::R_COMPRESSION_GZIP);
static_assert(static_cast<int>(RCompression::kBzip2) == pb::R_COMPRESSION_BZIP2);
static_assert(static_cast<int>(RCompression::kXz) == pb::R_COMPRESSION_XZ);

// The one NaN the JSON form can carry: what protobuf's JSON parser makes of "NaN".
constexpr uint64_t kCanonicalNanBits = 0x7FF8000000000000ULL;
constexpr uint64_t kNegativeZeroBits = 0x8000000000000000ULL;

constexpr int kLastStringEncoding = static_cast<int>(StringEncoding::kAscii);
constexpr int kLastCellType = static_cast<int>(CellType::kDots);
constexpr int kLastSpecialKind = static_cast<int>(SpecialKind::kUnboundValue);
constexpr int kLastRFormat = static_cast<int>(RFormat::kAsciiHex);
constexpr int kLastRCompression = static_cast<int>(RCompression::kXz);

absl::Status NodeError(NodeId id, NodeKind kind, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("node ", id, " (", AsAbsl(NodeKindName(kind)), "): ", AsAbsl(problem)));
}

bool NumberNeedsBits(double number) {
  const uint64_t bits = std::bit_cast<uint64_t>(number);
  return bits == kNegativeZeroBits || (std::isnan(number) && bits != kCanonicalNanBits);
}

absl::Status CheckTorch7Layout(const Torch7Layout& layout) {
  if (layout.long_size != 4 && layout.long_size != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("source.torch7.long_size is ", layout.long_size, ", not 4 or 8"));
  }
  return absl::OkStatus();
}

absl::Status CheckRVersion(int64_t version) {
  if (version != 2 && version != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("source.r.version is ", version, ", not 2 or 3"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Value -> message.

class ProtoWriter {
 public:
  ProtoWriter(const Value& value, const ToProtoOptions& options)
      : value_(value),
        options_(options),
        native_(value.source().r.has_value()
                    ? NativeEncodingFromName(value.source().r->native_encoding)
                    : NativeEncoding::kOther) {}

  absl::Status Write(pb::Value* message) {
    message->Clear();
    message->mutable_nodes()->Reserve(static_cast<int>(value_.size()));
    for (NodeId id = 0; id < value_.size(); ++id) {
      id_ = id;
      kind_ = value_.node(id).kind();
      RETURN_IF_ERROR(WriteNode(value_.node(id), message->add_nodes()));
    }
    message->mutable_roots()->Reserve(static_cast<int>(value_.roots().size()));
    for (NodeId root : value_.roots()) message->add_roots(root);
    return WriteSource(value_.source(), message);
  }

 private:
  absl::Status Error(std::string_view problem) const { return NodeError(id_, kind_, problem); }

  absl::Status Required(NodeId id, std::string_view what) const {
    if (id == kNoNode) return Error(absl::StrCat(AsAbsl(what), " is missing"));
    return absl::OkStatus();
  }

  absl::Status Utf8Field(const std::string& text, std::string_view what) const {
    if (!IsValidUtf8(text)) {
      return Error(absl::StrCat(AsAbsl(what),
                                " is not valid UTF-8, which the schema's string fields require"));
    }
    return absl::OkStatus();
  }

  absl::Status WriteString(std::string_view bytes, StringEncoding encoding, bool is_na,
                           std::string_view what, pb::String* out,
                           std::optional<uint32_t> char_flags = std::nullopt) const {
    if (char_flags.has_value()) out->set_r_char_flags(*char_flags);
    if (static_cast<int>(encoding) > kLastStringEncoding) {
      return Error(
          absl::StrCat(AsAbsl(what), " has undeclared encoding ", static_cast<int>(encoding)));
    }
    out->set_encoding(static_cast<pb::StringEncoding>(encoding));
    if (is_na) {
      if (!bytes.empty()) return Error(absl::StrCat(AsAbsl(what), " is NA but holds bytes"));
      out->set_na(true);
    } else if (IsValidUtf8(bytes)) {
      out->set_text(bytes.data(), bytes.size());
    } else {
      out->set_raw(bytes.data(), bytes.size());
    }
    // What R shows for latin1 / Windows-1252 bytes, so that JSON readers see text.
    if (!is_na) {
      if (std::optional<std::string> text = RStringAsUtf8(bytes, encoding, native_)) {
        out->set_translated(*std::move(text));
      }
    }
    return absl::OkStatus();
  }

  absl::Status WriteStrings(const StringVector& strings, pb::StringVector* out) const {
    out->mutable_elements()->Reserve(static_cast<int>(strings.size()));
    for (size_t i = 0; i < strings.size(); ++i) {
      StringVector::Element e = strings.Get(i);
      RETURN_IF_ERROR(WriteString(e.bytes, e.encoding, e.is_na, absl::StrCat("element ", i),
                                  out->add_elements(), strings.CharFlagsOf(i)));
    }
    return absl::OkStatus();
  }

  static void WriteFlags(const RFlags& flags, pb::RFlags* out) {
    out->set_levels(flags.levels);
    out->set_object(flags.object);
    out->set_stray_tag(flags.stray_tag);
    out->set_null_attributes(flags.null_attributes);
  }

  absl::Status WriteNode(const Node& node, pb::Node* out) const {
    if (node.attributes != kNoNode) out->set_attributes(node.attributes);
    if (node.r_flags != RFlags{}) WriteFlags(node.r_flags, out->mutable_r_flags());
    return std::visit([&](const auto& data) { return WriteData(data, out); }, node.data);
  }

  absl::Status WriteData(const Nil&, pb::Node* out) const {
    out->mutable_nil();
    return absl::OkStatus();
  }
  absl::Status WriteData(const Boolean& data, pb::Node* out) const {
    out->set_boolean(data.value);
    return absl::OkStatus();
  }
  absl::Status WriteData(const Number& data, pb::Node* out) const {
    if (NumberNeedsBits(data.value)) {
      out->set_number_bits(std::bit_cast<uint64_t>(data.value));
    } else {
      out->set_number(data.value);
    }
    return absl::OkStatus();
  }
  absl::Status WriteData(const StringValue& data, pb::Node* out) const {
    return WriteString(data.bytes, data.encoding, data.is_na, "the string", out->mutable_string(),
                       data.char_flags);
  }
  absl::Status WriteData(const Array& data, pb::Node* out) const {
    if (static_cast<int>(data.type) >= kElementTypeCount) {
      return Error(absl::StrCat("undeclared element type ", static_cast<int>(data.type)));
    }
    pb::Array* array = out->mutable_array();
    array->set_type(static_cast<pb::ElementType>(data.type));
    array->set_length(data.length);
    if (data.data.size() <= options_.max_inline_array_bytes && data.big_endian) {
      // Little-endian on the wire, as value.proto says: swapped in this one copy.
      std::string* bytes = array->mutable_data();
      bytes->resize(data.data.size());
      CopyLittleEndian(data, 0, data.length, reinterpret_cast<uint8_t*>(bytes->data()));
    } else if (data.data.size() <= options_.max_inline_array_bytes) {
      array->set_data(data.data.data(), data.data.size());  // the one copy of the data
    }
    return absl::OkStatus();
  }
  absl::Status WriteData(const StringVector& data, pb::Node* out) const {
    return WriteStrings(data, out->mutable_string_vector());
  }
  absl::Status WriteData(const Opaque& data, pb::Node* out) const {
    out->set_opaque(data.bytes.data(), data.bytes.size());
    return absl::OkStatus();
  }
  absl::Status WriteData(const Table& data, pb::Node* out) const {
    pb::Table* table = out->mutable_table();
    table->mutable_entries()->Reserve(static_cast<int>(data.entries.size()));
    for (size_t i = 0; i < data.entries.size(); ++i) {
      const TableEntry& e = data.entries[i];
      RETURN_IF_ERROR(Required(e.key, absl::StrCat("entry ", i, " key")));
      RETURN_IF_ERROR(Required(e.value, absl::StrCat("entry ", i, " value")));
      pb::Table::Entry* entry = table->add_entries();
      entry->set_key(e.key);
      entry->set_value(e.value);
    }
    return absl::OkStatus();
  }
  absl::Status WriteData(const TorchObject& data, pb::Node* out) const {
    RETURN_IF_ERROR(Utf8Field(data.class_name, "class name"));
    RETURN_IF_ERROR(Required(data.payload, "payload"));
    pb::TorchObject* object = out->mutable_torch_object();
    object->set_class_name(data.class_name);
    if (data.version) {
      RETURN_IF_ERROR(Utf8Field(*data.version, "version"));
      object->set_version(*data.version);
    }
    object->set_payload(data.payload);
    return absl::OkStatus();
  }
  absl::Status WriteData(const Tensor& data, pb::Node* out) const {
    pb::Tensor* tensor = out->mutable_tensor();
    tensor->mutable_sizes()->Add(data.sizes.begin(), data.sizes.end());
    tensor->mutable_strides()->Add(data.strides.begin(), data.strides.end());
    tensor->set_storage_offset(data.storage_offset);
    if (data.storage != kNoNode) tensor->set_storage(data.storage);
    return absl::OkStatus();
  }
  absl::Status WriteData(const LuaFunction& data, pb::Node* out) const {
    RETURN_IF_ERROR(Required(data.upvalues, "upvalues"));
    pb::LuaFunction* function = out->mutable_lua_function();
    function->set_tag(data.tag);
    function->set_bytecode(data.bytecode.data(), data.bytecode.size());
    function->set_upvalues(data.upvalues);
    return absl::OkStatus();
  }
  absl::Status WriteData(const List& data, pb::Node* out) const {
    pb::List* list = out->mutable_list();
    list->set_expression(data.expression);
    list->mutable_items()->Reserve(static_cast<int>(data.items.size()));
    for (size_t i = 0; i < data.items.size(); ++i) {
      RETURN_IF_ERROR(Required(data.items[i], absl::StrCat("item ", i)));
      list->add_items(data.items[i]);
    }
    return absl::OkStatus();
  }
  absl::Status WriteData(const Pairlist& data, pb::Node* out) const {
    pb::Pairlist* pairlist = out->mutable_pairlist();
    pairlist->mutable_cells()->Reserve(static_cast<int>(data.cells.size()));
    for (size_t i = 0; i < data.cells.size(); ++i) {
      const PairlistCell& c = data.cells[i];
      if (static_cast<int>(c.type) > kLastCellType) {
        return Error(absl::StrCat("cell ", i, " has undeclared type ", static_cast<int>(c.type)));
      }
      RETURN_IF_ERROR(Required(c.value, absl::StrCat("cell ", i, " value")));
      pb::Pairlist::Cell* cell = pairlist->add_cells();
      cell->set_type(static_cast<pb::CellType>(c.type));
      if (c.tag != kNoNode) cell->set_tag(c.tag);
      cell->set_value(c.value);
      if (c.attributes != kNoNode) cell->set_attributes(c.attributes);
      if (c.flags != RFlags{}) WriteFlags(c.flags, cell->mutable_flags());
    }
    if (data.tail != kNoNode) pairlist->set_tail(data.tail);
    return absl::OkStatus();
  }
  absl::Status WriteData(const Symbol& data, pb::Node* out) const {
    return WriteString(data.name.bytes, data.name.encoding, data.name.is_na, "the name",
                       out->mutable_symbol()->mutable_name(), data.name.char_flags);
  }
  absl::Status WriteData(const Environment& data, pb::Node* out) const {
    pb::Environment* environment = out->mutable_environment();
    environment->set_locked(data.locked);
    if (data.enclosure != kNoNode) environment->set_enclosure(data.enclosure);
    if (data.frame != kNoNode) environment->set_frame(data.frame);
    if (data.hash_table != kNoNode) environment->set_hash_table(data.hash_table);
    return absl::OkStatus();
  }
  absl::Status WriteData(const Special& data, pb::Node* out) const {
    if (static_cast<int>(data.which) > kLastSpecialKind) {
      return Error(absl::StrCat("undeclared special kind ", static_cast<int>(data.which)));
    }
    out->mutable_special()->set_kind(static_cast<pb::Special::Kind>(data.which));
    return absl::OkStatus();
  }
  absl::Status WriteData(const Namespace& data, pb::Node* out) const {
    return WriteStrings(data.info, out->mutable_r_namespace());
  }
  absl::Status WriteData(const PackageEnvironment& data, pb::Node* out) const {
    return WriteStrings(data.info, out->mutable_package_environment());
  }
  absl::Status WriteData(const PersistentReference& data, pb::Node* out) const {
    return WriteStrings(data.names, out->mutable_persistent_reference());
  }
  absl::Status WriteData(const Closure& data, pb::Node* out) const {
    RETURN_IF_ERROR(Required(data.body, "body"));
    pb::Closure* closure = out->mutable_closure();
    if (data.environment != kNoNode) closure->set_environment(data.environment);
    if (data.formals != kNoNode) closure->set_formals(data.formals);
    closure->set_body(data.body);
    return absl::OkStatus();
  }
  absl::Status WriteData(const Promise& data, pb::Node* out) const {
    RETURN_IF_ERROR(Required(data.value, "value"));
    RETURN_IF_ERROR(Required(data.code, "code"));
    pb::Promise* promise = out->mutable_promise();
    if (data.environment != kNoNode) promise->set_environment(data.environment);
    promise->set_value(data.value);
    promise->set_code(data.code);
    return absl::OkStatus();
  }
  absl::Status WriteData(const Builtin& data, pb::Node* out) const {
    RETURN_IF_ERROR(Utf8Field(data.name, "name"));
    pb::Builtin* builtin = out->mutable_builtin();
    builtin->set_special(data.special);
    builtin->set_name(data.name);
    return absl::OkStatus();
  }
  absl::Status WriteData(const Bytecode& data, pb::Node* out) const {
    RETURN_IF_ERROR(Required(data.code, "code"));
    pb::Bytecode* bytecode = out->mutable_bytecode();
    bytecode->set_code(data.code);
    bytecode->mutable_constants()->Reserve(static_cast<int>(data.constants.size()));
    for (size_t i = 0; i < data.constants.size(); ++i) {
      RETURN_IF_ERROR(Required(data.constants[i], absl::StrCat("constant ", i)));
      bytecode->add_constants(data.constants[i]);
    }
    return absl::OkStatus();
  }
  absl::Status WriteData(const ExternalPointer& data, pb::Node* out) const {
    pb::ExternalPointer* pointer = out->mutable_external_pointer();
    if (data.protected_value != kNoNode) pointer->set_protected_value(data.protected_value);
    if (data.tag != kNoNode) pointer->set_tag(data.tag);
    return absl::OkStatus();
  }
  absl::Status WriteData(const WeakReference&, pb::Node* out) const {
    out->mutable_weak_reference();
    return absl::OkStatus();
  }
  absl::Status WriteData(const S4Object&, pb::Node* out) const {
    out->mutable_s4_object();
    return absl::OkStatus();
  }
  absl::Status WriteData(const Altrep& data, pb::Node* out) const {
    RETURN_IF_ERROR(Utf8Field(data.class_name, "class name"));
    RETURN_IF_ERROR(Utf8Field(data.package, "package"));
    RETURN_IF_ERROR(Required(data.state, "state"));
    pb::Altrep* altrep = out->mutable_altrep();
    altrep->set_class_name(data.class_name);
    altrep->set_package(data.package);
    altrep->set_base_type(data.base_type);
    altrep->set_state(data.state);
    return absl::OkStatus();
  }

  static absl::Status SourceUtf8(const std::string& text, std::string_view what) {
    if (!IsValidUtf8(text)) {
      return absl::InvalidArgumentError(absl::StrCat(
          AsAbsl(what), " is not valid UTF-8, which the schema's string fields require"));
    }
    return absl::OkStatus();
  }

  static absl::Status WriteSource(const SourceInfo& source, pb::Value* message) {
    if (source.torch7) {
      RETURN_IF_ERROR(CheckTorch7Layout(*source.torch7));
      pb::Torch7Layout* layout = message->mutable_source()->mutable_torch7();
      layout->set_ascii(source.torch7->ascii);
      layout->set_long_size(static_cast<uint32_t>(source.torch7->long_size));
      layout->set_big_endian(source.torch7->big_endian);
    }
    if (source.r) {
      const RStreamInfo& info = *source.r;
      RETURN_IF_ERROR(CheckRVersion(info.version));
      if (static_cast<int>(info.format) > kLastRFormat) {
        return absl::InvalidArgumentError(
            absl::StrCat("source.r.format ", static_cast<int>(info.format), " is undeclared"));
      }
      if (static_cast<int>(info.compression) > kLastRCompression) {
        return absl::InvalidArgumentError(absl::StrCat(
            "source.r.compression ", static_cast<int>(info.compression), " is undeclared"));
      }
      RETURN_IF_ERROR(SourceUtf8(info.native_encoding, "source.r.native_encoding"));
      RETURN_IF_ERROR(SourceUtf8(info.rdata_magic, "source.r.rdata_magic"));
      pb::RStreamInfo* r = message->mutable_source()->mutable_r();
      r->set_format(static_cast<pb::RFormat>(info.format));
      r->set_version(info.version);
      r->set_writer_version(info.writer_version);
      r->set_min_reader_version(info.min_reader_version);
      r->set_native_encoding(info.native_encoding);
      r->set_compression(static_cast<pb::RCompression>(info.compression));
      r->set_rdata_magic(info.rdata_magic);
      r->set_trailing_bytes(std::string(info.trailing_bytes.view()));
      r->set_gzip_header(info.gzip_header);
    }
    return absl::OkStatus();
  }

  const Value& value_;
  const ToProtoOptions& options_;
  const NativeEncoding native_;
  NodeId id_ = 0;
  NodeKind kind_ = NodeKind::kNil;
};

// ---------------------------------------------------------------------------------------------
// Message -> Value.

// The model kind a message node holds, for messages; kNil when no kind is set.
NodeKind KindOf(const pb::Node& node) {
  switch (node.kind_case()) {
    case pb::Node::kNil:
      return NodeKind::kNil;
    case pb::Node::kBoolean:
      return NodeKind::kBoolean;
    case pb::Node::kNumber:
      return NodeKind::kNumber;
    case pb::Node::kNumberBits:
      return NodeKind::kNumber;
    case pb::Node::kString:
      return NodeKind::kString;
    case pb::Node::kArray:
      return NodeKind::kArray;
    case pb::Node::kStringVector:
      return NodeKind::kStringVector;
    case pb::Node::kOpaque:
      return NodeKind::kOpaque;
    case pb::Node::kTable:
      return NodeKind::kTable;
    case pb::Node::kTorchObject:
      return NodeKind::kTorchObject;
    case pb::Node::kTensor:
      return NodeKind::kTensor;
    case pb::Node::kLuaFunction:
      return NodeKind::kLuaFunction;
    case pb::Node::kList:
      return NodeKind::kList;
    case pb::Node::kPairlist:
      return NodeKind::kPairlist;
    case pb::Node::kSymbol:
      return NodeKind::kSymbol;
    case pb::Node::kEnvironment:
      return NodeKind::kEnvironment;
    case pb::Node::kSpecial:
      return NodeKind::kSpecial;
    case pb::Node::kRNamespace:
      return NodeKind::kNamespace;
    case pb::Node::kPackageEnvironment:
      return NodeKind::kPackageEnvironment;
    case pb::Node::kPersistentReference:
      return NodeKind::kPersistentReference;
    case pb::Node::kClosure:
      return NodeKind::kClosure;
    case pb::Node::kPromise:
      return NodeKind::kPromise;
    case pb::Node::kBuiltin:
      return NodeKind::kBuiltin;
    case pb::Node::kBytecode:
      return NodeKind::kBytecode;
    case pb::Node::kExternalPointer:
      return NodeKind::kExternalPointer;
    case pb::Node::kWeakReference:
      return NodeKind::kWeakReference;
    case pb::Node::kS4Object:
      return NodeKind::kS4Object;
    case pb::Node::kAltrep:
      return NodeKind::kAltrep;
    case pb::Node::KIND_NOT_SET:
      return NodeKind::kNil;
  }
  return NodeKind::kNil;
}

class ProtoReader {
 public:
  // `taken` holds, per node, bytes already moved out of the message (FromProto(&&)); null when
  // the bytes are to be copied.
  ProtoReader(const pb::Value& message, std::vector<Buffer>* taken)
      : message_(message), taken_(taken), count_(static_cast<uint64_t>(message.nodes_size())) {}

  absl::StatusOr<Value> Read() {
    Value value;
    value.Reserve(count_);
    for (int i = 0; i < message_.nodes_size(); ++i) {
      id_ = static_cast<NodeId>(i);
      const pb::Node& node = message_.nodes(i);
      kind_ = KindOf(node);
      if (node.kind_case() == pb::Node::KIND_NOT_SET) {
        return absl::InvalidArgumentError(absl::StrCat("node ", id_, " has no kind"));
      }
      ASSIGN_OR_RETURN(Node converted, ReadNode(node));
      value.Add(std::move(converted));
    }
    value.roots().reserve(message_.roots_size());
    for (int i = 0; i < message_.roots_size(); ++i) {
      if (message_.roots(i) >= count_) {
        return absl::InvalidArgumentError(absl::StrCat("root ", i, " refers to node ",
                                                       message_.roots(i), ", but there are only ",
                                                       count_, " nodes"));
      }
      value.roots().push_back(message_.roots(i));
    }
    if (message_.has_source()) {
      RETURN_IF_ERROR(ReadSource(message_.source(), &value.source()));
    }
    RETURN_IF_ERROR(value.Validate());
    return value;
  }

 private:
  absl::Status Error(std::string_view problem) const { return NodeError(id_, kind_, problem); }

  // An id from a repeated field, or a required one that is present.
  absl::Status Ref(uint32_t id, std::string_view what, NodeId* out) const {
    if (id >= count_) {
      return Error(absl::StrCat(AsAbsl(what), " refers to node ", id, ", but there are only ",
                                count_, " nodes"));
    }
    *out = id;
    return absl::OkStatus();
  }
  absl::Status RequiredRef(bool present, uint32_t id, std::string_view what, NodeId* out) const {
    if (!present) return Error(absl::StrCat(AsAbsl(what), " is missing"));
    return Ref(id, what, out);
  }
  absl::Status OptionalRef(bool present, uint32_t id, std::string_view what, NodeId* out) const {
    if (!present) {
      *out = kNoNode;
      return absl::OkStatus();
    }
    return Ref(id, what, out);
  }

  Buffer Bytes(const std::string& bytes) const {
    if (taken_ != nullptr) return std::move((*taken_)[id_]);
    return Buffer::Copy(bytes);
  }

  absl::StatusOr<StringValue> ReadString(const pb::String& in, std::string_view what) const {
    if (!pb::StringEncoding_IsValid(in.encoding())) {
      return Error(absl::StrCat(AsAbsl(what), " has undeclared encoding ", in.encoding()));
    }
    StringValue out;
    out.encoding = static_cast<StringEncoding>(in.encoding());
    out.is_na = in.na();
    if (in.na()) {
      if (in.content_case() != pb::String::CONTENT_NOT_SET) {
        return Error(absl::StrCat(AsAbsl(what), " is NA but has text or raw bytes"));
      }
      if (in.has_r_char_flags()) out.char_flags = in.r_char_flags();
      return out;
    }
    out.bytes = in.content_case() == pb::String::kText ? in.text() : in.raw();
    if (in.has_r_char_flags()) out.char_flags = in.r_char_flags();
    return out;
  }

  absl::StatusOr<StringVector> ReadStrings(const pb::StringVector& in) const {
    StringVector out;
    size_t total = 0;
    for (const pb::String& e : in.elements()) total += e.text().size() + e.raw().size();
    out.Reserve(in.elements_size(), total);
    for (int i = 0; i < in.elements_size(); ++i) {
      const std::string what = absl::StrCat("element ", i);
      ASSIGN_OR_RETURN(StringValue element, ReadString(in.elements(i), what));
      // A vector records NA elements without an encoding.
      if (element.is_na && element.encoding != StringEncoding::kNative) {
        return Error(absl::StrCat(what, " is NA but declares encoding ",
                                  AsAbsl(StringEncodingName(element.encoding))));
      }
      out.Append(element);
    }
    return out;
  }

  absl::StatusOr<RFlags> ReadFlags(const pb::RFlags& in, std::string_view what) const {
    if (in.levels() > 0xFFFF) {
      return Error(absl::StrCat(AsAbsl(what), " levels ", in.levels(), " exceed 16 bits"));
    }
    return RFlags{static_cast<uint16_t>(in.levels()), in.object(), in.stray_tag(),
                  in.null_attributes()};
  }

  absl::StatusOr<Node> ReadNode(const pb::Node& in) const {
    Node out;
    RETURN_IF_ERROR(
        OptionalRef(in.has_attributes(), in.attributes(), "attributes", &out.attributes));
    if (in.has_r_flags()) {
      ASSIGN_OR_RETURN(out.r_flags, ReadFlags(in.r_flags(), "r_flags"));
    }
    ASSIGN_OR_RETURN(out.data, ReadData(in));
    return out;
  }

  absl::StatusOr<NodeData> ReadData(const pb::Node& in) const {
    switch (in.kind_case()) {
      case pb::Node::kNil:
        return Nil{};
      case pb::Node::kBoolean:
        return Boolean{in.boolean()};
      case pb::Node::kNumber:
        return Number{in.number()};
      case pb::Node::kNumberBits:
        return Number{std::bit_cast<double>(in.number_bits())};
      case pb::Node::kString:
        return ReadString(in.string(), "the string");
      case pb::Node::kArray:
        return ReadArray(in.array());
      case pb::Node::kStringVector:
        return ReadStrings(in.string_vector());
      case pb::Node::kOpaque:
        return Opaque{Bytes(in.opaque())};
      case pb::Node::kTable:
        return ReadTable(in.table());
      case pb::Node::kTorchObject:
        return ReadTorchObject(in.torch_object());
      case pb::Node::kTensor:
        return ReadTensor(in.tensor());
      case pb::Node::kLuaFunction:
        return ReadLuaFunction(in.lua_function());
      case pb::Node::kList:
        return ReadList(in.list());
      case pb::Node::kPairlist:
        return ReadPairlist(in.pairlist());
      case pb::Node::kSymbol: {
        ASSIGN_OR_RETURN(StringValue name, ReadString(in.symbol().name(), "the name"));
        return Symbol{std::move(name)};
      }
      case pb::Node::kEnvironment:
        return ReadEnvironment(in.environment());
      case pb::Node::kSpecial:
        if (!pb::Special::Kind_IsValid(in.special().kind())) {
          return Error(absl::StrCat("undeclared special kind ", in.special().kind()));
        }
        return Special{static_cast<SpecialKind>(in.special().kind())};
      case pb::Node::kRNamespace: {
        ASSIGN_OR_RETURN(StringVector info, ReadStrings(in.r_namespace()));
        return Namespace{std::move(info)};
      }
      case pb::Node::kPackageEnvironment: {
        ASSIGN_OR_RETURN(StringVector info, ReadStrings(in.package_environment()));
        return PackageEnvironment{std::move(info)};
      }
      case pb::Node::kPersistentReference: {
        ASSIGN_OR_RETURN(StringVector names, ReadStrings(in.persistent_reference()));
        return PersistentReference{std::move(names)};
      }
      case pb::Node::kClosure:
        return ReadClosure(in.closure());
      case pb::Node::kPromise:
        return ReadPromise(in.promise());
      case pb::Node::kBuiltin:
        return Builtin{in.builtin().special(), in.builtin().name()};
      case pb::Node::kBytecode:
        return ReadBytecode(in.bytecode());
      case pb::Node::kExternalPointer:
        return ReadExternalPointer(in.external_pointer());
      case pb::Node::kWeakReference:
        return WeakReference{};
      case pb::Node::kS4Object:
        return S4Object{};
      case pb::Node::kAltrep:
        return ReadAltrep(in.altrep());
      case pb::Node::KIND_NOT_SET:
        break;
    }
    return Error("has no kind");
  }

  absl::StatusOr<NodeData> ReadArray(const pb::Array& in) const {
    if (!pb::ElementType_IsValid(in.type())) {
      return Error(absl::StrCat("undeclared element type ", in.type()));
    }
    Array out;
    out.type = static_cast<ElementType>(in.type());
    out.length = in.length();
    out.data = Bytes(in.data());
    const uint64_t size = ElementSize(out.type);
    if (out.data.size() % size != 0 || out.data.size() / size != out.length) {
      return Error(absl::StrCat("array of ", out.length, " ", AsAbsl(ElementTypeName(out.type)),
                                " needs ", out.length, " x ", size, " bytes of data, but has ",
                                out.data.size()));
    }
    return out;
  }

  absl::StatusOr<NodeData> ReadTable(const pb::Table& in) const {
    Table out;
    out.entries.resize(in.entries_size());
    for (int i = 0; i < in.entries_size(); ++i) {
      const pb::Table::Entry& entry = in.entries(i);
      RETURN_IF_ERROR(RequiredRef(entry.has_key(), entry.key(), absl::StrCat("entry ", i, " key"),
                                  &out.entries[i].key));
      RETURN_IF_ERROR(RequiredRef(entry.has_value(), entry.value(),
                                  absl::StrCat("entry ", i, " value"), &out.entries[i].value));
    }
    return out;
  }

  absl::StatusOr<NodeData> ReadTorchObject(const pb::TorchObject& in) const {
    TorchObject out;
    out.class_name = in.class_name();
    out.version = in.has_version() ? std::optional<std::string>(in.version()) : std::nullopt;
    RETURN_IF_ERROR(RequiredRef(in.has_payload(), in.payload(), "payload", &out.payload));
    return out;
  }

  absl::StatusOr<NodeData> ReadTensor(const pb::Tensor& in) const {
    Tensor out;
    out.sizes.assign(in.sizes().begin(), in.sizes().end());
    out.strides.assign(in.strides().begin(), in.strides().end());
    out.storage_offset = in.storage_offset();
    RETURN_IF_ERROR(OptionalRef(in.has_storage(), in.storage(), "storage", &out.storage));
    return out;
  }

  absl::StatusOr<NodeData> ReadLuaFunction(const pb::LuaFunction& in) const {
    if (in.tag() < 6 || in.tag() > 8) {
      return Error(absl::StrCat("lua function tag ", in.tag(), " is not 6, 7 or 8"));
    }
    LuaFunction out;
    out.tag = static_cast<uint8_t>(in.tag());
    out.bytecode = Bytes(in.bytecode());
    RETURN_IF_ERROR(RequiredRef(in.has_upvalues(), in.upvalues(), "upvalues", &out.upvalues));
    return out;
  }

  absl::StatusOr<NodeData> ReadList(const pb::List& in) const {
    List out;
    out.expression = in.expression();
    out.items.resize(in.items_size());
    for (int i = 0; i < in.items_size(); ++i) {
      RETURN_IF_ERROR(Ref(in.items(i), absl::StrCat("item ", i), &out.items[i]));
    }
    return out;
  }

  absl::StatusOr<NodeData> ReadPairlist(const pb::Pairlist& in) const {
    Pairlist out;
    out.cells.resize(in.cells_size());
    for (int i = 0; i < in.cells_size(); ++i) {
      const pb::Pairlist::Cell& c = in.cells(i);
      PairlistCell& cell = out.cells[i];
      const std::string what = absl::StrCat("cell ", i);
      if (!pb::CellType_IsValid(c.type())) {
        return Error(absl::StrCat(what, " has undeclared type ", c.type()));
      }
      cell.type = static_cast<CellType>(c.type());
      RETURN_IF_ERROR(OptionalRef(c.has_tag(), c.tag(), absl::StrCat(what, " tag"), &cell.tag));
      RETURN_IF_ERROR(
          RequiredRef(c.has_value(), c.value(), absl::StrCat(what, " value"), &cell.value));
      RETURN_IF_ERROR(OptionalRef(c.has_attributes(), c.attributes(),
                                  absl::StrCat(what, " attributes"), &cell.attributes));
      if (c.has_flags()) {
        ASSIGN_OR_RETURN(cell.flags, ReadFlags(c.flags(), absl::StrCat(what, " flags")));
      }
    }
    RETURN_IF_ERROR(OptionalRef(in.has_tail(), in.tail(), "tail", &out.tail));
    return out;
  }

  absl::StatusOr<NodeData> ReadEnvironment(const pb::Environment& in) const {
    Environment out;
    out.locked = in.locked();
    RETURN_IF_ERROR(OptionalRef(in.has_enclosure(), in.enclosure(), "enclosure", &out.enclosure));
    RETURN_IF_ERROR(OptionalRef(in.has_frame(), in.frame(), "frame", &out.frame));
    RETURN_IF_ERROR(
        OptionalRef(in.has_hash_table(), in.hash_table(), "hash table", &out.hash_table));
    return out;
  }

  absl::StatusOr<NodeData> ReadClosure(const pb::Closure& in) const {
    Closure out;
    RETURN_IF_ERROR(
        OptionalRef(in.has_environment(), in.environment(), "environment", &out.environment));
    RETURN_IF_ERROR(OptionalRef(in.has_formals(), in.formals(), "formals", &out.formals));
    RETURN_IF_ERROR(RequiredRef(in.has_body(), in.body(), "body", &out.body));
    return out;
  }

  absl::StatusOr<NodeData> ReadPromise(const pb::Promise& in) const {
    Promise out;
    RETURN_IF_ERROR(
        OptionalRef(in.has_environment(), in.environment(), "environment", &out.environment));
    RETURN_IF_ERROR(RequiredRef(in.has_value(), in.value(), "value", &out.value));
    RETURN_IF_ERROR(RequiredRef(in.has_code(), in.code(), "code", &out.code));
    return out;
  }

  absl::StatusOr<NodeData> ReadBytecode(const pb::Bytecode& in) const {
    Bytecode out;
    RETURN_IF_ERROR(RequiredRef(in.has_code(), in.code(), "code", &out.code));
    out.constants.resize(in.constants_size());
    for (int i = 0; i < in.constants_size(); ++i) {
      RETURN_IF_ERROR(Ref(in.constants(i), absl::StrCat("constant ", i), &out.constants[i]));
    }
    return out;
  }

  absl::StatusOr<NodeData> ReadExternalPointer(const pb::ExternalPointer& in) const {
    ExternalPointer out;
    RETURN_IF_ERROR(OptionalRef(in.has_protected_value(), in.protected_value(), "protected value",
                                &out.protected_value));
    RETURN_IF_ERROR(OptionalRef(in.has_tag(), in.tag(), "tag", &out.tag));
    return out;
  }

  absl::StatusOr<NodeData> ReadAltrep(const pb::Altrep& in) const {
    Altrep out;
    out.class_name = in.class_name();
    out.package = in.package();
    out.base_type = in.base_type();
    RETURN_IF_ERROR(RequiredRef(in.has_state(), in.state(), "state", &out.state));
    return out;
  }

  static absl::Status ReadSource(const pb::SourceInfo& in, SourceInfo* out) {
    if (in.has_torch7()) {
      Torch7Layout layout;
      layout.ascii = in.torch7().ascii();
      if (in.torch7().long_size() != 4 && in.torch7().long_size() != 8) {
        return absl::InvalidArgumentError(
            absl::StrCat("source.torch7.long_size is ", in.torch7().long_size(), ", not 4 or 8"));
      }
      layout.long_size = static_cast<int>(in.torch7().long_size());
      layout.big_endian = in.torch7().big_endian();
      out->torch7 = layout;
    }
    if (in.has_r()) {
      const pb::RStreamInfo& r = in.r();
      RETURN_IF_ERROR(CheckRVersion(r.version()));
      if (!pb::RFormat_IsValid(r.format())) {
        return absl::InvalidArgumentError(
            absl::StrCat("source.r.format ", r.format(), " is undeclared"));
      }
      if (!pb::RCompression_IsValid(r.compression())) {
        return absl::InvalidArgumentError(
            absl::StrCat("source.r.compression ", r.compression(), " is undeclared"));
      }
      RStreamInfo info;
      info.format = static_cast<RFormat>(r.format());
      info.version = r.version();
      info.writer_version = r.writer_version();
      info.min_reader_version = r.min_reader_version();
      info.native_encoding = r.native_encoding();
      info.compression = static_cast<RCompression>(r.compression());
      info.rdata_magic = r.rdata_magic();
      if (!r.trailing_bytes().empty()) info.trailing_bytes = Buffer::Copy(r.trailing_bytes());
      if (!r.gzip_header().empty()) {
        if (r.gzip_header().size() != 10 || r.gzip_header().substr(0, 2) != "\x1f\x8b") {
          return absl::InvalidArgumentError(
              "source.r.gzip_header must be a 10-byte gzip member header");
        }
        info.gzip_header = r.gzip_header();
      }
      out->r = std::move(info);
    }
    return absl::OkStatus();
  }

  const pb::Value& message_;
  std::vector<Buffer>* taken_;
  const uint64_t count_;
  NodeId id_ = 0;
  NodeKind kind_ = NodeKind::kNil;
};

}  // namespace

std::vector<NodeId> ArraysLeftOut(const Value& value, const ToProtoOptions& options) {
  std::vector<NodeId> ids;
  for (NodeId id = 0; id < value.size(); ++id) {
    const Array* array = value.GetIf<Array>(id);
    if (array != nullptr && array->data.size() > options.max_inline_array_bytes) ids.push_back(id);
  }
  return ids;
}

absl::Status ToProto(const Value& value, pb::Value* message, const ToProtoOptions& options) {
  return ProtoWriter(value, options).Write(message);
}

absl::StatusOr<Value> FromProto(const pb::Value& message) {
  return ProtoReader(message, nullptr).Read();
}

namespace {

// Moves the large byte fields out of `message`, by node id; the reader then finds them there.
std::vector<Buffer> TakeBytes(pb::Value& message) {
  std::vector<Buffer> taken(message.nodes_size());
  for (int i = 0; i < message.nodes_size(); ++i) {
    pb::Node& node = *message.mutable_nodes(i);
    std::string* bytes = nullptr;
    switch (node.kind_case()) {
      case pb::Node::kArray:
        bytes = node.mutable_array()->mutable_data();
        break;
      case pb::Node::kOpaque:
        bytes = node.mutable_opaque();
        break;
      case pb::Node::kLuaFunction:
        bytes = node.mutable_lua_function()->mutable_bytecode();
        break;
      default:
        break;
    }
    if (bytes != nullptr && !bytes->empty()) taken[i] = Buffer::FromString(std::move(*bytes));
  }
  return taken;
}

}  // namespace

absl::StatusOr<Value> FromProto(pb::Value&& message) {
  std::vector<Buffer> taken = TakeBytes(message);
  return ProtoReader(message, &taken).Read();
}

absl::StatusOr<Value> FromProto(pb::Value&& message, const StreamedArrayData& streamed) {
  std::vector<Buffer> taken = TakeBytes(message);
  for (const auto& [id, data] : streamed) {
    if (id >= taken.size() || message.nodes(static_cast<int>(id)).kind_case() != pb::Node::kArray) {
      return absl::InvalidArgumentError(
          absl::StrCat("streamed data for node ", id, ", which is not an array node"));
    }
    if (!taken[id].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("node ", id, " has data both in its message and streamed"));
    }
    taken[id] = data;
  }
  return ProtoReader(message, &taken).Read();
}

}  // namespace seriald
