#include "core/arrays/npz.h"

#include <zip.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/arrays/internal/zip_sources.h"
#include "core/arrays/npy.h"
#include "core/io/growable_buffer.h"
#include "core/io/input_error.h"
#include "core/status_macros.h"

namespace seriald::arrays {
namespace {

constexpr std::string_view kSuffix = ".npy";
// Entries declared this large or larger are extracted this much at a time, so that memory follows
// the bytes that actually come out of them rather than the size their headers declare.
constexpr uint64_t kExtractChunk = uint64_t{1} << 20;
// Every entry's DOS time stamp: 1980-01-01 00:00, what numpy.savez writes, set as DOS fields so
// that the output does not depend on the time zone it is written in.
constexpr zip_uint16_t kEntryDosTime = 0;
constexpr zip_uint16_t kEntryDosDate = (0 << 9) | (1 << 5) | 1;  // years since 1980, month, day
// zlib's default level, the one numpy.savez_compressed gets from Python's zipfile (libzip's own
// default is 9: slower, for a few percent).
constexpr uint32_t kDeflateLevel = 6;

struct ArchiveDiscard {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using Archive = std::unique_ptr<zip_t, ArchiveDiscard>;

struct SourceFree {
  void operator()(zip_source_t* source) const { zip_source_free(source); }
};
using Source = std::unique_ptr<zip_source_t, SourceFree>;

struct FileClose {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using EntryFile = std::unique_ptr<zip_file_t, FileClose>;

// libzip's message for `error`, which is then released.
std::string TakeMessage(zip_error_t* error) {
  std::string message = zip_error_strerror(error);
  zip_error_fini(error);
  return message;
}

absl::Status ArchiveError(std::string_view problem) { return InputError("npz", 0, problem); }

// Opens `input` read-only, without copying it; `input` must outlive the archive.
absl::StatusOr<Archive> OpenArchive(const Buffer& input, int flags) {
  // libzip opens an empty source as a new, empty archive; as input it is no archive at all.
  if (input.empty()) return ArchiveError("not a ZIP archive (the input is empty)");
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(input.data(), input.size(), 0, &error);
  if (source == nullptr) return absl::InternalError(TakeMessage(&error));
  zip_t* archive = zip_open_from_source(source, flags | ZIP_RDONLY, &error);
  if (archive == nullptr) {
    zip_source_free(source);
    const bool duplicate = zip_error_code_zip(&error) == ZIP_ER_EXISTS;
    std::string message = TakeMessage(&error);
    // libzip's own words for this one ("File already exists") describe creating files.
    if (duplicate) message = "two entries have one name";
    return ArchiveError(absl::StrCat("not a readable ZIP archive (", message, ")"));
  }
  zip_error_fini(&error);
  return Archive(archive);  // owns the source now
}

bool IsNpyName(std::string_view name) {
  return name.size() >= kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix;
}

// The bytes of entry `index`, declared to be `declared` bytes long. Small entries get a buffer of
// their declared size at once (one allocation, no mapping of their own); large ones grow with the
// bytes that actually come out, from `reserve` bytes the input justifies.
absl::StatusOr<Buffer> Extract(zip_t* archive, zip_uint64_t index, std::string_view name,
                               uint64_t declared, uint64_t reserve) {
  EntryFile file(zip_fopen_index(archive, index, 0));
  if (file == nullptr) {
    return ArchiveError(
        absl::StrCat("cannot open entry '", AsAbsl(name), "' (", zip_strerror(archive), ")"));
  }
  // Reads up to `size` bytes into `space`; 0 at the end of the entry.
  auto read = [&](void* space, uint64_t size) -> absl::StatusOr<uint64_t> {
    const zip_int64_t n = zip_fread(file.get(), space, size);
    if (n < 0) {
      return ArchiveError(absl::StrCat("entry '", AsAbsl(name), "' is corrupt (",
                                       zip_error_strerror(zip_file_get_error(file.get())), ")"));
    }
    return static_cast<uint64_t>(n);
  };
  Buffer bytes;
  uint64_t extracted = 0;
  if (declared < kExtractChunk) {
    auto [buffer, space] = Buffer::Allocate(declared);
    while (extracted < declared) {
      ASSIGN_OR_RETURN(uint64_t n, read(space + extracted, declared - extracted));
      if (n == 0) break;
      extracted += n;
    }
    bytes = std::move(buffer);
  } else {
    GrowableBuffer growing;
    RETURN_IF_ERROR(growing.Reserve(static_cast<size_t>(reserve)));
    while (extracted < declared) {
      size_t available = 0;
      const uint64_t wanted = std::min(declared - extracted, kExtractChunk);
      ASSIGN_OR_RETURN(uint8_t * space, growing.WritableSpace(wanted, &available));
      ASSIGN_OR_RETURN(uint64_t n, read(space, std::min<uint64_t>(available, wanted)));
      if (n == 0) break;
      growing.Commit(static_cast<size_t>(n));
      extracted += n;
    }
    bytes = std::move(growing).Finish();
  }
  if (extracted != declared) {
    return ArchiveError(absl::StrCat("entry '", AsAbsl(name), "' extracts to ", extracted,
                                     " bytes, not its declared ", declared));
  }
  // The entry must end here. Reading to its end is also what makes libzip check the CRC.
  uint8_t probe;
  ASSIGN_OR_RETURN(uint64_t more, read(&probe, 1));
  if (more != 0) {
    return ArchiveError(absl::StrCat("entry '", AsAbsl(name),
                                     "' extracts to more than its declared ", declared, " bytes"));
  }
  return bytes;
}

}  // namespace

bool LooksLikeNpz(const Buffer& input) {
  // A local file header, or the end record alone (an empty archive), before asking libzip.
  const std::string_view head = input.view().substr(0, 4);
  if (head != std::string_view("PK\x03\x04", 4) && head != std::string_view("PK\x05\x06", 4)) {
    return false;
  }
  absl::StatusOr<Archive> archive = OpenArchive(input, 0);
  if (!archive.ok()) return false;
  const zip_int64_t count = zip_get_num_entries(archive->get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* name = zip_get_name(archive->get(), static_cast<zip_uint64_t>(i), 0);
    if (name == nullptr || !IsNpyName(name)) return false;
  }
  return count >= 0;
}

absl::StatusOr<std::vector<NamedArray>> ReadNpz(const Buffer& input,
                                                const ArrayReadLimits& limits) {
  // ZIP_CHECKCONS: the local headers must agree with the central directory, so that what was
  // checked against the limit is what gets extracted.
  ASSIGN_OR_RETURN(Archive archive, OpenArchive(input, ZIP_CHECKCONS));
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  if (count < 0) return ArchiveError("cannot count the entries");
  std::vector<NamedArray> arrays;
  absl::flat_hash_set<std::string> names;
  uint64_t total = 0;
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive.get(), index, 0, &stat) != 0) {
      return ArchiveError(
          absl::StrCat("cannot read entry ", i, " (", zip_strerror(archive.get()), ")"));
    }
    const std::string_view entry = (stat.valid & ZIP_STAT_NAME) ? stat.name : "";
    if (!IsNpyName(entry)) {
      return ArchiveError(absl::StrCat("entry '", AsAbsl(entry),
                                       "' is not an .npy file (an npz holds only those)"));
    }
    if ((stat.valid & ZIP_STAT_SIZE) == 0 || (stat.valid & ZIP_STAT_COMP_SIZE) == 0) {
      return ArchiveError(absl::StrCat("entry '", AsAbsl(entry), "' declares no size"));
    }
    if (stat.size > limits.max_decompressed_bytes - total) {
      return LimitExceeded(
          "max-decompressed-bytes",
          absl::StrCat("npz: entry '", AsAbsl(entry), "' declares ", stat.size,
                       " bytes, which with the ", total, " bytes of the entries before it exceeds ",
                       limits.max_decompressed_bytes,
                       " bytes (ArrayReadLimits::max_decompressed_bytes)"));
    }
    total += stat.size;
    std::string name(entry.substr(0, entry.size() - kSuffix.size()));
    if (!names.insert(name).second) {
      return ArchiveError(absl::StrCat("entry '", AsAbsl(entry), "' appears twice"));
    }
    // A stored entry extracts to exactly its compressed size, a deflated one to at least that;
    // neither can be larger than the input it comes from.
    const uint64_t reserve = std::min({stat.size, stat.comp_size, uint64_t{input.size()}});
    ASSIGN_OR_RETURN(Buffer bytes, Extract(archive.get(), index, entry, stat.size, reserve));
    ASSIGN_OR_RETURN(data::NdArray array, ReadNpy(bytes, name));
    arrays.push_back({std::move(name), std::move(array)});
  }
  return arrays;
}

absl::Status WriteNpz(const std::vector<NamedArray>& arrays, const NpzWriteOptions& options,
                      ByteWriter& out) {
  absl::flat_hash_set<std::string_view> names;
  for (const NamedArray& named : arrays) {
    // ZIP entry names are C strings to libzip and to Python's zipfile: both would cut the name.
    if (named.name.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("npz: the array name '", absl::CEscape(named.name),
                       "' holds a NUL byte, which a ZIP entry name cannot hold"));
    }
    if (!names.insert(named.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("npz: two arrays are named '", AsAbsl(named.name), "'"));
    }
  }
  // Every entry's npy parts first, so that an array npy refuses stops the archive before it is
  // begun. libzip reads each entry from its array a step at a time when the archive is closed.
  std::vector<std::unique_ptr<internal::EntrySource>> entries;
  uint64_t entry_bytes = 0;
  for (const NamedArray& named : arrays) {
    ASSIGN_OR_RETURN(NpyParts parts, NpyPartsOf(named.array, named.name));
    entry_bytes += parts.size();
    entries.push_back(std::make_unique<internal::EntrySource>(std::move(parts)));
  }

  // The archive goes to a spill file when it is large and there is a directory for one; else to
  // memory. Declared before the archive, which uses it until it is closed or discarded.
  std::unique_ptr<internal::SpillFileTarget> spilled;
  zip_error_t error;
  zip_error_init(&error);
  Source target;
  if (!options.spill_dir.empty() && entry_bytes > options.spill_above) {
    ASSIGN_OR_RETURN(spilled,
                     internal::SpillFileTarget::Create(options.spill_dir, options.reserve_spill));
    ASSIGN_OR_RETURN(zip_source_t * source, spilled->NewSource());
    target.reset(source);
  } else {
    target.reset(zip_source_buffer_create(nullptr, 0, 0, &error));
    if (target == nullptr) return absl::InternalError(TakeMessage(&error));
  }
  zip_t* opened = zip_open_from_source(target.get(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (opened == nullptr) return absl::InternalError(TakeMessage(&error));
  zip_error_fini(&error);
  // The archive takes over the one reference `target` holds; keep another so that the finished
  // bytes can still be read once the archive is closed.
  zip_source_keep(target.get());
  Archive archive(opened);
  auto internal = [&](std::string_view what) {
    // A read or write error libzip only saw as -1 says what it was.
    for (const auto& entry : entries) {
      if (!entry->status().ok()) return entry->status();
    }
    if (spilled != nullptr && !spilled->status().ok()) return spilled->status();
    return absl::InternalError(
        absl::StrCat("npz: ", AsAbsl(what), ": ", zip_strerror(archive.get())));
  };

  for (size_t i = 0; i < arrays.size(); ++i) {
    ASSIGN_OR_RETURN(zip_source_t * source, entries[i]->Create());
    const std::string entry = absl::StrCat(arrays[i].name, AsAbsl(kSuffix));
    const zip_int64_t index = zip_file_add(archive.get(), entry.c_str(), source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      return internal(absl::StrCat("adding entry '", entry, "'"));
    }
    const auto at = static_cast<zip_uint64_t>(index);
    if (zip_set_file_compression(archive.get(), at,
                                 options.compressed ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                                 options.compressed ? kDeflateLevel : 0) != 0 ||
        zip_file_set_dostime(archive.get(), at, kEntryDosTime, kEntryDosDate, 0) != 0) {
      return internal(absl::StrCat("setting up entry '", entry, "'"));
    }
  }
  if (zip_close(archive.get()) != 0) return internal("writing the archive");
  archive.release();  // zip_close freed it

  if (zip_source_is_deleted(target.get())) {
    // libzip writes nothing for an archive without entries; numpy.savez() writes the ZIP end
    // record alone, and so does this.
    out.Append(std::string_view("PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22));
    return absl::OkStatus();
  }
  if (spilled != nullptr) {
    // The file's mapping, which the output's consumer reads a step at a time (serialctl from the
    // file, the service's chunk sender), so the archive is never resident as a whole.
    target.reset();
    ASSIGN_OR_RETURN(Buffer archive_bytes, std::move(*spilled).Finish());
    out.AppendShared(archive_bytes);
    return absl::OkStatus();
  }
  if (zip_source_open(target.get()) != 0) {
    return absl::InternalError(absl::StrCat("npz: reading the archive back: ",
                                            zip_error_strerror(zip_source_error(target.get()))));
  }
  while (out.ok()) {
    size_t available = 0;
    uint8_t* space = out.WritableSpace(1, &available);
    const zip_int64_t n = zip_source_read(target.get(), space, available);
    if (n < 0) {
      const std::string message = zip_error_strerror(zip_source_error(target.get()));
      zip_source_close(target.get());
      return absl::InternalError(absl::StrCat("npz: reading the archive back: ", message));
    }
    if (n == 0) break;
    out.Commit(static_cast<size_t>(n));
  }
  zip_source_close(target.get());
  return absl::OkStatus();
}

}  // namespace seriald::arrays
