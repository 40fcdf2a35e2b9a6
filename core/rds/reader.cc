#include "core/rds/reader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/input_error.h"
#include "core/rds/altrep.h"
#include "core/rds/compression.h"
#include "core/rds/primitives.h"
#include "core/rds/sexptype.h"
#include "core/status_macros.h"

namespace seriald {
namespace {

using rds::ItemFlags;

// NodeIds are 32-bit and kNoNode is reserved.
constexpr size_t kMaxNodes = kNoNode - 1;

// R_bcVersion and R_bcMinVersion of R 4.2 (eval.c); R_BCVersionOK also accepts versions < 2.
constexpr int32_t kBcMinVersion = 9;
constexpr int32_t kBcVersion = 12;

StringEncoding EncodingFromLevels(uint16_t levels) {
  if (levels & rds::kUtf8Mask) return StringEncoding::kUtf8;
  if (levels & rds::kLatin1Mask) return StringEncoding::kLatin1;
  if (levels & rds::kBytesMask) return StringEncoding::kBytes;
  if (levels & rds::kAsciiMask) return StringEncoding::kAscii;
  return StringEncoding::kNative;
}

// What the read loop does next.
struct Action {
  enum Kind : uint8_t {
    kItem,           // read an item (flags first) and deliver it to the top frame
    kItemWithFlags,  // the same, the flags word `word` having been read already
    kEnter,          // a frame was pushed: resume it with no child
    kResult,         // `id` is complete: deliver it to the frame below
  };
  Kind kind;
  int32_t word = 0;
  NodeId id = kNoNode;
  uint64_t at = 0;  // kItemWithFlags: where the flags word was
};
Action NeedItem() { return Action{Action::kItem}; }
Action NeedItemWithFlags(int32_t word, uint64_t at) {
  return Action{Action::kItemWithFlags, word, kNoNode, at};
}
Action Enter() { return Action{Action::kEnter}; }
Action Result(NodeId id) { return Action{Action::kResult, 0, id}; }

// An object whose content is still being read; the items that follow are its children.
struct Frame {
  enum class Kind : uint8_t {
    kCells,            // LISTSXP/LANGSXP/DOTSXP chain: attr? tag? car, then the next cell or cdr
    kClosure,          // attr? env? formals body
    kPromise,          // attr? env? value code
    kVector,           // VECSXP/EXPRSXP items
    kAttributes,       // the trailing attributes of a vector-like object
    kEnvironment,      // enclosure, frame, hash table, attributes
    kExternalPointer,  // protected value, tag
    kAltrep,           // info, state, attributes
    kBytecode,         // BC1: code, then constants
    kBcLang,           // a language cell inside byte code constants
    kDiscard,          // the attributes of a CHARSXP, read and dropped
  };
  Kind kind;
  uint8_t step = 0;
  bool top = false;  // kBytecode: the BCODESXP item itself (owns the reps table)
  ItemFlags flags;
  NodeId node = kNoNode;
  uint64_t start = 0;
  uint64_t index = 0;
  uint64_t count = 0;
  uint32_t reps = 0;  // kBytecode/kBcLang: which reps table
};

class StreamReader {
 public:
  StreamReader(const Buffer& input, uint64_t offset, const ReadOptions& options,
               bool may_overwrite_input)
      : in_(input, offset), options_(options) {
    in_.set_may_overwrite_input(may_overwrite_input);
  }

  absl::StatusOr<Value> Run(std::string rdata_magic) {
    RStreamInfo info;
    info.rdata_magic = std::move(rdata_magic);
    RETURN_IF_ERROR(ReadHeader(info));
    ASSIGN_OR_RETURN(NodeId root, ReadItem());
    if (in_.ascii()) {
      while (!in_.AtEnd()) {
        char c = static_cast<char>(in_.input().data()[in_.offset()]);
        if (c != ' ' && (c < '\t' || c > '\r')) break;
        (void)in_.ReadBytes(1, "");
      }
      if (in_.saw_hex_double()) info.format = RFormat::kAsciiHex;
    }
    // R stops reading after the object: whatever follows is ignored (robustbase's d1k27.rda ends
    // in a stray newline). It is kept for identity conversions, not interpreted.
    if (!in_.AtEnd()) info.trailing_bytes = in_.input().Slice(in_.offset(), in_.remaining());
    value_.roots().push_back(root);
    value_.source().r = std::move(info);
    return std::move(value_);
  }

 private:
  // ---- header (serialize.c:589-622, 2152-2207)
  absl::Status ReadHeader(RStreamInfo& info) {
    ASSIGN_OR_RETURN(std::string_view line, in_.ReadBytes(2, "format line"));
    if (line == "X\n") {
      info.format = RFormat::kXdr;
    } else if (line == "B\n") {
      info.format = RFormat::kNative;
    } else if (line == "A\n") {
      info.format = RFormat::kAscii;
    } else if (line == "\nA") {  // serialize.c:598-613: a newline left by an earlier read
      ASSIGN_OR_RETURN(std::string_view newline, in_.ReadBytes(1, "format line"));
      if (newline != "\n") return in_.ErrorAt(2, "format line \"\\nA\" is not followed by \\n");
      info.format = RFormat::kAscii;
    } else {
      return in_.ErrorAt(0, "unknown input format: a stream starts with X\\n, B\\n or A\\n");
    }
    in_.set_format(info.format);
    const uint64_t version_at = in_.offset();
    ASSIGN_OR_RETURN(info.version, in_.ReadInt("version"));
    if (info.version != 2 && info.version != 3) {
      return in_.ErrorAt(version_at, absl::StrCat("unsupported serialization version ",
                                                  info.version, " (R writes 2 or 3)"));
    }
    ASSIGN_OR_RETURN(info.writer_version, in_.ReadInt("writer version"));
    ASSIGN_OR_RETURN(info.min_reader_version, in_.ReadInt("minimal reader version"));
    if (info.version == 3) {
      const uint64_t at = in_.offset();
      ASSIGN_OR_RETURN(int32_t length, in_.ReadInt("native encoding length"));
      if (length < 0 || length > rds::kMaxNativeEncodingBytes) {
        return in_.ErrorAt(
            at, absl::StrCat("native encoding name of ", length, " bytes (R allows 0 to ",
                             rds::kMaxNativeEncodingBytes, ")"));
      }
      ASSIGN_OR_RETURN(std::string_view name, in_.ReadString(length, "native encoding"));
      info.native_encoding = std::string(name);
    } else {
      info.native_encoding.clear();
    }
    return absl::OkStatus();
  }

  // ---- node helpers
  absl::Status CheckNodeRoom() const {
    if (value_.size() >= kMaxNodes) return in_.Error("too many objects");
    return absl::OkStatus();
  }
  NodeId Nil() {
    if (nil_ == kNoNode) nil_ = value_.Add(seriald::Nil{});
    return nil_;
  }
  NodeId Singleton(SpecialKind kind) {
    NodeId& id = specials_[static_cast<size_t>(kind)];
    if (id == kNoNode) id = value_.Add(Special{kind});
    return id;
  }
  bool IsNil(NodeId id) const { return id == nil_ && id != kNoNode; }
  NodeId AddWithFlags(NodeData data, const ItemFlags& flags) {
    Node node(std::move(data));
    node.r_flags = FlagsOf(node.kind(), flags);
    return value_.Add(std::move(node));
  }

  // A node's flags. The tag bit is kept where it means nothing (vectors, S4 objects, pointers,
  // builtins): old R versions set it there, and only the source form reproduces it. Closures,
  // promises and pairlists use the bit, so their writers set it from what they hold.
  RFlags FlagsOf(NodeKind kind, const ItemFlags& flags) const {
    RFlags r_flags{flags.levels, flags.is_object};
    const bool tag_means_nothing = kind != NodeKind::kClosure && kind != NodeKind::kPromise &&
                                   kind != NodeKind::kPairlist && kind != NodeKind::kEnvironment;
    r_flags.stray_tag = flags.has_tag && tag_means_nothing && !options_.r_normalize;
    return r_flags;
  }

  absl::Status Push(Frame frame) {
    if (stack_.size() >= options_.max_depth) {
      return rds::NestedTooDeep(options_.max_depth, frame.start);
    }
    stack_.push_back(frame);
    return absl::OkStatus();
  }

  // An attribute list: NULL (none) or a pairlist.
  absl::StatusOr<NodeId> AsAttributes(NodeId child, uint64_t at) const {
    if (IsNil(child)) return kNoNode;
    if (value_.node(child).kind() != NodeKind::kPairlist) {
      return in_.ErrorAt(at, absl::StrCat("attributes must be a pairlist, not ",
                                          AsAbsl(NodeKindName(value_.node(child).kind()))));
    }
    return child;
  }

  // ---- lengths, strings
  absl::StatusOr<uint64_t> ReadLength(std::string_view what) {
    const uint64_t at = in_.offset();
    ASSIGN_OR_RETURN(int32_t length, in_.ReadInt(what));
    if (length >= 0) return static_cast<uint64_t>(length);
    if (length != -1) {
      return in_.ErrorAt(at, absl::StrCat("negative ", AsAbsl(what), " ", length));
    }
    ASSIGN_OR_RETURN(int32_t upper, in_.ReadInt(what));
    ASSIGN_OR_RETURN(int32_t lower, in_.ReadInt(what));
    if (upper < 0 || upper > 65536) {
      return in_.ErrorAt(
          at, absl::StrCat("long ", AsAbsl(what), " with upper word ", upper, " (at most 65536)"));
    }
    return (static_cast<uint64_t>(upper) << 32) + static_cast<uint32_t>(lower);
  }

  // The payload of a CHARSXP whose flags were read.
  absl::StatusOr<StringValue> ReadCharPayload(const ItemFlags& flags) {
    const uint64_t at = in_.offset();
    const int32_t word =
        rds::PackFlags(flags.type, flags.levels, flags.is_object, flags.has_attr, flags.has_tag);
    ASSIGN_OR_RETURN(int32_t length, in_.ReadInt("string length"));
    if (length == -1) {
      StringValue na = StringValue::Na();
      na.char_flags = SourceCharFlags({}, StringEncoding::kNative, true, word);
      return na;
    }
    if (length < 0) return in_.ErrorAt(at, absl::StrCat("negative string length ", length));
    ASSIGN_OR_RETURN(std::string_view bytes, in_.ReadString(length, "string"));
    StringValue s{std::string(bytes), EncodingFromLevels(flags.levels), false};
    s.char_flags = SourceCharFlags(bytes, s.encoding, false, word);
    return s;
  }

  // The flags word to keep for a CHARSXP: the stream's when it differs from what R 4.2 writes for
  // it (old R versions set other level bits, even the tag bit), unless normalising as R's reader
  // does.
  std::optional<uint32_t> SourceCharFlags(std::string_view bytes, StringEncoding encoding,
                                          bool is_na, int32_t word) const {
    // A CHARSXP's attributes are read and dropped (as R does), so its attribute bit is too.
    const auto flags = static_cast<uint32_t>(word) & ~static_cast<uint32_t>(rds::kHasAttrBit);
    if (options_.r_normalize || flags == static_cast<uint32_t>(rds::PackFlags(
                                             rds::kCharSxp, rds::CharLevels(bytes, encoding, is_na),
                                             false, false, false))) {
      return std::nullopt;
    }
    return flags;
  }

  // A CHARSXP item (flags and payload) where nothing else may stand.
  absl::StatusOr<StringValue> ReadCharItem(std::string_view what) {
    const uint64_t at = in_.offset();
    ASSIGN_OR_RETURN(int32_t word, in_.ReadInt(what));
    ItemFlags flags = rds::UnpackFlags(word);
    if (flags.type != rds::kCharSxp || flags.has_attr) {
      return in_.ErrorAt(
          at, absl::StrCat(AsAbsl(what), " must be a CHARSXP (type 9), not flags ", word));
    }
    return ReadCharPayload(flags);
  }

  // OutStringVec (serialize.c:869-884): int 0, length, CHARSXPs.
  absl::StatusOr<StringVector> ReadStringVec(std::string_view what) {
    const uint64_t at = in_.offset();
    ASSIGN_OR_RETURN(int32_t zero, in_.ReadInt(what));
    if (zero != 0) return in_.ErrorAt(at, absl::StrCat(AsAbsl(what), ": names are not supported"));
    ASSIGN_OR_RETURN(uint64_t length, ReadLength("string vector length"));
    RETURN_IF_ERROR(in_.CheckRoom(length, 8, what));
    StringVector strings;
    for (uint64_t i = 0; i < length; ++i) {
      ASSIGN_OR_RETURN(StringValue s, ReadCharItem(what));
      strings.Append(s);
    }
    return strings;
  }

  absl::StatusOr<NodeId> ReadStrsxp(uint64_t length) {
    RETURN_IF_ERROR(in_.CheckRoom(length, 8, "character vector"));
    StringVector strings;
    // In binary, the strings' bytes are at most what remains after their 8-byte headers; the
    // reservation stays proportional to the vector's own size (16 bytes per element).
    strings.Reserve(length, in_.ascii() ? 0 : std::min(in_.remaining() - 8 * length, 16 * length));
    uint64_t i = in_.ascii() ? 0 : ReadBinaryStrings(length, strings);
    // The general loop: ascii, and whatever the fast loop left (where it found something to
    // report).
    for (; i < length; ++i) {
      const uint64_t at = in_.offset();
      ASSIGN_OR_RETURN(int32_t word, in_.ReadInt("string flags"));
      ItemFlags flags = rds::UnpackFlags(word);
      if (flags.type != rds::kCharSxp || flags.has_attr) {
        return in_.ErrorAt(
            at, absl::StrCat("element ", i + 1, " of a character vector is not a CHARSXP (flags ",
                             word, ")"));
      }
      const uint64_t length_at = in_.offset();
      ASSIGN_OR_RETURN(int32_t n, in_.ReadInt("string length"));
      if (n == -1) {
        strings.AppendNa();
        if (auto levels = SourceCharFlags({}, StringEncoding::kNative, true, word)) {
          strings.SetLastCharFlags(*levels);
        }
      } else if (n < 0) {
        return in_.ErrorAt(length_at, absl::StrCat("negative string length ", n));
      } else {
        ASSIGN_OR_RETURN(std::string_view bytes, in_.ReadString(n, "string"));
        const StringEncoding encoding = EncodingFromLevels(flags.levels);
        strings.Append(bytes, encoding);
        if (auto levels = SourceCharFlags(bytes, encoding, false, static_cast<int32_t>(word))) {
          strings.SetLastCharFlags(*levels);
        }
      }
    }
    return value_.Add(std::move(strings));
  }

  // The CHARSXPs of a binary character vector in one tight loop (the common case of millions of
  // short strings). Stops before the first element that is not a well-formed CHARSXP lying
  // wholly inside the input, and returns how many elements it read.
  uint64_t ReadBinaryStrings(uint64_t length, StringVector& strings) {
    const bool swap = in_.format() == RFormat::kXdr;
    const uint8_t* const start = in_.current();
    const uint8_t* p = start;
    const uint8_t* const end = start + in_.remaining();
    uint64_t i = 0;
    for (; i < length; ++i) {
      if (end - p < 8) break;
      uint32_t word, n;
      std::memcpy(&word, p, 4);
      std::memcpy(&n, p + 4, 4);
      if (swap) {
        word = __builtin_bswap32(word);
        n = __builtin_bswap32(n);
      }
      const ItemFlags flags = rds::UnpackFlags(static_cast<int32_t>(word));
      if (flags.type != rds::kCharSxp || flags.has_attr) break;
      if (n == 0xFFFFFFFFu) {
        strings.AppendNa();
        if (auto levels = SourceCharFlags({}, StringEncoding::kNative, true, word)) {
          strings.SetLastCharFlags(*levels);
        }
        p += 8;
        continue;
      }
      if (n > 0x7FFFFFFFu || n > static_cast<uint64_t>(end - p - 8)) break;
      const std::string_view bytes(reinterpret_cast<const char*>(p + 8), n);
      const StringEncoding encoding = EncodingFromLevels(flags.levels);
      strings.Append(bytes, encoding);
      if (auto levels = SourceCharFlags(bytes, encoding, false, static_cast<int32_t>(word))) {
        strings.SetLastCharFlags(*levels);
      }
      p += 8 + n;
    }
    in_.Advance(static_cast<uint64_t>(p - start));
    return i;
  }

  absl::StatusOr<NodeId> Reference(int32_t word, uint64_t at) {
    int64_t index = rds::RefIndex(word);
    if (index == 0) {
      ASSIGN_OR_RETURN(int32_t i, in_.ReadInt("reference index"));
      index = i;
    }
    if (index <= 0 || static_cast<uint64_t>(index) > refs_.size()) {
      return in_.ErrorAt(at, absl::StrCat("reference to index ", index, ", but the table has ",
                                          refs_.size(), " entries"));
    }
    return refs_[index - 1];
  }

  // ---- the dispatch on the type of an item (serialize.c:1764-2036)
  absl::StatusOr<Action> StartItem(int32_t word, uint64_t start) {
    RETURN_IF_ERROR(CheckNodeRoom());
    const ItemFlags flags = rds::UnpackFlags(word);
    switch (flags.type) {
      case rds::kNilValueSxp:
        return Result(Nil());
      case rds::kEmptyEnvSxp:
        return Result(Singleton(SpecialKind::kEmptyEnv));
      case rds::kBaseEnvSxp:
        return Result(Singleton(SpecialKind::kBaseEnv));
      case rds::kGlobalEnvSxp:
        return Result(Singleton(SpecialKind::kGlobalEnv));
      case rds::kUnboundValueSxp:
        return Result(Singleton(SpecialKind::kUnboundValue));
      case rds::kMissingArgSxp:
        return Result(Singleton(SpecialKind::kMissingArg));
      case rds::kBaseNamespaceSxp:
        return Result(Singleton(SpecialKind::kBaseNamespace));
      case rds::kRefSxp: {
        ASSIGN_OR_RETURN(NodeId id, Reference(word, start));
        return Result(id);
      }
      case rds::kPersistSxp: {
        ASSIGN_OR_RETURN(StringVector names, ReadStringVec("persistent name"));
        NodeId id = value_.Add(PersistentReference{std::move(names)});
        refs_.push_back(id);
        return Result(id);
      }
      case rds::kSymSxp: {
        ASSIGN_OR_RETURN(StringValue name, ReadCharItem("symbol name"));
        if (name.is_na) return in_.ErrorAt(start, "symbol name is NA");
        auto [it, inserted] = symbols_.try_emplace(name.bytes, kNoNode);
        if (inserted) it->second = value_.Add(Symbol{std::move(name)});
        refs_.push_back(it->second);
        return Result(it->second);
      }
      case rds::kPackageSxp: {
        ASSIGN_OR_RETURN(StringVector info, ReadStringVec("package environment name"));
        NodeId id = value_.Add(PackageEnvironment{std::move(info)});
        refs_.push_back(id);
        return Result(id);
      }
      case rds::kNamespaceSxp: {
        ASSIGN_OR_RETURN(StringVector info, ReadStringVec("namespace name"));
        NodeId id = value_.Add(Namespace{std::move(info)});
        refs_.push_back(id);
        return Result(id);
      }
      case rds::kEnvSxp: {
        ASSIGN_OR_RETURN(int32_t locked, in_.ReadInt("environment lock"));
        NodeId id = value_.Add(Environment{locked != 0});
        refs_.push_back(id);  // before the contents: they may refer to it
        RETURN_IF_ERROR(Push(Frame{Frame::Kind::kEnvironment, 0, false, flags, id, start}));
        return Enter();
      }
      case rds::kListSxp:
      case rds::kLangSxp:
      case rds::kDotSxp: {
        Pairlist list;
        list.cells.push_back(NewCell(flags));
        NodeId id = value_.Add(std::move(list));
        RETURN_IF_ERROR(Push(Frame{Frame::Kind::kCells, 0, false, flags, id, start}));
        return Enter();
      }
      case rds::kCloSxp: {
        NodeId id = AddWithFlags(Closure{}, flags);
        RETURN_IF_ERROR(Push(Frame{Frame::Kind::kClosure, 0, false, flags, id, start}));
        return Enter();
      }
      case rds::kPromSxp: {
        NodeId id = AddWithFlags(Promise{}, flags);
        RETURN_IF_ERROR(Push(Frame{Frame::Kind::kPromise, 0, false, flags, id, start}));
        return Enter();
      }
      case rds::kExtptrSxp: {
        NodeId id = AddWithFlags(ExternalPointer{}, flags);
        refs_.push_back(id);
        RETURN_IF_ERROR(Push(Frame{Frame::Kind::kExternalPointer, 0, false, flags, id, start}));
        return Enter();
      }
      case rds::kWeakrefSxp: {
        NodeId id = AddWithFlags(WeakReference{}, flags);
        refs_.push_back(id);
        return Finish(id, flags, start);
      }
      case rds::kSpecialSxp:
      case rds::kBuiltinSxp: {
        const uint64_t at = in_.offset();
        ASSIGN_OR_RETURN(int32_t length, in_.ReadInt("primitive name length"));
        if (length < 0) return in_.ErrorAt(at, absl::StrCat("negative name length ", length));
        ASSIGN_OR_RETURN(std::string_view name, in_.ReadString(length, "primitive name"));
        NodeId id = AddWithFlags(Builtin{flags.type == rds::kSpecialSxp, std::string(name)}, flags);
        return Finish(id, flags, start);
      }
      case rds::kCharSxp: {
        ASSIGN_OR_RETURN(StringValue s, ReadCharPayload(flags));
        NodeId id = value_.Add(std::move(s));
        if (!flags.has_attr) return Result(id);
        RETURN_IF_ERROR(Push(Frame{Frame::Kind::kDiscard, 0, false, flags, id, start}));
        return NeedItem();
      }
      case rds::kLglSxp:
      case rds::kIntSxp:
      case rds::kRealSxp:
      case rds::kCplxSxp:
      case rds::kRawSxp: {
        const ElementType type = flags.type == rds::kLglSxp    ? ElementType::kLogical
                                 : flags.type == rds::kIntSxp  ? ElementType::kInt32
                                 : flags.type == rds::kRealSxp ? ElementType::kFloat64
                                 : flags.type == rds::kCplxSxp ? ElementType::kComplex128
                                                               : ElementType::kRaw;
        ASSIGN_OR_RETURN(uint64_t length, ReadLength("vector length"));
        const bool big_endian = options_.keep_array_byte_order && in_.format() == RFormat::kXdr &&
                                ElementSize(type) > 1 && length > 0;
        ASSIGN_OR_RETURN(Buffer data, in_.ReadElements(type, length, "vector", big_endian));
        NodeId id = AddWithFlags(Array{type, length, std::move(data), big_endian}, flags);
        return Finish(id, flags, start);
      }
      case rds::kStrSxp: {
        ASSIGN_OR_RETURN(uint64_t length, ReadLength("vector length"));
        ASSIGN_OR_RETURN(NodeId id, ReadStrsxp(length));
        value_.mutable_node(id).r_flags = FlagsOf(NodeKind::kStringVector, flags);
        return Finish(id, flags, start);
      }
      case rds::kVecSxp:
      case rds::kExprSxp: {
        ASSIGN_OR_RETURN(uint64_t length, ReadLength("list length"));
        RETURN_IF_ERROR(in_.CheckRoom(length, 4, "list"));
        List list;
        list.expression = flags.type == rds::kExprSxp;
        list.items.reserve(length);
        NodeId id = AddWithFlags(std::move(list), flags);
        if (length == 0) return Finish(id, flags, start);
        RETURN_IF_ERROR(Push(Frame{Frame::Kind::kVector, 0, false, flags, id, start, 0, length}));
        return Enter();
      }
      case rds::kBcodeSxp: {
        const uint64_t at = in_.offset();
        ASSIGN_OR_RETURN(int32_t nreps, in_.ReadInt("byte code reps count"));
        if (nreps < 0) return in_.ErrorAt(at, absl::StrCat("negative reps count ", nreps));
        RETURN_IF_ERROR(in_.CheckRoom(nreps, 2, "byte code reps"));
        reps_.emplace_back(static_cast<size_t>(nreps), kNoNode);
        NodeId id = AddWithFlags(Bytecode{}, flags);
        Frame frame{Frame::Kind::kBytecode, 0, true, flags, id, start};
        frame.reps = static_cast<uint32_t>(reps_.size() - 1);
        RETURN_IF_ERROR(Push(frame));
        return Enter();
      }
      case rds::kS4Sxp:
        return Finish(AddWithFlags(S4Object{}, flags), flags, start);
      case rds::kAltrepSxp: {
        NodeId id = AddWithFlags(Altrep{}, flags);
        RETURN_IF_ERROR(Push(Frame{Frame::Kind::kAltrep, 0, false, flags, id, start}));
        return NeedItem();
      }
      case rds::kClassRefSxp:
      case rds::kGenericRefSxp:
        return in_.ErrorAt(start,
                           absl::StrCat("class references (type ", flags.type, ") cannot be read"));
      default:
        return in_.ErrorAt(start, absl::StrCat("unknown type ", flags.type, " (flags ", word, ")"));
    }
  }

  static PairlistCell NewCell(const ItemFlags& flags) {
    PairlistCell cell;
    cell.type = flags.type == rds::kLangSxp  ? CellType::kLanguage
                : flags.type == rds::kDotSxp ? CellType::kDots
                                             : CellType::kList;
    cell.flags = RFlags{flags.levels, flags.is_object};
    return cell;
  }

  // A vector-like object whose payload is complete: its attributes follow when flagged.
  absl::StatusOr<Action> Finish(NodeId id, const ItemFlags& flags, uint64_t start) {
    if (!flags.has_attr) return Result(Complete(id));
    RETURN_IF_ERROR(Push(Frame{Frame::Kind::kAttributes, 0, false, flags, id, start}));
    return NeedItem();
  }

  // R_BCVersionOK (serialize.c:2032): byte code R 4.2 cannot run is replaced by its source, when
  // normalising; otherwise it is kept as written.
  NodeId Complete(NodeId id) {
    const Bytecode* bc = value_.GetIf<Bytecode>(id);
    if (bc == nullptr || !options_.r_normalize) return id;
    const Array& code = value_.Get<Array>(bc->code);
    int32_t version = 0;
    if (code.length > 0) version = LoadElement<int32_t>(code, 0);
    if (version < 2 || (version >= kBcMinVersion && version <= kBcVersion)) return id;
    return bc->constants.empty() ? Nil() : bc->constants[0];
  }

  // ---- frames
  absl::StatusOr<Action> Resume(NodeId child) {
    Frame& f = stack_.back();
    const uint64_t at = in_.offset();
    switch (f.kind) {
      case Frame::Kind::kCells:
        return ResumeCells(child);
      case Frame::Kind::kClosure:
      case Frame::Kind::kPromise:
        return ResumeFunctionLike(child);
      case Frame::Kind::kVector: {
        if (child != kNoNode) value_.Get<List>(f.node).items.push_back(child);
        if (f.index < f.count) {
          ++f.index;
          return NeedItem();
        }
        Frame done = f;
        stack_.pop_back();
        return Finish(done.node, done.flags, done.start);
      }
      case Frame::Kind::kAttributes: {
        ASSIGN_OR_RETURN(NodeId attributes, AsAttributes(child, at));
        NodeId id = f.node;
        stack_.pop_back();
        value_.mutable_node(id).attributes = attributes;
        // Attributes written as NULL read as none; the form is kept unless normalising.
        if (attributes == kNoNode && !options_.r_normalize) {
          value_.mutable_node(id).r_flags.null_attributes = true;
        }
        return Result(Complete(id));
      }
      case Frame::Kind::kDiscard: {
        NodeId id = f.node;
        stack_.pop_back();
        return Result(id);
      }
      case Frame::Kind::kEnvironment:
        return ResumeEnvironment(child);
      case Frame::Kind::kExternalPointer: {
        if (f.step == 0) {
          f.step = 1;
          return NeedItem();
        }
        auto& ptr = value_.Get<ExternalPointer>(f.node);
        if (f.step == 1) {
          ptr.protected_value = IsNil(child) ? kNoNode : child;
          f.step = 2;
          return NeedItem();
        }
        ptr.tag = IsNil(child) ? kNoNode : child;
        Frame done = f;
        stack_.pop_back();
        return Finish(done.node, done.flags, done.start);
      }
      case Frame::Kind::kAltrep:
        return ResumeAltrep(child);
      case Frame::Kind::kBytecode:
        return ResumeBytecode(child);
      case Frame::Kind::kBcLang:
        return ResumeBcLang(child);
    }
    return in_.Error("internal error: unknown frame");
  }

  enum CellStep : uint8_t { kCellStart, kCellGotAttr, kCellGotTag, kCellGotCar, kCellGotTail };

  absl::StatusOr<Action> ResumeCells(NodeId child) {
    Frame& f = stack_.back();
    const uint64_t at = in_.offset();
    while (true) {
      auto& list = value_.Get<Pairlist>(f.node);
      PairlistCell& cell = list.cells.back();
      switch (f.step) {
        case kCellStart:
          if (f.flags.has_attr) {
            f.step = kCellGotAttr;
            return NeedItem();
          }
          [[fallthrough]];
        case kCellGotAttr:
          if (f.step == kCellGotAttr) {
            ASSIGN_OR_RETURN(cell.attributes, AsAttributes(child, at));
          }
          if (f.flags.has_tag) {
            f.step = kCellGotTag;
            return NeedItem();
          }
          [[fallthrough]];
        case kCellGotTag:
          if (f.step == kCellGotTag) cell.tag = IsNil(child) ? kNoNode : child;
          f.step = kCellGotCar;
          return NeedItem();
        case kCellGotCar: {
          cell.value = child;
          const uint64_t cdr_at = in_.offset();
          ASSIGN_OR_RETURN(int32_t word, in_.ReadInt("pairlist CDR"));
          ItemFlags next = rds::UnpackFlags(word);
          if (next.type == rds::kListSxp || next.type == rds::kLangSxp ||
              next.type == rds::kDotSxp) {
            if (list.cells.size() >= kMaxNodes) return in_.ErrorAt(cdr_at, "pairlist too long");
            list.cells.push_back(NewCell(next));
            f.flags = next;
            f.step = kCellStart;
            child = kNoNode;
            continue;
          }
          if (next.type == rds::kNilValueSxp) break;
          f.step = kCellGotTail;
          return NeedItemWithFlags(word, cdr_at);
        }
        case kCellGotTail:
          list.tail = child;
          break;
      }
      NodeId id = f.node;
      stack_.pop_back();
      return Result(id);
    }
  }

  // CLOSXP: attr? env formals body; PROMSXP: attr? env? value code (serialize.c:1853-1890).
  absl::StatusOr<Action> ResumeFunctionLike(NodeId child) {
    Frame& f = stack_.back();
    const uint64_t at = in_.offset();
    const bool closure = f.kind == Frame::Kind::kClosure;
    switch (f.step) {
      case 0:
        if (f.flags.has_attr) {
          f.step = 1;
          return NeedItem();
        }
        [[fallthrough]];
      case 1:
        if (f.step == 1) {
          ASSIGN_OR_RETURN(NodeId attributes, AsAttributes(child, at));
          value_.mutable_node(f.node).attributes = attributes;
        }
        f.step = 2;
        if (f.flags.has_tag) return NeedItem();
        child = kNoNode;
        [[fallthrough]];
      case 2: {
        // A NULL environment becomes the base environment (serialize.c:1886-1887) when
        // normalising; otherwise it stays absent, and is written as it came.
        NodeId env = child;
        if (child == kNoNode || IsNil(child)) {
          env = options_.r_normalize ? Singleton(SpecialKind::kBaseEnv) : kNoNode;
        }
        if (closure) {
          value_.Get<Closure>(f.node).environment = env;
        } else {
          value_.Get<Promise>(f.node).environment = env;
        }
        f.step = 3;
        return NeedItem();
      }
      case 3:
        if (closure) {
          value_.Get<Closure>(f.node).formals = IsNil(child) ? kNoNode : child;
        } else {
          value_.Get<Promise>(f.node).value = child;
        }
        f.step = 4;
        return NeedItem();
      default: {
        if (closure) {
          value_.Get<Closure>(f.node).body = child;
        } else {
          value_.Get<Promise>(f.node).code = child;
        }
        NodeId id = f.node;
        stack_.pop_back();
        return Result(id);
      }
    }
  }

  absl::StatusOr<Action> ResumeEnvironment(NodeId child) {
    Frame& f = stack_.back();
    const uint64_t at = in_.offset();
    if (f.step == 0) {
      f.step = 1;
      return NeedItem();
    }
    if (f.step == 1) {  // enclosure; NULL becomes the base environment (serialize.c:1846)
      NodeId enclosure = child;
      if (IsNil(child))
        enclosure = options_.r_normalize ? Singleton(SpecialKind::kBaseEnv) : kNoNode;
      value_.Get<Environment>(f.node).enclosure = enclosure;
      f.step = 2;
      return NeedItem();
    }
    auto& env = value_.Get<Environment>(f.node);
    if (f.step == 2) {
      if (!IsNil(child) && value_.node(child).kind() != NodeKind::kPairlist) {
        return in_.ErrorAt(at, "environment frame must be a pairlist");
      }
      env.frame = IsNil(child) ? kNoNode : child;
      f.step = 3;
      return NeedItem();
    }
    if (f.step == 3) {
      if (!IsNil(child) && value_.node(child).kind() != NodeKind::kList) {
        return in_.ErrorAt(at, "environment hash table must be a list");
      }
      env.hash_table = IsNil(child) ? kNoNode : child;
      f.step = 4;
      return NeedItem();
    }
    ASSIGN_OR_RETURN(NodeId attributes, AsAttributes(child, at));
    Node& node = value_.mutable_node(f.node);
    node.attributes = attributes;
    node.r_flags = RFlags{};
    if (attributes != kNoNode) {  // serialize.c:1841-1845: OBJECT when there is a class
      for (const PairlistCell& cell : value_.Get<Pairlist>(attributes).cells) {
        const Symbol* tag = value_.GetIf<Symbol>(cell.tag);
        if (tag != nullptr && tag->name.bytes == "class") node.r_flags.object = true;
      }
    }
    NodeId id = f.node;
    stack_.pop_back();
    return Result(id);
  }

  absl::StatusOr<Action> ResumeAltrep(NodeId child) {
    Frame& f = stack_.back();
    const uint64_t at = in_.offset();
    if (f.step == 0) {  // info: list3(class symbol, package symbol, INTSXP(1) type)
      const Pairlist* info = value_.GetIf<Pairlist>(child);
      const Symbol* klass = info && info->cells.size() == 3 && info->tail == kNoNode
                                ? value_.GetIf<Symbol>(info->cells[0].value)
                                : nullptr;
      const Symbol* package = klass ? value_.GetIf<Symbol>(info->cells[1].value) : nullptr;
      const Array* type = package ? value_.GetIf<Array>(info->cells[2].value) : nullptr;
      if (type == nullptr || type->type != ElementType::kInt32 || type->length != 1) {
        return in_.ErrorAt(at, "ALTREP class information must be list(class, package, type)");
      }
      auto& altrep = value_.Get<Altrep>(f.node);
      altrep.class_name = klass->name.bytes;
      altrep.package = package->name.bytes;
      altrep.base_type = LoadElement<int32_t>(*type, 0);
      f.step = 1;
      return NeedItem();
    }
    if (f.step == 1) {
      value_.Get<Altrep>(f.node).state = child;
      f.step = 2;
      return NeedItem();
    }
    ASSIGN_OR_RETURN(NodeId attributes, AsAttributes(child, at));
    NodeId id = f.node;
    uint64_t start = f.start;
    stack_.pop_back();
    value_.mutable_node(id).attributes = attributes;
    RETURN_IF_ERROR(rds::NormalizeAltrep(value_, id, start, options_.r_normalize));
    return Result(id);
  }

  // ---- byte code (serialize.c:2038-2143)
  absl::StatusOr<Action> ResumeBytecode(NodeId child) {
    Frame& f = stack_.back();
    const uint64_t at = in_.offset();
    if (f.step == 0) {
      f.step = 1;
      return NeedItem();
    }
    if (f.step == 1) {
      const Array* code = value_.GetIf<Array>(child);
      if (code == nullptr || code->type != ElementType::kInt32 || code->length == 0) {
        return in_.ErrorAt(at, "byte code must start with a non-empty integer vector");
      }
      value_.Get<Bytecode>(f.node).code = child;
      const uint64_t count_at = in_.offset();
      ASSIGN_OR_RETURN(int32_t count, in_.ReadInt("byte code constants count"));
      if (count < 0) return in_.ErrorAt(count_at, absl::StrCat("negative constants count ", count));
      RETURN_IF_ERROR(in_.CheckRoom(count, 4, "byte code constants"));
      value_.Get<Bytecode>(f.node).constants.reserve(count);
      f.count = static_cast<uint64_t>(count);
      f.index = 0;
      f.step = 2;
      child = kNoNode;
    }
    if (child != kNoNode) value_.Get<Bytecode>(f.node).constants.push_back(child);
    if (f.index == f.count) {
      Frame done = f;
      stack_.pop_back();
      if (done.top) return Finish(done.node, done.flags, done.start);
      return Result(done.node);
    }
    ++f.index;
    const uint64_t type_at = in_.offset();
    ASSIGN_OR_RETURN(int32_t type, in_.ReadInt("byte code constant type"));
    if (type == rds::kBcodeSxp) {
      RETURN_IF_ERROR(CheckNodeRoom());
      Frame nested{Frame::Kind::kBytecode, 0, false, ItemFlags{}, value_.Add(Bytecode{}), type_at};
      nested.reps = f.reps;
      RETURN_IF_ERROR(Push(nested));
      return Enter();
    }
    if (rds::IsBcLangType(type)) return StartBcLang(type, stack_.back().reps, type_at);
    return NeedItem();
  }

  absl::StatusOr<NodeId> RepAt(uint32_t reps, uint64_t at, bool define) {
    ASSIGN_OR_RETURN(int32_t pos, in_.ReadInt("byte code reps index"));
    auto& table = reps_[reps];
    if (pos < 0 || static_cast<size_t>(pos) >= table.size()) {
      return in_.ErrorAt(at,
                         absl::StrCat("byte code reps index ", pos, " outside 0..", table.size()));
    }
    if (!define && table[pos] == kNoNode) {
      return in_.ErrorAt(at, absl::StrCat("byte code reps index ", pos, " not defined yet"));
    }
    if (define && table[pos] != kNoNode) {
      return in_.ErrorAt(at, absl::StrCat("byte code reps index ", pos, " defined twice"));
    }
    return static_cast<NodeId>(pos);
  }

  // ReadBCLang for a type in rds::IsBcLangType.
  absl::StatusOr<Action> StartBcLang(int32_t type, uint32_t reps, uint64_t at) {
    RETURN_IF_ERROR(CheckNodeRoom());
    if (type == rds::kBcRepRef) {
      ASSIGN_OR_RETURN(NodeId pos, RepAt(reps, at, false));
      return Result(reps_[reps][pos]);
    }
    NodeId pos = kNoNode;
    if (type == rds::kBcRepDef) {
      ASSIGN_OR_RETURN(pos, RepAt(reps, at, true));
      ASSIGN_OR_RETURN(type, in_.ReadInt("byte code cell type"));
    }
    ASSIGN_OR_RETURN(PairlistCell cell, BcCell(type, at));
    Pairlist list;
    list.cells.push_back(cell);
    NodeId id = value_.Add(std::move(list));
    if (pos != kNoNode) reps_[reps][pos] = id;
    ItemFlags flags;
    flags.has_attr = type == rds::kAttrLangSxp || type == rds::kAttrListSxp;
    Frame frame{Frame::Kind::kBcLang, 0, false, flags, id, at};
    frame.reps = reps;
    RETURN_IF_ERROR(Push(frame));
    return Enter();
  }

  absl::StatusOr<PairlistCell> BcCell(int32_t type, uint64_t at) {
    PairlistCell cell;
    switch (type) {
      case rds::kLangSxp:
      case rds::kAttrLangSxp:
        cell.type = CellType::kLanguage;
        return cell;
      case rds::kListSxp:
      case rds::kAttrListSxp:
        cell.type = CellType::kList;
        return cell;
      default:
        return in_.ErrorAt(at, absl::StrCat("byte code language cell of type ", type));
    }
  }

  enum BcStep : uint8_t { kBcStart, kBcGotAttr, kBcGotTag, kBcGotCar, kBcGotTail };

  absl::StatusOr<Action> ResumeBcLang(NodeId child) {
    Frame& f = stack_.back();
    const uint64_t at = in_.offset();
    while (true) {
      switch (f.step) {
        case kBcStart:
          if (f.flags.has_attr) {
            f.step = kBcGotAttr;
            return NeedItem();
          }
          f.step = kBcGotTag;
          return NeedItem();
        case kBcGotAttr: {
          ASSIGN_OR_RETURN(NodeId attributes, AsAttributes(child, at));
          value_.Get<Pairlist>(f.node).cells.back().attributes = attributes;
          f.step = kBcGotTag;
          return NeedItem();
        }
        case kBcGotTag: {
          value_.Get<Pairlist>(f.node).cells.back().tag = IsNil(child) ? kNoNode : child;
          const uint64_t car_at = in_.offset();
          ASSIGN_OR_RETURN(int32_t type, in_.ReadInt("byte code CAR type"));
          f.step = kBcGotCar;
          if (rds::IsBcLangType(type)) {
            uint32_t reps = f.reps;
            ASSIGN_OR_RETURN(Action action, StartBcLang(type, reps, car_at));
            if (action.kind != Action::kResult) return action;
            child = action.id;  // a reps reference: no frame
            continue;
          }
          return NeedItem();
        }
        case kBcGotCar: {
          value_.Get<Pairlist>(f.node).cells.back().value = child;
          const uint64_t cdr_at = in_.offset();
          ASSIGN_OR_RETURN(int32_t type, in_.ReadInt("byte code CDR type"));
          if (rds::IsBcCellType(type)) {
            ASSIGN_OR_RETURN(PairlistCell cell, BcCell(type, cdr_at));
            auto& cells = value_.Get<Pairlist>(f.node).cells;
            if (cells.size() >= kMaxNodes) return in_.ErrorAt(cdr_at, "pairlist too long");
            cells.push_back(cell);
            f.flags.has_attr = type == rds::kAttrLangSxp || type == rds::kAttrListSxp;
            f.step = kBcStart;
            continue;
          }
          f.step = kBcGotTail;
          if (type == rds::kBcRepDef || type == rds::kBcRepRef) {
            uint32_t reps = f.reps;
            ASSIGN_OR_RETURN(Action action, StartBcLang(type, reps, cdr_at));
            if (action.kind != Action::kResult) return action;
            child = action.id;
            continue;
          }
          return NeedItem();
        }
        case kBcGotTail: {
          if (!IsNil(child)) value_.Get<Pairlist>(f.node).tail = child;
          NodeId id = f.node;
          stack_.pop_back();
          return Result(id);
        }
      }
    }
  }

  // ---- the read loop
  absl::StatusOr<NodeId> ReadItem() {
    Action action = NeedItem();
    while (true) {
      switch (action.kind) {
        case Action::kItem:
        case Action::kItemWithFlags: {
          uint64_t start = action.at;
          int32_t word = action.word;
          if (action.kind == Action::kItem) {
            start = in_.offset();
            ASSIGN_OR_RETURN(word, in_.ReadInt("item flags"));
          }
          ASSIGN_OR_RETURN(action, StartItem(word, start));
          break;
        }
        case Action::kEnter: {
          ASSIGN_OR_RETURN(action, Resume(kNoNode));
          break;
        }
        case Action::kResult: {
          if (stack_.empty()) return action.id;
          ASSIGN_OR_RETURN(action, Resume(action.id));
          break;
        }
      }
    }
  }

  rds::InputStream in_;
  const ReadOptions& options_;
  Value value_;
  std::vector<Frame> stack_;
  std::vector<NodeId> refs_;
  std::vector<std::vector<NodeId>> reps_;
  absl::flat_hash_map<std::string, NodeId> symbols_;
  NodeId nil_ = kNoNode;
  NodeId specials_[6] = {kNoNode, kNoNode, kNoNode, kNoNode, kNoNode, kNoNode};
};

}  // namespace

absl::StatusOr<Value> ReadR(const Buffer& input, const ReadOptions& options) {
  const RCompression compression = rds::DetectCompression(input.view());
  Buffer stream = input;
  if (compression != RCompression::kNone) {
    ASSIGN_OR_RETURN(stream, rds::Decompress(input, compression, options));
  }
  std::string magic;
  uint64_t offset = 0;
  if (rds::IsRDataMagic(stream.view())) {
    magic = std::string(stream.view().substr(0, 4));
    offset = 5;
  }
  // Decompressed bytes are this read's alone; the input's only when its caller lends them.
  StreamReader reader(stream, offset, options,
                      compression != RCompression::kNone || options.input_is_scratch);
  ASSIGN_OR_RETURN(Value value, reader.Run(std::move(magic)));
  value.source().r->compression = compression;
  if (compression == RCompression::kGzip) {
    value.source().r->gzip_header = rds::DistinctGzipHeader(input.view());
  }
  return value;
}

}  // namespace seriald
