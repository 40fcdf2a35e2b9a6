// Torch7 load and save speed for one large FloatTensor, against memcpy of the same bytes measured
// in the same run.
//
//   build/bin/torch7_benchmark                      # 256 MiB tensor (binary), 16 MiB (ascii)
//   SERIALD_BENCH_MIB=1 build/bin/torch7_benchmark --benchmark_min_time=0.01   # smoke run
//
// Every benchmark reports bytes/s of tensor data (bytes_per_second) and "vs_memcpy": how many
// times faster than one memcpy of the same number of bytes it is (2.0 = twice as fast as
// copying, 0.5 = half as fast), memcpy being timed once at startup into memory already touched.
// Load is ReadTorch7 from a Buffer holding the whole file; save is WriteTorch7 into a
// ByteWriter/BufferChain (where little-endian tensor data is referenced, not copied) or into one
// contiguous std::string (which must copy). Transcode is TranscodeTorch7 to big-endian, with the
// long size known or guessed from a prefix and checked by reading with the other too.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/io/byte_writer.h"
#include "core/io/chunked_input.h"
#include "core/torch7/reader.h"
#include "core/torch7/serialize.h"
#include "core/torch7/transcoder.h"
#include "core/torch7/writer.h"

namespace seriald {
namespace {

size_t MiB(const char* variable, size_t fallback) {
  const char* text = std::getenv(variable);
  if (text == nullptr || *text == '\0') return fallback;
  return std::max<size_t>(1, std::strtoull(text, nullptr, 10));
}

// Binary tensors are SERIALD_BENCH_MIB (default 256) MiB; ascii ones SERIALD_BENCH_ASCII_MIB
// (default 16, and at most the binary size): formatting text is a different kind of work.
size_t BinaryBytes() { return MiB("SERIALD_BENCH_MIB", 256) << 20; }
size_t AsciiBytes() { return std::min(MiB("SERIALD_BENCH_ASCII_MIB", 16) << 20, BinaryBytes()); }

// A Value holding one FloatTensor of `bytes` bytes of varied floats.
Value FloatTensor(size_t bytes) {
  const size_t count = bytes / sizeof(float);
  auto [data, raw] = Buffer::Allocate(count * sizeof(float));
  auto* floats = reinterpret_cast<float*>(raw);
  uint32_t state = 12345;
  for (size_t i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u;
    floats[i] = static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
  }
  Value value;
  NodeId array = value.Add(Array{ElementType::kFloat32, count, data});
  NodeId storage = value.Add(TorchObject{"torch.FloatStorage", "1", array});
  NodeId tensor = value.Add(Tensor{{static_cast<int64_t>(count)}, {1}, 0, storage});
  value.roots().push_back(value.Add(TorchObject{"torch.FloatTensor", "1", tensor}));
  return value;
}

Buffer Serialized(const Value& value, const Torch7Layout& layout) {
  ByteWriter out;
  if (!WriteTorch7(value, layout, out).ok()) std::abort();
  BufferChain chain;
  if (!out.Finish(&chain).ok()) std::abort();
  return chain.Flatten();
}

// A 0-dimensional FloatTensor over a FloatStorage of `bytes` bytes, 8-byte longs, written by hand:
// read with 4-byte longs it is also a stream (a tensor, then the storage, 4 bytes early), so a
// conversion whose long size a prefix guessed reads all of it both ways.
Buffer ScalarOverLargeStorage(size_t bytes) {
  std::string stream;
  auto word = [&stream](uint64_t value, int size) {
    for (int i = 0; i < size; ++i) stream.push_back(static_cast<char>(value >> (8 * i)));
  };
  auto string = [&](std::string_view text) {
    word(text.size(), 4);
    stream.append(text);
  };
  word(4, 4);
  word(1, 4);
  string("V 1");
  string("torch.FloatTensor");
  word(0, 4);  // dimensions
  word(1, 8);  // storage offset
  word(4, 4);
  word(2, 4);
  string("V 1");
  string("torch.FloatStorage");
  word(bytes / 4, 8);
  stream.append(bytes / 4 * 4, '\x01');
  return Buffer::Copy(stream);
}

// The inputs, built once.
struct Fixture {
  Value tensor = FloatTensor(BinaryBytes());
  Value small_tensor = FloatTensor(AsciiBytes());
  Buffer little = Serialized(tensor, {});
  Buffer big = Serialized(tensor, {.big_endian = true});
  Buffer ascii = Serialized(small_tensor, {.ascii = true});
  Buffer scalar_over_storage = ScalarOverLargeStorage(BinaryBytes());
};

Fixture& Inputs() {
  static Fixture* fixture = new Fixture();
  return *fixture;
}

// Seconds one memcpy of BinaryBytes() takes (best of several), into memory already touched.
double MemcpySeconds() {
  static const double seconds = [] {
    std::vector<char> from(BinaryBytes(), 1), to(BinaryBytes(), 2);
    double best = 1e9;
    for (int i = 0; i < 10; ++i) {
      auto start = std::chrono::steady_clock::now();
      std::memcpy(to.data(), from.data(), from.size());
      benchmark::ClobberMemory();
      best = std::min(
          best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::printf("memcpy baseline: %zu MiB in %.2f ms = %.0f MB/s\n", BinaryBytes() >> 20,
                best * 1e3, BinaryBytes() / best / 1e6);
    return best;
  }();
  return seconds;
}

// Wall time of a benchmark's loop, for the ratio to memcpy.
class Stopwatch {
 public:
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// bytes/s and the ratio to memcpy for `bytes` of tensor data per iteration, the loop having taken
// `seconds`.
void Report(benchmark::State& state, size_t bytes, double seconds) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  const double memcpy_seconds = MemcpySeconds() * static_cast<double>(bytes) / BinaryBytes();
  const double iteration_seconds = seconds / static_cast<double>(state.iterations());
  state.counters["vs_memcpy"] = memcpy_seconds / iteration_seconds;
}

void BM_Memcpy(benchmark::State& state) {
  std::vector<char> from(BinaryBytes(), 1), to(BinaryBytes(), 2);
  Stopwatch stopwatch;
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), from.size());
    benchmark::ClobberMemory();
  }
  Report(state, BinaryBytes(), stopwatch.Seconds());
}

void Load(benchmark::State& state, const Buffer& input, size_t tensor_bytes) {
  // One untimed run first: the first touch of fresh memory is much dearer than later ones on
  // virtual machines, and steady state is what a long-running service sees.
  benchmark::DoNotOptimize(ReadTorch7(input).ok());
  Stopwatch stopwatch;
  for (auto _ : state) {
    absl::StatusOr<Value> value = ReadTorch7(input);
    if (!value.ok()) {
      state.SkipWithError(std::string(value.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(value->nodes().data());
  }
  Report(state, tensor_bytes, stopwatch.Seconds());
}

void BM_LoadBinaryLittleEndian(benchmark::State& state) {
  Load(state, Inputs().little, BinaryBytes());
}
void BM_LoadBinaryBigEndian(benchmark::State& state) { Load(state, Inputs().big, BinaryBytes()); }
void BM_LoadAscii(benchmark::State& state) { Load(state, Inputs().ascii, AsciiBytes()); }

// The whole output as one BufferChain.
absl::StatusOr<BufferChain> Save(const Value& value, const Torch7Layout& layout) {
  ByteWriter out;
  absl::Status status = WriteTorch7(value, layout, out);
  BufferChain chain;
  if (status.ok()) status = out.Finish(&chain);
  if (!status.ok()) return status;
  return chain;
}

void SaveToChain(benchmark::State& state, const Value& value, const Torch7Layout& layout,
                 size_t tensor_bytes) {
  benchmark::DoNotOptimize(Save(value, layout).ok());  // untimed warm-up, as in Load
  Stopwatch stopwatch;
  for (auto _ : state) {
    absl::StatusOr<BufferChain> chain = Save(value, layout);
    if (!chain.ok()) {
      state.SkipWithError(std::string(chain.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(chain->size());
  }
  Report(state, tensor_bytes, stopwatch.Seconds());
}

void SaveToString(benchmark::State& state, const Value& value, const Torch7Layout& layout,
                  size_t tensor_bytes) {
  benchmark::DoNotOptimize(Save(value, layout).ok());  // untimed warm-up, as in Load
  Stopwatch stopwatch;
  for (auto _ : state) {
    absl::StatusOr<BufferChain> chain = Save(value, layout);
    if (!chain.ok()) {
      state.SkipWithError(std::string(chain.status().message()).c_str());
      break;
    }
    std::string bytes = chain->ToString();  // the copy a contiguous string costs
    benchmark::DoNotOptimize(bytes.data());
  }
  Report(state, tensor_bytes, stopwatch.Seconds());
}

// Each finished piece goes to a consumer and is dropped, as when the service streams a save:
// the output never exists as a whole, and big-endian swapping reuses the writer's blocks.
void SaveStreamed(benchmark::State& state, const Value& value, const Torch7Layout& layout,
                  size_t tensor_bytes) {
  uint64_t delivered = 0;
  auto consume = [&delivered](Buffer piece) {
    delivered += piece.size();
    return absl::OkStatus();
  };
  Stopwatch stopwatch;
  for (auto _ : state) {
    ByteWriter out(consume);
    absl::Status status = WriteTorch7(value, layout, out);
    if (status.ok()) status = out.Finish();
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
  }
  benchmark::DoNotOptimize(delivered);
  Report(state, tensor_bytes, stopwatch.Seconds());
}

// TranscodeTorch7 to big-endian, the output's pieces dropped as they come (as the service sends
// them), with the input's long size known, or guessed from a prefix and so checked as it goes by
// reading the stream with the other long size too (Torch7StreamLayout::check_other_long_size).
void Transcode(benchmark::State& state, bool check_other_long_size) {
  const Buffer& input = Inputs().scalar_over_storage;
  const Torch7StreamLayout from{.layout = {}, .check_other_long_size = check_other_long_size};
  auto consume = [](Buffer) { return absl::OkStatus(); };
  Stopwatch stopwatch;
  for (auto _ : state) {
    ChunkedInput in(ChunkedInput::ChunksOf(input, size_t{1} << 20), "torch7", input.size());
    ByteWriter out(consume);
    absl::Status status = TranscodeTorch7(in, from, {.big_endian = true}, out, ReadOptions{});
    if (status.ok()) status = out.Finish();
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
  }
  Report(state, BinaryBytes(), stopwatch.Seconds());
}
void BM_TranscodeToBigEndian(benchmark::State& state) { Transcode(state, false); }
void BM_TranscodeToBigEndianCheckingTheOtherLongSize(benchmark::State& state) {
  Transcode(state, true);
}

void BM_SaveBinaryLittleEndianToChain(benchmark::State& state) {
  SaveToChain(state, Inputs().tensor, {}, BinaryBytes());
}
void BM_SaveBinaryLittleEndianToString(benchmark::State& state) {
  SaveToString(state, Inputs().tensor, {}, BinaryBytes());
}
void BM_SaveBinaryBigEndianToChain(benchmark::State& state) {
  SaveToChain(state, Inputs().tensor, {.big_endian = true}, BinaryBytes());
}
void BM_SaveBinaryBigEndianToString(benchmark::State& state) {
  SaveToString(state, Inputs().tensor, {.big_endian = true}, BinaryBytes());
}
void BM_SaveBinaryBigEndianStreamed(benchmark::State& state) {
  SaveStreamed(state, Inputs().tensor, {.big_endian = true}, BinaryBytes());
}
void BM_SaveAsciiStreamed(benchmark::State& state) {
  SaveStreamed(state, Inputs().small_tensor, {.ascii = true}, AsciiBytes());
}
void BM_SaveAsciiToChain(benchmark::State& state) {
  SaveToChain(state, Inputs().small_tensor, {.ascii = true}, AsciiBytes());
}
void BM_SaveAsciiToString(benchmark::State& state) {
  SaveToString(state, Inputs().small_tensor, {.ascii = true}, AsciiBytes());
}

BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LoadBinaryLittleEndian)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LoadBinaryBigEndian)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LoadAscii)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SaveBinaryLittleEndianToChain)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SaveBinaryLittleEndianToString)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SaveBinaryBigEndianToChain)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SaveBinaryBigEndianToString)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SaveBinaryBigEndianStreamed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SaveAsciiStreamed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SaveAsciiToChain)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SaveAsciiToString)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TranscodeToBigEndian)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TranscodeToBigEndianCheckingTheOtherLongSize)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace seriald

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf("tensor: %zu MiB binary, %zu MiB ascii\n", seriald::BinaryBytes() >> 20,
              seriald::AsciiBytes() >> 20);
  seriald::MemcpySeconds();  // the baseline, measured before anything else runs
  seriald::Inputs();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
