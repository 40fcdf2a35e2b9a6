#include "wire/heap_settings.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace seriald {
namespace {

// glibc raises its mmap threshold each time a large block is freed (up to 32 MiB on 64-bit), so
// after a few large calls the buffers of later ones come from the heap and stay in the process
// once freed: RSS grows to the largest mix of calls ever seen instead of following what calls
// hold now. A fixed threshold keeps every block of 8 MiB or more (request and response bytes,
// arrays) in its own mapping that free() returns to the system at once.
//
// Not lower: gRPC serializes every protobuf message it sends in buffers of up to 1 MiB
// (kProtoBufferWriterMaxBufferLength), allocated with a small header, so a threshold of 1 MiB
// (the setting before) gave each full buffer a mapping of its own, faulted in and
// unmapped again for every MiB sent. In service_benchmark (1 GiB), the bare echo server, which
// sends protobuf messages, took 263,000 and 372,000 page faults and 5 to 7 s of processor time
// in two runs with 1 MiB, and 10,000 and 1,500 faults and 0.8 and 0.7 s with 8 MiB; 20 unary
// 12 MiB Convert calls cost seriald 75,000 and 63,000 faults with 1 MiB, 56,000 and 30,000 with
// 8 MiB.
void ReturnLargeBlocksToTheSystem() {
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kOwnMappingFromBytes));
}

// Fixing the mmap threshold also fixes the trim threshold at glibc's 128 KiB: an arena whose
// top has that much free shrinks (brk in the main arena, madvise(MADV_DONTNEED) in the others).
// gRPC reads each streamed message into buffers of a few hundred KiB from the heap and frees
// them once the message is taken, so with 128 KiB the arena shrank and grew again for nearly
// every chunk: receiving a 256 MiB DeserializeStream input made 1293 brk and 453 madvise calls
// (strace; 269 and 24 with this setting), and perf put 11 % of the server's time in page faults
// under recvmsg and 9 % in the TLB flushes of the shrinking. Kept up to 32 MiB, those pages are
// used again; the idle returner's malloc_trim gives them back once no call runs.
void KeepFreedPagesWhileBusy() {
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(kKeptAtArenaTopBytes));
}

// glibc gives each thread that finds the arenas busy an arena of its own, up to 8 per core, and
// an arena keeps what is freed into it. With gRPC's threads, a streamed conversion's receiving
// thread and blocks freed on other threads than the ones that allocated them, the server's peak
// resident set for the same 1.5 GiB ConvertStream varied from 86 to 210 MB from run to run (321
// MB once at 8 GiB) in service_benchmark; with MALLOC_ARENA_MAX=2 on the same 2-core machine
// the rows peaked at 70 to 140 MB, as fast. One arena per core, at least two; MALLOC_ARENA_MAX,
// when set, decides instead.
void FewerArenas() {
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) return;
  mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
}

}  // namespace

void ApplyStreamingHeapSettings() {
  ReturnLargeBlocksToTheSystem();
  KeepFreedPagesWhileBusy();
  FewerArenas();
}

void GiveBackFreedHeapPages() { malloc_trim(0); }

}  // namespace seriald
