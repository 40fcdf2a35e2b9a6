#include "core/io/step_reader.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>

#include "core/io/byte_order.h"
#include "core/io/file.h"
#include "core/io/second_cpu.h"

namespace seriald {

// A thread that runs one job at a time: Start hands it one, Wait takes its result. The reader
// never starts a job before taking the last one's result, so one slot is enough.
class StepReader::ReadAhead {
 public:
  ReadAhead() : helper_([this] { Run(); }) {}

  ~ReadAhead() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    helper_.join();
  }

  void Start(std::function<absl::Status()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = std::move(job);
      done_ = false;
    }
    changed_.notify_all();
  }

  absl::Status Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return done_; });
    return std::move(result_);
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      // A job handed over before the reader stopped is finished first: it writes into a chunk
      // the reader still owns until the join.
      changed_.wait(lock, [this] { return job_ != nullptr || stopping_; });
      if (job_ == nullptr) return;
      std::function<absl::Status()> job = std::move(job_);
      job_ = nullptr;
      lock.unlock();
      absl::Status result = job();
      lock.lock();
      result_ = std::move(result);
      done_ = true;
      changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<absl::Status()> job_;
  absl::Status result_;
  bool done_ = false;
  bool stopping_ = false;
  std::thread helper_;  // last: started once the members it uses are
};

StepReader::StepReader(Buffer whole, size_t step, size_t swap_bytes)
    : whole_(std::move(whole)), step_(step), swap_bytes_(swap_bytes > 1 ? swap_bytes : 0) {
  if (whole_.size() >= kReadFromBytes) region_ = whole_.file_region();
  // Each step is a chunk of its own when read from a file or swapped: no larger than the whole.
  if (region_.has_value() || swap_bytes_ > 0) step_ = std::min(step_, whole_.size());
  if (swap_bytes_ > 0) step_ = std::max(step_ - step_ % swap_bytes_, swap_bytes_);
  if (region_.has_value() && whole_.size() >= kReadAheadBytes && HasSecondCpu()) {
    try {
      ahead_ = std::make_unique<ReadAhead>();
    } catch (const std::system_error&) {
      // No thread to be had: each step is read when it is asked for.
    }
  }
}

StepReader::~StepReader() = default;

absl::StatusOr<std::optional<Buffer>> StepReader::Next() {
  if (ahead_ != nullptr) return NextReadAhead();
  if (offset_ >= whole_.size()) return std::nullopt;
  const size_t n = std::min(step_, whole_.size() - offset_);
  if (!region_.has_value() && swap_bytes_ == 0) {
    Buffer slice = whole_.Slice(offset_, n);
    offset_ += n;
    return slice;
  }
  auto [chunk, bytes] = FreeChunk();
  if (region_.has_value()) {
    absl::Status read = ReadStep(offset_, n, bytes);
    if (!read.ok()) return read;
  } else {
    const Buffer source = whole_.Slice(offset_, n);
    const uint64_t elements = n / swap_bytes_;
    SwapCopy(source.data(), bytes, elements, swap_bytes_);
    const size_t swapped = elements * swap_bytes_;
    if (n > swapped) std::memcpy(bytes + swapped, source.data() + swapped, n - swapped);
    source.DropPages();
  }
  offset_ += n;
  return chunk.Slice(0, n);
}

absl::StatusOr<std::optional<Buffer>> StepReader::NextReadAhead() {
  if (!in_flight_.has_value()) {
    if (offset_ >= whole_.size()) return std::nullopt;
    StartReadAhead();
  }
  absl::Status read = ahead_->Wait();
  InFlight step = std::move(*in_flight_);
  in_flight_.reset();
  if (!read.ok()) return read;
  offset_ += step.size;
  // The next step is read while the caller uses this one (held here, so not the chunk chosen).
  if (offset_ < whole_.size()) StartReadAhead();
  return step.chunk.Slice(0, step.size);
}

void StepReader::StartReadAhead() {
  const size_t n = std::min(step_, whole_.size() - offset_);
  auto [chunk, bytes] = FreeChunk();
  in_flight_ = InFlight{std::move(chunk), n};
  ahead_->Start([this, at = offset_, n, into = bytes] { return ReadStep(at, n, into); });
}

absl::Status StepReader::ReadStep(size_t offset, size_t size, uint8_t* into) const {
  absl::Status read =
      ReadAt(region_->descriptor, region_->offset + offset, size, into, "the input");
  if (!read.ok()) return read;
  if (swap_bytes_ > 0) SwapInPlace(into, size / swap_bytes_, swap_bytes_);
  return absl::OkStatus();
}

std::pair<Buffer, uint8_t*> StepReader::FreeChunk() {
  for (const auto& kept : kept_) {
    if (kept.first.references() == 1) return kept;
  }
  std::pair<Buffer, uint8_t*> fresh = Buffer::Allocate(step_);
  if (kept_.size() < kKept) kept_.push_back(fresh);
  return fresh;
}

}  // namespace seriald
