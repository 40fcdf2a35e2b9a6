// fuzz_seed_tool: builds the seed corpus of every fuzz target from Torch7 and R files, so that no
// binary seeds need to be committed. fuzz/make_seeds.sh collects the files and runs this.
//
//   fuzz_seed_tool OUT_DIR T7_DIR R_DIR
//
// Writes OUT_DIR/<target>/ for each target (see each target's header comment for its input
// layout): the files themselves with the target's option bytes in front (torch7_fuzzer,
// rds_fuzzer, convert_fuzzer), as they are (detect_fuzzer), and what the library makes of them,
// through the same calls serialctl and the service use: their JSON form (json_fuzzer), their
// seriald.v1.Value and seriald.v1.Data messages (proto_value_fuzzer, proto_data_fuzzer), and
// their conversion to npy, npz and safetensors (arrays_fuzzer), and the files sent as chunks of
// the streaming calls (chunk_wire_fuzzer). Each corpus holds at most
// kMaxSeeds files of at most kMaxSeedBytes (generated ones at most kMaxGeneratedBytes, the fuzz
// runs' -max_len, since a truncated JSON text or message is no seed at all); larger sets are
// thinned evenly.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/convert/convert.h"
#include "core/data/mapping.h"
#include "core/format/codec.h"
#include "core/io/byte_writer.h"
#include "proto/data_conversion.h"
#include "proto/json_codec.h"
#include "proto/value_conversion.h"
#include "proto/value_json.h"
#include "seriald/v1/serializer.pb.h"

namespace seriald {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxSeeds = 300;
constexpr size_t kMaxSeedBytes = size_t{1} << 20;
constexpr size_t kMaxGeneratedBytes = size_t{64} << 10;

struct Seed {
  std::string name;
  std::string bytes;
};

class Corpora {
 public:
  void Add(const std::string& target, std::string name, std::string bytes, size_t limit) {
    if (bytes.size() > limit) return;
    seeds_[target].push_back({std::move(name), std::move(bytes)});
  }

  // Writes every corpus, thinned to kMaxSeeds. Returns false on an I/O error.
  bool Write(const fs::path& root) const {
    for (const auto& [target, all] : seeds_) {
      const fs::path dir = root / target;
      fs::create_directories(dir);
      const size_t keep = std::min(all.size(), kMaxSeeds);
      for (size_t k = 0; k < keep; ++k) {
        const Seed& seed = all[k * all.size() / keep];
        char prefix[16];
        std::snprintf(prefix, sizeof prefix, "%03zu-", k);
        std::ofstream file(dir / (prefix + seed.name), std::ios::binary);
        file.write(seed.bytes.data(), static_cast<std::streamsize>(seed.bytes.size()));
        if (!file) {
          std::cerr << "fuzz_seed_tool: cannot write " << (dir / seed.name) << "\n";
          return false;
        }
      }
      std::cout << "fuzz_seed_tool: " << target << ": " << keep << " seeds (of " << all.size()
                << ")\n";
    }
    return true;
  }

 private:
  std::map<std::string, std::vector<Seed>> seeds_;
};

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.file_size() <= kMaxSeedBytes) files.push_back(entry);
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// A file name for a seed made from `path`: its parent directory and name, flattened.
std::string SeedName(const fs::path& path, std::string_view suffix = "") {
  std::string name = path.parent_path().filename().string() + "_" + path.filename().string();
  for (char& c : name) {
    if (c == '/' || c == ' ') c = '_';
  }
  return name + std::string(suffix);
}

std::string Bytes(std::initializer_list<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// The output of ConvertInput, or empty when the conversion fails.
std::string Convert(const Codec& from, const Codec& to, const Buffer& input) {
  ByteWriter out;
  ConversionNotes notes;
  WriteOptions options;
  options.drop_unconvertible = true;
  options.allow_inexact_integers = true;
  if (!ConvertInput(from, to, input, ReadOptions{}, options, out, notes).ok()) return "";
  BufferChain chain;
  if (!out.Finish(&chain).ok()) return "";
  return chain.ToString();
}

// Index of `name` in a target's table, for its option bytes.
uint8_t IndexIn(std::initializer_list<std::string_view> table, std::string_view name) {
  uint8_t i = 0;
  for (std::string_view entry : table) {
    if (entry == name) return i;
    ++i;
  }
  std::cerr << "fuzz_seed_tool: no " << name << " in a target's table\n";
  std::abort();
}

// convert_fuzzer's tables (fuzz/convert_fuzzer.cc).
constexpr std::initializer_list<std::string_view> kConvertInputs = {
    "", "t7", "t7-ascii", "rds", "safetensors", "npz", "npy", "json"};
constexpr std::initializer_list<std::string_view> kConvertOutputs = {
    "t7",    "t7-ascii", "rds", "rds-native",     "rds-ascii",   "rds-asciihex",
    "rdata", "npy",      "npz", "npz-compressed", "safetensors", "json"};

std::string ConvertOptions(std::string_view from, std::string_view to) {
  return Bytes(
      {static_cast<uint8_t>(IndexIn(kConvertInputs, from) | (IndexIn(kConvertOutputs, to) << 3)),
       0});
}

// One chunk in a message of chunk_wire_fuzzer's type `type` (its table: 0 and 1 carry an
// ArrayChunk, 2 to 4 a BytesChunk in an envelope, 5 a bare BytesChunk), as protobuf writes it.
template <typename Envelope, typename Chunk>
std::string Enveloped(const Chunk& chunk) {
  Envelope message;
  if constexpr (std::is_same_v<Chunk, v1::ArrayChunk>) {
    *message.mutable_array_chunk() = chunk;
  } else {
    *message.mutable_chunk() = chunk;
  }
  return message.SerializeAsString();
}

std::string ChunkMessage(uint8_t type, uint32_t node, uint64_t offset, std::string_view data) {
  if (type <= 1) {
    v1::ArrayChunk chunk;
    chunk.set_node(node);
    chunk.set_offset(offset);
    chunk.set_data(std::string(data));
    return type == 0 ? Enveloped<v1::DeserializeStreamResponse>(chunk)
                     : Enveloped<v1::SerializeStreamRequest>(chunk);
  }
  v1::BytesChunk chunk;
  chunk.set_data(std::string(data));
  switch (type) {
    case 2:
      return Enveloped<v1::ConvertStreamRequest>(chunk);
    case 3:
      return Enveloped<v1::DeserializeStreamRequest>(chunk);
    case 4:
      return Enveloped<v1::ConvertStreamResponse>(chunk);
    default:
      return chunk.SerializeAsString();
  }
}

// chunk_wire_fuzzer's input (fuzz/chunk_wire_fuzzer.cc): the first 4 KiB of `raw` sent as chunks
// of message type `type` (0 to 5); for the array types (0 and 1), its two halves as arrays 0 and
// 1, their chunks interleaved.
std::string ChunkWireSeed(uint8_t type, std::string_view raw) {
  raw = raw.substr(0, 4096);
  const size_t half = raw.size() / 2;
  const bool array = type <= 1;
  // Arrays 0 and 1, or (bytes) the whole as one stream.
  const std::string_view parts[2] = {array ? raw.substr(0, half) : raw,
                                     array ? raw.substr(half) : std::string_view()};
  std::string seed = Bytes(
      {type, static_cast<uint8_t>(raw.size()), static_cast<uint8_t>(parts[0].size() & 0xff),
       static_cast<uint8_t>(parts[0].size() >> 8), static_cast<uint8_t>(parts[1].size() & 0xff),
       static_cast<uint8_t>(parts[1].size() >> 8)});
  constexpr size_t kChunk = 1000;
  for (size_t offset = 0; offset < parts[0].size(); offset += kChunk) {
    for (uint32_t node = 0; node < 2; ++node) {
      if (offset >= parts[node].size()) continue;
      const std::string message =
          ChunkMessage(type, node, offset, parts[node].substr(offset, kChunk));
      seed.push_back(static_cast<char>(message.size() & 0xff));
      seed.push_back(static_cast<char>(message.size() >> 8));
      seed += message;
    }
  }
  return seed;
}

// chunk_wire_fuzzer's input holding a unary DeserializeResponse with an array node large enough
// (40,000 bytes) for TakeResponseArrays to take its data out, between two small nodes.
std::string LargeArrayResponseSeed() {
  v1::DeserializeResponse response;
  response.set_format(v1::FORMAT_T7);
  v1::Value* value = response.mutable_value();
  value->add_nodes()->set_number(1.5);
  v1::Node* node = value->add_nodes();
  node->mutable_array()->set_type(v1::ELEMENT_TYPE_UINT8);
  node->mutable_array()->set_length(40000);
  node->mutable_array()->set_data(std::string(40000, 'a'));
  node->mutable_r_flags()->set_object(true);
  value->add_nodes()->mutable_nil();
  value->add_roots(1);
  const std::string message = response.SerializeAsString();
  return Bytes({5, 0, 0, 0, 0, 0, static_cast<uint8_t>(message.size() & 0xff),
                static_cast<uint8_t>(message.size() >> 8)}) +
         message;
}

int Main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: fuzz_seed_tool OUT_DIR T7_DIR R_DIR\n";
    return 2;
  }
  const fs::path out = argv[1];
  CodecRegistry registry = CoreCodecs();
  RegisterJsonCodec(registry);
  auto codec = [&registry](std::string_view name) -> const Codec& { return **registry.Find(name); };

  Corpora corpora;
  // First, so that thinning the corpus keeps it.
  corpora.Add("chunk_wire_fuzzer", "deserialize-response-large-array", LargeArrayResponseSeed(),
              kMaxSeedBytes);
  size_t files = 0;
  size_t index = 0;
  for (const auto& [family, dir] :
       {std::pair<std::string, fs::path>{"t7", argv[2]}, {"rds", argv[3]}}) {
    for (const fs::path& path : FilesIn(dir)) {
      ++files;
      ++index;
      const std::string raw = ReadAll(path);
      const std::string name = SeedName(path);
      const Buffer input = Buffer::Copy(raw);
      corpora.Add(family == "t7" ? "torch7_fuzzer" : "rds_fuzzer", name, Bytes({0, 0}) + raw,
                  kMaxSeedBytes);
      corpora.Add("detect_fuzzer", name, raw, kMaxSeedBytes);
      corpora.Add("chunk_wire_fuzzer", name, ChunkWireSeed(index % 6, raw), kMaxSeedBytes);
      // One conversion seed per file, to each target family in turn.
      static constexpr std::string_view kToFromT7[] = {"rds", "safetensors", "rds-ascii",
                                                       "npz", "rdata",       "json"};
      static constexpr std::string_view kToFromR[] = {"t7",  "safetensors", "t7-ascii",
                                                      "npz", "npy",         "json"};
      const std::string_view to = family == "t7" ? kToFromT7[index % 6] : kToFromR[index % 6];
      corpora.Add("convert_fuzzer", name, ConvertOptions(family, to) + raw, kMaxSeedBytes);

      absl::StatusOr<Value> value = codec(family).Read(input, ReadOptions{});
      if (!value.ok()) {
        std::cerr << "fuzz_seed_tool: " << path.string() << ": " << value.status() << "\n";
        continue;
      }
      if (absl::StatusOr<std::string> json = ValueToJson(*value, index % 2 == 0); json.ok()) {
        corpora.Add("json_fuzzer", name + ".json", *json, kMaxGeneratedBytes);
        corpora.Add("detect_fuzzer", name + ".json", *json, kMaxGeneratedBytes);
      }
      seriald::v1::Value message;
      if (ToProto(*value, &message).ok()) {
        corpora.Add("proto_value_fuzzer", name + ".pb", message.SerializeAsString(),
                    kMaxGeneratedBytes);
      }
      if (absl::StatusOr<data::Data> plain = ToData(*value); plain.ok()) {
        seriald::v1::Data data_message;
        if (DataToProto(*plain, &data_message).ok()) {
          corpora.Add("proto_data_fuzzer", name + ".pb", data_message.SerializeAsString(),
                      kMaxGeneratedBytes);
        }
      }
      for (const char* array_format : {"npy", "npz", "npz-compressed", "safetensors"}) {
        std::string converted = Convert(codec(family), codec(array_format), input);
        if (converted.empty()) continue;
        const std::string suffix = std::string(".") + array_format;
        corpora.Add("arrays_fuzzer", name + suffix, Bytes({0}) + converted, kMaxGeneratedBytes);
        corpora.Add("detect_fuzzer", name + suffix, converted, kMaxGeneratedBytes);
        // Array files into the other families.
        const std::string_view from = std::string_view(array_format) == "npz-compressed"
                                          ? "npz"
                                          : std::string_view(array_format);
        corpora.Add("convert_fuzzer", name + suffix,
                    ConvertOptions(from, index % 2 == 0 ? "rds" : "t7") + converted,
                    kMaxGeneratedBytes);
      }
    }
  }
  std::cout << "fuzz_seed_tool: " << files << " input files\n";
  return corpora.Write(out) ? 0 : 1;
}

}  // namespace
}  // namespace seriald

int main(int argc, char** argv) { return seriald::Main(argc, argv); }
