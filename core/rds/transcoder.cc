#include "core/rds/transcoder.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/byte_order.h"
#include "core/io/input_error.h"
#include "core/io/spillable_buffer.h"
#include "core/model/element_type.h"
#include "core/rds/altrep.h"
#include "core/rds/primitives.h"
#include "core/rds/sexptype.h"
#include "core/status_macros.h"

namespace seriald {
namespace {

using rds::ItemFlags;

// Vector data is taken from the input at most this much at a time.
constexpr size_t kDataStep = size_t{8} << 20;
// The bytes of a compact sequence expanded at a time (version 2): a MiB keeps the memory it
// takes small next to the output writer's, and the allocations few.
constexpr size_t kSequenceStep = size_t{1} << 20;
// The strings of a deferred string expanded at a time (version 2).
constexpr uint64_t kStringsStep = 65536;
// Small values are peeked with this much look-ahead, so that gathering across chunks is rare.
constexpr size_t kLookahead = 256;
// Bytes of a string gathered in one allocation when the input's size is unknown.
constexpr size_t kGatherAtOnce = size_t{1} << 20;
// Ascii vector elements parsed into one buffer before they are written.
constexpr uint64_t kAsciiBatch = 8192;
// Output held in memory is bounded by this: a byte code object's, held until its shared cells
// prove numbered as the graph numbers them, that grows past it (a large constant) is left to the
// graph, and so is a compact sequence that expands past it into held output (attributes
// held until a tag shows, a byte code constant): held, its elements would cost memory the input
// cannot justify.
constexpr uint64_t kMaxHeldBytes = uint64_t{16} << 20;
// ALTREP wrappers nested in one another's data beyond this are left to the graph (the reader
// expands 64 levels: rds/altrep.cc).
constexpr int64_t kMaxNestedWrappers = 32;
constexpr char kNotAWrapperState[] =
    "an ALTREP wrapper whose state is not (data . integer metadata) (the graph checks it)";

// The type word the graph writes before a byte code constant read as an item of this type
// (BcTypeOf: R's TYPEOF of the object); nullopt where it writes the constant otherwise (language
// objects as byte code cells, byte code as nested byte code) or the type shows only later (a
// reference, an ALTREP object).
std::optional<int32_t> BcTypeWordOf(int32_t item_type) {
  switch (item_type) {
    case rds::kNilValueSxp:
      return rds::kNilSxp;
    case rds::kUnboundValueSxp:
    case rds::kMissingArgSxp:
    case rds::kSymSxp:
      return rds::kSymSxp;
    case rds::kEmptyEnvSxp:
    case rds::kBaseEnvSxp:
    case rds::kGlobalEnvSxp:
    case rds::kBaseNamespaceSxp:
    case rds::kPackageSxp:
    case rds::kNamespaceSxp:
    case rds::kPersistSxp:
    case rds::kEnvSxp:
      return rds::kEnvSxp;
    case rds::kListSxp:
    case rds::kLangSxp:
    case rds::kBcodeSxp:
    case rds::kRefSxp:
    case rds::kAltrepSxp:
      return std::nullopt;
    default:
      return item_type;
  }
}

bool IsCellType(int32_t type) {
  return type == rds::kListSxp || type == rds::kLangSxp || type == rds::kDotSxp;
}

std::optional<ElementType> AtomicElementType(int32_t type) {
  switch (type) {
    case rds::kLglSxp:
      return ElementType::kLogical;
    case rds::kIntSxp:
      return ElementType::kInt32;
    case rds::kRealSxp:
      return ElementType::kFloat64;
    case rds::kCplxSxp:
      return ElementType::kComplex128;
    case rds::kRawSxp:
      return ElementType::kRaw;
    default:
      return std::nullopt;
  }
}

// An entry of the reference table: a persistent name (which the graph writes in full at every
// occurrence), a symbol (its name, for ALTREP class information), or another object.
struct Ref {
  enum Kind : uint8_t { kOther, kPersistent, kSymbol };
  Kind kind = kOther;
  std::string name;
  int32_t type = 0;  // the object's SEXPTYPE, as a byte code constant's type word gives it
  // Its index in the output's table; 0 for a symbol the output has not had yet (one read in an
  // ALTREP object's class information that version 2 does not write).
  int32_t out_index = 0;
};

// What may stand where an item is read.
enum class Slot : uint8_t {
  kAny,
  kAttributes,          // a pairlist (attributes written NULL after a payload are kept as NULL)
  kPairlistOrNil,       // an environment's frame or attributes
  kListOrNil,           // an environment's hash table
  kHeldTag,             // a tag or closure environment whose flag was written before it showed:
                        // NULL there is a form the graph drops
  kSequenceState,       // a compact sequence's state: c(n, first, increment), checked as the reader
                        // checks it
  kBcCode,              // a byte code object's code: a non-empty integer vector
  kBcConstant,          // a byte code constant after its type word, which must be what the graph
                        // writes for it
  kBcPadded,            // an item after a byte code pad: not a language object (the graph writes
                        // those as byte code cells)
  kWrapperState,        // an ALTREP wrapper's state: one cell (data . metadata), checked as the
                        // reader checks it (rds::ExpandAltrep)
  kWrapperData,         // its data: a vector, or an ALTREP object the reader expands
  kWrapperMeta,         // its metadata: an integer vector of at least one element
  kExpandedAttributes,  // the attributes of a wrapper written as version 2 (Expansion): NULL or
                        // a pairlist, which says its flags word's attributes bit
};

// An object whose content is still to come: `items` items (a list's elements), then the slots;
// or byte code, read step by step (serialize.c:2038-2143): a BCODESXP item or constant, or a
// chain of language cells in byte code's own form.
struct Frame {
  enum class Kind : uint8_t { kItems, kBytecode, kBcCells };
  Kind kind = Kind::kItems;
  uint8_t step = 0;
  bool top = false;            // kBytecode: the BCODESXP item, whose reps table and hold it closes
  bool has_attr = false;       // kBytecode: the item's attributes follow; kBcCells: the cell's
  int32_t item_word = 0;       // kBytecode: the item's flags word
  bool wrapper = false;        // an ALTREP wrapper's frame (its state and attributes)
  bool wrapper_state = false;  // the cell of a wrapper's state: its CDR is the metadata
  bool cells = false;          // a pairlist chain: slots are the current cell's, then its CDR
  bool integer_sequence = false;  // kSequenceState: compact_intseq (else compact_realseq)
  // kSequenceState written as version 2: the sequence goes out as the ordinary vector it stands
  // for, with this flags word (the ALTREP object's levels, object and tag bits) and the
  // has-attributes bit once the attributes show whether they are NULL.
  bool expand_sequence = false;
  int32_t expanded_word = 0;
  bool holding = false;
  uint64_t items = 0;
  uint64_t start = 0;
  Slot slots[4] = {};
  uint8_t slot_count = 0;
  uint8_t next_slot = 0;
};

class Transcoder {
 public:
  Transcoder(ChunkedInput& in, const RSettingsForSource& settings_for, ByteWriter& out,
             const ReadOptions& options)
      : in_(in), settings_for_(settings_for), out_(out), options_(options), base_(out.size()) {}

  absl::StatusOr<RTranscodeOutcome> Run() {
    RETURN_IF_ERROR(ReadHeader(info_));
    ASSIGN_OR_RETURN(settings_, settings_for_(info_));
    os_.emplace(out_, settings_.format);
    if (!settings_.rdata_magic.empty()) {
      ASSIGN_OR_RETURN(int32_t word, PeekInt("item flags"));
      const int32_t type = rds::UnpackFlags(word).type;
      if (!IsCellType(type) && type != rds::kNilValueSxp) {
        return Stop(in_.offset(), "a save() file's root must be a pairlist");
      }
      os().WriteRaw(settings_.rdata_magic);
      os().WriteRaw("\n");
    }
    os().WriteRaw(os().ascii() ? "A\n" : settings_.format == RFormat::kNative ? "B\n" : "X\n");
    os().WriteInt(settings_.version);
    os().WriteInt(settings_.writer_version);
    os().WriteInt(settings_.min_reader_version);
    if (settings_.version == 3) {
      os().WriteInt(static_cast<int32_t>(settings_.native_encoding.size()));
      os().WriteString(settings_.native_encoding);
    }
    RETURN_IF_ERROR(ReadRoot());
    if (stopped_) return outcome_;
    // A wrapper's held vector could not go to its spill file (its error, its budget).
    if (expansion_ != nullptr) RETURN_IF_ERROR(expansion_->writer.Finish());
    if (!out_.ok()) return RTranscodeOutcome{true};
    // R stops reading after the object; what follows is kept when the stream is written in its
    // own encoding and version again (rds::SettingsFor), and read through in any case: a
    // compressed input's integrity is checked to its end, as the reader does. In ascii the
    // whitespace after the last token is the stream's, not trailing bytes.
    if (ascii_) RETURN_IF_ERROR(SkipSpace(/*to_end=*/true, ""));
    const bool keep_trailing =
        settings_.format == info_.format && settings_.version == info_.version;
    while (true) {
      ASSIGN_OR_RETURN(Buffer rest, in_.Take(kDataStep));
      if (rest.size() == 0) break;
      if (keep_trailing) os().WriteRaw(rest.view());
    }
    return RTranscodeOutcome{true};
  }

 private:
  rds::OutputStream& os() {
    if (Dropping()) {
      if (!dropped_os_.has_value()) dropped_os_.emplace(dropped_, settings_.format);
      return *dropped_os_;
    }
    if (expansion_ != nullptr) return *expansion_->os;
    return held_os_.has_value() ? *held_os_ : *os_;
  }

  absl::StatusOr<RTranscodeOutcome> Stop(uint64_t at, std::string reason) {
    stopped_ = true;
    outcome_.complete = false;
    outcome_.emitted = out_.size() - base_;
    outcome_.stopped_at = at;
    outcome_.reason = std::move(reason);
    return outcome_;
  }
  absl::Status StopHere(uint64_t at, std::string reason) {
    (void)Stop(at, std::move(reason));
    return absl::OkStatus();
  }

  absl::Status Error(uint64_t at, std::string_view problem) const {
    return InputError("rds", at, problem);
  }
  absl::Status Truncated(std::string_view what) const {
    return Error(in_.offset(), absl::StrCat("input ends inside ", AsAbsl(what)));
  }

  // ---- primitives: binary words, or ascii tokens separated by whitespace
  // The int at the cursor, without moving past it (Int does): `peeked_` is its size in the
  // input (in ascii, the token and its separator).
  absl::StatusOr<int32_t> PeekInt(std::string_view what) {
    if (ascii_) {
      ASSIGN_OR_RETURN(std::string_view word, PeekWord(what));
      const std::optional<int32_t> v = rds::ParseAsciiInt(word);
      if (!v.has_value()) {
        return Error(in_.offset(),
                     absl::StrCat(AsAbsl(what), ": \"", AsAbsl(word), "\" is not an integer"));
      }
      return *v;
    }
    ASSIGN_OR_RETURN(Buffer w, in_.Peek(4, kLookahead));
    if (w.size() < 4) return Truncated(what);
    uint32_t v;
    std::memcpy(&v, w.data(), 4);
    if (xdr_) v = __builtin_bswap32(v);
    peeked_ = 4;
    return static_cast<int32_t>(v);
  }
  absl::StatusOr<int32_t> Int(std::string_view what) {
    ASSIGN_OR_RETURN(int32_t v, PeekInt(what));
    in_.Skip(peeked_);
    return v;
  }
  // `size` bytes of a string (in ascii, decoded from its escapes).
  absl::StatusOr<Buffer> Bytes(uint64_t size, std::string_view what) {
    const std::optional<uint64_t> left = in_.remaining();
    if (left.has_value() && size > *left) return Truncated(what);
    if (ascii_) return Text(size, what);
    if (left.has_value() || size <= kGatherAtOnce) {
      ASSIGN_OR_RETURN(Buffer bytes, in_.Peek(size, size));
      if (bytes.size() < size) return Truncated(what);
      in_.Skip(size);
      return bytes.Slice(0, size);
    }
    // The input's size is unknown: a length is not a promise, so the bytes are gathered as they
    // come, not allocated up front.
    std::string gathered;
    while (gathered.size() < size) {
      ASSIGN_OR_RETURN(Buffer piece, in_.Take(static_cast<size_t>(size - gathered.size())));
      if (piece.size() == 0) return Truncated(what);
      gathered.append(piece.view());
    }
    return Buffer::FromString(std::move(gathered));
  }

  // Moves past the whitespace at the cursor, which R skips before every token and string. The
  // input may end there only when `to_end`.
  absl::Status SkipSpace(bool to_end, std::string_view what) {
    while (true) {
      ASSIGN_OR_RETURN(Buffer window, in_.Peek(1, kLookahead));
      if (window.size() == 0) {
        if (to_end) return absl::OkStatus();
        return Error(in_.offset(), absl::StrCat("input ends before ", AsAbsl(what)));
      }
      size_t n = 0;
      while (n < window.size() && rds::IsAsciiSpace(window.data()[n])) ++n;
      in_.Skip(n);
      if (n < window.size()) return absl::OkStatus();
    }
  }
  // The ascii token at the cursor (after whitespace), which stays valid until the next one.
  absl::StatusOr<std::string_view> PeekWord(std::string_view what) {
    RETURN_IF_ERROR(SkipSpace(false, what));
    ASSIGN_OR_RETURN(word_window_, in_.Peek(rds::kMaxAsciiWord + 1, kLookahead));
    const char* p = reinterpret_cast<const char*>(word_window_.data());
    const size_t size = word_window_.size();
    size_t n = 0;
    while (n < size && n <= rds::kMaxAsciiWord && !rds::IsAsciiSpace(p[n])) ++n;
    if (n > rds::kMaxAsciiWord) {
      return Error(in_.offset(), absl::StrCat(AsAbsl(what), " is longer than 127 chars"));
    }
    // R reads a token with the char after it: one the input ends in may be cut short.
    if (n == size) return Truncated(what);
    peeked_ = n + 1;
    return std::string_view(p, n);
  }
  // An ascii string of `size` bytes, decoded as it comes: no more memory than the input shows.
  absl::StatusOr<Buffer> Text(uint64_t size, std::string_view what) {
    if (size == 0) return Buffer();
    RETURN_IF_ERROR(SkipSpace(false, what));
    std::string text;
    text.reserve(static_cast<size_t>(std::min<uint64_t>(size, kGatherAtOnce)));
    while (text.size() < size) {
      ASSIGN_OR_RETURN(Buffer window, in_.Peek(4, kLookahead));
      if (window.size() == 0) return Truncated(what);
      const bool ends = window.size() < 4;  // Peek shows fewer only at the input's end
      const rds::AsciiUnescaped done = rds::UnescapeAscii(window.view(), size, ends, text);
      in_.Skip(done.used);
      if (done.cut_escape && ends) {
        return Error(in_.offset(), absl::StrCat("input ends inside an escape in ", AsAbsl(what)));
      }
    }
    return Buffer::FromString(std::move(text));
  }

  // `count` elements of `type` as model bytes (little-endian), read whole: a compact sequence's
  // state, a batch of an ascii vector.
  absl::StatusOr<Buffer> Values(ElementType type, uint64_t count, std::string_view what) {
    const size_t size = ElementSize(type);
    if (!ascii_) {
      ASSIGN_OR_RETURN(Buffer raw, Bytes(count * size, what));
      if (!xdr_ || size == 1) return raw;
      auto [values, bytes] = Buffer::Allocate(raw.size());
      SwapCopy(raw.data(), bytes, size == 16 ? 2 * count : count, size == 16 ? 8 : size);
      return values;
    }
    // (Not a structured binding: the lambda below captures it.)
    std::pair<Buffer, uint8_t*> allocated = Buffer::Allocate(count * size);
    uint8_t* const bytes = allocated.second;
    const uint64_t tokens = type == ElementType::kComplex128 ? 2 * count : count;
    uint64_t i = 0;
    auto parse = [&](std::string_view word, uint64_t at) -> absl::Status {
      rds::AsciiDoubleForm form;
      if (!rds::ParseAsciiElement(type, word, i, bytes, &form)) {
        return Error(at, absl::StrCat(AsAbsl(what), ": \"", AsAbsl(word), "\" is not ",
                                      AsAbsl(rds::AsciiTokenKind(type))));
      }
      ++i;
      return NoteDoubleForm(form);
    };
    while (i < tokens) {
      // The tokens that lie whole in the chunk at the cursor, in one pass over it.
      ASSIGN_OR_RETURN(Buffer window, in_.Peek(1, kLookahead));
      const char* p = reinterpret_cast<const char*>(window.data());
      const size_t size_in_window = window.size();
      size_t used = 0;
      while (i < tokens) {
        size_t start = used;
        while (start < size_in_window && rds::IsAsciiSpace(p[start])) ++start;
        size_t end = start;
        while (end < size_in_window && end - start <= rds::kMaxAsciiWord &&
               !rds::IsAsciiSpace(p[end])) {
          ++end;
        }
        if (end == size_in_window || end - start > rds::kMaxAsciiWord) break;
        RETURN_IF_ERROR(parse(std::string_view(p + start, end - start), in_.offset() + start));
        used = end + 1;
      }
      if (used > 0) {
        in_.Skip(used);
        continue;
      }
      // A token across chunks, too long, or where the input ends: on its own.
      ASSIGN_OR_RETURN(std::string_view word, PeekWord(what));
      RETURN_IF_ERROR(parse(word, in_.offset()));
      in_.Skip(peeked_);
    }
    return std::move(allocated.first);
  }

  // An ascii stream's first number written as a double shows whether it is asciihex
  // (rds::AsciiDoubleForm): the output's settings are asked again for an asciihex source, and
  // where their encoding follows the source's (rdata), the output is asciihex from here on. No
  // number has been written yet, and the tokens written before (NA, NaN, Inf, -Inf) are the
  // same in both forms.
  absl::Status NoteDoubleForm(rds::AsciiDoubleForm form) {
    if (form == rds::AsciiDoubleForm::kToken || double_form_ != rds::AsciiDoubleForm::kToken) {
      return absl::OkStatus();
    }
    double_form_ = form;
    if (form != rds::AsciiDoubleForm::kHex) return absl::OkStatus();
    info_.format = RFormat::kAsciiHex;
    ASSIGN_OR_RETURN(const rds::RWriteSettings again, settings_for_(info_));
    if (again.version != settings_.version || again.writer_version != settings_.writer_version ||
        again.min_reader_version != settings_.min_reader_version ||
        again.native_encoding != settings_.native_encoding ||
        again.rdata_magic != settings_.rdata_magic) {
      return absl::InternalError(
          "rds: the output's header depends on whether the ascii input is asciihex");
    }
    if (again.format != settings_.format) {
      settings_.format = again.format;
      os_.emplace(out_, settings_.format);
      if (held_os_.has_value()) held_os_.emplace(*held_, settings_.format);
      if (expansion_ != nullptr) expansion_->os.emplace(expansion_->writer, settings_.format);
      if (dropped_os_.has_value()) dropped_os_.emplace(dropped_, settings_.format);
    }
    return absl::OkStatus();
  }

  // A count of `count` items of at least `bytes_each` bytes must fit in what remains (when
  // the total size is known; otherwise the input ends where it ends).
  absl::Status CheckRoom(uint64_t count, uint64_t bytes_each, std::string_view what) const {
    std::optional<uint64_t> left = in_.remaining();
    if (ascii_) bytes_each = 2;  // a token and its separator, as the reader counts them
    if (left.has_value() && count > *left / bytes_each) {
      return Error(in_.offset(), absl::StrCat(AsAbsl(what), " of ", count,
                                              " elements is longer than the rest of the input (",
                                              *left, " bytes)"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> ReadLength(std::string_view what) {
    const uint64_t at = in_.offset();
    ASSIGN_OR_RETURN(int32_t length, Int(what));
    if (length >= 0) return static_cast<uint64_t>(length);
    if (length != -1) return Error(at, absl::StrCat("negative ", AsAbsl(what), " ", length));
    ASSIGN_OR_RETURN(int32_t upper, Int(what));
    ASSIGN_OR_RETURN(int32_t lower, Int(what));
    if (upper < 0 || upper > 65536) {
      return Error(
          at, absl::StrCat("long ", AsAbsl(what), " with upper word ", upper, " (at most 65536)"));
    }
    return (static_cast<uint64_t>(upper) << 32) + static_cast<uint32_t>(lower);
  }
  void WriteLength(uint64_t length) {
    if (length <= 0x7FFFFFFF) {
      os().WriteInt(static_cast<int32_t>(length));
    } else {
      os().WriteInt(-1);
      os().WriteInt(static_cast<int32_t>(length >> 32));
      os().WriteInt(static_cast<int32_t>(static_cast<uint32_t>(length)));
    }
  }

  // ---- header (as the reader's)
  absl::Status ReadHeader(RStreamInfo& info) {
    ASSIGN_OR_RETURN(Buffer head, in_.Peek(5, kLookahead));
    if (rds::IsRDataMagic(head.view())) {
      info.rdata_magic = std::string(head.view().substr(0, 4));
      in_.Skip(5);
      ASSIGN_OR_RETURN(head, in_.Peek(2, kLookahead));
    }
    const std::string_view line = head.view().substr(0, 2);
    if (line == "X\n") {
      info.format = RFormat::kXdr;
    } else if (line == "B\n") {
      info.format = RFormat::kNative;
    } else if (line == "A\n") {
      info.format = RFormat::kAscii;  // or asciihex: its numbers will tell (NoteDoubleForm)
    } else if (line == "\nA") {       // serialize.c:598-613: a newline left by an earlier read
      ASSIGN_OR_RETURN(head, in_.Peek(3, kLookahead));
      if (head.size() < 3)
        return Error(in_.offset() + head.size(), "input ends inside format line");
      if (head.data()[2] != '\n') {
        return Error(in_.offset() + 2, "format line \"\\nA\" is not followed by \\n");
      }
      in_.Skip(1);
      info.format = RFormat::kAscii;
    } else {
      return Error(in_.offset(), "unknown input format: a stream starts with X\\n, B\\n or A\\n");
    }
    in_.Skip(2);
    xdr_ = info.format == RFormat::kXdr;
    ascii_ = info.format == RFormat::kAscii;
    const uint64_t version_at = in_.offset();
    ASSIGN_OR_RETURN(info.version, Int("version"));
    if (info.version != 2 && info.version != 3) {
      return Error(version_at, absl::StrCat("unsupported serialization version ", info.version,
                                            " (R writes 2 or 3)"));
    }
    ASSIGN_OR_RETURN(info.writer_version, Int("writer version"));
    ASSIGN_OR_RETURN(info.min_reader_version, Int("minimal reader version"));
    if (info.version == 3) {
      const uint64_t at = in_.offset();
      ASSIGN_OR_RETURN(int32_t length, Int("native encoding length"));
      if (length < 0 || length > rds::kMaxNativeEncodingBytes) {
        return Error(at, absl::StrCat("native encoding name of ", length, " bytes (R allows 0 to ",
                                      rds::kMaxNativeEncodingBytes, ")"));
      }
      ASSIGN_OR_RETURN(Buffer name, Bytes(length, "native encoding"));
      info.native_encoding = std::string(name.view());
    } else {
      info.native_encoding.clear();
    }
    return absl::OkStatus();
  }

  // ---- holding output whose flags may yet prove different from the graph's
  void OpenHold() {
    if (hold_depth_++ == 0) {
      held_.emplace();
      held_os_.emplace(*held_, settings_.format);
    }
  }
  absl::Status CloseHold() {
    if (--hold_depth_ > 0) return absl::OkStatus();
    BufferChain held;
    held_os_.reset();
    RETURN_IF_ERROR(held_->Finish(&held));
    held_.reset();
    for (const Buffer& piece : held.pieces()) out_.AppendShared(piece);
    return absl::OkStatus();
  }

  absl::Status Push(Frame frame) {
    if (stack_.size() >= options_.max_depth) {
      return rds::NestedTooDeep(options_.max_depth, frame.start);
    }
    stack_.push_back(frame);
    return absl::OkStatus();
  }
  // A frame for the attributes that follow a payload, when flagged.
  absl::Status PushAttributes(const ItemFlags& flags, uint64_t start) {
    if (!flags.has_attr) return absl::OkStatus();
    Frame frame;
    frame.start = start;
    frame.slots[frame.slot_count++] = Slot::kAttributes;
    return Push(frame);
  }

  // Whether the item at the cursor is a NULL (its flags word's type).
  absl::StatusOr<bool> NullFollows() {
    ASSIGN_OR_RETURN(int32_t word, PeekInt("item flags"));
    return rds::UnpackFlags(word).type == rds::kNilValueSxp;
  }

  // ---- the item loop, without recursion
  absl::Status ReadRoot() {
    // Each step reads one item, or a part of the frame on top; an item with content pushes a
    // frame for it, and a frame whose content is all read is popped.
    RETURN_IF_ERROR(StartItem(Slot::kAny, std::nullopt));
    while (!stopped_ && Writing()) {
      if (stack_.empty()) return absl::OkStatus();
      if (HeldTooLong()) return absl::OkStatus();
      Frame& f = stack_.back();
      if (f.kind == Frame::Kind::kBytecode) {
        RETURN_IF_ERROR(StepBytecode());
        continue;
      }
      if (f.kind == Frame::Kind::kBcCells) {
        RETURN_IF_ERROR(StepBcCells());
        continue;
      }
      if (f.items > 0) {
        --f.items;
        RETURN_IF_ERROR(StartItem(Slot::kAny, std::nullopt));
        continue;
      }
      if (f.next_slot < f.slot_count) {
        const Slot slot = f.slots[f.next_slot++];
        RETURN_IF_ERROR(StartItem(slot, std::nullopt));
        continue;
      }
      if (f.cells) {
        // The CDR: another cell of the chain, its end, or a tail item.
        const uint64_t at = in_.offset();
        ASSIGN_OR_RETURN(int32_t word, Int("pairlist CDR"));
        const ItemFlags next = rds::UnpackFlags(word);
        if (f.wrapper_state && (IsCellType(next.type) || next.type == rds::kNilValueSxp)) {
          RETURN_IF_ERROR(StopHere(at, kNotAWrapperState));
          continue;
        }
        if (IsCellType(next.type)) {
          RETURN_IF_ERROR(StartCell(next, at, stack_.back()));
          continue;
        }
        if (next.type == rds::kNilValueSxp) {
          stack_.pop_back();
          os().WriteInt(rds::kNilValueSxp);
          continue;
        }
        // The tail is the chain's last child: its frame stays while it is read (as the
        // reader's, whose depth limit counts it), and goes once it is done.
        f.cells = false;
        RETURN_IF_ERROR(
            StartItem(f.wrapper_state ? Slot::kWrapperMeta : Slot::kAny, std::make_pair(word, at)));
        continue;
      }
      stack_.pop_back();
    }
    return absl::OkStatus();
  }

  // A cell whose flags were read: writes them and sets `f` up for its attributes, tag and car.
  // A wrapper's state written as version 2 is not written: `write` false.
  absl::Status StartCell(const ItemFlags& flags, uint64_t at, Frame& f, bool write = true) {
    f.cells = true;
    f.slot_count = 0;
    f.next_slot = 0;
    f.start = at;
    if (flags.has_attr) {
      ASSIGN_OR_RETURN(bool null, NullFollows());
      if (null) return StopHere(in_.offset(), "a pairlist cell's attributes written as NULL");
      f.slots[f.slot_count++] = Slot::kAttributes;
    }
    if (flags.has_tag) {
      if (flags.has_attr) {
        OpenHold();
        f.holding = true;
        f.slots[f.slot_count++] = Slot::kHeldTag;
      } else {
        ASSIGN_OR_RETURN(bool null, NullFollows());
        if (null) return StopHere(in_.offset(), "a pairlist cell's tag written as NULL");
        f.slots[f.slot_count++] = Slot::kAny;
      }
    }
    f.slots[f.slot_count++] = Slot::kAny;  // the CAR
    if (!write) return absl::OkStatus();
    os().WriteInt(
        rds::PackFlags(flags.type, flags.levels, flags.is_object, flags.has_attr, flags.has_tag));
    return absl::OkStatus();
  }

  // Reads an item (its flags word, or `pre` when the caller read it) and writes it, or as much of
  // it as comes before its content, for which it pushes a frame.
  absl::Status StartItem(Slot slot, std::optional<std::pair<int32_t, uint64_t>> pre) {
    uint64_t start = in_.offset();
    int32_t word;
    if (pre.has_value()) {
      word = pre->first;
      start = pre->second;
    } else {
      ASSIGN_OR_RETURN(word, Int("item flags"));
    }
    const ItemFlags flags = rds::UnpackFlags(word);
    switch (slot) {
      case Slot::kAny:
        break;
      case Slot::kAttributes:
        if (!IsCellType(flags.type) && flags.type != rds::kNilValueSxp) {
          return StopHere(start, "attributes that are not a pairlist");
        }
        break;
      case Slot::kPairlistOrNil:
        if (!IsCellType(flags.type) && flags.type != rds::kNilValueSxp) {
          return StopHere(start, "an environment frame that is not a pairlist");
        }
        break;
      case Slot::kListOrNil:
        if (flags.type != rds::kVecSxp && flags.type != rds::kExprSxp &&
            flags.type != rds::kNilValueSxp) {
          return StopHere(start, "an environment hash table that is not a list");
        }
        break;
      case Slot::kSequenceState:
        return CopySequenceState(flags, start);
      case Slot::kBcCode:
        if (flags.type != rds::kIntSxp) {
          return StopHere(start, "byte code whose code is not an integer vector");
        }
        break;
      case Slot::kBcConstant: {
        if (flags.type == rds::kRefSxp) break;  // checked against the entry it refers to
        if (flags.type == rds::kAltrepSxp) {
          altrep_base_type_ = bc_constant_type_;  // checked against its class information
          break;
        }
        const std::optional<int32_t> word = BcTypeWordOf(flags.type);
        if (!word.has_value() || *word != bc_constant_type_) {
          return StopHere(start, "a byte code constant whose type word the graph writes otherwise");
        }
        break;
      }
      case Slot::kWrapperState:
        if (!IsCellType(flags.type)) {
          return StopHere(start, kNotAWrapperState);
        }
        if (expansion_ != nullptr &&
            (flags.type != rds::kListSxp || flags.has_attr || flags.has_tag)) {
          return StopHere(expansion_->start,
                          "an ALTREP wrapper written as version 2 whose state's cell has "
                          "attributes, a tag or another type (the graph expands it)");
        }
        break;
      case Slot::kWrapperData:
        if (expansion_ != nullptr) return CopyWrappedVector(flags);
        if (flags.type == rds::kAltrepSxp) {
          wrapped_altrep_ = true;  // StartAltrep takes only what the reader expands
        } else if (!IsVectorType(flags.type) && flags.type != rds::kExprSxp) {
          return StopHere(start, "an ALTREP wrapper whose data is not a vector");
        }
        break;
      case Slot::kWrapperMeta:
        if (flags.type != rds::kIntSxp) {
          return StopHere(start, kNotAWrapperState);
        }
        if (expansion_ != nullptr) return DropWrapperMetadata(flags, start);
        break;
      case Slot::kExpandedAttributes:
        if (!IsCellType(flags.type) && flags.type != rds::kNilValueSxp) {
          return StopHere(start, "attributes that are not a pairlist");
        }
        RETURN_IF_ERROR(FinishExpansion(/*has_attributes=*/flags.type != rds::kNilValueSxp));
        if (flags.type == rds::kNilValueSxp) return absl::OkStatus();  // not written in version 2
        break;
      case Slot::kBcPadded:
        if (flags.type == rds::kListSxp || flags.type == rds::kLangSxp) {
          return StopHere(start,
                          "a language object after a byte code pad (the graph "
                          "writes it as byte code cells)");
        }
        break;
      case Slot::kHeldTag: {
        if (flags.type == rds::kNilValueSxp) {
          return StopHere(start, "a tag or closure environment written as NULL");
        }
        Frame& f = stack_.back();
        f.holding = false;
        RETURN_IF_ERROR(CloseHold());
        break;
      }
    }
    if (Dropping() && !Droppable(flags)) {
      return StopHere(expansion_->start,
                      "an ALTREP wrapper written as version 2 whose data's attributes hold more "
                      "than vectors, symbols and pairlists (the graph expands it)");
    }
    switch (flags.type) {
      case rds::kNilValueSxp:
      case rds::kEmptyEnvSxp:
      case rds::kBaseEnvSxp:
      case rds::kGlobalEnvSxp:
      case rds::kUnboundValueSxp:
      case rds::kMissingArgSxp:
      case rds::kBaseNamespaceSxp:
        os().WriteInt(flags.type);
        return absl::OkStatus();
      case rds::kRefSxp: {
        int64_t index = rds::RefIndex(word);
        if (index == 0) {
          ASSIGN_OR_RETURN(int32_t i, Int("reference index"));
          index = i;
        }
        if (index <= 0 || static_cast<uint64_t>(index) > refs_.size()) {
          return Error(start, absl::StrCat("reference to index ", index, ", but the table has ",
                                           refs_.size(), " entries"));
        }
        if (refs_[index - 1].kind == Ref::kPersistent) {
          return StopHere(start, "a reference to a persistent name");
        }
        if (slot == Slot::kBcConstant && refs_[index - 1].type != bc_constant_type_) {
          return StopHere(start, "a byte code constant whose type word the graph writes otherwise");
        }
        if (!Dropping()) WriteRef(index);  // a symbol the output has not had stays unwritten
        return absl::OkStatus();
      }
      case rds::kPersistSxp:
        os().WriteInt(rds::kPersistSxp);
        RETURN_IF_ERROR(CopyStringVec("persistent name"));
        AddRef(Ref{Ref::kPersistent, {}, rds::kEnvSxp});
        return absl::OkStatus();
      case rds::kPackageSxp:
      case rds::kNamespaceSxp:
        os().WriteInt(flags.type);
        RETURN_IF_ERROR(CopyStringVec(flags.type == rds::kPackageSxp ? "package environment name"
                                                                     : "namespace name"));
        AddRef(Ref{Ref::kOther, {}, rds::kEnvSxp});
        return absl::OkStatus();
      case rds::kSymSxp:
        return CopySymbol(start);
      case rds::kEnvSxp: {
        ASSIGN_OR_RETURN(int32_t locked, Int("environment lock"));
        AddRef(Ref{Ref::kOther, {}, rds::kEnvSxp});
        os().WriteInt(rds::kEnvSxp);
        os().WriteInt(locked != 0 ? 1 : 0);
        Frame frame;
        frame.start = start;
        frame.slots[0] = Slot::kAny;  // enclosure
        frame.slots[1] = Slot::kPairlistOrNil;
        frame.slots[2] = Slot::kListOrNil;
        frame.slots[3] = Slot::kPairlistOrNil;  // attributes
        frame.slot_count = 4;
        return Push(frame);
      }
      case rds::kListSxp:
      case rds::kLangSxp:
      case rds::kDotSxp: {
        RETURN_IF_ERROR(Push(Frame{}));
        RETURN_IF_ERROR(StartCell(flags, start, stack_.back(),
                                  /*write=*/slot != Slot::kWrapperState || expansion_ == nullptr));
        if (slot == Slot::kWrapperState) {
          Frame& cell = stack_.back();
          cell.wrapper_state = true;
          cell.slots[cell.slot_count - 1] = Slot::kWrapperData;  // the CAR
        }
        return absl::OkStatus();
      }
      case rds::kCloSxp:
      case rds::kPromSxp: {
        Frame frame;
        frame.start = start;
        if (flags.has_attr) {
          ASSIGN_OR_RETURN(bool null, NullFollows());
          if (null) {
            return StopHere(in_.offset(), "a closure's attributes written as NULL");
          }
          frame.slots[frame.slot_count++] = Slot::kAttributes;
        }
        if (flags.has_tag) {
          if (flags.has_attr) {
            frame.slots[frame.slot_count++] = Slot::kHeldTag;
          } else {
            ASSIGN_OR_RETURN(bool null, NullFollows());
            if (null) {
              return StopHere(in_.offset(), "a closure's environment written as NULL");
            }
            frame.slots[frame.slot_count++] = Slot::kAny;
          }
        }
        frame.slots[frame.slot_count++] = Slot::kAny;  // formals / value
        frame.slots[frame.slot_count++] = Slot::kAny;  // body / code
        RETURN_IF_ERROR(Push(frame));
        if (flags.has_attr && flags.has_tag) {
          OpenHold();
          stack_.back().holding = true;
        }
        os().WriteInt(rds::PackFlags(flags.type, flags.levels, flags.is_object, flags.has_attr,
                                     flags.has_tag));
        return absl::OkStatus();
      }
      case rds::kExtptrSxp: {
        AddRef(Ref{Ref::kOther, {}, rds::kExtptrSxp});
        os().WriteInt(Repacked(flags));
        Frame frame;
        frame.start = start;
        frame.slots[frame.slot_count++] = Slot::kAny;  // protected value
        frame.slots[frame.slot_count++] = Slot::kAny;  // tag
        if (flags.has_attr) frame.slots[frame.slot_count++] = Slot::kAttributes;
        return Push(frame);
      }
      case rds::kWeakrefSxp:
        AddRef(Ref{Ref::kOther, {}, rds::kWeakrefSxp});
        os().WriteInt(Repacked(flags));
        return PushAttributes(flags, start);
      case rds::kSpecialSxp:
      case rds::kBuiltinSxp: {
        const uint64_t at = in_.offset();
        ASSIGN_OR_RETURN(int32_t length, Int("primitive name length"));
        if (length < 0) return Error(at, absl::StrCat("negative name length ", length));
        ASSIGN_OR_RETURN(Buffer name, Bytes(length, "primitive name"));
        os().WriteInt(Repacked(flags));
        os().WriteInt(length);
        os().WriteString(name.view());
        return PushAttributes(flags, start);
      }
      case rds::kCharSxp:
        if (flags.has_attr) {
          return StopHere(start, "a CHARSXP with attributes (the graph drops them)");
        }
        return CopyCharPayload(CharItemWord(flags));
      case rds::kLglSxp:
      case rds::kIntSxp:
      case rds::kRealSxp:
      case rds::kCplxSxp:
      case rds::kRawSxp: {
        const ElementType type = *AtomicElementType(flags.type);
        ASSIGN_OR_RETURN(uint64_t length, ReadLength("vector length"));
        RETURN_IF_ERROR(CheckRoom(length, ElementSize(type), "vector"));
        if (slot == Slot::kBcCode && length == 0) {
          return StopHere(start, "byte code whose code is empty");
        }
        if (slot == Slot::kWrapperMeta && length == 0) {
          return StopHere(start, kNotAWrapperState);
        }
        os().WriteInt(Repacked(flags));
        WriteLength(length);
        RETURN_IF_ERROR(CopyElements(type, length));
        return PushAttributes(flags, start);
      }
      case rds::kStrSxp: {
        ASSIGN_OR_RETURN(uint64_t length, ReadLength("vector length"));
        RETURN_IF_ERROR(CheckRoom(length, 8, "character vector"));
        os().WriteInt(Repacked(flags));
        WriteLength(length);
        RETURN_IF_ERROR(CopyStrings(length));
        return PushAttributes(flags, start);
      }
      case rds::kVecSxp:
      case rds::kExprSxp: {
        ASSIGN_OR_RETURN(uint64_t length, ReadLength("list length"));
        RETURN_IF_ERROR(CheckRoom(length, 4, "list"));
        os().WriteInt(Repacked(flags));
        WriteLength(length);
        if (length == 0) {
          return PushAttributes(flags, start);
        }
        Frame frame;
        frame.start = start;
        frame.items = length;
        if (flags.has_attr) frame.slots[frame.slot_count++] = Slot::kAttributes;
        return Push(frame);
      }
      case rds::kS4Sxp:
        os().WriteInt(Repacked(flags));
        return PushAttributes(flags, start);
      case rds::kBcodeSxp: {
        const uint64_t at = in_.offset();
        ASSIGN_OR_RETURN(int32_t reps, Int("byte code reps count"));
        if (reps < 0) return Error(at, absl::StrCat("negative reps count ", reps));
        RETURN_IF_ERROR(CheckRoom(static_cast<uint64_t>(reps), 2, "byte code reps"));
        // Held until the end of the object shows its shared cells numbered as the graph
        // numbers them (FinishBytecode).
        OpenHold();
        os().WriteInt(Repacked(flags));
        os().WriteInt(reps);
        bc_tables_.push_back(BcTable{reps});
        Frame frame;
        frame.kind = Frame::Kind::kBytecode;
        frame.top = true;
        frame.has_attr = flags.has_attr;
        frame.item_word = word;
        frame.start = start;
        return PushBytecodeFrame(frame);
      }
      case rds::kAltrepSxp:
        return StartAltrep(flags, start);
      case rds::kClassRefSxp:
      case rds::kGenericRefSxp:
        return Error(start,
                     absl::StrCat("class references (type ", flags.type, ") cannot be read"));
      default:
        return Error(start, absl::StrCat("unknown type ", flags.type, " (flags ", word, ")"));
    }
  }

  // The flags word the writer gives an object that keeps its source flags (the tag bit kept
  // where it means nothing, the attribute bit over NULL attributes kept: RFlags).
  static int32_t Repacked(const ItemFlags& flags) {
    return rds::PackFlags(flags.type, flags.levels, flags.is_object, flags.has_attr, flags.has_tag);
  }

  // ---- byte code (serialize.c:2038-2143)
  //
  // The graph numbers a byte code object's shared language cells itself (rds/writer.cc
  // ScanForCircles): the cells reached more than once among its constants, numbered in the order
  // they are written, their count + 1 written first. Input in which the cells defined are
  // numbered 0, 1, 2... as they come, each referred to again, and counted so, is what the graph
  // writes (R writes it so); the object's output is held until its end shows that, and any other
  // numbering stops the transcoder before the object. So do the forms the graph writes otherwise:
  // a constant's type word that is not its type, a pad that is not 0, a language object after a
  // pad, a cell's attributes written as NULL, and what the reader refuses.

  // One reps table: that of a BCODESXP item, shared by the byte code constants in it.
  struct BcTable {
    int32_t declared = 0;  // the count written, which is the cells defined + 1
    int32_t defined = 0;
    std::vector<bool> referred;
    int32_t unreferred = 0;
  };

  // Stops, and says so, once the output held for a byte code object passes the bound, or a
  // wrapper's expanded vector does with no spill file to go on in: checked between items and
  // within a vector's data.
  bool HeldTooLong() {
    if (held_.has_value() && !bc_tables_.empty() && held_->size() > kMaxHeldBytes) {
      (void)StopHere(in_.offset(),
                     absl::StrCat("a byte code object of more than ", kMaxHeldBytes >> 20,
                                  " MiB (held until its shared cells are checked)"));
      return true;
    }
    if (expansion_ != nullptr && expansion_->writer.size() > kMaxHeldBytes &&
        !expansion_->held.Spills(expansion_->writer.size())) {
      (void)StopHere(expansion_->start,
                     absl::StrCat(expansion_->what, " pass ", kMaxHeldBytes >> 20,
                                  " MiB, written as version 2 without a spill directory (held "
                                  "until its attributes show)"));
      return true;
    }
    return false;
  }

  // Whether output still goes somewhere: the stream's consumer, and a wrapper's held vector's
  // spill file, have not failed (Run returns the latter's error).
  bool Writing() const { return out_.ok() && (expansion_ == nullptr || expansion_->writer.ok()); }

  // Pushes a byte code frame, or stops at the depth limit (where the reader's count decides).
  absl::Status PushBytecodeFrame(const Frame& frame) {
    if (stack_.size() >= options_.max_depth) {
      return StopHere(frame.start, "byte code at the depth limit");
    }
    stack_.push_back(frame);
    return absl::OkStatus();
  }

  // The next part of a BCODESXP item or byte code constant: its code, its constants' count, a
  // constant, or its end.
  absl::Status StepBytecode() {
    Frame& f = stack_.back();
    switch (f.step) {
      case 0:
        f.step = 1;
        return StartItem(Slot::kBcCode, std::nullopt);
      case 1: {
        const uint64_t at = in_.offset();
        ASSIGN_OR_RETURN(int32_t count, Int("byte code constants count"));
        if (count < 0) return Error(at, absl::StrCat("negative constants count ", count));
        RETURN_IF_ERROR(CheckRoom(static_cast<uint64_t>(count), 4, "byte code constants"));
        os().WriteInt(count);
        f.items = static_cast<uint64_t>(count);
        f.step = 2;
        return absl::OkStatus();
      }
      default:
        break;
    }
    if (f.items == 0) return FinishBytecode();
    --f.items;
    const uint64_t at = in_.offset();
    ASSIGN_OR_RETURN(int32_t type, Int("byte code constant type"));
    if (type == rds::kBcodeSxp) {
      os().WriteInt(type);
      Frame nested;
      nested.kind = Frame::Kind::kBytecode;
      nested.start = at;
      return PushBytecodeFrame(nested);
    }
    if (rds::IsBcLangType(type)) return StartBcLang(type, at);
    os().WriteInt(type);
    bc_constant_type_ = type;
    return StartItem(Slot::kBcConstant, std::nullopt);
  }

  absl::Status FinishBytecode() {
    const Frame done = stack_.back();
    stack_.pop_back();
    if (!done.top) return absl::OkStatus();
    const BcTable table = std::move(bc_tables_.back());
    bc_tables_.pop_back();
    if (table.defined + 1 != table.declared || table.unreferred != 0) {
      RETURN_IF_ERROR(
          StopHere(done.start, "byte code whose shared cells the graph would count otherwise"));
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(CloseHold());
    ItemFlags flags = rds::UnpackFlags(done.item_word);
    return PushAttributes(flags, done.start);
  }

  // A language object in byte code's form, after its type word `type` (rds::IsBcLangType): a
  // reference to a shared cell, or a chain of cells (the first maybe defined as shared).
  absl::Status StartBcLang(int32_t type, uint64_t at) {
    BcTable& table = bc_tables_.back();
    if (type == rds::kBcRepRef) {
      ASSIGN_OR_RETURN(int32_t index, Int("byte code reps index"));
      if (index < 0 || index >= table.defined) {
        return StopHere(at, "a reference to a byte code cell not defined");
      }
      if (!table.referred[index]) {
        table.referred[index] = true;
        --table.unreferred;
      }
      os().WriteInt(rds::kBcRepRef);
      os().WriteInt(index);
      return absl::OkStatus();
    }
    if (type == rds::kBcRepDef) {
      ASSIGN_OR_RETURN(int32_t index, Int("byte code reps index"));
      if (index != table.defined || index >= table.declared - 1) {
        RETURN_IF_ERROR(
            StopHere(at, "byte code cells numbered otherwise than the graph numbers them"));
        return absl::OkStatus();
      }
      ++table.defined;
      table.referred.push_back(false);
      ++table.unreferred;
      os().WriteInt(rds::kBcRepDef);
      os().WriteInt(index);
      ASSIGN_OR_RETURN(type, Int("byte code cell type"));
      if (!rds::IsBcCellType(type)) {
        return StopHere(at, "a byte code cell of another type");
      }
    }
    os().WriteInt(type);
    Frame frame;
    frame.kind = Frame::Kind::kBcCells;
    frame.start = at;
    frame.has_attr = type == rds::kAttrLangSxp || type == rds::kAttrListSxp;
    return PushBytecodeFrame(frame);
  }

  // The next part of a chain of byte code cells: a cell's attributes, tag, CAR, then the next
  // cell or the chain's tail.
  enum BcCellStep : uint8_t { kCellStart, kCellGotAttr, kCellGotTag, kCellGotCar, kCellGotTail };
  absl::Status StepBcCells() {
    Frame& f = stack_.back();
    switch (f.step) {
      case kCellStart:
        if (f.has_attr) {
          ASSIGN_OR_RETURN(bool null, NullFollows());
          if (null) {
            RETURN_IF_ERROR(
                StopHere(in_.offset(), "a byte code cell's attributes written as NULL"));
            return absl::OkStatus();
          }
          f.step = kCellGotAttr;
          return StartItem(Slot::kAttributes, std::nullopt);
        }
        f.step = kCellGotTag;
        return StartItem(Slot::kAny, std::nullopt);  // the tag
      case kCellGotAttr:
        f.step = kCellGotTag;
        return StartItem(Slot::kAny, std::nullopt);
      case kCellGotTag: {
        const uint64_t at = in_.offset();
        ASSIGN_OR_RETURN(int32_t type, Int("byte code CAR type"));
        f.step = kCellGotCar;
        if (rds::IsBcLangType(type)) return StartBcLang(type, at);
        return StartPadded(type, at);
      }
      case kCellGotCar: {
        const uint64_t at = in_.offset();
        ASSIGN_OR_RETURN(int32_t type, Int("byte code CDR type"));
        if (rds::IsBcCellType(type)) {  // the next cell of the chain
          os().WriteInt(type);
          f.has_attr = type == rds::kAttrLangSxp || type == rds::kAttrListSxp;
          f.step = kCellStart;
          return absl::OkStatus();
        }
        f.step = kCellGotTail;
        if (type == rds::kBcRepDef || type == rds::kBcRepRef) return StartBcLang(type, at);
        return StartPadded(type, at);
      }
      default:
        stack_.pop_back();
        return absl::OkStatus();
    }
  }

  // An item after a pad word (a CAR or tail that is not a language object).
  absl::Status StartPadded(int32_t pad, uint64_t at) {
    if (pad != 0) {
      return StopHere(at, "a byte code pad that is not 0");
    }
    os().WriteInt(0);
    return StartItem(Slot::kBcPadded, std::nullopt);
  }

  // ---- ALTREP objects (version 3 output; version 2 expands them: the graph's work)
  //
  // The graph writes an ALTREP object's class information in one form, whatever form it was
  // read in: list3(class symbol, package symbol, INTSXP(1) base type), each cell's flags plain.
  // Input in that form (as R writes it) goes on as it came; any other form stops the transcoder
  // before anything of the object is written. The state and attributes follow as items. Of the
  // classes whose states the reader checks, compact sequences (a state of three numbers) are
  // checked here as there, and so are wrappers' (data . metadata) pairs, as they come. Other
  // classes' states, deferred strings' among them, are opaque to the reader and go on.
  //
  // Written as version 2, an ALTREP object is the ordinary vector it stands for, as the graph
  // writes it (rds/writer.cc WriteExpanded). A compact sequence (all that R's files here hold:
  // the 128 ALTREP objects among the installed packages' lazy-load entries) is expanded as it is
  // read: its state is three numbers, read whole before anything is written, and the word after
  // them shows whether attributes follow, which the vector's flags word says first. A wrapper
  // (what sort() returns) is the vector it wraps, which comes whole before that word: its length
  // and elements are held (Expansion) until the word shows, then written after the flags word.
  // A deferred string's state is a vector of numbers to format: it stops.
  absl::Status StartAltrep(const ItemFlags& flags, uint64_t start) {
    // The reader nests the class information one deeper than the object.
    if (stack_.size() + 1 >= options_.max_depth) {
      return StopHere(start, "an ALTREP object at the depth limit");
    }
    ASSIGN_OR_RETURN(const std::optional<ClassInformation> info, ReadClassInformation());
    if (!info.has_value()) {
      return StopHere(start, "ALTREP class information in a form the graph rewrites");
    }
    const InfoSymbol(&symbols)[2] = info->symbols;
    const std::string names[2] = {symbols[0].name, symbols[1].name};
    const int32_t base_type = info->base_type;
    const bool base = names[1] == "base";
    const bool sequence = base && (names[0] == "compact_intseq" || names[0] == "compact_realseq");
    // A wrapper's state the reader checks (rds::NormalizeAltrep), and so it is checked here as
    // it comes; a deferred string's (its numbers and their format) is opaque to the reader, as
    // other classes' are. The data a wrapper holds must be one the reader expands: a vector, a
    // compact sequence or another wrapper, not nested deeper than the reader goes.
    const bool wrapper = base && rds::IsWrapperClass(names[0]);
    const bool deferred = base && names[0] == "deferred_string";
    if (settings_.version < 3 && !sequence && !wrapper && !deferred) {
      return StopHere(start,
                      "an ALTREP object other than a compact sequence, wrapper or deferred string "
                      "written as version 2 (the graph expands it)");
    }
    if (settings_.version < 3 && wrapper && held_.has_value()) {
      return StopHere(start,
                      "an ALTREP wrapper in output held for another reason, written as version 2 "
                      "(the graph expands it)");
    }
    if (std::exchange(wrapped_altrep_, false) && !sequence && !wrapper) {
      return StopHere(start, "an ALTREP wrapper whose data is not a vector");
    }
    if (wrapper) {
      const int64_t nested = std::count_if(stack_.begin(), stack_.end(),
                                           [](const Frame& frame) { return frame.wrapper; });
      if (nested >= kMaxNestedWrappers) {
        return StopHere(start, "ALTREP wrappers nested deeper than the reader expands");
      }
    }
    if (const std::optional<int32_t> expected = std::exchange(altrep_base_type_, std::nullopt);
        expected.has_value() && *expected != base_type) {
      return StopHere(start,
                      "a byte code constant whose type word the graph writes "
                      "otherwise");
    }
    if (settings_.version < 3 && deferred) return ExpandDeferredString(flags, base_type, start);
    Frame frame;
    frame.start = start;
    frame.integer_sequence = names[0] == "compact_intseq";
    if (settings_.version < 3 && wrapper) {
      // The graph writes the vector's flags from the object's node: the base type its class
      // information gives, its levels, object bit and tag bit as read, attributes if any.
      expansion_ = std::make_unique<Expansion>(settings_);
      expansion_->word =
          rds::PackFlags(base_type, flags.levels, flags.is_object, false, flags.has_tag);
      expansion_->base_type = base_type;
      expansion_->start = start;
      frame.wrapper = true;
      frame.slots[frame.slot_count++] = Slot::kWrapperState;
      frame.slots[frame.slot_count++] = Slot::kExpandedAttributes;
      return Push(frame);
    }
    if (settings_.version < 3) {
      // The graph expands to the base type the class information gives; R gives the class's.
      if (base_type != (frame.integer_sequence ? rds::kIntSxp : rds::kRealSxp)) {
        return StopHere(start,
                        "a compact sequence whose base type is not its class's, "
                        "written as version 2");
      }
      // The graph writes the vector's flags from the object's node: its base type, levels,
      // object bit and tag bit as read (RFlags::stray_tag), attributes if any.
      frame.expand_sequence = true;
      frame.expanded_word =
          rds::PackFlags(base_type, flags.levels, flags.is_object, false, flags.has_tag);
    } else {
      os().WriteInt(rds::PackFlags(rds::kAltrepSxp, flags.levels, flags.is_object, false, false));
      for (const InfoSymbol& symbol : symbols) {
        os().WriteInt(rds::kListSxp);
        WriteInfoSymbol(symbol);
      }
      os().WriteInt(rds::kListSxp);
      os().WriteInt(rds::kIntSxp);
      os().WriteInt(1);
      const int32_t type_word = base_type;
      os().WriteElements(ElementType::kInt32, 1, Buffer::Copy(&type_word, 4));
      os().WriteInt(rds::kNilValueSxp);
    }
    frame.wrapper = wrapper;
    frame.slots[frame.slot_count++] = sequence  ? Slot::kSequenceState
                                      : wrapper ? Slot::kWrapperState
                                                : Slot::kAny;
    frame.slots[frame.slot_count++] = Slot::kPairlistOrNil;  // attributes
    return Push(frame);
  }

  // The data of a wrapper written as version 2: its length and elements go into the held
  // output, its flags word is the wrapper's (FinishExpansion). What the graph would write
  // otherwise, or what could hold output of its own, is left to the graph: data of another type
  // than the wrapper's base type, with attributes (the expanded vector has the wrapper's), a list
  // (whose items may be byte code or wrappers), another ALTREP object, or elements past the
  // output limit.
  absl::Status CopyWrappedVector(const ItemFlags& flags) {
    if (flags.type == rds::kAltrepSxp) {
      return StopHere(expansion_->start,
                      "an ALTREP wrapper of another ALTREP object written as version 2 (the "
                      "graph expands it)");
    }
    const bool strings = flags.type == rds::kStrSxp;
    const std::optional<ElementType> atomic = AtomicElementType(flags.type);
    if ((!strings && !atomic.has_value()) || flags.type != expansion_->base_type) {
      return StopHere(expansion_->start,
                      "an ALTREP wrapper written as version 2 whose data is not a vector of its "
                      "base type (the graph expands it)");
    }
    const ElementType type = atomic.value_or(ElementType::kInt32);
    const uint64_t element_bytes = strings ? 8 : ElementSize(type);
    ASSIGN_OR_RETURN(uint64_t length, ReadLength("vector length"));
    RETURN_IF_ERROR(CheckRoom(length, element_bytes, strings ? "character vector" : "vector"));
    if (!strings && length > settings_.max_output_bytes / element_bytes) {
      return StopHere(expansion_->start,
                      "an ALTREP wrapper whose elements pass the output limit when written as "
                      "version 2");
    }
    WriteLength(length);
    RETURN_IF_ERROR(strings ? CopyStrings(length) : CopyElements(type, length));
    // The vector's own attributes (R gives a sorted named vector's data its names too) are not
    // the expanded vector's: read, checked as the reader checks them, and written nowhere.
    if (!flags.has_attr || stopped_) return absl::OkStatus();
    RETURN_IF_ERROR(PushAttributes(flags, in_.offset()));
    drop_level_ = stack_.size();
    return absl::OkStatus();
  }

  // Whether what is read now is written nowhere: the attributes of a wrapper's data in version
  // 2 (the frames from drop_level_ up), or its metadata.
  bool Dropping() const {
    return dropping_metadata_ || (drop_level_ > 0 && stack_.size() >= drop_level_);
  }
  // What may be read without being written: items that write no output of their own later or
  // elsewhere (a held cell, byte code, an ALTREP object's renumbered symbols) and enter the
  // reference table, if at all, as symbols, which the output writes in full where it first has
  // them.
  static bool Droppable(const ItemFlags& flags) {
    switch (flags.type) {
      case rds::kNilValueSxp:
      case rds::kSymSxp:
      case rds::kRefSxp:
        return true;
      case rds::kListSxp:
        return !flags.has_attr;
      default:
        return IsVectorType(flags.type);
    }
  }
  // An atomic vector, a character vector or a list.
  static bool IsVectorType(int32_t type) {
    return AtomicElementType(type).has_value() || type == rds::kStrSxp || type == rds::kVecSxp;
  }

  // A wrapper's metadata, which its version 2 form leaves out: read as the reader checks it (an
  // integer vector of at least one element; with attributes, left to the graph), written nowhere.
  absl::Status DropWrapperMetadata(const ItemFlags& flags, uint64_t start) {
    drop_level_ = 0;  // the data's attributes are read
    if (flags.has_attr) {
      return StopHere(expansion_->start,
                      "an ALTREP wrapper written as version 2 whose metadata has attributes (the "
                      "graph expands it)");
    }
    ASSIGN_OR_RETURN(uint64_t length, ReadLength("vector length"));
    RETURN_IF_ERROR(CheckRoom(length, 4, "vector"));
    if (length == 0) return StopHere(start, kNotAWrapperState);
    dropping_metadata_ = true;
    const absl::Status copied = CopyElements(ElementType::kInt32, length);
    dropping_metadata_ = false;
    return copied;
  }

  // The wrapper's attributes show whether it has some: its flags word goes out, then its held
  // length and elements (a file mapping when spilled, which the consumer reads a step at a
  // time), then the attributes as they are read.
  absl::Status FinishExpansion(bool has_attributes) {
    std::unique_ptr<Expansion> expansion = std::move(expansion_);
    expansion->os.reset();
    RETURN_IF_ERROR(expansion->writer.Finish());
    ASSIGN_OR_RETURN(Buffer held, std::move(expansion->held).Finish());
    int32_t word = expansion->word;
    if (has_attributes) word |= static_cast<int32_t>(rds::kHasAttrBit);
    os().WriteInt(word);
    if (held.size() > 0) out_.AppendShared(held);
    return absl::OkStatus();
  }

  // A symbol of ALTREP class information: its name, and the reference it was written as (0:
  // in full).
  struct InfoSymbol {
    std::string name;
    int32_t reference = 0;
  };
  struct ClassInformation {
    InfoSymbol symbols[2];  // the class and its package
    int32_t base_type = 0;
  };

  // An ALTREP object's class information, parsed whole before anything of the object is
  // written; nullopt, as soon as it shows, for another form than the graph writes:
  // list3(class symbol, package symbol, INTSXP(1) base type), each cell's flags plain.
  absl::StatusOr<std::optional<ClassInformation>> ReadClassInformation() {
    const std::optional<ClassInformation> other;
    ClassInformation info;
    for (InfoSymbol& symbol : info.symbols) {
      ASSIGN_OR_RETURN(int32_t cell, Int("ALTREP class information"));
      if (cell != rds::kListSxp) return other;
      ASSIGN_OR_RETURN(std::optional<InfoSymbol> read, ReadInfoSymbol());
      if (!read.has_value()) return other;
      symbol = *std::move(read);
    }
    ASSIGN_OR_RETURN(int32_t cell, Int("ALTREP class information"));
    ASSIGN_OR_RETURN(int32_t type, Int("ALTREP class information"));
    ASSIGN_OR_RETURN(int32_t length, Int("ALTREP class information"));
    if (cell != rds::kListSxp || type != rds::kIntSxp || length != 1) return other;
    ASSIGN_OR_RETURN(info.base_type, Int("ALTREP base type"));
    ASSIGN_OR_RETURN(int32_t end, Int("ALTREP class information"));
    if (rds::UnpackFlags(end).type != rds::kNilValueSxp) return other;
    return info;
  }

  // A deferred string written as version 2 is the character vector it stands for, as the graph
  // writes it (rds::ForEachDeferredString). When its numbers are a compact sequence (as R
  // writes as.character(1:n), and a fitted model's names), its whole state is a few numbers,
  // read and checked as the reader checks them (rds::ExpandAltrep) before anything is written;
  // the word after it says whether attributes follow, and the strings are generated a step at
  // a time. Integers in a vector of their own (as.character(x): a fitted glm's dimnames) come
  // whole before that word: their strings are held as wrappers' vectors are (Expansion).
  // Doubles of their own are formatted with R's scipen, which comes after them: the numbers are
  // held instead (in memory up to kMaxHeldBytes, beyond that in a spill file), and formatted
  // once scipen and the word show. Any other form (numbers with attributes, metadata with an
  // OutDec attribute) is left to the graph.
  static constexpr char kOtherDeferredString[] =
      "a deferred string in another form than R writes as.character() in (its numbers or "
      "metadata with attributes), written as version 2 (the graph expands it)";
  absl::Status ExpandDeferredString(const ItemFlags& flags, int32_t base_type, uint64_t start) {
    constexpr const char* kOther = kOtherDeferredString;
    // The reader nests the sequence's class information three deeper than the object.
    if (stack_.size() + 3 >= options_.max_depth) {
      return StopHere(start, "an ALTREP object at the depth limit");
    }
    ASSIGN_OR_RETURN(int32_t cell_word, Int("item flags"));
    const ItemFlags cell = rds::UnpackFlags(cell_word);
    if (cell.type != rds::kListSxp || cell.has_attr || cell.has_tag) return StopHere(start, kOther);
    ASSIGN_OR_RETURN(int32_t numbers_word, Int("item flags"));
    const ItemFlags numbers_flags = rds::UnpackFlags(numbers_word);
    if (numbers_flags.type == rds::kIntSxp && !numbers_flags.has_attr) {
      return ExpandDeferredIntegers(flags, start);
    }
    if (numbers_flags.type == rds::kRealSxp && !numbers_flags.has_attr) {
      return ExpandDeferredDoubles(flags, base_type, start);
    }
    if (numbers_flags.type != rds::kAltrepSxp) return StopHere(start, kOther);
    ASSIGN_OR_RETURN(const std::optional<ClassInformation> sequence, ReadClassInformation());
    if (!sequence.has_value() || sequence->symbols[1].name != "base" ||
        (sequence->symbols[0].name != "compact_intseq" &&
         sequence->symbols[0].name != "compact_realseq")) {
      return StopHere(start, kOther);
    }
    const bool integer = sequence->symbols[0].name == "compact_intseq";
    ASSIGN_OR_RETURN(int32_t state_word, Int("item flags"));
    const ItemFlags state = rds::UnpackFlags(state_word);
    if ((state.type != rds::kRealSxp && !(integer && state.type == rds::kIntSxp)) ||
        state.has_attr) {
      return StopHere(start, kOther);
    }
    ASSIGN_OR_RETURN(int32_t state_length, Int("vector length"));
    if (state_length != 3) return StopHere(start, kOther);
    const ElementType state_type =
        state.type == rds::kIntSxp ? ElementType::kInt32 : ElementType::kFloat64;
    ASSIGN_OR_RETURN(const Buffer numbers, Values(state_type, 3, "vector"));
    ASSIGN_OR_RETURN(int32_t sequence_attributes, Int("item flags"));
    if (rds::UnpackFlags(sequence_attributes).type != rds::kNilValueSxp) {
      return StopHere(start, kOther);
    }
    ASSIGN_OR_RETURN(const std::optional<Buffer> scipen, ReadDeferredMetadata());
    if (!scipen.has_value()) return StopHere(start, kOther);
    // As the reader holds it.
    Value check;
    const NodeId sequence_state = check.Add(Array{state_type, 3, numbers});
    const NodeId source =
        check.Add(Altrep{sequence->symbols[0].name, "base", sequence->base_type, sequence_state});
    const NodeId id = AddDeferredString(check, source, *scipen, base_type);
    const absl::StatusOr<rds::AltrepExpansion> expansion = rds::ExpandAltrep(check, id);
    if (!expansion.ok() || expansion->kind != rds::AltrepExpansion::kDeferredString) {
      return StopHere(start, "a deferred string whose state the reader refuses");
    }
    const rds::AltrepExpansion& e = *expansion;
    // A string is 8 bytes at least: a length whose strings alone pass the output limit is the
    // graph's to refuse.
    if (e.length > settings_.max_output_bytes / 8) {
      return StopHere(start,
                      "a deferred string whose strings pass the output limit when written as "
                      "version 2");
    }
    ASSIGN_OR_RETURN(const bool no_attributes, StartExpandedStrings(flags, e.length));
    for (uint64_t begin = 0; begin < e.length && Writing(); begin += kStringsStep) {
      // Held (what is held is dropped at a stop), the strings' memory must stay bounded.
      if (held_.has_value() && held_->size() > kMaxHeldBytes) {
        return StopHere(start,
                        absl::StrCat("a deferred string that expands past ", kMaxHeldBytes >> 20,
                                     " MiB into output held in memory, written as version 2"));
      }
      const uint64_t n = std::min(kStringsStep, e.length - begin);
      RETURN_IF_ERROR(rds::ForEachDeferredString(
          check, e, begin, n, [&](std::optional<std::string_view> text) { WriteCharsxp(text); }));
    }
    if (no_attributes) return absl::OkStatus();
    return PushAltrepAttributes(start);
  }

  // The length of a deferred string's numbers in a vector of their own (its flags word read),
  // read and checked; nullopt where the transcoder stops: inside output held for another reason,
  // or when the strings alone (8 bytes each at least) pass the output limit.
  absl::StatusOr<std::optional<uint64_t>> DeferredNumbersLength(uint64_t element_bytes,
                                                                uint64_t start) {
    const std::optional<uint64_t> stopped;
    if (held_.has_value()) {
      (void)StopHere(start,
                     "a deferred string in output held for another reason, written as version 2 "
                     "(the graph expands it)");
      return stopped;
    }
    ASSIGN_OR_RETURN(uint64_t length, ReadLength("vector length"));
    RETURN_IF_ERROR(CheckRoom(length, element_bytes, "vector"));
    if (length > settings_.max_output_bytes / 8) {
      (void)StopHere(start,
                     "a deferred string whose strings pass the output limit when written as "
                     "version 2");
      return stopped;
    }
    return length;
  }

  // A deferred string over a vector of integers written as version 2 (the object's flags and
  // the integers' flags word read): the strings go into held output as the integers are read,
  // and out after the flags word once the attributes show whether it has the attributes bit.
  absl::Status ExpandDeferredIntegers(const ItemFlags& flags, uint64_t start) {
    ASSIGN_OR_RETURN(const std::optional<uint64_t> declared, DeferredNumbersLength(4, start));
    if (!declared.has_value()) return absl::OkStatus();
    const uint64_t length = *declared;
    expansion_ = std::make_unique<Expansion>(settings_);
    expansion_->word =
        rds::PackFlags(rds::kStrSxp, flags.levels, flags.is_object, false, flags.has_tag);
    expansion_->base_type = rds::kStrSxp;
    expansion_->start = start;
    expansion_->what = "a deferred string whose strings";
    WriteLength(length);
    for (uint64_t left = length; left > 0 && Writing() && !HeldTooLong();) {
      const uint64_t n = std::min(left, kAsciiBatch);
      ASSIGN_OR_RETURN(const Buffer values, Values(ElementType::kInt32, n, "vector"));
      for (uint64_t i = 0; i < n; ++i) {
        int32_t v;
        std::memcpy(&v, values.data() + 4 * i, 4);
        char text[12];
        const std::optional<std::string_view> string = rds::FormatIntegerAsR(v, text);
        WriteCharsxp(string);
      }
      left -= n;
    }
    if (stopped_ || !Writing()) return absl::OkStatus();
    ASSIGN_OR_RETURN(const std::optional<Buffer> scipen, ReadDeferredMetadata());
    if (!scipen.has_value()) return StopHere(start, kOtherDeferredString);
    ASSIGN_OR_RETURN(const bool no_attributes, NullFollows());
    if (no_attributes) in_.Skip(peeked_);
    RETURN_IF_ERROR(FinishExpansion(/*has_attributes=*/!no_attributes));
    if (no_attributes) return absl::OkStatus();
    return PushAltrepAttributes(start);
  }

  // A deferred string over a vector of doubles written as version 2 (the object's flags and the
  // doubles' flags word read): the doubles are held until the metadata gives their format and
  // the word after it says whether attributes follow; then the strings go out a step at a time,
  // formatted from the held numbers (a spilled step's pages given back once it is formatted).
  absl::Status ExpandDeferredDoubles(const ItemFlags& flags, int32_t base_type, uint64_t start) {
    ASSIGN_OR_RETURN(const std::optional<uint64_t> declared, DeferredNumbersLength(8, start));
    if (!declared.has_value()) return absl::OkStatus();
    const uint64_t length = *declared;
    SpillableBuffer held(settings_.spill_dir, kMaxHeldBytes, settings_.reserve_spill);
    for (uint64_t left = length; left > 0;) {
      if (!held.Spills(held.size()) && held.size() > kMaxHeldBytes) {
        return StopHere(start,
                        absl::StrCat("a deferred string whose numbers pass ", kMaxHeldBytes >> 20,
                                     " MiB, written as version 2 without a spill directory "
                                     "(held until their format shows)"));
      }
      const uint64_t n = std::min(left, kAsciiBatch);
      ASSIGN_OR_RETURN(const Buffer values, Values(ElementType::kFloat64, n, "vector"));
      RETURN_IF_ERROR(held.Append(values.data(), values.size()));
      left -= n;
    }
    ASSIGN_OR_RETURN(const std::optional<Buffer> scipen, ReadDeferredMetadata());
    if (!scipen.has_value()) return StopHere(start, kOtherDeferredString);
    ASSIGN_OR_RETURN(const Buffer numbers, std::move(held).Finish());
    // As the reader holds it, a step of the numbers at a time.
    ASSIGN_OR_RETURN(const bool no_attributes, StartExpandedStrings(flags, length));
    for (uint64_t begin = 0; begin < length && Writing(); begin += kStringsStep) {
      const uint64_t n = std::min(kStringsStep, length - begin);
      Value check;
      const NodeId id = AddDeferredString(
          check, check.Add(Array{ElementType::kFloat64, n, numbers.Slice(begin * 8, n * 8)}),
          *scipen, base_type);
      ASSIGN_OR_RETURN(const rds::AltrepExpansion e, rds::ExpandAltrep(check, id));
      RETURN_IF_ERROR(rds::ForEachDeferredString(
          check, e, 0, n, [&](std::optional<std::string_view> text) { WriteCharsxp(text); }));
      numbers.Slice(begin * 8, n * 8).DropPages();
    }
    if (no_attributes) return absl::OkStatus();
    return PushAltrepAttributes(start);
  }

  // A deferred string over `numbers` (a node of `check`) with metadata `scipen` (model bytes),
  // as the reader holds one, for rds::ExpandAltrep to check and expand.
  static NodeId AddDeferredString(Value& check, NodeId numbers, const Buffer& scipen,
                                  int32_t base_type) {
    Pairlist pair;
    PairlistCell car;
    car.value = numbers;
    pair.cells.push_back(car);
    pair.tail = check.Add(Array{ElementType::kInt32, scipen.size() / 4, scipen});
    return check.Add(Altrep{"deferred_string", "base", base_type, check.Add(std::move(pair))});
  }

  // A deferred string's metadata: R's scipen, an integer vector of one element (of up to 16
  // here) without attributes (an OutDec attribute, for another decimal mark, is the graph's to
  // read), as model bytes; nullopt for another form.
  absl::StatusOr<std::optional<Buffer>> ReadDeferredMetadata() {
    const std::optional<Buffer> other;
    ASSIGN_OR_RETURN(int32_t meta_word, Int("pairlist CDR"));
    const ItemFlags meta = rds::UnpackFlags(meta_word);
    if (meta.type != rds::kIntSxp || meta.has_attr) return other;
    ASSIGN_OR_RETURN(int32_t meta_length, Int("vector length"));
    if (meta_length < 1 || meta_length > 16) return other;
    ASSIGN_OR_RETURN(Buffer scipen, Values(ElementType::kInt32, meta_length, "vector"));
    return scipen;
  }

  // A CHARSXP of native encoding as the graph writes one: its bytes, or NA.
  void WriteCharsxp(std::optional<std::string_view> text) {
    const std::string_view bytes = text.value_or(std::string_view());
    os().WriteCharsxp(
        rds::PackFlags(rds::kCharSxp,
                       rds::CharLevels(bytes, StringEncoding::kNative, !text.has_value()), false,
                       false, false),
        bytes, !text.has_value());
  }

  // The flags word and length of a deferred string's character vector written as version 2,
  // once only the word that says whether attributes follow is still to come: it is read (and
  // skipped when NULL); whether there are none.
  absl::StatusOr<bool> StartExpandedStrings(const ItemFlags& flags, uint64_t length) {
    ASSIGN_OR_RETURN(const bool no_attributes, NullFollows());
    int32_t word =
        rds::PackFlags(rds::kStrSxp, flags.levels, flags.is_object, false, flags.has_tag);
    if (no_attributes) {
      in_.Skip(peeked_);
    } else {
      word |= static_cast<int32_t>(rds::kHasAttrBit);
    }
    os().WriteInt(word);
    WriteLength(length);
    return no_attributes;
  }

  // The attributes of an ALTREP object expanded for version 2, read after its elements.
  absl::Status PushAltrepAttributes(uint64_t start) {
    Frame frame;
    frame.start = start;
    frame.slots[frame.slot_count++] = Slot::kPairlistOrNil;
    return Push(frame);
  }

  // Reads a symbol of ALTREP class information, written in full (entered in the tables) or by
  // reference; nullopt for anything else, or a form the graph would write differently.
  absl::StatusOr<std::optional<InfoSymbol>> ReadInfoSymbol() {
    ASSIGN_OR_RETURN(int32_t word, Int("ALTREP class information"));
    const ItemFlags flags = rds::UnpackFlags(word);
    if (flags.type == rds::kRefSxp) {
      int64_t index = rds::RefIndex(word);
      if (index == 0) {
        ASSIGN_OR_RETURN(int32_t i, Int("reference index"));
        index = i;
      }
      if (index <= 0 || static_cast<uint64_t>(index) > refs_.size() ||
          refs_[index - 1].kind != Ref::kSymbol) {
        return std::nullopt;
      }
      return InfoSymbol{refs_[index - 1].name, static_cast<int32_t>(index)};
    }
    if (flags.type != rds::kSymSxp) return std::nullopt;
    ASSIGN_OR_RETURN(int32_t char_word, Int("symbol name"));
    ASSIGN_OR_RETURN(int32_t length, Int("string length"));
    const ItemFlags char_flags = rds::UnpackFlags(char_word);
    if (char_flags.type != rds::kCharSxp || char_flags.has_attr || length < 0) {
      return std::nullopt;
    }
    ASSIGN_OR_RETURN(Buffer name, Bytes(length, "string"));
    std::string text(name.view());
    // The graph writes the name with the levels R gives it, not the stream's.
    if (char_word != rds::PackFlags(rds::kCharSxp,
                                    rds::CharLevels(text, StringEncoding::kNative, false), false,
                                    false, false) ||
        !symbols_.insert(text).second) {
      return std::nullopt;
    }
    // Version 2 writes no class information: the symbol enters the output's table where it is
    // first written, if ever.
    AddRef(Ref{Ref::kSymbol, text, rds::kSymSxp}, /*written=*/settings_.version >= 3);
    return InfoSymbol{std::move(text), 0};
  }

  // As the graph writes it: the same reference, or the name in full with R's levels.
  void WriteInfoSymbol(const InfoSymbol& symbol) {
    if (symbol.reference > 0) {
      WriteRef(symbol.reference);
      return;
    }
    WriteSymbolInFull(symbol.name);
  }

  void WriteSymbolInFull(const std::string& name) {
    os().WriteInt(rds::kSymSxp);
    os().WriteInt(rds::PackFlags(
        rds::kCharSxp, rds::CharLevels(name, StringEncoding::kNative, false), false, false, false));
    os().WriteInt(static_cast<int32_t>(name.size()));
    os().WriteString(name);
  }

  // The input's reference table grows as the reader's does; the output's as the graph writes:
  // the same entries in the same order, but for symbols version 2 has not written yet.
  void AddRef(Ref ref, bool written = true) {
    if (written) ref.out_index = ++out_refs_;
    refs_.push_back(std::move(ref));
  }

  // A reference to the input's entry `index` (checked), as the graph writes it: to the
  // output's entry; a symbol the output has not had yet is written in full, where the graph
  // writes it first (only ALTREP class information's symbols, read in a version 3 stream that
  // goes out as version 2, can be such; their names were checked as read).
  void WriteRef(int64_t index) {
    Ref& ref = refs_[index - 1];
    if (ref.out_index == 0) {
      WriteSymbolInFull(ref.name);
      ref.out_index = ++out_refs_;
      return;
    }
    int32_t words[2];
    for (int k = 0, n = rds::PackRef(ref.out_index, words); k < n; ++k) os().WriteInt(words[k]);
  }

  // A compact sequence's state: a vector of three numbers without attributes, checked as the
  // reader checks it (rds::ExpandAltrep); any other form, and a bad state (which the reader
  // refuses), is left to the graph.
  absl::Status CopySequenceState(const ItemFlags& flags, uint64_t start) {
    const bool integer = stack_.back().integer_sequence;
    const bool type_ok = flags.type == rds::kRealSxp || (integer && flags.type == rds::kIntSxp);
    if (!type_ok || flags.has_attr) {
      return StopHere(start, "a compact sequence's state in a form the graph checks");
    }
    ASSIGN_OR_RETURN(int32_t length, PeekInt("vector length"));
    if (length != 3) {
      return StopHere(start, "a compact sequence's state in a form the graph checks");
    }
    in_.Skip(peeked_);
    const ElementType type =
        flags.type == rds::kIntSxp ? ElementType::kInt32 : ElementType::kFloat64;
    // The values as the model holds them (little-endian), to check.
    ASSIGN_OR_RETURN(const Buffer values, Values(type, 3, "vector"));
    Value check;
    const NodeId state = check.Add(Array{type, 3, values});
    const NodeId id = check.Add(Altrep{integer ? "compact_intseq" : "compact_realseq", "base",
                                       integer ? rds::kIntSxp : rds::kRealSxp, state});
    const absl::StatusOr<rds::AltrepExpansion> expansion = rds::ExpandAltrep(check, id);
    if (!expansion.ok()) {
      return StopHere(start, "a compact sequence whose state the reader refuses");
    }
    if (stack_.back().expand_sequence) return WriteExpandedSequence(check, id, *expansion, start);
    os().WriteInt(Repacked(flags));
    os().WriteInt(3);
    os().WriteElements(type, 3, values);
    return absl::OkStatus();
  }

  // A compact sequence written as version 2, once its state is read: the vector's flags word
  // (attributes flagged unless the next item is NULL, which is then read here and not written),
  // length and elements, generated a step at a time, as the graph writes them. The attributes,
  // when there are some, follow as the frame's last slot. A length whose elements alone pass the
  // output limit is left to the graph, which refuses it naming the limit; so is one that passes
  // kMaxHeldBytes in output held in memory.
  absl::Status WriteExpandedSequence(const Value& state, NodeId id, const rds::AltrepExpansion& e,
                                     uint64_t start) {
    const ElementType type =
        e.base_type == rds::kIntSxp ? ElementType::kInt32 : ElementType::kFloat64;
    const size_t size = ElementSize(type);
    if (e.length > settings_.max_output_bytes / size) {
      return StopHere(start,
                      "a compact sequence whose elements pass the output limit when "
                      "written as version 2");
    }
    Frame& frame = stack_.back();
    ASSIGN_OR_RETURN(const bool no_attributes, NullFollows());
    int32_t word = frame.expanded_word;
    if (no_attributes) {
      in_.Skip(peeked_);
      frame.next_slot = frame.slot_count;  // the attributes are read
    } else {
      word |= static_cast<int32_t>(rds::kHasAttrBit);
    }
    os().WriteInt(word);
    WriteLength(e.length);
    const uint64_t step = kSequenceStep / size;
    for (uint64_t begin = 0; begin < e.length && Writing(); begin += step) {
      // Held (what is held is dropped at a stop), the elements' memory must stay bounded.
      if (held_.has_value() && held_->size() > kMaxHeldBytes) {
        return StopHere(start,
                        absl::StrCat("a compact sequence that expands past ", kMaxHeldBytes >> 20,
                                     " MiB into output held in memory, written "
                                     "as version 2"));
      }
      const uint64_t n = std::min(step, e.length - begin);
      auto [buffer, bytes] = Buffer::Allocate(n * size);
      RETURN_IF_ERROR(rds::FillElements(state, id, type, begin, n, bytes));
      os().WriteElements(type, n, buffer);
    }
    return absl::OkStatus();
  }

  absl::Status CopySymbol(uint64_t start) {
    const uint64_t at = in_.offset();
    ASSIGN_OR_RETURN(int32_t word, Int("symbol name"));
    const ItemFlags flags = rds::UnpackFlags(word);
    if (flags.type != rds::kCharSxp || flags.has_attr) {
      return Error(at, absl::StrCat("symbol name must be a CHARSXP (type 9), not flags ", word));
    }
    const uint64_t length_at = in_.offset();
    ASSIGN_OR_RETURN(int32_t length, Int("string length"));
    if (length == -1) return Error(start, "symbol name is NA");
    if (length < 0) return Error(length_at, absl::StrCat("negative string length ", length));
    ASSIGN_OR_RETURN(Buffer name, Bytes(length, "string"));
    if (!symbols_.insert(std::string(name.view())).second) {
      return StopHere(start, "a symbol written in full a second time");
    }
    // A symbol read where nothing is written enters the output's table where it is first
    // written, if ever (WriteRef).
    AddRef(Ref{Ref::kSymbol, std::string(name.view()), rds::kSymSxp}, /*written=*/!Dropping());
    os().WriteInt(rds::kSymSxp);
    os().WriteInt(CharItemWord(flags));
    os().WriteInt(length);
    os().WriteString(name.view());
    return absl::OkStatus();
  }

  // The flags word the graph writes for a CHARSXP standing on its own (a symbol's name, a
  // string of a persistent name, a CHARSXP item): the reader keeps the word as its fields give
  // it, without the attributes bit. (In a character vector it keeps the word as written.)
  static int32_t CharItemWord(const ItemFlags& flags) {
    return rds::PackFlags(flags.type, flags.levels, flags.is_object, false, flags.has_tag);
  }

  // A CHARSXP's length and bytes, after its flags word `word` (as the graph writes it).
  absl::Status CopyCharPayload(int32_t word) {
    const uint64_t at = in_.offset();
    ASSIGN_OR_RETURN(int32_t length, Int("string length"));
    if (length == -1) {
      os().WriteInt(word);
      os().WriteInt(-1);
      return absl::OkStatus();
    }
    if (length < 0) return Error(at, absl::StrCat("negative string length ", length));
    ASSIGN_OR_RETURN(Buffer bytes, Bytes(length, "string"));
    os().WriteInt(word);
    os().WriteInt(length);
    os().WriteString(bytes.view());
    return absl::OkStatus();
  }

  // OutStringVec: int 0, length, CHARSXPs.
  absl::Status CopyStringVec(std::string_view what) {
    const uint64_t at = in_.offset();
    ASSIGN_OR_RETURN(int32_t zero, Int(what));
    if (zero != 0) return Error(at, absl::StrCat(AsAbsl(what), ": names are not supported"));
    ASSIGN_OR_RETURN(uint64_t length, ReadLength("string vector length"));
    RETURN_IF_ERROR(CheckRoom(length, 8, what));
    os().WriteInt(0);
    WriteLength(length);
    for (uint64_t i = 0; i < length && Writing(); ++i) {
      const uint64_t word_at = in_.offset();
      ASSIGN_OR_RETURN(int32_t word, Int(what));
      const ItemFlags flags = rds::UnpackFlags(word);
      if (flags.type != rds::kCharSxp || flags.has_attr) {
        return Error(word_at,
                     absl::StrCat(AsAbsl(what), " must be a CHARSXP (type 9), not flags ", word));
      }
      RETURN_IF_ERROR(CopyCharPayload(CharItemWord(flags)));
    }
    return absl::OkStatus();
  }

  // The CHARSXPs of a character vector: as many at a time as lie whole in the chunk at the
  // cursor (millions of short strings are common), each as the reader checks it; the one that
  // straddles chunks, or that the reader would refuse, on its own.
  absl::Status CopyStrings(uint64_t length) {
    if (ascii_) {
      for (uint64_t i = 0; i < length && Writing() && !HeldTooLong(); ++i) {
        RETURN_IF_ERROR(CopyString(i));
      }
      return absl::OkStatus();
    }
    // Binary output in the input's byte order takes runs of elements as they are, by reference.
    const bool as_is = !os().ascii() && (settings_.format == RFormat::kXdr) == xdr_;
    uint64_t i = 0;
    while (i < length && Writing() && !HeldTooLong()) {
      ASSIGN_OR_RETURN(Buffer window, in_.Peek(8, 8));
      size_t used = 0;
      while (i < length && window.size() - used >= 8) {
        const uint8_t* p = window.data() + used;
        uint32_t word, n;
        std::memcpy(&word, p, 4);
        std::memcpy(&n, p + 4, 4);
        if (xdr_) {
          word = __builtin_bswap32(word);
          n = __builtin_bswap32(n);
        }
        const ItemFlags flags = rds::UnpackFlags(static_cast<int32_t>(word));
        if (flags.type != rds::kCharSxp || flags.has_attr) break;
        if (n == 0xFFFFFFFFu) {
          if (!as_is) {
            os().WriteInt(static_cast<int32_t>(word));
            os().WriteInt(-1);
          }
          used += 8;
          ++i;
          continue;
        }
        if (n > 0x7FFFFFFFu || n > window.size() - used - 8) break;
        if (!as_is) {
          os().WriteInt(static_cast<int32_t>(word));
          os().WriteInt(static_cast<int32_t>(n));
          os().WriteString(std::string_view(reinterpret_cast<const char*>(p + 8), n));
        }
        used += 8 + n;
        ++i;
      }
      if (used > 0) {
        if (as_is) os().writer().AppendShared(window.Slice(0, used));
        in_.Skip(used);
        continue;
      }
      RETURN_IF_ERROR(CopyString(i));
      ++i;
    }
    return absl::OkStatus();
  }

  // Element `i` (0-based) of a character vector, on its own.
  absl::Status CopyString(uint64_t i) {
    const uint64_t at = in_.offset();
    ASSIGN_OR_RETURN(int32_t word, Int("string flags"));
    const ItemFlags flags = rds::UnpackFlags(word);
    if (flags.type != rds::kCharSxp || flags.has_attr) {
      return Error(at, absl::StrCat("element ", i + 1,
                                    " of a character vector is not a CHARSXP (flags ", word, ")"));
    }
    return CopyCharPayload(word);
  }

  // `count` elements of `type`, a piece of the input at a time: by reference when the output
  // keeps their byte order, swapped or formatted into the output otherwise.
  absl::Status CopyElements(ElementType type, uint64_t count) {
    if (ascii_) {
      // Parsed a batch at a time, and written as the graph writes its values.
      for (uint64_t left = count; left > 0 && Writing() && !HeldTooLong();) {
        const uint64_t n = std::min(left, kAsciiBatch);
        ASSIGN_OR_RETURN(const Buffer values, Values(type, n, "vector"));
        os().WriteElements(type, n, values);
        left -= n;
      }
      return absl::OkStatus();
    }
    const size_t size = ElementSize(type);
    const bool big_endian = xdr_ && size > 1;
    uint64_t left = count * size;
    while (left > 0 && Writing() && !HeldTooLong()) {
      ASSIGN_OR_RETURN(Buffer piece,
                       in_.Take(static_cast<size_t>(std::min<uint64_t>(left, kDataStep))));
      if (piece.size() == 0) return Truncated("vector");
      left -= piece.size();
      const size_t whole = piece.size() - piece.size() % size;
      if (whole > 0) os().WriteElements(type, whole / size, piece.Slice(0, whole), big_endian);
      const size_t part = piece.size() - whole;
      if (part == 0) continue;
      // An element split between chunks: joined in a copy of its own.
      const size_t need = size - part;
      if (left < need) return Truncated("vector");
      ASSIGN_OR_RETURN(Buffer rest, in_.Peek(need, need));
      if (rest.size() < need) return Truncated("vector");
      auto [element, bytes] = Buffer::Allocate(size);
      std::memcpy(bytes, piece.data() + whole, part);
      std::memcpy(bytes + part, rest.data(), need);
      in_.Skip(need);
      left -= need;
      os().WriteElements(type, 1, element, big_endian);
    }
    return absl::OkStatus();
  }

  ChunkedInput& in_;
  const RSettingsForSource& settings_for_;
  ByteWriter& out_;
  const ReadOptions& options_;
  const uint64_t base_;  // what `out_` held before the stream
  rds::RWriteSettings settings_;
  std::optional<rds::OutputStream> os_;
  RStreamInfo info_;  // the input's header, and whether it is asciihex once that shows
  bool xdr_ = false;
  bool ascii_ = false;  // kAscii or kAsciiHex input
  rds::AsciiDoubleForm double_form_ = rds::AsciiDoubleForm::kToken;
  size_t peeked_ = 0;   // the input bytes of the int PeekInt showed
  Buffer word_window_;  // holds the ascii token PeekWord showed
  std::vector<Frame> stack_;
  // The reference table: one entry per referable object.
  std::vector<Ref> refs_;
  int32_t out_refs_ = 0;  // entries of the output's reference table
  absl::flat_hash_set<std::string> symbols_;
  // Output held until a flag written before its item proves right.
  int hold_depth_ = 0;
  std::optional<ByteWriter> held_;
  std::optional<rds::OutputStream> held_os_;
  // Byte code reps tables, the innermost BCODESXP item's last; the type word read before the
  // byte code constant being started, and before an ALTREP one, the base type it must have.
  std::vector<BcTable> bc_tables_;
  int32_t bc_constant_type_ = 0;
  std::optional<int32_t> altrep_base_type_;
  // The ALTREP object being started is a wrapper's data.
  bool wrapped_altrep_ = false;
  // An ALTREP wrapper (or a deferred string over a vector of integers) being written as version
  // 2: the vector it stands for, whose flags word says whether attributes follow, which shows
  // only after its elements. They are held, in
  // memory up to kMaxHeldBytes and beyond that in a spill file when the settings give a
  // directory (else the transcoder stops there), and written once the word is known.
  struct Expansion {
    explicit Expansion(const rds::RWriteSettings& settings)
        : held(settings.spill_dir, kMaxHeldBytes, settings.reserve_spill),
          writer([this](const Buffer& piece) { return held.Append(piece.data(), piece.size()); }),
          os(std::in_place, writer, settings.format) {}
    SpillableBuffer held;
    ByteWriter writer;
    std::optional<rds::OutputStream> os;
    const char* what = "an ALTREP wrapper whose elements";  // or a deferred string's strings
    int32_t word = 0;       // the expanded vector's flags word, without the attributes bit
    int32_t base_type = 0;  // its type, as the class information gives it
    uint64_t start = 0;     // the wrapper's offset in the input
  };
  std::unique_ptr<Expansion> expansion_;
  // Where what is read but not written goes (Dropping): a wrapper's metadata in version 2, and
  // the attributes of its data, from the frame at drop_level_ (1-based; 0: none) up.
  ByteWriter dropped_{[](const Buffer&) { return absl::OkStatus(); }};
  std::optional<rds::OutputStream> dropped_os_;
  size_t drop_level_ = 0;
  bool dropping_metadata_ = false;
  bool stopped_ = false;
  RTranscodeOutcome outcome_;
};

}  // namespace

absl::StatusOr<RTranscodeOutcome> TranscodeR(ChunkedInput& in,
                                             const RSettingsForSource& settings_for,
                                             ByteWriter& out, const ReadOptions& options) {
  return Transcoder(in, settings_for, out, options).Run();
}

}  // namespace seriald
