// rds_benchmark: seriald's R decoder and encoder next to R's own serialize()/unserialize() of the
// same data in the same run, and next to a memcpy of the same bytes.
//
// Objects: a vector of N doubles (default 1e8, 800 MB) and M unique 10-byte strings (default
// 1e7), each as an XDR and a native (B) version-3 stream. R (tests/bench/rds_bench.R, run with
// Rscript) makes the data, writes the streams, and times itself; this program times ReadR and
// WriteR on those streams (median of REPS) and memcpy of the stream's size, into memory already
// touched ("memcpy") and into a fresh mapping ("fresh": what a decode that returns new memory
// pays on top of its own work, since the kernel zeroes each new page), and, for the XDR doubles,
// the byte-order kernel alone (core/io/byte_order.h's SwapCopy of the same bytes into that
// touched memory: "swap"), which tells the kernel's speed from the fresh pages' cost; ReadR lent
// its input ("lent": ReadOptions::input_is_scratch, a copy of the stream made before each run),
// which swaps XDR vectors where they are, in memory already touched; and ReadR with the process's
// MappingPool emptied before each run ("1st": core/io/mapping_pool.h, so that its vectors land in
// fresh memory, as a process's first decode of that size does). The "decode" column is the
// steady state of back-to-back decodes, whose vectors reuse the pages the last one freed.
//
//   rds_benchmark [--doubles N] [--strings M] [--reps K] [--dir DIR]
//
// Output: one row per object and format with MB/s (of stream bytes) and the ratios
// seriald/R and seriald/memcpy. The bench-smoke ctest runs it on tiny inputs; it never asserts a
// speed.
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/io/byte_order.h"
#include "core/io/byte_writer.h"
#include "core/io/file.h"
#include "core/io/mapping_pool.h"
#include "core/rds/reader.h"
#include "core/rds/writer.h"
#include "tests/testing/subprocess.h"

namespace {

using Clock = std::chrono::steady_clock;

// The median time of `f` over `reps` runs, each after an untimed `setup`.
template <typename Setup, typename F>
double MedianAfter(int reps, Setup&& setup, F&& f) {
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    setup();
    auto start = Clock::now();
    f();
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

template <typename F>
double Median(int reps, F&& f) {
  return MedianAfter(
      reps, [] {}, f);
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "rds_benchmark: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string doubles = "1e8", strings = "1e7";
  int reps = 3;
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "seriald_rds_bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--doubles") {
      doubles = argv[i + 1];
    } else if (flag == "--strings") {
      strings = argv[i + 1];
    } else if (flag == "--reps") {
      reps = std::max(1, std::atoi(argv[i + 1]));
    } else if (flag == "--dir") {
      dir = argv[i + 1];
    } else {
      return Fail("unknown flag " + flag);
    }
  }
  std::filesystem::create_directories(dir);
  const std::string script =
      (std::filesystem::path(SERIALD_SOURCE_DIR) / "tests/bench/rds_bench.R").string();
  std::printf("R: Rscript %s %s %s %s %d\n", script.c_str(), dir.c_str(), doubles.c_str(),
              strings.c_str(), reps);
  std::fflush(stdout);
  seriald::testing::RunResult r =
      seriald::testing::RunProgram({"/usr/bin/env", "LANG=C.UTF-8", "Rscript", script, dir.string(),
                                    doubles, strings, std::to_string(reps)},
                                   "", absl::Hours(2));
  if (r.exit_code != 0) return Fail("Rscript failed: " + r.err);

  // R's timings: (object, format, op) -> seconds.
  std::map<std::string, double> r_seconds;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string object, format, op;
    double seconds = 0;
    fields >> object >> format >> op >> seconds;
    r_seconds[object + "/" + format + "/" + op] = seconds;
  }

  std::printf(
      "\n%-8s %-6s %7s | %-22s %7s %7s | %-22s %7s %7s | %9s %7s | %9s %7s | %9s %7s | %9s %7s | "
      "%9s %7s\n",
      "object", "format", "MB", "decode ms (MB/s)", "R MB/s", "ratio", "encode ms (MB/s)", "R MB/s",
      "ratio", "memcpy ms", "dec/cpy", "fresh ms", "dec/new", "swap ms", "swp/cpy", "lent ms",
      "lnt/cpy", "1st ms", "1st/new");
  for (const char* object : {"doubles", "strings"}) {
    for (const char* format : {"xdr", "native"}) {
      const std::string path = (dir / (std::string(object) + "_" + format + ".bin")).string();
      auto file = seriald::ReadFile(path);
      if (!file.ok()) return Fail(std::string(file.status().message()));
      // Bring the stream into memory once, so the page cache is not what is timed.
      seriald::Buffer input = seriald::Buffer::Copy(file->data(), file->size());
      const double mb = static_cast<double>(input.size()) / 1e6;

      // One untimed run first; each timed run starts after the previous result is freed, as R's
      // runs start after gc().
      std::optional<absl::StatusOr<seriald::Value>> value(seriald::ReadR(input));
      const double decode = Median(reps, [&] {
        value.reset();
        value.emplace(seriald::ReadR(input));
      });
      if (!value->ok()) return Fail(std::string(value->status().message()));
      // Lent its input (ReadOptions::input_is_scratch, as the service's unary Deserialize lends
      // its request), the decoder swaps XDR vectors where they are: each timed run reads a copy
      // of the stream made before its clock starts.
      seriald::ReadOptions lend;
      lend.input_is_scratch = true;
      seriald::Buffer lent;
      const double lent_decode = MedianAfter(
          reps,
          [&] {
            value.reset();
            auto [copy, copy_bytes] = seriald::Buffer::Allocate(input.size());
            std::memcpy(copy_bytes, input.data(), input.size());
            lent = std::move(copy);
          },
          [&] { value.emplace(seriald::ReadR(std::exchange(lent, {}), lend)); });
      if (!value->ok()) return Fail(std::string(value->status().message()));
      // Every vector in fresh memory: the pool holds nothing when the clock starts.
      const double first_decode = MedianAfter(
          reps,
          [&] {
            value.reset();
            seriald::MappingPool::Shared().Release();
          },
          [&] { value.emplace(seriald::ReadR(input)); });
      if (!value->ok()) return Fail(std::string(value->status().message()));
      const seriald::Value& decoded = **value;
      const auto settings = seriald::rds::SettingsFor(decoded, decoded.source().r->format, 3,
                                                      seriald::RCompression::kNone);
      size_t written = 0;
      const double encode = Median(reps, [&] {
        seriald::ByteWriter out;
        absl::Status status = seriald::WriteR(decoded, settings, out);
        seriald::BufferChain chain;
        if (status.ok()) status = out.Finish(&chain);
        if (!status.ok()) std::abort();
        written = chain.size();
      });
      if (written != input.size()) return Fail("encoded size differs from R's stream");
      auto [copy, bytes] = seriald::Buffer::Allocate(input.size());
      std::memset(bytes, 0, input.size());  // fault the pages in before timing
      const double memcpy_seconds =
          Median(reps, [&] { std::memcpy(bytes, input.data(), input.size()); });
      // What any decoder that returns new memory also pays: the kernel zeroes each fresh page
      // before the copy lands in it. A mapping of its own, not the pool's kept pages.
      const double fresh_memcpy_seconds = Median(reps, [&] {
        uint8_t* fresh = seriald::MapHugePages(input.size());
        if (fresh == nullptr) std::abort();
        std::memcpy(fresh, input.data(), input.size());
        ::munmap(fresh, seriald::RoundUpToHugePages(input.size()));
      });
      // The XDR doubles' elements alone (the stream's header and length words are a few bytes),
      // swapped into the touched memory memcpy wrote into.
      const bool swapped = std::string(object) == "doubles" && std::string(format) == "xdr";
      const double swap_seconds =
          swapped
              ? Median(reps, [&] { seriald::SwapCopy(input.data(), bytes, input.size() / 8, 8); })
              : 0;

      const std::string key = std::string(object) + "/" + format + "/";
      const double r_decode = r_seconds[key + "unserialize"];
      const double r_encode = r_seconds[key + "serialize"];
      auto rate = [&](double seconds) { return seconds > 0 ? mb / seconds : 0.0; };
      auto ratio = [](double a, double b) { return a > 0 ? b / a : 0.0; };
      auto cell = [&](double seconds) {
        char text[32];
        std::snprintf(text, sizeof text, "%9.1f (%10.0f)", seconds * 1e3, rate(seconds));
        return std::string(text);
      };
      char swap_ms[32] = "-", swap_ratio[32] = "-";
      if (swapped) {
        std::snprintf(swap_ms, sizeof swap_ms, "%.1f", swap_seconds * 1e3);
        std::snprintf(swap_ratio, sizeof swap_ratio, "%.2fx", ratio(memcpy_seconds, swap_seconds));
      }
      std::printf(
          "%-8s %-6s %7.1f | %-22s %7.0f %6.1fx | %-22s %7.0f %6.1fx | %9.1f %6.2fx | %9.1f "
          "%6.2fx | %9s %7s | %9.1f %6.2fx | %9.1f %6.2fx\n",
          object, format, mb, cell(decode).c_str(), rate(r_decode), ratio(decode, r_decode),
          cell(encode).c_str(), rate(r_encode), ratio(encode, r_encode), memcpy_seconds * 1e3,
          ratio(memcpy_seconds, decode), fresh_memcpy_seconds * 1e3,
          ratio(fresh_memcpy_seconds, decode), swap_ms, swap_ratio, lent_decode * 1e3,
          ratio(memcpy_seconds, lent_decode), first_decode * 1e3,
          ratio(fresh_memcpy_seconds, first_decode));
    }
  }
  std::printf(
      "\nratio = seriald speed / R speed; dec/cpy = memcpy speed / decode speed of the same bytes "
      "(median of %d);\ndec/new = the same against a memcpy into fresh memory; swp/cpy = memcpy "
      "speed / the byte-order kernel's speed\n(SwapCopy of the XDR doubles into the same touched "
      "memory); lnt/cpy = memcpy speed / the decode's speed lent its input (a copy of the "
      "stream made\nbefore each run: ReadOptions::input_is_scratch, XDR vectors swapped where they "
      "are);\n1st/new = memcpy into fresh memory's speed / the decode's speed with the mapping "
      "pool emptied before each run\n(every vector in fresh memory, as a process's first decode); "
      "decode reuses the pages the run before freed.\nNative (B) numeric vectors decode as slices "
      "of the input and encode by "
      "reference: no bytes move.\n",
      reps);
  return 0;
}
