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

// `data`, `size` bytes in views into `slices` (in order, each in one slice), copied into one
// allocation, each slice released once its piece is copied and the freed heap pages given back
// every kGiveBackEveryBytes. Held until the end, the received slices and the copy made twice the
// input at the peak (2.02 times a 1 GiB request in service_benchmark); released, but with the
// pages left to the heap, 1.72 and 2.03 times in two runs: gRPC reads a message into heap blocks
// of a few hundred KiB, and an arena shrinks only from its top.
Buffer GatherReleasing(absl::Span<const std::string_view> data, std::vector<grpc::Slice>& slices,
                       uint64_t size) {
  constexpr uint64_t kGiveBackEveryBytes = uint64_t{64} << 20;
  auto [buffer, bytes] = Buffer::Allocate(size);
  size_t slice = 0;
  uint64_t released = 0;
  for (std::string_view piece : data) {
    std::memcpy(bytes, piece.data(), piece.size());
    bytes += piece.size();
    // Every slice up to the piece's own (the slices before the first piece hold only fields
    // already copied).
    const auto* first = reinterpret_cast<const uint8_t*>(piece.data());
    for (bool done = false; !done && slice < slices.size(); ++slice) {
      grpc::Slice& held = slices[slice];
      done = held.begin() <= first && first < held.end();
      released += held.size();
      held = grpc::Slice();
    }
    if (released >= kGiveBackEveryBytes) {
      GiveBackFreedHeapPages();
      released = 0;
    }
  }
  slices.clear();
  return buffer;
}

// A message's bytes field `data` (field 1) as the pieces of the received slices it lies in, and
// its other fields parsed into `rest`: the reading TakeRequestData and TakeResponseData share.
struct ScannedData {
  std::vector<grpc::Slice> slices;  // the only references left to the received bytes
  absl::InlinedVector<std::string_view, 4> pieces;  // the data, in `slices`
  std::optional<Buffer> parsed;                     // instead, when protobuf parsed the message
};

template <typename Message>
absl::StatusOr<ScannedData> ScanData(grpc::ByteBuffer& message, Message* rest) {
  static_assert(Message::kDataFieldNumber == 1);
  ScannedData scanned;
  std::vector<grpc::Slice>& slices = scanned.slices;
  bool in_form = message.Valid() && message.Dump(&slices).ok();
  absl::InlinedVector<std::string_view, 4>& data = scanned.pieces;
  std::string others;  // every other field, as it came, for protobuf to parse
  bool seen_data = false;
  if (in_form) {
    SliceCursor cursor(slices);
    while (in_form && cursor.remaining() > 0) {
      uint64_t tag = 0;
      uint64_t value = 0;
      in_form = cursor.ReadTag(&tag);
      if (!in_form) break;
      if (tag == Tag(Message::kDataFieldNumber, kLengthDelimited)) {
        // A second occurrence replaces the first in protobuf's reading: left to it.
        in_form = !seen_data && cursor.ReadLength(&value) && cursor.Take(value, &data);
        seen_data = true;
        continue;
      }
      HeaderBytes header;
      header.Varint(tag);
      switch (tag & 7) {
        case kVarint:
          in_form = cursor.ReadVarint(&value);
          header.Varint(value);
          others.append(header.view());
          break;
        case kLengthDelimited:
          in_form = cursor.ReadLength(&value);
          header.Varint(value);
          others.append(header.view());
          in_form = in_form && cursor.CopyTo(value, &others);
          break;
        case kFixed64:
        case kFixed32:
          others.append(header.view());
          in_form = cursor.CopyTo((tag & 7) == kFixed64 ? 8 : 4, &others);
          break;
        default:
          in_form = false;  // groups: left to protobuf
      }
    }
  }
  if (!in_form) {
    // Parsed as protobuf would; the data is then the string it parsed into.
    if (!ParseMessage(message, rest).ok()) {
      return NotA(*rest);
    }
    scanned.slices.clear();
    scanned.pieces.clear();
    scanned.parsed = Buffer::FromString(std::move(*rest->mutable_data()));
    return scanned;
  }
  if (!rest->ParseFromString(others)) {
    return NotA(*rest);
  }
  message.Clear();  // `slices` holds the only references left to the received bytes
  return scanned;
}

// TakeRequestData for any request: the data as one Buffer.
template <typename Request>
absl::StatusOr<Buffer> TakeData(grpc::ByteBuffer& message, Request* rest) {
  ASSIGN_OR_RETURN(ScannedData scanned, ScanData(message, rest));
  if (scanned.parsed.has_value()) return *std::move(scanned.parsed);
  const absl::InlinedVector<std::string_view, 4>& data = scanned.pieces;
  if (data.size() == 1) {
    // The slice stays alive as long as the Buffer over it.
    auto owner = std::make_shared<std::vector<grpc::Slice>>(std::move(scanned.slices));
    return Buffer::Wrap(data[0].data(), data[0].size(), [owner] {});
  }
  uint64_t size = 0;
  for (std::string_view piece : data) size += piece.size();
  if (size < kHugePageThreshold) {
    // From the heap, which the next call's input reuses: Buffer::Allocate's aligned allocation
    // of a 4 MB input met fresh pages on most calls (900 page faults a call, against 200).
    std::string gathered;
    gathered.reserve(size);
    for (std::string_view piece : data) gathered.append(piece);
    return Buffer::FromString(std::move(gathered));
  }
  // A mapping of its own with huge pages (a dozen page faults for 12 MB, where the heap's own
  // mapping of that size took 3,000).
  return GatherReleasing(data, scanned.slices, size);
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
  auto owner = std::make_shared<std::vector<grpc::Slice>>(std::move(scanned.slices));
  for (std::string_view piece : scanned.pieces) {
    chain.Append(Buffer::Wrap(piece.data(), piece.size(), [owner] {}));
  }
  return chain;
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
