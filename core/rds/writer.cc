#include "core/rds/writer.h"

#include <charconv>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/input_error.h"
#include "core/io/step_reader.h"
#include "core/rds/altrep.h"
#include "core/rds/compression.h"
#include "core/rds/primitives.h"
#include "core/status_macros.h"

namespace seriald {
namespace rds {

RWriteSettings SettingsFor(const Value& value, RFormat format, std::optional<int> version,
                           std::optional<RCompression> compression) {
  return SettingsForSource(value.source().r, format, version, compression);
}

RWriteSettings SettingsForSource(const std::optional<RStreamInfo>& source, RFormat format,
                                 std::optional<int> version,
                                 std::optional<RCompression> compression) {
  RWriteSettings settings;
  settings.format = format;
  settings.version = version.value_or(source ? source->version : 3);
  settings.min_reader_version = settings.version == 2 ? kMinReaderVersion2 : kMinReaderVersion3;
  if (source) {
    settings.writer_version = source->writer_version;
    if (source->version == settings.version) {
      settings.min_reader_version = source->min_reader_version;
    }
    if (source->version == 3) settings.native_encoding = source->native_encoding;
    settings.compression = source->compression;
    // Bytes R ignored after the object belong to that stream: kept only when it is written in
    // its own encoding and version again.
    if (source->format == format && source->version == settings.version) {
      settings.trailing_bytes = source->trailing_bytes;
    }
    settings.gzip_header = source->gzip_header;
  }
  if (compression) settings.compression = *compression;
  if (settings.compression != RCompression::kGzip) settings.gzip_header.clear();
  return settings;
}

std::string RDataMagic(RFormat format, int version) {
  const char letter = format == RFormat::kNative ? 'B' : format == RFormat::kXdr ? 'X' : 'A';
  return std::string("RD") + letter + (version == 2 ? '2' : '3');
}

namespace {

constexpr uint64_t kChunkElements = 8192;

absl::Status NodeError(NodeId id, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("node ", id, ": ", AsAbsl(problem)));
}

// The CHARSXP flags word for a string: with the levels R 4.2 gives it, or as its stream had it.
int32_t CharFlags(std::string_view bytes, StringEncoding encoding, bool is_na,
                  std::optional<uint32_t> char_flags = std::nullopt) {
  if (char_flags.has_value()) return static_cast<int32_t>(*char_flags);
  return PackFlags(kCharSxp, CharLevels(bytes, encoding, is_na), false, false, false);
}

std::optional<int32_t> SexpTypeOf(ElementType type) {
  switch (type) {
    case ElementType::kLogical:
      return kLglSxp;
    case ElementType::kInt32:
      return kIntSxp;
    case ElementType::kFloat64:
      return kRealSxp;
    case ElementType::kComplex128:
      return kCplxSxp;
    case ElementType::kRaw:
      return kRawSxp;
    default:
      // Widened as written (OutputStream::WriteWidenedElements).
      if (const std::optional<ElementType> wide = WidenedForR(type)) return SexpTypeOf(*wide);
      return std::nullopt;
  }
}

std::optional<ElementType> ElementTypeOf(int32_t sexptype) {
  switch (sexptype) {
    case kLglSxp:
      return ElementType::kLogical;
    case kIntSxp:
      return ElementType::kInt32;
    case kRealSxp:
      return ElementType::kFloat64;
    case kCplxSxp:
      return ElementType::kComplex128;
    case kRawSxp:
      return ElementType::kRaw;
    default:
      return std::nullopt;
  }
}

// One step of the writer's own stack.
struct Task {
  enum Kind : uint8_t {
    kItem,      // WriteItem(id); id kNoNode writes NULL
    kInt,       // one int
    kCells,     // pairlist `id` from cell `index` on
    kBcConsts,  // constants of byte code `id` from `index` on
    kBcLang,    // WriteBCLang(id), id kNoNode writes NULL
    kBcCells,   // byte code language cells of `id` from `index` on
    kBcEnd,     // a BCODESXP item is written: its reps table is done
    kExit,      // `id` and everything in it is written
  };
  Kind kind;
  NodeId id = kNoNode;
  uint64_t index = 0;
  int32_t value = 0;
};

class StreamWriter {
 public:
  StreamWriter(const Value& value, const RWriteSettings& settings, ByteWriter& out)
      : value_(value), settings_(settings), out_(out, settings.format) {}

  // Whether `id` is written as a pairlist or as NULL: what load() accepts as a save() file's root
  // (save(list = character(0)) writes NILVALUE), and what attributes must read back as. A
  // pairlist without cells is written as its tail, so that is what counts. Each chain of
  // cell-less pairlists is walked once, whatever shares it; one that comes back to itself is
  // written as nothing that reads.
  bool WritesAsPairlistOrNull(NodeId id) {
    if (written_as_pairlist_.empty()) written_as_pairlist_.assign(value_.size(), kUnknown);
    walked_.clear();
    bool result = false;
    while (true) {
      if (id == kNoNode) {
        result = true;
        break;
      }
      if (written_as_pairlist_[id] != kUnknown) {
        result = written_as_pairlist_[id] == kYes;
        break;
      }
      const Node& node = value_.node(id);
      const Pairlist* list = std::get_if<Pairlist>(&node.data);
      if (node.kind() == NodeKind::kNil || (list != nullptr && !list->cells.empty())) {
        result = true;
        break;
      }
      if (list == nullptr) break;
      written_as_pairlist_[id] = kNo;  // a chain that comes back here goes round in a circle
      walked_.push_back(id);
      id = list->tail;
    }
    for (NodeId step : walked_) written_as_pairlist_[step] = result ? kYes : kNo;
    return result;
  }

  absl::Status Run() {
    RETURN_IF_ERROR(value_.Validate());
    RETURN_IF_ERROR(CheckAttributesArePairlists());
    if (value_.roots().size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "an R stream holds exactly one object, the value has ", value_.roots().size(), " roots"));
    }
    if (settings_.version != 2 && settings_.version != 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("R serialization version ", settings_.version, " (2 or 3)"));
    }
    // What the reader (and R's InFormat, serialize.c:1932) accepts as a version-3 header.
    if (settings_.version == 3 &&
        settings_.native_encoding.size() > static_cast<size_t>(kMaxNativeEncodingBytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("a native encoding name of ", settings_.native_encoding.size(),
                       " bytes (R allows 0 to ", kMaxNativeEncodingBytes, ")"));
    }
    if (!settings_.rdata_magic.empty()) {
      if (!WritesAsPairlistOrNull(value_.roots()[0])) {
        return NodeError(value_.roots()[0],
                         "the root of a save() file must be a pairlist, or NULL for no objects");
      }
      out_.WriteRaw(settings_.rdata_magic);
      out_.WriteRaw("\n");
    }
    out_.WriteRaw(out_.ascii() ? "A\n" : settings_.format == RFormat::kNative ? "B\n" : "X\n");
    out_.WriteInt(settings_.version);
    out_.WriteInt(settings_.writer_version);
    out_.WriteInt(settings_.min_reader_version);
    if (settings_.version == 3) {
      out_.WriteInt(static_cast<int32_t>(settings_.native_encoding.size()));
      out_.WriteString(settings_.native_encoding);
    }
    tasks_.push_back(Task{Task::kItem, value_.roots()[0]});
    while (!tasks_.empty()) {
      Task task = tasks_.back();
      tasks_.pop_back();
      RETURN_IF_ERROR(Do(task));
      if (!out_.writer().ok()) break;
    }
    if (settings_.trailing_bytes.size() > 0) out_.WriteRaw(settings_.trailing_bytes.view());
    return absl::OkStatus();
  }

 private:
  // Validate() makes every attribute list a Pairlist node; one without cells is written as its
  // tail, which must then be a pairlist or NULL too, or the stream would not read back (the
  // reader refuses attributes of another kind).
  absl::Status CheckAttributesArePairlists() {
    auto check = [&](NodeId owner, NodeId attributes) -> absl::Status {
      if (attributes == kNoNode || WritesAsPairlistOrNull(attributes)) return absl::OkStatus();
      return NodeError(owner,
                       "its attributes are a pairlist without cells whose tail is not a "
                       "pairlist: written as that tail, they would not read back");
    };
    for (NodeId id = 0; id < value_.size(); ++id) {
      const Node& node = value_.node(id);
      RETURN_IF_ERROR(check(id, node.attributes));
      if (const Pairlist* list = std::get_if<Pairlist>(&node.data)) {
        for (const PairlistCell& cell : list->cells) RETURN_IF_ERROR(check(id, cell.attributes));
      }
    }
    return absl::OkStatus();
  }

  void PushItem(NodeId id) { tasks_.push_back(Task{Task::kItem, id}); }
  void PushInt(int32_t v) { tasks_.push_back(Task{Task::kInt, kNoNode, 0, v}); }

  absl::Status Do(const Task& task) {
    switch (task.kind) {
      case Task::kItem:
        return WriteItem(task.id);
      case Task::kInt:
        out_.WriteInt(task.value);
        return absl::OkStatus();
      case Task::kCells:
        return WriteCell(task.id, task.index);
      case Task::kBcConsts:
        return WriteBcConst(task.id, task.index);
      case Task::kBcLang:
        return WriteBcLang(task.id);
      case Task::kBcCells:
        return WriteBcCell(task.id, task.index);
      case Task::kBcEnd:
        reps_.pop_back();
        return absl::OkStatus();
      case Task::kExit:
        on_path_.erase(task.id);
        return absl::OkStatus();
    }
    return absl::InternalError("unknown writer task");
  }

  void WriteLength(uint64_t length) {
    if (length <= 0x7FFFFFFF) {
      out_.WriteInt(static_cast<int32_t>(length));
    } else {
      out_.WriteInt(-1);
      out_.WriteInt(static_cast<int32_t>(length >> 32));
      out_.WriteInt(static_cast<int32_t>(static_cast<uint32_t>(length)));
    }
  }

  void WriteChar(std::string_view bytes, StringEncoding encoding, bool is_na,
                 std::optional<uint32_t> char_flags = std::nullopt) {
    out_.WriteCharsxp(CharFlags(bytes, encoding, is_na, char_flags), bytes, is_na);
  }

  // The string vector of a persistent reference, namespace or package environment.
  absl::Status WriteStringVec(NodeId id, const StringVector& strings) {
    out_.WriteInt(0);
    WriteLength(strings.size());
    return WriteStrings(id, strings);
  }

  // A CHARSXP flags word kept from a source stream (StringValue::char_flags) is written as it
  // is; one that is not a CHARSXP's (another type, or the attributes bit, which CHARSXPs never
  // have) would make the stream unreadable by R and by the reader.
  absl::Status CheckCharFlags(NodeId id, std::optional<uint32_t> flags, std::string_view what) {
    if (!flags.has_value()) return absl::OkStatus();
    const ItemFlags unpacked = UnpackFlags(static_cast<int32_t>(*flags));
    if (unpacked.type == kCharSxp && !unpacked.has_attr) return absl::OkStatus();
    return NodeError(id, absl::StrCat(AsAbsl(what), " keeps the CHARSXP flags word ", *flags,
                                      ", which is not a CHARSXP's (type ", unpacked.type,
                                      unpacked.has_attr ? ", with attributes" : "",
                                      "; a CHARSXP is type 9 without attributes)"));
  }

  void WriteRef(int32_t index) {
    int32_t words[2];
    for (int i = 0, n = PackRef(index, words); i < n; ++i) out_.WriteInt(words[i]);
  }

  absl::Status CheckStringLength(NodeId id, size_t size) {
    if (size > 0x7FFFFFFF) return NodeError(id, "a string longer than 2^31-1 bytes");
    return absl::OkStatus();
  }

  // Whether a tag, frame or hash table is there: an R NULL node is the same as none. R writes the
  // has-tag flag only when TAG is not R_NilValue (serialize.c:1037), and the reader turns a
  // NILVALUE tag, frame or hash table back into none. (Attributes are a pairlist or none:
  // Value::Validate refuses anything else.)
  bool Present(NodeId id) const {
    return id != kNoNode && value_.node(id).kind() != NodeKind::kNil;
  }

  int32_t Flags(int32_t type, const Node& node, bool has_tag = false) {
    return PackFlags(type, node.r_flags.levels, node.r_flags.object,
                     node.attributes != kNoNode || node.r_flags.null_attributes,
                     has_tag || node.r_flags.stray_tag);
  }

  // Attributes of a non-pairlist object come after its payload (NULL when the source wrote them
  // so, RFlags::null_attributes).
  void PushAttributes(const Node& node) {
    if (node.attributes != kNoNode || node.r_flags.null_attributes) PushItem(node.attributes);
  }

  // Marks the start of a node R writes in full at every occurrence (everything but the
  // reference kinds): a node that contains itself cannot be written, and shared nodes expand
  // to one copy per use, so their total is bounded.
  absl::Status Enter(NodeId id) {
    if (!on_path_.insert(id).second) {
      return NodeError(id,
                       "contains itself; R can only share environments, external pointers "
                       "and weak references");
    }
    if (++entered_ > expansion_budget_) {
      return NodeError(id, absl::StrCat("the value expands to more than ", expansion_budget_,
                                        " objects (a node shared by reference is written once "
                                        "per use in R's format)"));
    }
    tasks_.push_back(Task{Task::kExit, id});
    return absl::OkStatus();
  }

  absl::Status WriteItem(NodeId id) {
    if (id == kNoNode) {
      out_.WriteInt(kNilValueSxp);
      return absl::OkStatus();
    }
    const Node& node = value_.node(id);
    switch (node.kind()) {
      case NodeKind::kNil:
        out_.WriteInt(kNilValueSxp);
        return absl::OkStatus();
      case NodeKind::kSpecial: {
        static constexpr int32_t kCodes[] = {kGlobalEnvSxp,     kBaseEnvSxp,    kEmptyEnvSxp,
                                             kBaseNamespaceSxp, kMissingArgSxp, kUnboundValueSxp};
        out_.WriteInt(kCodes[static_cast<size_t>(std::get<Special>(node.data).which)]);
        return absl::OkStatus();
      }
      case NodeKind::kPersistentReference:
        ++ref_count_;  // entered at every occurrence (see writer.h)
        out_.WriteInt(kPersistSxp);
        return WriteStringVec(id, std::get<PersistentReference>(node.data).names);
      case NodeKind::kSymbol: {
        const StringValue& name = std::get<Symbol>(node.data).name;
        auto [it, inserted] = symbols_.try_emplace(name.bytes, ref_count_ + 1);
        if (inserted) ++ref_count_;
        if (!inserted) {
          WriteRef(it->second);
          return absl::OkStatus();
        }
        RETURN_IF_ERROR(CheckStringLength(id, name.bytes.size()));
        RETURN_IF_ERROR(CheckCharFlags(id, name.char_flags, "the symbol's name"));
        out_.WriteInt(kSymSxp);
        WriteChar(name.bytes, name.encoding, false, name.char_flags);
        return absl::OkStatus();
      }
      case NodeKind::kEnvironment: {
        if (WriteRefIfKnown(id)) return absl::OkStatus();
        const auto& env = std::get<Environment>(node.data);
        // What the reader (and R's unserialize, which indexes them as such) requires.
        if (Present(env.frame) && value_.node(env.frame).kind() != NodeKind::kPairlist) {
          return NodeError(id, absl::StrCat("an environment's frame must be a pairlist, not ",
                                            AsAbsl(NodeKindName(value_.node(env.frame).kind()))));
        }
        if (Present(env.hash_table) && value_.node(env.hash_table).kind() != NodeKind::kList) {
          return NodeError(id,
                           absl::StrCat("an environment's hash table must be a list, not ",
                                        AsAbsl(NodeKindName(value_.node(env.hash_table).kind()))));
        }
        out_.WriteInt(kEnvSxp);
        out_.WriteInt(env.locked ? 1 : 0);
        PushItem(node.attributes);
        PushItem(env.hash_table);
        PushItem(env.frame);
        PushItem(env.enclosure);
        return absl::OkStatus();
      }
      case NodeKind::kNamespace:
        if (WriteRefIfKnown(id)) return absl::OkStatus();
        out_.WriteInt(kNamespaceSxp);
        return WriteStringVec(id, std::get<Namespace>(node.data).info);
      case NodeKind::kPackageEnvironment:
        if (WriteRefIfKnown(id)) return absl::OkStatus();
        out_.WriteInt(kPackageSxp);
        return WriteStringVec(id, std::get<PackageEnvironment>(node.data).info);
      case NodeKind::kExternalPointer: {
        if (WriteRefIfKnown(id)) return absl::OkStatus();
        const auto& ptr = std::get<ExternalPointer>(node.data);
        out_.WriteInt(Flags(kExtptrSxp, node));
        PushAttributes(node);
        PushItem(ptr.tag);
        PushItem(ptr.protected_value);
        return absl::OkStatus();
      }
      case NodeKind::kWeakReference:
        if (WriteRefIfKnown(id)) return absl::OkStatus();
        out_.WriteInt(Flags(kWeakrefSxp, node));
        PushAttributes(node);
        return absl::OkStatus();
      case NodeKind::kPairlist:
        RETURN_IF_ERROR(Enter(id));
        if (std::get<Pairlist>(node.data).cells.empty()) {
          PushItem(std::get<Pairlist>(node.data).tail);
          return absl::OkStatus();
        }
        return WriteCell(id, 0);
      case NodeKind::kClosure: {
        RETURN_IF_ERROR(Enter(id));
        const auto& closure = std::get<Closure>(node.data);
        // The environment is the closure's tag: absent only in a stream that had none (R's
        // WriteItem writes the tag when CLOENV is not NULL).
        out_.WriteInt(Flags(kCloSxp, node, closure.environment != kNoNode));
        PushItem(closure.body);
        PushItem(closure.formals);
        if (closure.environment != kNoNode) PushItem(closure.environment);
        PushAttributes(node);
        return absl::OkStatus();
      }
      case NodeKind::kPromise: {
        RETURN_IF_ERROR(Enter(id));
        const auto& promise = std::get<Promise>(node.data);
        out_.WriteInt(Flags(kPromSxp, node, promise.environment != kNoNode));
        PushItem(promise.code);
        PushItem(promise.value);
        if (promise.environment != kNoNode) PushItem(promise.environment);
        PushAttributes(node);
        return absl::OkStatus();
      }
      case NodeKind::kBuiltin: {
        RETURN_IF_ERROR(Enter(id));
        const auto& builtin = std::get<Builtin>(node.data);
        out_.WriteInt(Flags(builtin.special ? kSpecialSxp : kBuiltinSxp, node));
        out_.WriteInt(static_cast<int32_t>(builtin.name.size()));
        out_.WriteString(builtin.name);
        PushAttributes(node);
        return absl::OkStatus();
      }
      case NodeKind::kString: {
        const auto& s = std::get<StringValue>(node.data);
        RETURN_IF_ERROR(CheckStringLength(id, s.bytes.size()));
        RETURN_IF_ERROR(CheckCharFlags(id, s.char_flags, "the string"));
        WriteChar(s.bytes, s.encoding, s.is_na, s.char_flags);
        return absl::OkStatus();
      }
      case NodeKind::kArray: {
        const auto& array = std::get<Array>(node.data);
        std::optional<int32_t> type = SexpTypeOf(array.type);
        if (!type) {
          return NodeError(id, absl::StrCat("R has no vector of ",
                                            AsAbsl(ElementTypeName(array.type)), " elements"));
        }
        RETURN_IF_ERROR(Enter(id));
        out_.WriteInt(Flags(*type, node));
        WriteLength(array.length);
        if (WidenedForR(array.type).has_value()) {
          RETURN_IF_ERROR(
              out_.WriteWidenedElements(array.type, array.length, array.data, array.big_endian));
        } else {
          out_.WriteElements(array.type, array.length, array.data, array.big_endian);
        }
        PushAttributes(node);
        return absl::OkStatus();
      }
      case NodeKind::kStringVector: {
        RETURN_IF_ERROR(Enter(id));
        const auto& strings = std::get<StringVector>(node.data);
        out_.WriteInt(Flags(kStrSxp, node));
        WriteLength(strings.size());
        RETURN_IF_ERROR(WriteStrings(id, strings));
        PushAttributes(node);
        return absl::OkStatus();
      }
      case NodeKind::kList: {
        RETURN_IF_ERROR(Enter(id));
        const auto& list = std::get<List>(node.data);
        out_.WriteInt(Flags(list.expression ? kExprSxp : kVecSxp, node));
        WriteLength(list.items.size());
        PushAttributes(node);
        for (size_t i = list.items.size(); i-- > 0;) PushItem(list.items[i]);
        return absl::OkStatus();
      }
      case NodeKind::kS4Object:
        RETURN_IF_ERROR(Enter(id));
        out_.WriteInt(Flags(kS4Sxp, node));
        PushAttributes(node);
        return absl::OkStatus();
      case NodeKind::kBytecode:
        RETURN_IF_ERROR(Enter(id));
        return WriteBytecode(id);
      case NodeKind::kAltrep:
        RETURN_IF_ERROR(Enter(id));
        return settings_.version >= 3 ? WriteAltrep(id) : WriteExpanded(id);
      default:
        return NodeError(id, absl::StrCat("a ", AsAbsl(NodeKindName(node.kind())),
                                          " node cannot be written as R"));
    }
  }

  bool WriteRefIfKnown(NodeId id) {
    auto [it, inserted] = refs_.try_emplace(id, ref_count_ + 1);
    if (!inserted) {
      WriteRef(it->second);
      return true;
    }
    ++ref_count_;
    return false;
  }

  absl::Status WriteStrings(NodeId id, const StringVector& strings) {
    for (size_t i = 0; i < strings.size(); ++i) {
      StringVector::Element e = strings.Get(i);
      RETURN_IF_ERROR(CheckStringLength(id, e.bytes.size()));
      const std::optional<uint32_t> flags = strings.CharFlagsOf(i);
      // The element's name is made only for a kept flags word: this loop runs once per string.
      if (flags.has_value()) {
        RETURN_IF_ERROR(CheckCharFlags(id, flags, absl::StrCat("element ", i + 1)));
      }
      WriteChar(e.bytes, e.encoding, e.is_na, flags);
    }
    return absl::OkStatus();
  }

  absl::Status WriteCell(NodeId id, uint64_t index) {
    const auto& list = std::get<Pairlist>(value_.node(id).data);
    const PairlistCell& cell = list.cells[index];
    const int32_t type = cell.type == CellType::kLanguage ? kLangSxp
                         : cell.type == CellType::kDots   ? kDotSxp
                                                          : kListSxp;
    const bool has_attributes = cell.attributes != kNoNode;
    const bool has_tag = Present(cell.tag);
    out_.WriteInt(PackFlags(type, cell.flags.levels, cell.flags.object, has_attributes, has_tag));
    if (index + 1 < list.cells.size()) {
      tasks_.push_back(Task{Task::kCells, id, index + 1});
    } else {
      PushItem(list.tail);
    }
    PushItem(cell.value);
    if (has_tag) PushItem(cell.tag);
    if (has_attributes) PushItem(cell.attributes);
    return absl::OkStatus();
  }

  // ---- ALTREP
  absl::Status WriteAltrep(NodeId id) {
    const Node& node = value_.node(id);
    const auto& altrep = std::get<Altrep>(node.data);
    if (absl::Status readable = CheckAltrepStateReadable(value_, id); !readable.ok()) {
      return NodeError(id, AsStd(readable.message()));
    }
    out_.WriteInt(PackFlags(kAltrepSxp, node.r_flags.levels, node.r_flags.object, false, false));
    // info: list3(class symbol, package symbol, INTSXP(1) base type), each symbol interned.
    for (const std::string* name : {&altrep.class_name, &altrep.package}) {
      out_.WriteInt(kListSxp);
      auto [it, inserted] = symbols_.try_emplace(*name, ref_count_ + 1);
      if (inserted) {
        ++ref_count_;
        out_.WriteInt(kSymSxp);
        WriteChar(*name, StringEncoding::kNative, false);
      } else {
        WriteRef(it->second);
      }
    }
    out_.WriteInt(kListSxp);
    out_.WriteInt(kIntSxp);
    out_.WriteInt(1);
    int32_t type = altrep.base_type;
    out_.WriteElements(ElementType::kInt32, 1, Buffer::Copy(&type, 4));
    out_.WriteInt(kNilValueSxp);
    PushItem(node.attributes);
    PushItem(altrep.state);
    return absl::OkStatus();
  }

  // The vector an ALTREP object stands for, as an ordinary item (version 2).
  absl::Status WriteExpanded(NodeId id) {
    const Node& node = value_.node(id);
    auto expansion = ExpandAltrep(value_, id);
    if (!expansion.ok()) return NodeError(id, AsStd(expansion.status().message()));
    const AltrepExpansion& e = *expansion;
    out_.WriteInt(Flags(e.base_type, node));
    WriteLength(e.length);
    PushAttributes(node);
    if (e.base_type == kStrSxp) return WriteStringElements(id, e.length);
    if (e.base_type == kVecSxp || e.base_type == kExprSxp) {
      NodeId source = e.source;
      for (int depth = 0; value_.node(source).kind() == NodeKind::kAltrep && depth < 64; ++depth) {
        auto inner = ExpandAltrep(value_, source);
        if (!inner.ok()) return NodeError(id, AsStd(inner.status().message()));
        source = inner->source;
      }
      const List* list = value_.GetIf<List>(source);
      if (list == nullptr) return NodeError(id, "a list wrapper that does not wrap a list");
      for (size_t i = list->items.size(); i-- > 0;) PushItem(list->items[i]);
      return absl::OkStatus();
    }
    std::optional<ElementType> type = ElementTypeOf(e.base_type);
    if (!type) return NodeError(id, absl::StrCat("ALTREP of unknown base type ", e.base_type));
    const size_t size = ElementSize(*type);
    // The length is the input's claim, not a promise of memory or output: refused up front
    // when its elements alone pass the output limit.
    if (e.length > settings_.max_output_bytes / size) {
      return LimitExceeded(
          settings_.output_limit,
          absl::StrCat("node ", id, ": an ALTREP vector of ", e.length,
                       " elements expands to more than the ", settings_.max_output_bytes,
                       "-byte output limit (--", settings_.output_limit,
                       ") when written as version 2; version 3 keeps it compact"));
    }
    for (uint64_t begin = 0; begin < e.length; begin += kChunkElements) {
      if (!out_.writer().ok()) return absl::OkStatus();  // the consumer failed: Finish says why
      uint64_t n = std::min(kChunkElements, e.length - begin);
      auto [buffer, bytes] = Buffer::Allocate(n * size);
      absl::Status status = FillElements(value_, id, *type, begin, n, bytes);
      if (!status.ok()) return NodeError(id, AsStd(status.message()));
      out_.WriteElements(*type, n, buffer);
    }
    return absl::OkStatus();
  }

  // The CHARSXPs of a string vector-like node (StringVector, wrap_string, deferred_string).
  absl::Status WriteStringElements(NodeId id, uint64_t length) {
    NodeId source = id;
    for (int depth = 0; depth < 64; ++depth) {
      const Node& node = value_.node(source);
      if (const auto* strings = std::get_if<StringVector>(&node.data)) {
        if (strings->size() != length) return NodeError(id, "wrapped strings of another length");
        return WriteStrings(source, *strings);
      }
      if (node.kind() != NodeKind::kAltrep) break;
      auto e = ExpandAltrep(value_, source);
      if (!e.ok()) return NodeError(id, AsStd(e.status().message()));
      if (e->kind == AltrepExpansion::kWrapped) {
        source = e->source;
        continue;
      }
      if (e->kind != AltrepExpansion::kDeferredString) break;
      return WriteDeferredStrings(source, *e);
    }
    return NodeError(id, "a character ALTREP object whose strings cannot be found");
  }

  // deferred_string: as.character() of the numbers (altclasses.c ExpandDeferredStringElt).
  absl::Status WriteDeferredStrings(NodeId id, const AltrepExpansion& e) {
    ASSIGN_OR_RETURN(uint64_t length, VectorLength(value_, e.source));
    absl::Status status =
        ForEachDeferredString(value_, e, 0, length, [&](std::optional<std::string_view> text) {
          WriteChar(text.value_or(std::string_view()), StringEncoding::kNative, !text.has_value());
        });
    if (!status.ok()) return NodeError(id, AsStd(status.message()));
    return absl::OkStatus();
  }

  // ---- byte code (serialize.c:1231-1385)
  int32_t BcTypeOf(NodeId id) {
    if (id == kNoNode) return kNilSxp;
    const Node& node = value_.node(id);
    switch (node.kind()) {
      case NodeKind::kNil:
        return kNilSxp;
      case NodeKind::kSymbol:
        return kSymSxp;
      case NodeKind::kSpecial: {
        SpecialKind which = std::get<Special>(node.data).which;
        return which == SpecialKind::kMissingArg || which == SpecialKind::kUnboundValue ? kSymSxp
                                                                                        : kEnvSxp;
      }
      case NodeKind::kEnvironment:
      case NodeKind::kNamespace:
      case NodeKind::kPackageEnvironment:
      case NodeKind::kPersistentReference:
        return kEnvSxp;
      case NodeKind::kPairlist: {
        const auto& list = std::get<Pairlist>(node.data);
        if (list.cells.empty()) return kNilSxp;
        CellType t = list.cells[0].type;
        return t == CellType::kLanguage ? kLangSxp : t == CellType::kDots ? kDotSxp : kListSxp;
      }
      case NodeKind::kClosure:
        return kCloSxp;
      case NodeKind::kPromise:
        return kPromSxp;
      case NodeKind::kBuiltin:
        return std::get<Builtin>(node.data).special ? kSpecialSxp : kBuiltinSxp;
      case NodeKind::kString:
        return kCharSxp;
      case NodeKind::kArray:
        return SexpTypeOf(std::get<Array>(node.data).type).value_or(0);
      case NodeKind::kStringVector:
        return kStrSxp;
      case NodeKind::kList:
        return std::get<List>(node.data).expression ? kExprSxp : kVecSxp;
      case NodeKind::kBytecode:
        return kBcodeSxp;
      case NodeKind::kExternalPointer:
        return kExtptrSxp;
      case NodeKind::kWeakReference:
        return kWeakrefSxp;
      case NodeKind::kS4Object:
        return kS4Sxp;
      case NodeKind::kAltrep:
        return std::get<Altrep>(node.data).base_type;
      default:
        return 0;
    }
  }

  bool IsLang(NodeId id) {
    if (id == kNoNode) return false;
    const Pairlist* list = value_.GetIf<Pairlist>(id);
    return list != nullptr && !list->cells.empty() && list->cells[0].type != CellType::kDots;
  }

  // ScanForCircles: the language cells (Pairlist nodes) reachable more than once, as a new reps
  // table on top of the stack of them.
  void ScanForCircles(NodeId root) {
    reps_.emplace_back();
    Reps& reps = reps_.back();
    absl::flat_hash_set<NodeId> seen;
    std::vector<NodeId> stack = {root};
    while (!stack.empty()) {
      NodeId id = stack.back();
      stack.pop_back();
      if (id == kNoNode) continue;
      const Node& node = value_.node(id);
      if (const auto* bc = std::get_if<Bytecode>(&node.data)) {
        for (size_t i = bc->constants.size(); i-- > 0;) stack.push_back(bc->constants[i]);
      } else if (IsLang(id)) {
        if (!seen.insert(id).second) {
          reps.positions.try_emplace(id, -1);
          continue;
        }
        const auto& list = std::get<Pairlist>(node.data);
        stack.push_back(list.tail);
        for (size_t i = list.cells.size(); i-- > 0;) stack.push_back(list.cells[i].value);
      }
    }
  }

  absl::Status WriteBytecode(NodeId id) {
    const Node& node = value_.node(id);
    out_.WriteInt(Flags(kBcodeSxp, node));
    ScanForCircles(id);
    out_.WriteInt(static_cast<int32_t>(reps_.back().positions.size() + 1));
    // The table serves this item's constants, nested byte code constants included, and no
    // other BCODESXP item (one inside a list constant has its own, as R's WriteBC gives it).
    tasks_.push_back(Task{Task::kBcEnd, id});
    PushAttributes(node);
    return WriteBc1(id);
  }

  absl::Status WriteBc1(NodeId id) {
    const auto& bc = std::get<Bytecode>(value_.node(id).data);
    tasks_.push_back(Task{Task::kBcConsts, id, 0});
    PushInt(static_cast<int32_t>(bc.constants.size()));
    PushItem(bc.code);
    return absl::OkStatus();
  }

  absl::Status WriteBcConst(NodeId id, uint64_t index) {
    const auto& bc = std::get<Bytecode>(value_.node(id).data);
    if (index >= bc.constants.size()) return absl::OkStatus();
    tasks_.push_back(Task{Task::kBcConsts, id, index + 1});
    NodeId c = bc.constants[index];
    if (value_.node(c).kind() == NodeKind::kBytecode) {
      out_.WriteInt(kBcodeSxp);
      return WriteBc1(c);
    }
    if (IsLang(c)) return WriteBcLang(c);
    out_.WriteInt(BcTypeOf(c));
    PushItem(c);
    return absl::OkStatus();
  }

  absl::Status WriteBcLang(NodeId id) {
    if (!IsLang(id)) {
      out_.WriteInt(0);  // pad
      PushItem(id);
      return absl::OkStatus();
    }
    Reps& reps = reps_.back();
    if (auto it = reps.positions.find(id); it != reps.positions.end()) {
      if (it->second >= 0) {
        out_.WriteInt(kBcRepRef);
        out_.WriteInt(it->second);
        return absl::OkStatus();
      }
      it->second = reps.count++;
      out_.WriteInt(kBcRepDef);
      out_.WriteInt(it->second);
    }
    return WriteBcCell(id, 0);
  }

  absl::Status WriteBcCell(NodeId id, uint64_t index) {
    const auto& list = std::get<Pairlist>(value_.node(id).data);
    const PairlistCell& cell = list.cells[index];
    const bool lang = cell.type == CellType::kLanguage;
    if (cell.type == CellType::kDots) {
      return NodeError(id, "a `...` cell inside a byte code language object");
    }
    const bool attr = cell.attributes != kNoNode;
    out_.WriteInt(attr ? (lang ? kAttrLangSxp : kAttrListSxp) : (lang ? kLangSxp : kListSxp));
    if (index + 1 < list.cells.size()) {
      tasks_.push_back(Task{Task::kBcCells, id, index + 1});
    } else {
      tasks_.push_back(Task{Task::kBcLang, list.tail});
    }
    tasks_.push_back(Task{Task::kBcLang, cell.value});
    PushItem(cell.tag);
    if (attr) PushItem(cell.attributes);
    return absl::OkStatus();
  }

  const Value& value_;
  const RWriteSettings& settings_;
  OutputStream out_;
  std::vector<Task> tasks_;
  // Reference table: nodes by identity, symbols by name; ref_count_ entries so far.
  absl::flat_hash_map<NodeId, int32_t> refs_;
  absl::flat_hash_map<std::string, int32_t> symbols_;
  int32_t ref_count_ = 0;
  // Byte code reps tables, innermost BCODESXP item last: the shared language cells of each (their
  // position once defined, -1 before) and how many are defined.
  struct Reps {
    absl::flat_hash_map<NodeId, int32_t> positions;
    int32_t count = 0;
  };
  std::vector<Reps> reps_;
  // WritesAsPairlistOrNull's answers by node, once asked, and the chain it is walking.
  enum : int8_t { kUnknown = -1, kNo = 0, kYes = 1 };
  std::vector<int8_t> written_as_pairlist_;
  std::vector<NodeId> walked_;
  // Nodes being written (cycle check) and how many full nodes have been written.
  absl::flat_hash_set<NodeId> on_path_;
  uint64_t entered_ = 0;
  const uint64_t expansion_budget_ = 4 * static_cast<uint64_t>(value_.size()) + (1 << 20);
};

}  // namespace
}  // namespace rds

absl::Status WriteR(const Value& value, const rds::RWriteSettings& settings, ByteWriter& out) {
  if (settings.compression == RCompression::kNone) {
    return rds::StreamWriter(value, settings, out).Run();
  }
  // The stream goes to the compressor piece by piece as it is written: the uncompressed stream
  // never exists whole.
  ASSIGN_OR_RETURN(std::unique_ptr<rds::Compressor> compressor,
                   rds::Compressor::Create(settings.compression, out, settings.gzip_header));
  // A piece may be a slice of a mapped input (array data written as read): compressed a step
  // at a time, read from the file.
  ByteWriter plain([&](Buffer piece) {
    return ReadInSteps(piece, kCopyOutStep,
                       [&](const Buffer& step) { return compressor->Add(step.view()); });
  });
  RETURN_IF_ERROR(rds::StreamWriter(value, settings, plain).Run());
  RETURN_IF_ERROR(plain.Finish());
  return compressor->Finish();
}

}  // namespace seriald
