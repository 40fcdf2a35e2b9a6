// File: core/arrays/internal/zip_sources.h
//
// The libzip sources npz's writer builds its archive with (zip_source_function), so that writing
// an archive holds neither its entries nor the archive itself in memory:
//
// - EntrySource hands libzip an entry's npy bytes a step at a time, straight from the array: the
//   preamble, then the elements (StepReader: a mapped input read from its file, a big-endian
//   array swapped a MiB at a time), instead of a finished npy copy of each entry.
// - SpillFileTarget is the archive libzip writes: an unnamed spill file (core/io/spill_file.h)
//   rather than memory. libzip goes back to write each entry's local header again once the
//   entry's data is written (its CRC and sizes), so the archive cannot go out as it is written;
//   it goes out afterwards as the file's mapping, read a step at a time by whoever sends it on.
//   libzip's 8 KiB writes are gathered and appended a MiB at a time (a header written again
//   may then still be among them).
//
// Both must outlive the archive (zip_close or zip_discard) whose sources they serve. Errors that
// libzip only sees as -1 (a mapped input that cannot be read, a full disk) are kept as statuses
// for the caller to report instead of libzip's generic message.
//
// Example:
//
//   ASSIGN_OR_RETURN(auto target, SpillFileTarget::Create("/var/tmp"));
//   ASSIGN_OR_RETURN(zip_source_t* source, target->NewSource());
//   zip_t* archive = zip_open_from_source(source, ZIP_CREATE | ZIP_TRUNCATE, &error);
//   EntrySource entry(std::move(parts));
//   ASSIGN_OR_RETURN(zip_source_t* source, entry.Create());
//   zip_file_add(archive, "w.npy", source, ZIP_FL_ENC_UTF_8);
//   zip_close(archive);
//   ASSIGN_OR_RETURN(Buffer bytes, std::move(*target).Finish());
#ifndef SERIALD_CORE_ARRAYS_INTERNAL_ZIP_SOURCES_H_
#define SERIALD_CORE_ARRAYS_INTERNAL_ZIP_SOURCES_H_

#include <zip.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/arrays/npy.h"
#include "core/io/buffer.h"
#include "core/io/spill_file.h"
#include "core/io/step_reader.h"

namespace seriald::arrays::internal {

class EntrySource {
 public:
  explicit EntrySource(NpyParts parts) : parts_(std::move(parts)) { zip_error_init(&error_); }
  ~EntrySource() { zip_error_fini(&error_); }
  EntrySource(const EntrySource&) = delete;
  EntrySource& operator=(const EntrySource&) = delete;

  // A new libzip source reading this entry; libzip owns it once zip_file_add took it.
  absl::StatusOr<zip_source_t*> Create();
  // Why the last read failed, when libzip's error is a read error; OK otherwise.
  const absl::Status& status() const { return status_; }

 private:
  static zip_int64_t Callback(void* self, void* data, zip_uint64_t length,
                              zip_source_cmd_t command);
  void Open();
  zip_int64_t Read(uint8_t* into, uint64_t length);

  NpyParts parts_;
  uint64_t preamble_done_ = 0;
  std::optional<StepReader> steps_;
  Buffer step_;
  uint64_t step_done_ = 0;
  absl::Status status_;
  zip_error_t error_;
};

class SpillFileTarget {
 public:
  // An empty spill file in `spill_dir` (an error names the directory and the reason). `reserve`
  // (may be null) is called with the bytes about to be appended to it; its error fails the write.
  using ReserveFn = std::function<absl::Status(uint64_t bytes)>;
  static absl::StatusOr<std::unique_ptr<SpillFileTarget>> Create(const std::string& spill_dir,
                                                                 ReserveFn reserve = nullptr);
  ~SpillFileTarget() { zip_error_fini(&error_); }
  SpillFileTarget(const SpillFileTarget&) = delete;
  SpillFileTarget& operator=(const SpillFileTarget&) = delete;

  // A new libzip source over the file, for zip_open_from_source (which takes it over) with
  // ZIP_CREATE | ZIP_TRUNCATE.
  absl::StatusOr<zip_source_t*> NewSource();
  // Whether libzip removed the archive instead of writing it (an archive without entries).
  bool removed() const { return removed_; }
  // Why the last write failed, when libzip's error is a write error; OK otherwise.
  const absl::Status& status() const { return status_; }
  // The archive libzip committed: the file's mapping (empty when it wrote nothing).
  absl::StatusOr<Buffer> Finish() &&;

 private:
  SpillFileTarget(SpillFile file, ReserveFn reserve)
      : file_(std::move(file)), reserve_(std::move(reserve)) {
    zip_error_init(&error_);
  }
  static zip_int64_t Callback(void* self, void* data, zip_uint64_t length,
                              zip_source_cmd_t command);
  // The archive's bytes so far: in the file, and pending.
  uint64_t size() const { return file_.size() + pending_.size(); }
  zip_int64_t Write(const uint8_t* bytes, uint64_t length);
  // Appends what is pending to the file, reserving it first.
  absl::Status Flush();
  zip_int64_t Fail(int zip_error, absl::Status status);

  SpillFile file_;
  ReserveFn reserve_;
  uint64_t reserved_ = 0;  // bytes reserve_ granted
  // Written, not yet appended to the file: appended a step at a time.
  std::vector<uint8_t> pending_;
  uint64_t position_ = 0;  // where the next write goes
  bool committed_ = false;
  bool removed_ = false;
  absl::Status status_;
  zip_error_t error_;
};

}  // namespace seriald::arrays::internal

#endif  // SERIALD_CORE_ARRAYS_INTERNAL_ZIP_SOURCES_H_
