#include "core/io/byte_order.h"

#include <algorithm>
#include <cstring>

#include "core/io/page_fault_ahead.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace seriald {
namespace {

template <typename T>
T Load(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

template <typename T>
void Store(uint8_t* p, T value) {
  std::memcpy(p, &value, sizeof(T));
}

uint16_t Swap(uint16_t v) { return __builtin_bswap16(v); }
uint32_t Swap(uint32_t v) { return __builtin_bswap32(v); }
uint64_t Swap(uint64_t v) { return __builtin_bswap64(v); }

// A plain loop over memcpy'd words, which the compiler vectorises into byte shuffles. Baseline
// x86-64 has no byte shuffle instruction, so an AVX2 clone is chosen at load time where the CPU
// has it (about 15% faster on large arrays, which are memory-bound either way).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SERIALD_SWAP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SERIALD_SWAP_CLONES
#endif

template <typename T>
inline void SwapLoop(const uint8_t* from, uint8_t* to, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    Store<T>(to + i * sizeof(T), Swap(Load<T>(from + i * sizeof(T))));
  }
}

SERIALD_SWAP_CLONES void SwapCopy16(const uint8_t* from, uint8_t* to, uint64_t count) {
  SwapLoop<uint16_t>(from, to, count);
}
SERIALD_SWAP_CLONES void SwapCopy32(const uint8_t* from, uint8_t* to, uint64_t count) {
  SwapLoop<uint32_t>(from, to, count);
}
SERIALD_SWAP_CLONES void SwapCopy64(const uint8_t* from, uint8_t* to, uint64_t count) {
  SwapLoop<uint64_t>(from, to, count);
}

// In place, through one pointer: given two equal pointers, SwapLoop's vectorised body would be
// behind a run-time overlap check, and its scalar fallback taken.
template <typename T>
inline void SwapLoopInPlace(uint8_t* bytes, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i)
    Store<T>(bytes + i * sizeof(T), Swap(Load<T>(bytes + i * sizeof(T))));
}

SERIALD_SWAP_CLONES void SwapInPlace16(uint8_t* bytes, uint64_t count) {
  SwapLoopInPlace<uint16_t>(bytes, count);
}
SERIALD_SWAP_CLONES void SwapInPlace32(uint8_t* bytes, uint64_t count) {
  SwapLoopInPlace<uint32_t>(bytes, count);
}
SERIALD_SWAP_CLONES void SwapInPlace64(uint8_t* bytes, uint64_t count) {
  SwapLoopInPlace<uint64_t>(bytes, count);
}

// Large arrays: past a few MiB the destination cannot stay in cache anyway, and ordinary stores
// make the processor read each destination line before overwriting it (a third of the memory
// traffic of a copy). AVX2 shuffles written with streaming (non-temporal) stores skip that read,
// as memcpy does for large copies: on the 400 MB XDR doubles of rds_benchmark, swapping into
// memory already touched went from 1.2-1.4 times memcpy's time to 0.6. Smaller copies keep
// ordinary stores, whose lines the next reader (a socket write, a writer's block) finds in cache;
// so does AppendSwapped, whose fresh blocks the kernel has just zeroed into the cache (streaming
// stores made rds_benchmark's XDR encode about 15% slower there).
constexpr uint64_t kStreamingStoreBytes = uint64_t{4} << 20;

#if defined(__x86_64__) && defined(__GNUC__)
#define SERIALD_SWAP_STREAMING 1

// The byte shuffle reversing each `kSize`-byte element of a 16-byte lane.
template <size_t kSize>
__attribute__((target("avx2"))) __m256i ReverseElementsMask() {
  alignas(32) uint8_t mask[32];
  for (int i = 0; i < 32; ++i) {
    const int lane_byte = i % 16;
    mask[i] = static_cast<uint8_t>(lane_byte - lane_byte % kSize + (kSize - 1 - lane_byte % kSize));
  }
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(mask));
}

// Elements until `to` is 32-byte aligned (the streaming stores need it) by the plain loop, then
// 128 bytes per step, then the rest by the plain loop. `to` must be aligned to the element size,
// so that some element boundary is 32-byte aligned.
template <typename T>
__attribute__((target("avx2"))) void SwapCopyStreaming(const uint8_t* from, uint8_t* to,
                                                       uint64_t count) {
  constexpr size_t kSize = sizeof(T);
  const uint64_t head =
      std::min<uint64_t>(count, ((32 - reinterpret_cast<uintptr_t>(to) % 32) % 32) / kSize);
  SwapLoop<T>(from, to, head);
  uint64_t i = head;
  const __m256i mask = ReverseElementsMask<kSize>();
  constexpr uint64_t kStep = 128 / kSize;
  for (; i + kStep <= count; i += kStep) {
    const uint8_t* in = from + i * kSize;
    __m256i* out = reinterpret_cast<__m256i*>(to + i * kSize);
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 32));
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 64));
    const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 96));
    _mm256_stream_si256(out, _mm256_shuffle_epi8(a, mask));
    _mm256_stream_si256(out + 1, _mm256_shuffle_epi8(b, mask));
    _mm256_stream_si256(out + 2, _mm256_shuffle_epi8(c, mask));
    _mm256_stream_si256(out + 3, _mm256_shuffle_epi8(d, mask));
  }
  // Streaming stores are weakly ordered: fence them before anyone else may read the bytes.
  _mm_sfence();
  SwapLoop<T>(from + i * kSize, to + i * kSize, count - i);
}

// Whether SwapCopy takes the streaming path: a large copy, an AVX2 processor, and a destination
// on an element boundary.
bool UseStreamingStores(const uint8_t* to, uint64_t count, size_t size) {
  static const bool has_avx2 = __builtin_cpu_supports("avx2");
  return has_avx2 && count * size >= kStreamingStoreBytes &&
         reinterpret_cast<uintptr_t>(to) % size == 0;
}
#endif

// The kernel's dispatch; `may_stream` false keeps ordinary stores at any size.
void SwapCopyDispatch(const uint8_t* from, uint8_t* to, uint64_t count, size_t size,
                      bool may_stream) {
#ifdef SERIALD_SWAP_STREAMING
  if (may_stream && UseStreamingStores(to, count, size)) {
    switch (size) {
      case 2:
        return SwapCopyStreaming<uint16_t>(from, to, count);
      case 4:
        return SwapCopyStreaming<uint32_t>(from, to, count);
      case 8:
        return SwapCopyStreaming<uint64_t>(from, to, count);
      default:
        break;
    }
  }
#endif
  switch (size) {
    case 2:
      SwapCopy16(from, to, count);
      break;
    case 4:
      SwapCopy32(from, to, count);
      break;
    case 8:
      SwapCopy64(from, to, count);
      break;
    default:
      if (count != 0) std::memcpy(to, from, count * size);
  }
}

}  // namespace

void SwapCopy(const uint8_t* from, uint8_t* to, uint64_t count, size_t size) {
  SwapCopyDispatch(from, to, count, size, /*may_stream=*/true);
}

void SwapInPlace(uint8_t* bytes, uint64_t count, size_t size) {
  switch (size) {
    case 2:
      SwapInPlace16(bytes, count);
      break;
    case 4:
      SwapInPlace32(bytes, count);
      break;
    case 8:
      SwapInPlace64(bytes, count);
      break;
    default:
      break;
  }
}

// Both Buffer forms go through ConsumeInSteps: a step of the source at a time, its pages given
// back behind (8 MiB is a whole number of elements of every size).
constexpr size_t kStepBytes = size_t{8} << 20;

void SwapCopy(const Buffer& from, uint8_t* to, uint64_t count, size_t size) {
  if (count == 0) return;
  // A large destination is usually fresh memory: its pages are faulted in on another CPU ahead
  // of the swapping (core/io/page_fault_ahead.h).
  PageFaultAhead ahead(to, count * size);
  uint64_t at = 0;
  (void)ConsumeInSteps(from.Slice(0, count * size), kStepBytes, [&](const Buffer& step) {
    ahead.WriterAt(at);
    SwapCopy(step.data(), to + at, step.size() / size, size);
    at += step.size();
    return absl::OkStatus();
  });
}

void AppendSwapped(const Buffer& from, uint64_t count, size_t size, ByteWriter& out) {
  if (count == 0) return;
  (void)ConsumeInSteps(from.Slice(0, count * size), kStepBytes, [&](const Buffer& step) {
    // Swapped straight into the writer's blocks, as many elements as each has room for, with
    // ordinary stores (see kStreamingStoreBytes).
    const uint8_t* data = step.data();
    for (uint64_t left = step.size() / size; left > 0 && out.ok();) {
      size_t available = 0;
      uint8_t* space = out.WritableSpace(size, &available);
      const uint64_t n = std::min<uint64_t>(left, available / size);
      SwapCopyDispatch(data, space, n, size, /*may_stream=*/false);
      out.Commit(n * size);
      data += n * size;
      left -= n;
    }
    return absl::OkStatus();
  });
}

}  // namespace seriald
