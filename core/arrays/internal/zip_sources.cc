#include "core/arrays/internal/zip_sources.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace seriald::arrays::internal {
namespace {

// An entry's elements are handed to libzip a MiB at a time.
constexpr size_t kEntryStep = size_t{1} << 20;
// The spill file is appended to (and its bytes reserved) this much at a time: libzip writes
// 8 KiB at a time, which would be a system call each.
constexpr uint64_t kAppendStep = uint64_t{1} << 20;

// What a source's STAT says: its size, stored, not encrypted (as libzip's buffer sources say).
zip_int64_t Stat(void* data, zip_uint64_t length, uint64_t size, zip_error_t* error) {
  zip_stat_t* stat = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, length, error);
  if (stat == nullptr) return -1;
  zip_stat_init(stat);
  stat->size = size;
  stat->comp_size = size;
  stat->comp_method = ZIP_CM_STORE;
  stat->encryption_method = ZIP_EM_NONE;
  stat->valid =
      ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
  return sizeof(zip_stat_t);
}

// A libzip source calling `callback` with `self`, or libzip's error.
absl::StatusOr<zip_source_t*> FunctionSource(zip_source_callback callback, void* self) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_function_create(callback, self, &error);
  absl::Status status =
      source != nullptr ? absl::OkStatus() : absl::InternalError(zip_error_strerror(&error));
  zip_error_fini(&error);
  if (!status.ok()) return status;
  return source;
}

}  // namespace

// ---- EntrySource

absl::StatusOr<zip_source_t*> EntrySource::Create() {
  return FunctionSource(&EntrySource::Callback, this);
}

void EntrySource::Open() {
  // From the start, also when libzip reads the entry again.
  preamble_done_ = 0;
  steps_.emplace(parts_.body.bytes, kEntryStep, parts_.body.swap_size);
  step_ = Buffer();
  step_done_ = 0;
  status_ = absl::OkStatus();
}

zip_int64_t EntrySource::Read(uint8_t* into, uint64_t length) {
  uint64_t done = 0;
  const std::string& preamble = parts_.preamble;
  if (preamble_done_ < preamble.size()) {
    const uint64_t n = std::min<uint64_t>(length, preamble.size() - preamble_done_);
    std::memcpy(into, preamble.data() + preamble_done_, n);
    preamble_done_ += n;
    done += n;
  }
  while (done < length) {
    if (step_done_ == step_.size()) {
      // A step handed out whole: its pages go back (a slice of memory; a step read from a file
      // is a chunk the reader fills again).
      if (!step_.empty() && !steps_->reads_file()) step_.DropPages();
      absl::StatusOr<std::optional<Buffer>> next = steps_->Next();
      if (!next.ok()) {
        status_ = next.status();
        zip_error_set(&error_, ZIP_ER_READ, 0);
        return -1;
      }
      if (!next->has_value()) break;
      step_ = **std::move(next);
      step_done_ = 0;
      continue;
    }
    const uint64_t n = std::min<uint64_t>(length - done, step_.size() - step_done_);
    std::memcpy(into + done, step_.data() + step_done_, n);
    step_done_ += n;
    done += n;
  }
  return static_cast<zip_int64_t>(done);
}

zip_int64_t EntrySource::Callback(void* self, void* data, zip_uint64_t length,
                                  zip_source_cmd_t command) {
  auto* entry = static_cast<EntrySource*>(self);
  switch (command) {
    case ZIP_SOURCE_OPEN:
      entry->Open();
      return 0;
    case ZIP_SOURCE_READ:
      return entry->Read(static_cast<uint8_t*>(data), length);
    case ZIP_SOURCE_CLOSE:
      entry->steps_.reset();
      entry->step_ = Buffer();
      return 0;
    case ZIP_SOURCE_STAT:
      return Stat(data, length, entry->parts_.size(), &entry->error_);
    case ZIP_SOURCE_ERROR:
      return zip_error_to_data(&entry->error_, data, length);
    case ZIP_SOURCE_FREE:
      return 0;  // the EntrySource is its owner's
    case ZIP_SOURCE_SUPPORTS:
      return ZIP_SOURCE_SUPPORTS_READABLE;
    default:
      zip_error_set(&entry->error_, ZIP_ER_OPNOTSUPP, 0);
      return -1;
  }
}

// ---- SpillFileTarget

absl::StatusOr<std::unique_ptr<SpillFileTarget>> SpillFileTarget::Create(
    const std::string& spill_dir, ReserveFn reserve) {
  absl::StatusOr<SpillFile> file = SpillFile::Create(spill_dir);
  if (!file.ok()) return file.status();
  return std::unique_ptr<SpillFileTarget>(
      new SpillFileTarget(*std::move(file), std::move(reserve)));
}

absl::StatusOr<zip_source_t*> SpillFileTarget::NewSource() {
  return FunctionSource(&SpillFileTarget::Callback, this);
}

zip_int64_t SpillFileTarget::Fail(int zip_error, absl::Status status) {
  status_ = std::move(status);
  zip_error_set(&error_, zip_error, 0);
  return -1;
}

zip_int64_t SpillFileTarget::Write(const uint8_t* bytes, uint64_t length) {
  const uint64_t in_file = file_.size();
  const uint64_t size = this->size();
  if (position_ > size) {
    return Fail(ZIP_ER_WRITE,
                absl::InternalError(absl::StrCat("npz: libzip wrote at byte ", position_,
                                                 " past the archive's ", size, " bytes")));
  }
  // What lies within the archive is written over (a local header written again): in the file,
  // or in the bytes not yet appended to it. The rest is appended.
  const uint64_t over = std::min(length, size - position_);
  const uint64_t over_file = position_ < in_file ? std::min(over, in_file - position_) : 0;
  if (over_file > 0) {
    absl::Status status =
        file_.WriteAt(position_, std::string_view(reinterpret_cast<const char*>(bytes), over_file));
    if (!status.ok()) return Fail(ZIP_ER_WRITE, std::move(status));
  }
  if (over > over_file) {
    std::memcpy(pending_.data() + (position_ + over_file - in_file), bytes + over_file,
                over - over_file);
  }
  pending_.insert(pending_.end(), bytes + over, bytes + length);
  position_ += length;
  if (pending_.size() >= kAppendStep) {
    absl::Status status = Flush();
    if (!status.ok()) return Fail(ZIP_ER_WRITE, std::move(status));
  }
  return static_cast<zip_int64_t>(length);
}

absl::Status SpillFileTarget::Flush() {
  if (pending_.empty()) return absl::OkStatus();
  // Reserved a step or more at a time.
  if (reserve_ && file_.size() + pending_.size() > reserved_) {
    const uint64_t more =
        std::max<uint64_t>(file_.size() + pending_.size() - reserved_, kAppendStep);
    RETURN_IF_ERROR(reserve_(more));
    reserved_ += more;
  }
  const std::string_view bytes(reinterpret_cast<const char*>(pending_.data()), pending_.size());
  RETURN_IF_ERROR(file_.Append(absl::MakeConstSpan(&bytes, 1)));
  pending_.clear();
  return absl::OkStatus();
}

zip_int64_t SpillFileTarget::Callback(void* self, void* data, zip_uint64_t length,
                                      zip_source_cmd_t command) {
  auto* target = static_cast<SpillFileTarget*>(self);
  switch (command) {
    case ZIP_SOURCE_SUPPORTS:
      return ZIP_SOURCE_SUPPORTS_WRITABLE;
    case ZIP_SOURCE_STAT:
      // Opened with ZIP_TRUNCATE, the archive starts empty, whatever it holds.
      return Stat(data, length, target->committed_ ? target->size() : 0, &target->error_);
    case ZIP_SOURCE_OPEN:
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_FREE:
      return 0;
    case ZIP_SOURCE_READ:
    case ZIP_SOURCE_SEEK:
    case ZIP_SOURCE_TELL:
      // Nothing is read from a truncated archive (there is nothing), and nothing written is
      // read back (no cloning, no torrentzip).
      return 0;
    case ZIP_SOURCE_BEGIN_WRITE:
      if (target->size() != 0) {
        zip_error_set(&target->error_, ZIP_ER_INTERNAL, 0);
        return -1;
      }
      target->position_ = 0;
      return 0;
    case ZIP_SOURCE_WRITE:
      return target->Write(static_cast<const uint8_t*>(data), length);
    case ZIP_SOURCE_SEEK_WRITE: {
      const zip_int64_t position = zip_source_seek_compute_offset(target->position_, target->size(),
                                                                  data, length, &target->error_);
      if (position < 0) return -1;
      target->position_ = static_cast<uint64_t>(position);
      return 0;
    }
    case ZIP_SOURCE_TELL_WRITE:
      return static_cast<zip_int64_t>(target->position_);
    case ZIP_SOURCE_COMMIT_WRITE: {
      absl::Status status = target->Flush();
      if (!status.ok()) return target->Fail(ZIP_ER_WRITE, std::move(status));
      target->committed_ = true;
      return 0;
    }
    case ZIP_SOURCE_ROLLBACK_WRITE:
      target->committed_ = false;
      return 0;
    case ZIP_SOURCE_REMOVE:
      target->removed_ = true;
      return 0;
    case ZIP_SOURCE_ERROR:
      return zip_error_to_data(&target->error_, data, length);
    default:
      zip_error_set(&target->error_, ZIP_ER_OPNOTSUPP, 0);
      return -1;
  }
}

absl::StatusOr<Buffer> SpillFileTarget::Finish() && {
  if (removed_) return Buffer();
  if (!committed_) return absl::InternalError("npz: libzip did not finish the archive");
  return std::move(file_).Map();
}

}  // namespace seriald::arrays::internal
