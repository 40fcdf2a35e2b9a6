// Exporting a large Torch7 tensor to today's formats with serialctl, next to copying the same file
// with cp, both timed as whole processes in the same run.
//
//   build/bin/export_benchmark                    # a 1 GiB FloatTensor (SERIALD_BENCH_MIB=1024)
//   SERIALD_BENCH_MIB=1 build/bin/export_benchmark --benchmark_min_time=0.01   # smoke run
//
// The input is a torch.save-layout FloatTensor file written once into a temporary directory
// (SERIALD_BENCH_DIR, default /tmp), so it sits in the page cache as cp's does. Every benchmark
// reports bytes/s of the input file and "vs_cp": how many times as fast as `cp` of the same file
// (1.0 = as fast as copying, 0.5 = half as fast), cp being timed in the same run. Outputs are
// written to the same directory and removed at the end.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/testing/subprocess.h"
#include "tests/testing/torch7_tensor.h"

namespace seriald {
namespace {

size_t InputMiB() {
  const char* text = std::getenv("SERIALD_BENCH_MIB");
  if (text == nullptr || *text == '\0') return 1024;
  return std::max<size_t>(1, std::strtoull(text, nullptr, 10));
}

struct Fixture {
  std::string dir;
  std::string input;
  uint64_t bytes = 0;
  double cp_seconds = 0;  // the best cp run, for vs_cp

  Fixture() {
    const char* base = std::getenv("SERIALD_BENCH_DIR");
    dir = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/seriald-export-bench-" +
          std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    input = dir + "/tensor.t7";
    const uint64_t count = (uint64_t{InputMiB()} << 20) / 4;
    if (!testing::WriteFloatTensorFile(input, count).ok()) std::abort();
    bytes = std::filesystem::file_size(input);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

Fixture& Inputs() {
  static Fixture fixture;
  return fixture;
}

double RunTimed(const std::vector<std::string>& argv) {
  const auto start = std::chrono::steady_clock::now();
  testing::RunResult result = testing::RunProgram(argv, "", absl::Minutes(10));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result.exit_code != 0) {
    std::fprintf(stderr, "%s failed: %s\n", argv[0].c_str(), result.err.c_str());
    std::abort();
  }
  return seconds;
}

void Report(benchmark::State& state, double best) {
  const Fixture& f = Inputs();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.bytes));
  if (f.cp_seconds > 0) state.counters["vs_cp"] = f.cp_seconds / best;
  state.counters["best_s"] = best;
}

void BM_CopyFile(benchmark::State& state) {
  Fixture& f = Inputs();
  double best = 1e30;
  for (auto _ : state) {
    const double s = RunTimed({"/bin/cp", f.input, f.dir + "/copy.t7"});
    state.SetIterationTime(s);
    best = std::min(best, s);
  }
  f.cp_seconds = best;
  Report(state, best);
}

void Export(benchmark::State& state, const std::string& format) {
  Fixture& f = Inputs();
  const std::string serialctl = SERIALD_BINARY_DIR "/bin/serialctl";
  double best = 1e30;
  for (auto _ : state) {
    const double s =
        RunTimed({serialctl, "convert", "--to", format, f.input, f.dir + "/out." + format});
    state.SetIterationTime(s);
    best = std::min(best, s);
  }
  Report(state, best);
}

void BM_ExportSafetensors(benchmark::State& state) { Export(state, "safetensors"); }
void BM_ExportNpy(benchmark::State& state) { Export(state, "npy"); }
void BM_ExportNpz(benchmark::State& state) { Export(state, "npz"); }
void BM_ConvertToRds(benchmark::State& state) { Export(state, "rds"); }

BENCHMARK(BM_CopyFile)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(3);
BENCHMARK(BM_ExportSafetensors)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(3);
BENCHMARK(BM_ExportNpy)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(3);
BENCHMARK(BM_ExportNpz)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(3);
BENCHMARK(BM_ConvertToRds)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(3);

}  // namespace
}  // namespace seriald

BENCHMARK_MAIN();
