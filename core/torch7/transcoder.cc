#include "core/torch7/transcoder.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/input_error.h"
#include "core/io/piece_queue.h"
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
using torch7::PrimitiveWriter;

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

constexpr uint64_t kMaxInt = std::numeric_limits<int32_t>::max();

// Ascii numbers are parsed from a window of at least kAsciiWindow bytes (or the rest of the
// input), up to its last whitespace; a single number (an int, a long, a double) from one that
// holds the whitespace after it, or at least kAsciiLookahead bytes: a number token is at most 513
// characters (primitives.cc), so each is parsed from the whole of it, as from the whole input.
constexpr size_t kAsciiWindow = 64 * 1024;
constexpr size_t kAsciiLookahead = 1024;
// The bytes kept from the start of the input, to say what an input that is not Torch7 is.
constexpr size_t kStartBytes = 4096;

// What a back-reference may refer to: the tag the object was written with, and a torch object's
// class.
struct IndexedObject {
  int32_t output_index;
  int32_t tag;
  std::string class_name;
};

// An object whose children are still to come.
struct Frame {
  uint64_t remaining;  // children still to read
  uint64_t start;      // offset of the object's type tag
  // A tensor, whose one child is its storage: the tensor's class.
  std::optional<std::string> tensor_class;
};

std::string_view KindOfTag(int32_t tag) {
  switch (tag) {
    case kNilTag:
      return "nil";
    case kNumberTag:
      return "number";
    case kStringTag:
      return "string";
    case kTableTag:
      return "table";
    case kBooleanTag:
      return "boolean";
    default:
      return "lua_function";
  }
}

class Transcoder {
 public:
  // `out` null: checks the stream only.
  Transcoder(ChunkedInput& in, const Torch7Layout& from, ByteWriter* out, const Torch7Layout& to,
             const ReadOptions& options)
      : in_(in), from_(from), to_(to), options_(options), bytes_(out) {
    if (out != nullptr) out_.emplace(*out, to);
  }

  // Objects read completely.
  uint64_t roots() const { return roots_; }
  // Whether anything read so far depends on the long size (a long, a generator's state).
  bool used_long_size() const { return used_long_size_; }

  // The output stopped taking bytes (a failed write, a limit): reading on would be in vain.
  bool OutputFailed() const { return bytes_ != nullptr && !bytes_->ok(); }

  // Stops early, OK, when the output fails: ByteWriter::Finish says why.
  absl::Status Run() {
    ASSIGN_OR_RETURN(start_, in_.Peek(kStartBytes, kStartBytes));
    start_ = start_.Slice(0, std::min(start_.size(), kStartBytes));
    while (true) {
      RETURN_IF_ERROR(ReadObject());
      if (OutputFailed()) return absl::OkStatus();
      ++roots_;
      if (ascii()) RETURN_IF_ERROR(SkipAsciiSpace());
      ASSIGN_OR_RETURN(bool end, in_.AtEnd());
      if (end) break;
    }
    return absl::OkStatus();
  }

 private:
  bool ascii() const { return from_.ascii; }
  PrimitiveWriter* out() { return out_.has_value() ? &*out_ : nullptr; }

  // Reads one object and everything it contains, writing as it goes, without recursion.
  absl::Status ReadObject() {
    while (true) {
      if (OutputFailed()) return absl::OkStatus();
      ASSIGN_OR_RETURN(bool done, StartObject());
      while (done) {
        if (stack_.empty()) return absl::OkStatus();
        Frame& frame = stack_.back();
        if (--frame.remaining > 0) break;
        stack_.pop_back();
      }
    }
  }

  // Reads and writes the object at the cursor up to its first child. True when it has none (it
  // is complete); else a frame waits for its children.
  absl::StatusOr<bool> StartObject() {
    const uint64_t tag_offset = in_.offset();
    ASSIGN_OR_RETURN(int32_t tag, ReadInt("type tag"));
    // The one child of a tensor is its storage: nil, or a storage of its class.
    std::optional<std::string> storage_of;
    if (!stack_.empty()) storage_of = stack_.back().tensor_class;
    if (storage_of.has_value() && tag != kNilTag && tag != kTorchTag && tag >= 0 && tag <= 8) {
      return StorageError(tag_offset, *storage_of, absl::StrCat("a ", AsAbsl(KindOfTag(tag))));
    }
    if (tag != kNilTag) only_nils_ = false;
    switch (tag) {
      case kNilTag:
        if (out()) out()->WriteInt(kNilTag);
        return true;
      case kNumberTag: {
        ASSIGN_OR_RETURN(double number, ReadDouble("number"));
        if (out()) {
          out()->WriteInt(kNumberTag);
          out()->WriteDouble(number);
        }
        return true;
      }
      case kStringTag: {
        ASSIGN_OR_RETURN(int32_t length, ReadLength("string length"));
        if (out()) {
          out()->WriteInt(kStringTag);
          out()->WriteInt(length);
        }
        RETURN_IF_ERROR(StreamRaw(length, "string"));
        return true;
      }
      case kBooleanTag: {
        ASSIGN_OR_RETURN(int32_t flag, ReadInt("boolean"));
        if (out()) {
          out()->WriteInt(kBooleanTag);
          out()->WriteInt(flag == 1 ? 1 : 0);  // File.lua:11-13 reads "== 1"
        }
        return true;
      }
      case kFunctionTag:
        return StartFunction(tag, tag_offset, std::nullopt);
      case kTableTag:
      case kTorchTag:
      case kLegacyRecurFunctionTag:
      case kRecurFunctionTag:
        return StartIndexed(tag, tag_offset, storage_of);
      default:
        return BadTag(tag, tag_offset);
    }
  }

  absl::Status BadTag(int32_t tag, uint64_t tag_offset) {
    if (only_nils_ && tag_offset < start_.size()) {
      return InputError(
          "torch7", tag_offset,
          torch7::DescribeBadTagAt(start_.Slice(tag_offset, start_.size() - tag_offset), tag,
                                   !ascii(), start_));
    }
    uint32_t bits = static_cast<uint32_t>(tag);
    if (from_.big_endian) bits = __builtin_bswap32(bits);
    return InputError(
        "torch7", tag_offset,
        torch7::DescribeBadTagAt(Buffer::Copy(&bits, 4), tag, !ascii(), std::nullopt));
  }

  absl::Status StorageError(uint64_t offset, const std::string& tensor_class,
                            std::string_view found) {
    return InputError("torch7", offset, StorageMismatch(tensor_class, found));
  }

  // Tables, torch objects and recursive functions carry an index: a known one is a
  // back-reference, written with the index the object got in the output.
  absl::StatusOr<bool> StartIndexed(int32_t tag, uint64_t tag_offset,
                                    const std::optional<std::string>& storage_of) {
    const uint64_t index_offset = in_.offset();
    ASSIGN_OR_RETURN(int32_t index, ReadInt("object index"));
    if (auto it = objects_.find(index); it != objects_.end()) {
      const IndexedObject& target = it->second;
      if (target.tag != tag) {
        const std::string what = target.tag == kTableTag ? std::string("table")
                                 : target.tag == kTorchTag
                                     ? std::string("torch_object")
                                     : absl::StrCat("function with tag ", target.tag);
        return InputError("torch7", tag_offset, ReferenceMismatch(tag, index, what));
      }
      if (storage_of.has_value() && !torch7::IsStorageClassOf(*storage_of, target.class_name)) {
        return StorageError(tag_offset, *storage_of, absl::StrCat("a ", target.class_name));
      }
      if (out()) {
        out()->WriteInt(tag);
        out()->WriteInt(target.output_index);
      }
      return true;
    }
    // torch7 numbers new objects 1, 2, 3, ... in stream order, so an unknown index at or below
    // the last one can only be a reference to an object that does not exist.
    if (last_index_.has_value() && index <= *last_index_) {
      return InputError("torch7", index_offset, MissingReference(index, *last_index_));
    }
    last_index_ = index;
    const int32_t output_index = ++next_output_index_;
    switch (tag) {
      case kTableTag:
        return StartTable(index, output_index, tag_offset);
      case kTorchTag:
        return StartTorchObject(index, output_index, tag_offset, storage_of);
      default:
        return StartFunction(tag, tag_offset, std::make_pair(index, output_index));
    }
  }

  absl::StatusOr<bool> StartTable(int32_t index, int32_t output_index, uint64_t tag_offset) {
    const uint64_t count_offset = in_.offset();
    ASSIGN_OR_RETURN(int32_t count, ReadInt("table size"));
    if (count < 0) {
      return InputError("torch7", count_offset, absl::StrCat("negative table size ", count));
    }
    RETURN_IF_ERROR(CheckRoom(count, 2 * MinIntBytes(), "table size", count_offset));
    objects_[index] = IndexedObject{output_index, kTableTag, {}};
    if (out()) {
      out()->WriteInt(kTableTag);
      out()->WriteInt(output_index);
      out()->WriteInt(count);
    }
    return Push(2 * uint64_t(count), tag_offset, std::nullopt);
  }

  absl::StatusOr<bool> StartFunction(int32_t tag, uint64_t tag_offset,
                                     std::optional<std::pair<int32_t, int32_t>> index) {
    ASSIGN_OR_RETURN(int32_t length, ReadLength("bytecode length"));
    if (out()) {
      out()->WriteInt(tag);
      if (index.has_value()) out()->WriteInt(index->second);
      out()->WriteInt(length);
    }
    RETURN_IF_ERROR(StreamRaw(length, "bytecode"));
    if (index.has_value()) objects_[index->first] = IndexedObject{index->second, tag, {}};
    return Push(1, tag_offset, std::nullopt);
  }

  absl::StatusOr<bool> StartTorchObject(int32_t index, int32_t output_index, uint64_t tag_offset,
                                        const std::optional<std::string>& storage_of) {
    ASSIGN_OR_RETURN(Buffer first, ReadString("version length", "version string"));
    std::optional<std::string> version = torch7::VersionOf(first.view());
    std::string class_name;
    if (version.has_value()) {
      ASSIGN_OR_RETURN(Buffer name, ReadString("class name length", "class name"));
      class_name = std::string(name.view());
    } else {
      class_name = std::string(first.view());  // legacy object: the first string is the class
    }
    if (storage_of.has_value() && !torch7::IsStorageClassOf(*storage_of, class_name)) {
      return StorageError(tag_offset, *storage_of, absl::StrCat("a ", class_name));
    }
    const ClassInfo info = torch7::ClassifyClass(class_name);
    objects_[index] = IndexedObject{output_index, kTorchTag, class_name};
    if (out()) {
      out()->WriteInt(kTorchTag);
      out()->WriteInt(output_index);
      if (version.has_value()) WriteString(absl::StrCat("V ", *version));
      WriteString(class_name);
    }
    switch (info.payload) {
      case Payload::kStorage: {
        ASSIGN_OR_RETURN(uint64_t count,
                         ReadCount("storage size", MinElementBytes(info.element_type)));
        RETURN_IF_ERROR(CheckOutputCount(class_name, tag_offset, count, "storage size"));
        if (out()) out()->WriteLong(static_cast<int64_t>(count));
        RETURN_IF_ERROR(StreamElements(info.element_type, count));
        return true;
      }
      case Payload::kTensor:
        return StartTensor(class_name, tag_offset);
      case Payload::kGenerator: {
        used_long_size_ = true;
        ASSIGN_OR_RETURN(Buffer state, ReadRaw(torch7::GeneratorStateSize(from_.long_size),
                                               "torch.Generator state"));
        RETURN_IF_ERROR(WriteGeneratorState(state, tag_offset));
        return true;
      }
      case Payload::kTdsHash: {
        ASSIGN_OR_RETURN(uint64_t count, ReadCount("tds.Hash size", 2 * MinIntBytes()));
        RETURN_IF_ERROR(CheckOutputCount(class_name, tag_offset, count, "tds.Hash size"));
        if (out()) out()->WriteLong(static_cast<int64_t>(count));
        return Push(2 * count, tag_offset, std::nullopt);
      }
      case Payload::kTdsVec: {
        ASSIGN_OR_RETURN(uint64_t count, ReadCount("tds.Vec size", MinIntBytes()));
        RETURN_IF_ERROR(CheckOutputCount(class_name, tag_offset, count, "tds.Vec size"));
        if (out()) out()->WriteLong(static_cast<int64_t>(count));
        return Push(count, tag_offset, std::nullopt);
      }
      case Payload::kTdsAtomicCounter: {
        ASSIGN_OR_RETURN(int64_t counter, ReadLong("tds.AtomicCounter value"));
        if (out()) out()->WriteLong(counter);
        return true;
      }
      case Payload::kGpuModule:
        return Push(2, tag_offset, std::nullopt);
      case Payload::kObject:
        return Push(1, tag_offset, std::nullopt);
    }
    return InputError("torch7", tag_offset, "unhandled class payload");
  }

  // generic/Tensor.c:1275-1297: int nDimension, long size[n], long stride[n], long offset + 1,
  // then the storage object.
  absl::StatusOr<bool> StartTensor(const std::string& class_name, uint64_t tag_offset) {
    const uint64_t count_offset = in_.offset();
    ASSIGN_OR_RETURN(int32_t dimensions, ReadInt("tensor dimension count"));
    if (dimensions < 0) {
      return InputError("torch7", count_offset,
                        absl::StrCat("negative tensor dimension count ", dimensions));
    }
    RETURN_IF_ERROR(
        CheckRoom(dimensions, 2 * MinLongBytes(), "tensor dimension count", count_offset));
    // Ascii writes each list on one line: the sizes and strides are written once all are read.
    // The count is not a promise when the total size is unknown: the lists grow as read.
    std::vector<int64_t> sizes;
    std::vector<int64_t> strides;
    for (std::vector<int64_t>* list : {&sizes, &strides}) {
      list->reserve(std::min<int32_t>(dimensions, 64));
      for (int32_t i = 0; i < dimensions; ++i) {
        ASSIGN_OR_RETURN(int64_t value, ReadLong(list == &sizes ? "tensor size" : "tensor stride"));
        list->push_back(value);
      }
    }
    ASSIGN_OR_RETURN(int64_t offset, ReadLong("tensor storage offset"));
    if (out()) {
      out()->WriteInt(dimensions);
      out()->WriteLongs(sizes);
      out()->WriteLongs(strides);
      out()->WriteLong(offset);
    }
    return Push(1, tag_offset, class_name);
  }

  // A THGenerator's raw state, re-laid for the output's longs and byte order as WriteTorch7 does.
  absl::Status WriteGeneratorState(const Buffer& state, uint64_t tag_offset) {
    if (!out()) return absl::OkStatus();
    const torch7::GeneratorLayout from{from_.long_size, from_.big_endian};
    const torch7::GeneratorLayout to{to_.long_size, to_.big_endian};
    if (from == to) {
      out()->WriteRaw(state);
      return absl::OkStatus();
    }
    absl::StatusOr<std::string> relaid = torch7::RelayGeneratorState(state.view(), from, to);
    if (!relaid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot write as Torch7: the torch.Generator at byte ", tag_offset,
                       " has a state whose ", relaid.status().message()));
    }
    out()->WriteRaw(std::string_view(*relaid));
    return absl::OkStatus();
  }

  absl::Status CheckOutputCount(const std::string& class_name, uint64_t tag_offset, uint64_t count,
                                std::string_view what) {
    if (to_.ascii || to_.long_size == 8 || count <= kMaxInt) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write as Torch7: the ", class_name, " at byte ", tag_offset, " has a ",
                     AsAbsl(what), " of ", count, ", which does not fit a 4-byte long"));
  }

  absl::StatusOr<bool> Push(uint64_t count, uint64_t start, std::optional<std::string> tensor) {
    if (count == 0) return true;
    if (stack_.size() >= options_.max_depth) {
      return InputError("torch7", start,
                        absl::StrCat("objects nested more than ", options_.max_depth,
                                     " deep (ReadOptions::max_depth)"));
    }
    stack_.push_back(Frame{count, start, std::move(tensor)});
    return false;
  }

  // --- primitives ------------------------------------------------------------------------------

  uint64_t MinIntBytes() const { return ascii() ? 1 : 4; }
  uint64_t MinLongBytes() const { return ascii() ? 1 : from_.long_size; }
  uint64_t WireSize(ElementType type) const {
    return type == ElementType::kInt64 ? from_.long_size : ElementSize(type);
  }
  uint64_t MinElementBytes(ElementType type) const { return ascii() ? 1 : WireSize(type); }

  // Where the total size is known, refuses `count` items of `bytes_each` that the rest of the
  // input cannot hold, as ReadTorch7 does.
  absl::Status CheckRoom(uint64_t count, uint64_t bytes_each, std::string_view what,
                         uint64_t at) const {
    const std::optional<uint64_t> remaining = in_.remaining();
    if (!remaining.has_value() || count <= *remaining / bytes_each) return absl::OkStatus();
    return InputError("torch7", at,
                      absl::StrCat(AsAbsl(what), " ", count, " is more than the remaining ",
                                   *remaining, " bytes can hold"));
  }

  absl::Status SkipAsciiSpace() {
    while (true) {
      ASSIGN_OR_RETURN(Buffer window, in_.Peek(1, 1));
      size_t spaces = 0;
      while (spaces < window.size() && torch7::IsAsciiSpace(window.data()[spaces])) ++spaces;
      in_.Skip(spaces);
      if (spaces < window.size() || window.empty()) return absl::OkStatus();
    }
  }

  // The "\n" that ends an ascii array call or raw string.
  absl::Status SwallowNewline() {
    ASSIGN_OR_RETURN(Buffer window, in_.Peek(1, 1));
    if (!window.empty() && window.data()[0] == '\n') in_.Skip(1);
    return absl::OkStatus();
  }

  // Runs `read` on a PrimitiveReader over the bytes at the cursor (enough for one value, or the
  // rest of the input) and moves past what it read.
  template <typename Read>
  auto ReadValue(size_t binary_size, Read&& read)
      -> decltype(read(std::declval<PrimitiveReader&>())) {
    Buffer window;
    if (ascii()) {
      RETURN_IF_ERROR(SkipAsciiSpace());
      ASSIGN_OR_RETURN(window, AsciiNumberWindow());
    } else {
      ASSIGN_OR_RETURN(window, in_.Peek(binary_size, binary_size));
    }
    const uint64_t base = in_.offset();
    PrimitiveReader reader(std::move(window), from_, base);
    auto value = read(reader);
    if (value.ok()) in_.Skip(reader.offset() - base);
    return value;
  }

  // The bytes at the cursor, as far as the whitespace that ends the number there (and one
  // more, the newline a scalar may end with), or kAsciiLookahead of them (more than the longest
  // token a number is parsed from), or all that remain. Grown by doubling from a few bytes, so
  // that input cut into tiny chunks costs a few copied bytes per number, not a window's worth.
  absl::StatusOr<Buffer> AsciiNumberWindow() {
    size_t want = 32;
    while (true) {
      ASSIGN_OR_RETURN(Buffer window, in_.Peek(want, want));
      if (window.size() < want || window.size() >= kAsciiLookahead) return window;
      const uint8_t* begin = window.data();
      const uint8_t* end = begin + window.size();
      // Whitespace with a byte after it: the token and the newline after it are all here.
      if (std::find_if(begin, end - 1, [](uint8_t c) { return torch7::IsAsciiSpace(c); }) !=
          end - 1) {
        return window;
      }
      want *= 2;
    }
  }

  absl::StatusOr<int32_t> ReadInt(std::string_view what) {
    return ReadValue(4, [&](PrimitiveReader& r) { return r.ReadInt(what); });
  }
  absl::StatusOr<int64_t> ReadLong(std::string_view what) {
    used_long_size_ = true;
    return ReadValue(from_.long_size, [&](PrimitiveReader& r) { return r.ReadLong(what); });
  }
  absl::StatusOr<double> ReadDouble(std::string_view what) {
    return ReadValue(8, [&](PrimitiveReader& r) { return r.ReadDouble(what); });
  }

  // A long count of items of at least `bytes_each` bytes each.
  absl::StatusOr<uint64_t> ReadCount(std::string_view what, uint64_t bytes_each) {
    const uint64_t count_offset = in_.offset();
    ASSIGN_OR_RETURN(int64_t count, ReadLong(what));
    if (count < 0) {
      return InputError("torch7", count_offset,
                        absl::StrCat("negative ", AsAbsl(what), " ", count));
    }
    RETURN_IF_ERROR(CheckRoom(count, bytes_each, what, count_offset));
    return static_cast<uint64_t>(count);
  }

  // The int32 length of a string (File.lua:202-207).
  absl::StatusOr<int32_t> ReadLength(std::string_view what) {
    const uint64_t length_offset = in_.offset();
    ASSIGN_OR_RETURN(int32_t length, ReadInt(what));
    if (length < 0) {
      return InputError("torch7", length_offset,
                        absl::StrCat("negative ", AsAbsl(what), " ", length));
    }
    RETURN_IF_ERROR(CheckRoom(length, 1, what, length_offset));
    return length;
  }

  // `size` raw bytes, whole (a class name, a generator state).
  absl::StatusOr<Buffer> ReadRaw(uint64_t size, std::string_view what) {
    if (size == 0) return Buffer();
    const size_t want = size + (ascii() ? 1 : 0);
    ASSIGN_OR_RETURN(Buffer window, in_.Peek(want, want));
    if (window.size() < size) {
      return InputError("torch7", in_.offset(),
                        absl::StrCat("input ends inside ", AsAbsl(what), " (needs ", size,
                                     " bytes, ", window.size(), " remain)"));
    }
    Buffer bytes = window.Slice(0, size);
    in_.Skip(size);
    if (ascii()) RETURN_IF_ERROR(SwallowNewline());
    return bytes;
  }

  // An int32 length, then that many raw bytes, whole.
  absl::StatusOr<Buffer> ReadString(std::string_view length_name, std::string_view bytes_name) {
    ASSIGN_OR_RETURN(int32_t length, ReadLength(length_name));
    return ReadRaw(length, bytes_name);
  }

  void WriteString(std::string_view bytes) {
    out()->WriteInt(static_cast<int32_t>(bytes.size()));
    out()->WriteRaw(bytes);
  }

  // `size` raw bytes (a string's, a function's bytecode) from the input to the output a piece
  // at a time.
  absl::Status StreamRaw(uint64_t size, std::string_view what) {
    uint64_t left = size;
    while (left > 0 && !OutputFailed()) {
      ASSIGN_OR_RETURN(Buffer piece, in_.Take(left));
      if (piece.empty()) {
        return InputError("torch7", in_.offset(),
                          absl::StrCat("input ends inside ", AsAbsl(what), " (", left, " of ", size,
                                       " bytes missing)"));
      }
      left -= piece.size();
      if (out()) out()->WriteElements(ElementType::kUint8, piece.size(), piece, false, left == 0);
    }
    if (ascii() && size > 0) RETURN_IF_ERROR(SwallowNewline());
    return absl::OkStatus();
  }

  // A storage's `count` elements, a piece at a time: binary pieces are slices of the input's
  // chunks, written as they are or swapped straight into the output.
  absl::Status StreamElements(ElementType type, uint64_t count) {
    if (count == 0) return absl::OkStatus();
    if (ascii() && ElementSize(type) > 1) return StreamAsciiNumbers(type, count);
    const uint64_t wire = ascii() ? 1 : WireSize(type);
    const bool converts = !ascii() && torch7::ElementsNeedConversion(from_, type);
    const bool widens = type == ElementType::kInt64 && from_.long_size == 4;
    uint64_t left = count;
    while (left > 0 && !OutputFailed()) {
      ASSIGN_OR_RETURN(Buffer window, in_.Peek(wire, wire));
      const uint64_t whole = std::min<uint64_t>(window.size() / wire, left);
      if (whole == 0) {
        return InputError("torch7", in_.offset(),
                          absl::StrCat("input ends inside storage data (", left, " of ", count,
                                       " elements missing)"));
      }
      Buffer piece = window.Slice(0, whole * wire);
      in_.Skip(piece.size());
      left -= whole;
      if (!out()) continue;
      if (!converts) {
        out()->WriteElements(type, whole, piece, false, left == 0);
      } else if (widens) {
        out()->WriteElements(type, whole, torch7::ConvertElements(from_, type, whole, piece), false,
                             left == 0);
      } else {
        out()->WriteElements(type, whole, piece, /*big_endian=*/true, left == 0);
      }
    }
    if (ascii()) RETURN_IF_ERROR(SwallowNewline());  // after raw char and byte arrays
    return absl::OkStatus();
  }

  // Ascii numbers, parsed a window at a time into model bytes and written from there.
  absl::Status StreamAsciiNumbers(ElementType type, uint64_t count) {
    const size_t size = ElementSize(type);
    uint64_t left = count;
    while (left > 0 && !OutputFailed()) {
      RETURN_IF_ERROR(SkipAsciiSpace());
      ASSIGN_OR_RETURN(Buffer window, in_.Peek(kAsciiWindow, kAsciiWindow));
      // Peek gives at least what was asked unless the input ends first.
      const bool at_end = window.size() < kAsciiWindow;
      if (window.empty()) {
        return InputError("torch7", in_.offset(),
                          "input ends where storage data (a number) was expected");
      }
      // The numbers before the window's last whitespace are whole: parsed from the window cut
      // there, each is parsed as from the whole input.
      size_t cut = window.size();
      if (!at_end) {
        while (cut > 0 && !torch7::IsAsciiSpace(window.data()[cut - 1])) --cut;
      }
      const uint64_t base = in_.offset();
      uint64_t parsed = 0;
      std::optional<PrimitiveReader> reader;
      Buffer values;
      if (cut > 0) {
        reader.emplace(window.Slice(0, cut), from_, base);
        // Each number takes at least one character and one separator, but the last.
        const uint64_t room = std::min<uint64_t>(left, cut / 2 + 1);
        uint8_t* data;
        std::tie(values, data) = Buffer::Allocate(room * size);
        ASSIGN_OR_RETURN(parsed, reader->ReadSomeElements(type, room, data, "storage data"));
      } else {
        // One token longer than the window: numbers are parsed from it a token's most (513
        // characters) at a time, as from the whole input, while a whole token's worth of the
        // window remains after each.
        reader.emplace(window, from_, base);
        const uint64_t room = std::min<uint64_t>(left, window.size() - kAsciiLookahead + 1);
        uint8_t* data;
        std::tie(values, data) = Buffer::Allocate(room * size);
        while (parsed < room && reader->offset() - base + kAsciiLookahead <= window.size()) {
          ASSIGN_OR_RETURN(uint64_t one,
                           reader->ReadSomeElements(type, 1, data + parsed * size, "storage data"));
          parsed += one;
        }
      }
      in_.Skip(reader->offset() - base);
      left -= parsed;
      if (out())
        out()->WriteElements(type, parsed, values.Slice(0, parsed * size), false, left == 0);
      if (parsed == 0 && at_end) {
        return InputError("torch7", in_.offset(),
                          "input ends where storage data (a number) was expected");
      }
    }
    return SwallowNewline();
  }

  ChunkedInput& in_;
  const Torch7Layout from_;
  const Torch7Layout to_;
  const ReadOptions& options_;
  ByteWriter* const bytes_;
  std::optional<PrimitiveWriter> out_;
  Buffer start_;           // the first bytes of the input, for BadTag
  bool only_nils_ = true;  // no object but nil read yet
  std::vector<Frame> stack_;
  absl::flat_hash_map<int32_t, IndexedObject> objects_;  // input index -> what it is
  std::optional<int32_t> last_index_;
  int32_t next_output_index_ = 0;
  uint64_t roots_ = 0;
  bool used_long_size_ = false;
};

// How checking the structure of a prefix with one long size went.
struct Check {
  enum Outcome { kFailed, kReadAll, kUnfinished };
  Outcome outcome;
  uint64_t roots;  // objects read completely
  bool used_long_size;
};

Check CheckStructure(const Buffer& prefix, bool whole_input, std::optional<uint64_t> total_size,
                     const Torch7Layout& layout, const ReadOptions& options) {
  bool ran_out = false;
  ChunkedInput::NextChunk chunks = ChunkedInput::ChunksOf(prefix, size_t{1} << 20);
  ChunkedInput in(
      [&]() -> absl::StatusOr<std::optional<Buffer>> {
        absl::StatusOr<std::optional<Buffer>> chunk = chunks();
        if (chunk.ok() && !chunk->has_value()) ran_out = true;
        return chunk;
      },
      "torch7", total_size);
  Transcoder checker(in, layout, nullptr, layout, options);
  const absl::Status status = checker.Run();
  if (!whole_input && ran_out) {
    return Check{Check::kUnfinished, checker.roots(), checker.used_long_size()};
  }
  return Check{status.ok() ? Check::kReadAll : Check::kFailed, checker.roots(),
               checker.used_long_size()};
}

// The same stream read with the other long size, structure only, on a thread of its own, from
// the chunks the transcoder's input gets (ChunkedInput::ObserveChunks), passed on through a
// PieceQueue: when a prefix decided the long size (Torch7StreamLayout::check_other_long_size),
// the end of the stream tells whether ReadTorch7 on the whole input would have read it as the
// transcoder did. The rival skips storage data without touching it, so it keeps up; the queue
// holds at most kTorch7RivalQueuedBytes (or one chunk) of chunks the transcoder has passed, and
// once the rival has finished it takes no more.
class RivalReading {
 public:
  struct Outcome {
    bool read_all = false;  // it read the whole stream
    uint64_t roots = 0;     // objects it read completely
  };

  RivalReading(ChunkedInput& in, const Torch7Layout& layout, const ReadOptions& options)
      : in_(in), queue_(/*spill_dir=*/"", kTorch7RivalQueuedBytes, nullptr, nullptr, kNeverStalls) {
    // In memory, nothing to reserve: Push cannot fail.
    in_.ObserveChunks([this](const std::optional<Buffer>& chunk) {
      if (chunk.has_value()) {
        (void)queue_.Push({*chunk});
      } else {
        queue_.Close(absl::OkStatus());
      }
    });
    thread_ = std::thread([this, layout, options, total_size = in.total_size()] {
      ChunkedInput rival_in([this] { return queue_.Pop(); }, "torch7", total_size);
      Transcoder checker(rival_in, layout, nullptr, layout, options);
      const absl::Status status = checker.Run();
      outcome_ = Outcome{status.ok(), checker.roots()};
      done_.store(true);
      queue_.Abandon();  // what comes after is dropped
    });
  }
  RivalReading(const RivalReading&) = delete;
  RivalReading& operator=(const RivalReading&) = delete;
  // A transcoder that stopped early leaves the rival at an end; the input, which its caller may
  // read on, stops showing it chunks.
  ~RivalReading() {
    Finish();
    in_.ObserveChunks(nullptr);
  }

  // Whether the rival has finished, failing or at the end of what it was given.
  bool done() const { return done_.load(); }

  // How the rival went, given the input the transcoder's has passed on: all of it once that has
  // reached its end, else (its source failed) what came, which then ends there.
  Outcome Finish() {
    queue_.Close(absl::OkStatus());
    if (thread_.joinable()) thread_.join();
    return outcome_;
  }

 private:
  // The transcoder waits for room in the queue as long as it takes: the rival only reads, so it
  // never stalls for long, and the queue must not grow past its bound meanwhile.
  static constexpr std::chrono::hours kNeverStalls{24};

  ChunkedInput& in_;
  PieceQueue queue_;
  std::atomic<bool> done_{false};
  Outcome outcome_;  // written by the thread before it ends, read after join
  std::thread thread_;
};

}  // namespace

absl::StatusOr<std::optional<Torch7StreamLayout>> DecideTorch7StreamLayout(
    const Buffer& prefix, bool whole_input, std::optional<uint64_t> total_size,
    const ReadOptions& options, Torch7Mode mode) {
  if (prefix.empty()) return std::nullopt;
  const torch7::Sniff sniff = torch7::SniffStream(prefix);
  // What is not Torch7 is refused by ReadTorch7, in its words.
  if (mode == Torch7Mode::kDetect && sniff.encoding == torch7::Sniff::kNotTorch7) {
    return std::nullopt;
  }
  ASSIGN_OR_RETURN(torch7::StartingLayout start, torch7::LayoutToStartWith(sniff, options, mode));
  const Torch7Layout& layout = start.layout;
  if (start.long_size_known) return Torch7StreamLayout{layout};
  Torch7Layout layout8 = layout;
  layout8.long_size = 8;
  Torch7Layout layout4 = layout;
  layout4.long_size = 4;
  const Check with8 = CheckStructure(prefix, whole_input, total_size, layout8, options);
  const Check with4 = CheckStructure(prefix, whole_input, total_size, layout4, options);
  const bool fail8 = with8.outcome == Check::kFailed;
  const bool fail4 = with4.outcome == Check::kFailed;
  if (fail4 && !fail8) return Torch7StreamLayout{layout8};
  if (fail8 && !fail4) return Torch7StreamLayout{layout4};
  if (fail8) return std::nullopt;
  // Neither reading met anything that depends on the long size: they are the same reading, and
  // ReadTorch7 takes 8 for two equal ones.
  const bool alike = !with8.used_long_size && !with4.used_long_size;
  if (whole_input) {
    if (alike) return Torch7StreamLayout{layout8};
    // Objects of different counts are different readings: ReadTorch7 takes the one that reads
    // a single object (torch.save's), if exactly one does.
    if (with8.roots == 1 && with4.roots > 1) return Torch7StreamLayout{layout8};
    if (with4.roots == 1 && with8.roots > 1) return Torch7StreamLayout{layout4};
    return std::nullopt;
  }
  if (alike) return std::nullopt;
  // Both read the prefix. A wrong long size typically ends the first object early and reads on
  // into phantom ones, where torch.save writes one object.
  if (with8.roots == 0 && with4.roots > 0)
    return Torch7StreamLayout{layout8, /*check_other_long_size=*/true};
  if (with4.roots == 0 && with8.roots > 0)
    return Torch7StreamLayout{layout4, /*check_other_long_size=*/true};
  return std::nullopt;
}

absl::Status TranscodeTorch7(ChunkedInput& in, const Torch7StreamLayout& from,
                             const Torch7Layout& to, ByteWriter& out, const ReadOptions& options) {
  if (to.long_size != 4 && to.long_size != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("torch7 long size must be 4 or 8, not ", to.long_size));
  }
  if (!from.check_other_long_size) return Transcoder(in, from.layout, &out, to, options).Run();
  Torch7Layout other = from.layout;
  other.long_size = from.layout.long_size == 8 ? 4 : 8;
  RivalReading rival(in, other, options);
  Transcoder transcoder(in, from.layout, &out, to, options);
  const absl::Status status = transcoder.Run();
  if (transcoder.OutputFailed()) return absl::OkStatus();
  auto with = [&](const Torch7Layout& layout) { return absl::StrCat(layout.long_size, "-byte"); };
  if (!status.ok()) {
    // A stream that fails with the long size taken may read with the other: while the rival
    // still reads, the rest of the input goes to it, so that the error can say so.
    while (!rival.done()) {
      absl::StatusOr<Buffer> piece = in.Take(size_t{1} << 20);
      if (!piece.ok() || piece->empty()) break;
    }
    const RivalReading::Outcome outcome = rival.Finish();
    if (!outcome.read_all) return status;
    return Annotate(status, absl::StrCat("(the long size was taken as ", from.layout.long_size,
                                         " from the stream's first bytes; with ", with(other),
                                         " longs the whole stream reads: pass the long size it "
                                         "was written with, torch7_long_size)"));
  }
  // ReadTorch7's rule for a whole input that reads with both long sizes (core/torch7/reader.cc):
  // the reading of one object (torch.save's) when the other reads several, else no reading.
  const RivalReading::Outcome outcome = rival.Finish();
  if (!outcome.read_all || (transcoder.roots() == 1 && outcome.roots > 1)) return absl::OkStatus();
  if (outcome.roots == 1 && transcoder.roots() > 1) {
    return InputError(
        "torch7", in.offset(),
        absl::StrCat("the stream was converted with ", with(from.layout),
                     " longs, as its first bytes said, into ", transcoder.roots(),
                     " objects, but with ", with(other),
                     " longs it reads completely as one object, as torch.save writes; pass the "
                     "long size it was written with (torch7_long_size)"));
  }
  // (Both one object cannot happen here: the rival had finished an object within the prefix
  // that decided, and read on into more.)
  return InputError("torch7", in.offset(),
                    "the input reads completely both with 8-byte and with 4-byte longs, giving "
                    "different objects; pass the long size it was written with "
                    "(torch7_long_size, like torch.load's 'b64' / 'b32')");
}

}  // namespace seriald
