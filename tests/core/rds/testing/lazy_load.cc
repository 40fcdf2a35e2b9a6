#include "tests/core/rds/testing/lazy_load.h"

#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/mapping.h"
#include "core/io/file.h"
#include "core/rds/reader.h"
#include "tests/testing/files.h"
#include "zlib.h"

namespace seriald::testing {

std::string LazyLoadEntry::Where() const { return absl::StrCat(database, " at ", offset); }

namespace {

// A database's index: list(variables = list(name = c(offset, length), ...), references = ...,
// compressed = ...). Compressed TRUE (or 1) means zlib; 2 and 3 (bzip2, xz) carry a type byte
// this helper does not read, so the places of such entries are only counted.
struct Index {
  bool zlib = false;
  size_t entries = 0;
  std::vector<std::pair<uint64_t, uint64_t>> places;  // offset and length of each zlib entry
};

absl::StatusOr<Index> ReadIndex(const std::string& index_path) {
  absl::StatusOr<Buffer> index_bytes = ReadFile(index_path);
  if (!index_bytes.ok()) return index_bytes.status();
  absl::StatusOr<Value> index = ReadR(*index_bytes);
  if (!index.ok())
    return absl::InternalError(absl::StrCat(index_path, ": ", index.status().message()));
  absl::StatusOr<data::Data> plain = ToData(*index);
  if (!plain.ok())
    return absl::InternalError(absl::StrCat(index_path, ": ", plain.status().message()));
  const data::Item& root_item = plain->item(plain->roots()[0]);
  const auto* fields = plain->GetIf<data::Sequence>(plain->roots()[0]);
  const auto* names = plain->GetIf<data::Strings>(root_item.names);
  if (fields == nullptr || names == nullptr) {
    return absl::InternalError(absl::StrCat(index_path, ": not a lazy-load index"));
  }
  Index result;
  std::vector<ItemId> items;  // the entries' places, in the index's order
  for (size_t i = 0; i < fields->items.size(); ++i) {
    const std::string_view name = names->values.Get(i).bytes;
    if (name == "compressed") {
      const auto* flag = plain->GetIf<data::NdArray>(fields->items[i]);
      int32_t value = 0;
      if (flag != nullptr && flag->length == 1 && flag->dtype != ElementType::kFloat64) {
        std::memcpy(&value, flag->data.data(), 4);
      } else if (flag != nullptr && flag->length == 1) {
        double d;
        std::memcpy(&d, flag->data.data(), 8);
        value = static_cast<int32_t>(d);
      }
      result.zlib = value == 1;
    } else if (name == "variables" || name == "references") {
      const auto* list = plain->GetIf<data::Sequence>(fields->items[i]);
      if (list != nullptr) items.insert(items.end(), list->items.begin(), list->items.end());
    }
  }
  result.entries = items.size();
  if (!result.zlib) return result;
  for (ItemId item : items) {
    const auto* where = plain->GetIf<data::NdArray>(item);
    if (where == nullptr || where->length != 2 || where->dtype != ElementType::kInt32) {
      return absl::InternalError(absl::StrCat(index_path, ": an entry without its place"));
    }
    int32_t offset_and_length[2];
    std::memcpy(offset_and_length, where->data.data(), 8);
    result.places.emplace_back(static_cast<uint64_t>(offset_and_length[0]),
                               static_cast<uint64_t>(offset_and_length[1]));
  }
  return result;
}

}  // namespace

absl::Status ForEachLazyLoadEntry(const std::function<void(const LazyLoadEntry&)>& visit,
                                  LazyLoadCounts* counts) {
  namespace fs = std::filesystem;
  LazyLoadCounts counted;
  for (const std::string& index_path : InstalledRFiles()) {
    fs::path database(index_path);
    if (database.extension() != ".rdx") continue;
    database.replace_extension(".rdb");
    if (!fs::exists(database)) continue;
    absl::StatusOr<Index> index = ReadIndex(index_path);
    if (!index.ok()) return index.status();
    absl::StatusOr<Buffer> blob = ReadFile(database.string());
    if (!blob.ok()) return blob.status();
    ++counted.databases;
    if (!index->zlib) {
      counted.other_compression += static_cast<int>(index->entries);
      continue;
    }
    for (const auto& [offset, length] : index->places) {
      LazyLoadEntry entry{database.string(), offset, Buffer()};
      if (offset + length > blob->size() || length < 4) {
        return absl::InternalError(entry.Where() + ": the entry lies outside the database");
      }
      const uint8_t* p = blob->data() + offset;
      uLongf size = (uLongf{p[0]} << 24) | (uLongf{p[1]} << 16) | (uLongf{p[2]} << 8) | p[3];
      std::string stream(size, '\0');
      if (::uncompress(reinterpret_cast<Bytef*>(stream.data()), &size, p + 4, length - 4) != Z_OK) {
        return absl::InternalError(entry.Where() + ": not a zlib stream");
      }
      stream.resize(size);
      entry.stream = Buffer::FromString(std::move(stream));
      ++counted.entries;
      visit(entry);
    }
  }
  if (counts != nullptr) *counts = counted;
  return absl::OkStatus();
}

}  // namespace seriald::testing
