// File: core/io/buffer.h
//
// Buffer: an immutable, reference-counted run of bytes. Copying a Buffer or taking a Slice of it
// never copies the bytes; the memory is released when the last Buffer that refers to it goes away.
// This is how seriald keeps tensor and vector data in one place from input to output: a reader
// slices its input instead of copying, and a writer hands the same Buffer to its output.
//
// BufferChain: an ordered list of Buffers that together form one byte stream (writers produce
// these, so that large payloads are referenced, not copied into one contiguous block).
//
// Thread safety: a Buffer is immutable and may be shared freely between threads.
//
// Example:
//
//   Buffer whole = Buffer::FromString(std::string("hello world"));
//   Buffer word = whole.Slice(6, 5);          // "world", same memory
//   auto [buffer, bytes] = Buffer::Allocate(16);
//   std::memset(bytes, 0, 16);                 // fill before sharing, then treat as immutable
#ifndef SERIALD_CORE_IO_BUFFER_H_
#define SERIALD_CORE_IO_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace seriald {

// Fresh memory this large is backed by transparent huge pages where the system allows it (THP
// "madvise" mode is common): filling a fresh 256 MiB buffer then takes 512 page faults instead of
// 65536, which on virtual machines is the difference between about 50 ms and 200 ms. Such
// mappings come from, and go back to, MappingPool::Shared() (core/io/mapping_pool.h), which keeps
// freed ones for a moment for the next to reuse.
inline constexpr size_t kHugePageThreshold = size_t{8} << 20;
inline constexpr size_t kHugePageSize = size_t{2} << 20;

// Asks for huge pages for the whole 2 MiB pages inside [data, data + size). Advice only.
void AdviseHugePages(void* data, size_t size);

// `size` rounded up to whole 2 MiB pages.
size_t RoundUpToHugePages(size_t size);
// A fresh anonymous mapping of RoundUpToHugePages(size) bytes starting on a 2 MiB boundary, all
// of it advised to use huge pages, so that none of it is faulted in 4 KiB at a time; nullptr
// when the system refuses. munmap(p, RoundUpToHugePages(size)) releases it.
uint8_t* MapHugePages(size_t size);

class Buffer {
 public:
  // An empty buffer.
  Buffer() = default;

  // Allocates `size` uninitialised bytes, 64-byte aligned (from kHugePageThreshold on, a mapping
  // of whole 2 MiB pages of its own, on a 2 MiB boundary, from MappingPool::Shared(), which may
  // hand out pages another Buffer used). The caller fills them through the returned pointer
  // before the Buffer is shared.
  static std::pair<Buffer, uint8_t*> Allocate(size_t size);

  // Copies `size` bytes from `data`.
  static Buffer Copy(const void* data, size_t size);
  static Buffer Copy(std::string_view bytes) { return Copy(bytes.data(), bytes.size()); }

  // Takes ownership of `bytes` without copying them.
  static Buffer FromString(std::string bytes);

  // Refers to memory owned elsewhere: `release` runs once no Buffer refers to it any more.
  static Buffer Wrap(const void* data, size_t size, std::function<void()> release);

  // Like Wrap, for writable memory this process allocated for the Buffer alone (an anonymous
  // mapping a GrowableBuffer filled): see WritableBytes.
  static Buffer WrapOwnMemory(void* data, size_t size, std::function<void()> release);

  // Like Wrap, for a read-only private mapping of a file (ReadFile in core/io/file.h), whose
  // pages can always be given back to the kernel and read again from the file: see DropPages.
  // `descriptor`, when not -1, is an open descriptor of the mapped file, at offset 0 of the
  // mapping, that stays open as long as the mapping (`release` closes it): see file_region.
  static Buffer WrapFileMapping(const void* data, size_t size, std::function<void()> release,
                                int descriptor = -1);

  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const {
    return std::string_view(reinterpret_cast<const char*>(data_.get()), size_);
  }

  // These bytes, writable, when the memory is the process's own, allocated for this Buffer alone
  // (Allocate, Copy, FromString, WrapOwnMemory, and their slices); nullptr for memory wrapped from
  // elsewhere (received slices, file mappings). Buffers are immutable: this is only for an owner
  // that knows nothing else will read these bytes as they were, such as a reader swapping the
  // elements of a stream only it holds, or that its caller lent it (ReadOptions::input_is_scratch),
  // where they are instead of into new memory.
  uint8_t* WritableBytes() const { return writable_ ? const_cast<uint8_t*>(data()) : nullptr; }

  // `length` bytes starting at `offset`, sharing this buffer's memory. The range must lie inside
  // the buffer (callers check lengths against what remains before slicing).
  Buffer Slice(size_t offset, size_t length) const;

  // Done with these bytes for now. When this is (a slice of) a file mapping, the whole pages
  // inside it leave the process's resident memory; touched again, they fault back in from the
  // page cache with the same bytes. So an input streamed through once, a piece at a time, holds
  // only the piece in flight resident instead of the whole file. Does nothing for other memory.
  void DropPages() const;

  // Where this buffer's bytes are in a file, for (a slice of) a file mapping made with a
  // descriptor: read once in order, they are cheaper to read with pread into memory that is
  // used again than through the mapping, whose every page is a fault and a mapping to set up and
  // tear down (core/io/step_reader.h). The descriptor is valid while this Buffer lives.
  struct FileRegion {
    int descriptor;
    uint64_t offset;
  };
  std::optional<FileRegion> file_region() const;

  // How many Buffers (slices included) share this buffer's memory: 1 means this one alone, so
  // memory a pool allocated and handed out may be filled again (core/io/step_reader.h).
  long references() const { return data_.use_count(); }

  // True when both buffers hold the same bytes.
  // Two slices of the same bytes are equal without reading them (the Torch7 reader compares
  // the values of two parses of one input that share every storage's memory).
  friend bool operator==(const Buffer& a, const Buffer& b) {
    return a.size_ == b.size_ && (a.data() == b.data() || a.view() == b.view());
  }
  friend bool operator!=(const Buffer& a, const Buffer& b) { return !(a == b); }

 private:
  // A file mapping's start and descriptor, owned by its release function (WrapFileMapping).
  struct MappedFile {
    const uint8_t* start;
    int descriptor;
  };

  Buffer(std::shared_ptr<const uint8_t> data, size_t size, const MappedFile* file = nullptr,
         bool writable = false)
      : data_(std::move(data)), size_(size), file_(file), writable_(writable) {}

  std::shared_ptr<const uint8_t> data_;
  size_t size_ = 0;
  const MappedFile* file_ = nullptr;  // set for a file mapping: see WrapFileMapping
  bool writable_ = false;             // see WritableBytes
};

// Hands `buffer` to `consume` a step of at most `step_bytes` at a time, as slices, giving each
// step's pages back once it is consumed (Buffer::DropPages): how bytes that may be a mapped
// input's are gone through with only a step of them resident, where the consumer reads the
// buffer itself or cannot fail. Bytes only copied out (to a file, a compressor, the network) go
// faster through ReadInSteps (core/io/step_reader.h), which reads a mapped file's. Stops at the
// first error. A template, so that `consume` inlines into the loop: element loops run
// inside it (widening for R, swapping).
template <typename Consume>
absl::Status ConsumeInSteps(const Buffer& buffer, size_t step_bytes, Consume&& consume) {
  for (size_t offset = 0; offset < buffer.size(); offset += step_bytes) {
    const Buffer step = buffer.Slice(
        offset, step_bytes < buffer.size() - offset ? step_bytes : buffer.size() - offset);
    absl::Status status = consume(step);
    if (!status.ok()) return status;
    step.DropPages();
  }
  return absl::OkStatus();
}

// Calls `visit(i)` (returning absl::Status) for every element index i in [0, count) of
// `buffer`'s elements of `element_size` bytes, through ConsumeInSteps in steps of 8 MiB (a whole
// number of elements of every size): a conversion that reads each element of a mapped input once
// (int64 to R's doubles, R's doubles to a LongTensor) holds only a step of the input resident
// besides what it builds. Stops at the first error.
template <typename Visit>
absl::Status VisitElementsInSteps(const Buffer& buffer, size_t element_size, uint64_t count,
                                  Visit&& visit) {
  if (count == 0) return absl::OkStatus();
  uint64_t begin = 0;
  return ConsumeInSteps(buffer.Slice(0, count * element_size), size_t{8} << 20,
                        [&](const Buffer& step) {
                          // A local index: one captured by reference would live in memory.
                          const uint64_t end = begin + step.size() / element_size;
                          for (uint64_t i = begin; i < end; ++i) {
                            absl::Status status = visit(i);
                            if (!status.ok()) return status;
                          }
                          begin = end;
                          return absl::OkStatus();
                        });
}

// The bytes of `pieces`, as views for a gathered write (writev), and their total size.
inline std::vector<std::string_view> ViewsOf(const std::vector<Buffer>& pieces,
                                             uint64_t* total = nullptr) {
  std::vector<std::string_view> views;
  views.reserve(pieces.size());
  uint64_t size = 0;
  for (const Buffer& piece : pieces) {
    views.push_back(piece.view());
    size += piece.size();
  }
  if (total != nullptr) *total = size;
  return views;
}

// A byte stream made of several Buffers, in order.
class BufferChain {
 public:
  void Append(Buffer piece) {
    if (piece.empty()) return;
    size_ += piece.size();
    pieces_.push_back(std::move(piece));
  }
  const std::vector<Buffer>& pieces() const { return pieces_; }
  size_t size() const { return size_; }

  // One contiguous buffer holding the whole stream (no copy when there is a single piece).
  Buffer Flatten() const;
  std::string ToString() const;

 private:
  std::vector<Buffer> pieces_;
  size_t size_ = 0;
};

}  // namespace seriald

#endif  // SERIALD_CORE_IO_BUFFER_H_
