#include "wire/unary_wire.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/status_macros.h"
#include "wire/chunk_wire.h"
#include "wire/heap_settings.h"
#include "wire/wire_format.h"

namespace seriald::wire {
namespace {

namespace pb = ::seriald::v1;

std::string LengthPrefixOf(uint32_t field, uint64_t length) {
  HeaderBytes header;
  header.LengthPrefix(field, length);
  return std::string(header.view());
}

// `item` (a DataItem or a Node, its `array` field set and that array's data empty) as field
// `items_field` of its container, with `data` as the array's data field `data_field`: the item
// without its array, then the array without its data, then the data.
template <typename Item>
SplicedMessage ItemWithData(Item& item, uint32_t items_field, uint32_t array_field,
                            uint32_t data_field, const Buffer& data) {
  SplicedMessage array;
  array.Append(item.array().SerializeAsString());
  if (data.size() > 0) {
    array.Append(LengthPrefixOf(data_field, data.size()));
    array.Append(data);
  }
  array.WrapAsField(array_field);
  item.clear_kind();
  SplicedMessage spliced;
  spliced.Append(item.SerializeAsString());
  spliced.Append(std::move(array));
  spliced.WrapAsField(items_field);
  return spliced;
}

// The container (Data or Value) with its items (`*items`, taken out of it, so that what remains,
// the roots, serializes alone), those in `arrays` spliced, as field `field`.
template <typename Container, typename Items>
SplicedMessage ContainerWithData(Container& container, Items* items, uint32_t field,
                                 uint32_t items_field, uint32_t array_field, uint32_t data_field,
                                 const SplicedArrays& arrays) {
  absl::flat_hash_map<uint32_t, const Buffer*> spliced_data;
  for (const auto& [id, data] : arrays) spliced_data[id] = &data;
  Items taken;
  taken.Swap(items);
  SplicedMessage out;
  // The items in between spliced ones, encoded one after another into one string: a Value of a
  // million nodes and one large array is three pieces, not two million.
  std::string run;
  for (int id = 0; id < taken.size(); ++id) {
    auto it = spliced_data.find(static_cast<uint32_t>(id));
    if (it != spliced_data.end() && taken[id].has_array()) {
      out.Append(std::exchange(run, std::string()));
      out.Append(
          ItemWithData(*taken.Mutable(id), items_field, array_field, data_field, *it->second));
    } else {
      HeaderBytes prefix;
      prefix.LengthPrefix(items_field, taken[id].ByteSizeLong());
      run.append(prefix.view());
      taken[id].AppendToString(&run);
    }
  }
  container.AppendToString(&run);  // what remains of it: the roots
  out.Append(std::move(run));
  out.WrapAsField(field);
  return out;
}

// A message whose field 1 is `output` (each piece sent from its Buffer; left out when empty, as
// protobuf leaves an empty bytes field out), followed by its other fields, `rest`, encoded.
grpc::ByteBuffer OutputAndRest(const BufferChain& output, std::string rest) {
  SplicedMessage out;
  if (output.size() > 0) {
    out.Append(LengthPrefixOf(1, output.size()));
    for (const Buffer& piece : output.pieces()) out.Append(piece);
  }
  out.Append(std::move(rest));
  return std::move(out).Finish();
}

absl::Status NotA(const google::protobuf::MessageLite& message) {
  return absl::InvalidArgumentError(
      absl::StrCat("a message that is not a valid ", message.GetTypeName()));
}

using Pieces = absl::InlinedVector<std::string_view, 4>;

// The slices a message arrived in, released as the bytes taken from them are copied: held until
// the end, the received slices and the copy made twice the input at the peak (2.02 times a 1 GiB
// request in service_benchmark); released, but with the pages left to the heap, 1.72 and 2.03
// times in two runs: gRPC reads a message into heap blocks of a few hundred KiB, and an arena
// shrinks only from its top. Hence the freed heap pages are given back every kGiveBackEveryBytes.
class ReleasedSlices {
 public:
  explicit ReleasedSlices(std::vector<grpc::Slice> slices) : slices_(std::move(slices)) {}

  // The slice `piece` lies in, once every slice before it is released (null if none holds it).
  // Pieces must come in the order of the message.
  const grpc::Slice* ReleaseUpTo(std::string_view piece) {
    const auto* first = reinterpret_cast<const uint8_t*>(piece.data());
    while (next_ < slices_.size() &&
           !(slices_[next_].begin() <= first && first < slices_[next_].end())) {
      released_ += slices_[next_].size();
      slices_[next_++] = grpc::Slice();
    }
    if (released_ >= kGiveBackEveryBytes) {
      GiveBackFreedHeapPages();
      released_ = 0;
    }
    return next_ < slices_.size() ? &slices_[next_] : nullptr;
  }

 private:
  static constexpr uint64_t kGiveBackEveryBytes = uint64_t{64} << 20;
  std::vector<grpc::Slice> slices_;
  size_t next_ = 0;
  uint64_t released_ = 0;
};

// Bytes taken from a message (each piece in one slice) as one Buffer: over their slice when they
// lie in one (holding that slice alone), else copied, each slice released once passed.
Buffer GatherPieces(const Pieces& pieces, ReleasedSlices& slices) {
  // A slice of a few bytes keeps them inside itself, so that a copy of it is a copy of the bytes,
  // not a reference to them: bytes that few are copied.
  constexpr size_t kHeldInTheirSliceFrom = 1024;
  if (pieces.empty()) return Buffer();
  if (pieces.size() == 1 && pieces[0].size() >= kHeldInTheirSliceFrom) {
    if (const grpc::Slice* held = slices.ReleaseUpTo(pieces[0]); held != nullptr) {
      return Buffer::Wrap(pieces[0].data(), pieces[0].size(), [slice = *held] {});
    }
  }
  uint64_t size = 0;
  for (std::string_view piece : pieces) size += piece.size();
  if (size < kHugePageThreshold) {
    // From the heap, which the next call's input reuses: Buffer::Allocate's aligned allocation
    // of a 4 MB input met fresh pages on most calls (900 page faults a call, against 200).
    std::string gathered;
    gathered.reserve(size);
    for (std::string_view piece : pieces) gathered.append(piece);
    return Buffer::FromString(std::move(gathered));
  }
  // A mapping of its own with huge pages (a dozen page faults for 12 MB, where the heap's own
  // mapping of that size took 3,000).
  auto [buffer, bytes] = Buffer::Allocate(size);
  for (std::string_view piece : pieces) {
    slices.ReleaseUpTo(piece);
    std::memcpy(bytes, piece.data(), piece.size());
    bytes += piece.size();
  }
  return buffer;
}

// Copies the field whose `tag` was just read, as it came, to `out`. False for a group (left to
// protobuf) or a field cut short.
bool CopyField(SliceCursor& cursor, uint64_t tag, std::string* out) {
  HeaderBytes header;
  header.Varint(tag);
  uint64_t value = 0;
  switch (tag & 7) {
    case kVarint:
      if (!cursor.ReadVarint(&value)) return false;
      header.Varint(value);
      out->append(header.view());
      return true;
    case kLengthDelimited:
      if (!cursor.ReadLength(&value)) return false;
      header.Varint(value);
      out->append(header.view());
      return cursor.CopyTo(value, out);
    case kFixed64:
    case kFixed32:
      out->append(header.view());
      return cursor.CopyTo((tag & 7) == kFixed64 ? 8 : 4, out);
    default:
      return false;
  }
}

// Reads the fields of a message of `length` bytes at the cursor (the whole rest when `length`
// is the cursor's remaining()): `on_field(tag)` reads each field whose tag it is given and
// returns whether it was in form. False when a field runs past the message.
template <typename OnField>
bool ReadFields(SliceCursor& cursor, uint64_t length, OnField on_field) {
  if (length > cursor.remaining()) return false;
  const uint64_t end = cursor.remaining() - length;
  while (cursor.remaining() > end) {
    uint64_t tag = 0;
    if (!cursor.ReadTag(&tag) || !on_field(tag) || cursor.remaining() < end) return false;
  }
  return true;
}

// `bytes` as length-delimited field `field`, appended to `out`.
void AppendField(uint32_t field, std::string_view bytes, std::string* out) {
  out->append(LengthPrefixOf(field, bytes.size()));
  out->append(bytes);
}

// A message's bytes field `data` (field 1) as the pieces of the received slices it lies in, and
// its other fields parsed into `rest`: the reading TakeRequestData and TakeResponseData share.
// `parsed` is set instead when the message is not in the form read here (protobuf parsed it).
struct ScannedData {
  std::optional<ReleasedSlices> slices;  // the only references left to the received bytes
  Pieces pieces;                         // the data, in `slices`
  std::optional<Buffer> parsed;
};

template <typename Message>
absl::StatusOr<ScannedData> ScanData(grpc::ByteBuffer& message, Message* rest) {
  static_assert(Message::kDataFieldNumber == 1);
  ScannedData scanned;
  std::vector<grpc::Slice> slices;
  bool in_form = message.Valid() && message.Dump(&slices).ok();
  std::string others;  // every other field, as it came, for protobuf to parse
  if (in_form) {
    SliceCursor cursor(slices);
    bool seen_data = false;
    in_form = ReadFields(cursor, cursor.remaining(), [&](uint64_t tag) {
      if (tag != Tag(Message::kDataFieldNumber, kLengthDelimited)) {
        return CopyField(cursor, tag, &others);
      }
      // A second occurrence replaces the first in protobuf's reading: left to it.
      uint64_t length = 0;
      const bool first = !seen_data;
      seen_data = true;
      return first && cursor.ReadLength(&length) && cursor.Take(length, &scanned.pieces);
    });
  }
  if (!in_form) {
    // Parsed as protobuf would; the data is then the string it parsed into.
    if (!ParseMessage(message, rest).ok()) return NotA(*rest);
    scanned.pieces.clear();
    scanned.parsed = Buffer::FromString(std::move(*rest->mutable_data()));
    return scanned;
  }
  if (!rest->ParseFromString(others)) return NotA(*rest);
  message.Clear();  // `slices` holds the only references left to the received bytes
  scanned.slices.emplace(std::move(slices));
  return scanned;
}

// TakeRequestData for any request: the data as one Buffer.
template <typename Request>
absl::StatusOr<Buffer> TakeData(grpc::ByteBuffer& message, Request* rest) {
  ASSIGN_OR_RETURN(ScannedData scanned, ScanData(message, rest));
  if (scanned.parsed.has_value()) return *std::move(scanned.parsed);
  return GatherPieces(scanned.pieces, *scanned.slices);
}

// TakeResponseData for either response: the data as Buffers over the slices it arrived in.
template <typename Response>
absl::StatusOr<BufferChain> TakeDataPieces(grpc::ByteBuffer& message, Response* rest) {
  ASSIGN_OR_RETURN(ScannedData scanned, ScanData(message, rest));
  BufferChain chain;
  if (scanned.parsed.has_value()) {
    chain.Append(*std::move(scanned.parsed));
    return chain;
  }
  // The slices stay alive as long as any Buffer over them.
  auto owner = std::make_shared<ReleasedSlices>(*std::move(scanned.slices));
  for (std::string_view piece : scanned.pieces) {
    chain.Append(Buffer::Wrap(piece.data(), piece.size(), [owner] {}));
  }
  return chain;
}

// A node of a DeserializeResponse's value taken apart: its id and its array's data.
struct TakenArray {
  uint32_t id;
  Pieces data;
};

// Whether field `number` of a Node is one of its kinds (the oneof): a kind after the array
// replaces it in protobuf's reading.
bool IsNodeKind(uint64_t number) {
  const google::protobuf::FieldDescriptor* field =
      pb::Node::descriptor()->FindFieldByNumber(static_cast<int>(number));
  return field != nullptr && field->real_containing_oneof() != nullptr;  // not optional's own
}

// A Node of `length` bytes at the cursor, its array's data taken into `data` and every other
// field copied to `out` (the array re-encoded without its data). False when the node is not in
// the form read here: an array twice, or a kind after it, or data twice in the array.
bool ScanNode(SliceCursor& cursor, uint64_t length, std::string* out, Pieces* data) {
  bool seen_array = false;
  return ReadFields(cursor, length, [&](uint64_t tag) {
    if (tag != Tag(pb::Node::kArrayFieldNumber, kLengthDelimited)) {
      return !(seen_array && IsNodeKind(tag >> 3)) && CopyField(cursor, tag, out);
    }
    uint64_t array_length = 0;
    if (seen_array || !cursor.ReadLength(&array_length)) return false;
    seen_array = true;
    std::string array;
    bool seen_data = false;
    const bool in_form = ReadFields(cursor, array_length, [&](uint64_t array_tag) {
      if (array_tag != Tag(pb::Array::kDataFieldNumber, kLengthDelimited)) {
        return CopyField(cursor, array_tag, &array);
      }
      uint64_t data_length = 0;
      const bool first = !seen_data;
      seen_data = true;
      return first && cursor.ReadLength(&data_length) && cursor.Take(data_length, data);
    });
    AppendField(pb::Node::kArrayFieldNumber, array, out);
    return in_form;
  });
}

// A Value of `length` bytes at the cursor, the data of the arrays of nodes of kTakenNodeBytes or
// more taken into `arrays`, everything else copied to `out`.
bool ScanValue(SliceCursor& cursor, uint64_t length, std::string* out,
               std::vector<TakenArray>* arrays) {
  // Smaller nodes cost less copied with the message than taken apart (the server splices arrays
  // from 64 KiB: serializer_service.cc kSplicedArrayBytes).
  constexpr uint64_t kTakenNodeBytes = uint64_t{32} << 10;
  uint32_t next_id = 0;
  return ReadFields(cursor, length, [&](uint64_t tag) {
    if (tag != Tag(pb::Value::kNodesFieldNumber, kLengthDelimited)) {
      return CopyField(cursor, tag, out);
    }
    const uint32_t id = next_id++;
    uint64_t node_length = 0;
    if (!cursor.ReadLength(&node_length)) return false;
    if (node_length < kTakenNodeBytes) {
      HeaderBytes header;
      header.LengthPrefix(pb::Value::kNodesFieldNumber, node_length);
      out->append(header.view());
      return cursor.CopyTo(node_length, out);
    }
    TakenArray taken{id, {}};
    std::string node;
    if (!ScanNode(cursor, node_length, &node, &taken.data)) return false;
    AppendField(pb::Value::kNodesFieldNumber, node, out);
    if (!taken.data.empty()) arrays->push_back(std::move(taken));
    return true;
  });
}

}  // namespace

void SplicedMessage::Append(std::string encoded) {
  size_ += encoded.size();
  if (!encoded.empty()) pieces_.emplace_back(std::move(encoded));
}

void SplicedMessage::Append(const Buffer& data) {
  size_ += data.size();
  if (data.size() > 0) pieces_.emplace_back(data);
}

void SplicedMessage::Append(SplicedMessage&& other) {
  size_ += other.size_;
  for (auto& piece : other.pieces_) pieces_.push_back(std::move(piece));
  other.pieces_.clear();
  other.size_ = 0;
}

void SplicedMessage::WrapAsField(uint32_t field) {
  std::string prefix = LengthPrefixOf(field, size_);
  size_ += prefix.size();
  pieces_.insert(pieces_.begin(), std::move(prefix));
}

grpc::ByteBuffer SplicedMessage::Finish() && {
  std::vector<grpc::Slice> slices;
  std::string encoded;  // adjacent encoded pieces, gathered
  auto flush = [&] {
    if (encoded.empty()) return;
    slices.emplace_back(encoded.data(), encoded.size());
    encoded.clear();
  };
  for (const auto& piece : pieces_) {
    if (const auto* bytes = std::get_if<std::string>(&piece)) {
      encoded.append(*bytes);
    } else {
      flush();
      slices.push_back(SliceOver(std::get<Buffer>(piece)));
    }
  }
  flush();
  pieces_.clear();
  size_ = 0;
  return grpc::ByteBuffer(slices.data(), slices.size());
}

absl::StatusOr<Buffer> TakeRequestData(grpc::ByteBuffer& message, pb::DeserializeRequest* rest) {
  return TakeData(message, rest);
}

absl::StatusOr<Buffer> TakeRequestData(grpc::ByteBuffer& message, pb::ConvertRequest* rest) {
  return TakeData(message, rest);
}

absl::StatusOr<Buffer> TakeRequestData(grpc::ByteBuffer& message, pb::InspectRequest* rest) {
  return TakeData(message, rest);
}

absl::StatusOr<BufferChain> TakeResponseData(grpc::ByteBuffer& message, pb::ConvertResponse* rest) {
  return TakeDataPieces(message, rest);
}

absl::StatusOr<BufferChain> TakeResponseData(grpc::ByteBuffer& message,
                                             pb::SerializeResponse* rest) {
  return TakeDataPieces(message, rest);
}

absl::StatusOr<absl::flat_hash_map<uint32_t, Buffer>> TakeResponseArrays(
    grpc::ByteBuffer& message, pb::DeserializeResponse* rest) {
  static_assert(pb::DeserializeResponse::kValueFieldNumber == 1);
  std::vector<grpc::Slice> slices;
  bool in_form = message.Valid() && message.Dump(&slices).ok();
  std::string others;  // the response's other fields, for protobuf to parse
  std::string value;   // the value's fields but the arrays' data, parsed into rest's value
  bool seen_value = false;
  std::vector<TakenArray> arrays;
  if (in_form) {
    SliceCursor cursor(slices);
    in_form = ReadFields(cursor, cursor.remaining(), [&](uint64_t tag) {
      if (tag != Tag(pb::DeserializeResponse::kValueFieldNumber, kLengthDelimited)) {
        return CopyField(cursor, tag, &others);
      }
      // A second value merges into the first in protobuf's reading: left to it.
      uint64_t length = 0;
      if (seen_value || !cursor.ReadLength(&length)) return false;
      seen_value = true;
      return ScanValue(cursor, length, &value, &arrays);
    });
  }
  absl::flat_hash_map<uint32_t, Buffer> taken;
  if (!in_form) {
    if (!ParseMessage(message, rest).ok()) return NotA(*rest);
    return taken;  // the data stays in `rest`
  }
  if (!rest->ParseFromString(others) ||
      (seen_value && !rest->mutable_value()->ParseFromString(value))) {
    return NotA(*rest);
  }
  message.Clear();  // `slices` holds the only references left to the received bytes
  ReleasedSlices released(std::move(slices));
  for (const TakenArray& array : arrays) taken[array.id] = GatherPieces(array.data, released);
  return taken;
}

grpc::ByteBuffer EncodeRequest(const Buffer& data, const google::protobuf::MessageLite& rest) {
  BufferChain pieces;
  pieces.Append(data);
  return OutputAndRest(pieces, rest.SerializeAsString());
}

grpc::ByteBuffer EncodeConvertResponse(pb::ConvertResponse&& response, const BufferChain& output) {
  static_assert(pb::ConvertResponse::kDataFieldNumber == 1);
  response.clear_data();
  return OutputAndRest(output, response.SerializeAsString());
}

grpc::ByteBuffer EncodeSerializeResponse(const BufferChain& output) {
  static_assert(pb::SerializeResponse::kDataFieldNumber == 1);
  return OutputAndRest(output, "");
}

grpc::ByteBuffer EncodeDeserializeResponse(pb::DeserializeResponse&& response,
                                           const SplicedArrays& arrays) {
  // Nothing to splice: protobuf's own bytes, in one go.
  if (arrays.empty()) return SerializeMessage(response);
  // The response's other fields (the format), then its Data or Value with the arrays spliced.
  const bool data_view = response.has_data();
  pb::Data data;
  pb::Value value;
  if (data_view) {
    data.Swap(response.mutable_data());
  } else {
    value.Swap(response.mutable_value());
  }
  response.clear_data();
  response.clear_value();
  SplicedMessage out;
  out.Append(response.SerializeAsString());
  out.Append(data_view
                 ? ContainerWithData(data, data.mutable_items(),
                                     pb::DeserializeResponse::kDataFieldNumber,
                                     pb::Data::kItemsFieldNumber, pb::DataItem::kArrayFieldNumber,
                                     pb::NdArray::kDataFieldNumber, arrays)
                 : ContainerWithData(value, value.mutable_nodes(),
                                     pb::DeserializeResponse::kValueFieldNumber,
                                     pb::Value::kNodesFieldNumber, pb::Node::kArrayFieldNumber,
                                     pb::Array::kDataFieldNumber, arrays));
  return std::move(out).Finish();
}

}  // namespace seriald::wire
