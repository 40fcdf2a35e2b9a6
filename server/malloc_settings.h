// File: server/malloc_settings.h
//
// How the server's heap (glibc malloc) is set up before gRPC starts its threads: which blocks get
// mappings of their own, how many arenas there are, and how much free memory an arena keeps at
// its top while calls run. The server is a process of long, large calls on a few threads; glibc's
// defaults suit neither its memory (kept for good) nor its speed (returned and faulted in again
// for every received message). IdleMemoryReturner (server/idle_memory.h) gives back what is kept
// once the server is idle.
//
// Example (in main, before the server starts):
//
//   seriald::ApplyServerMallocSettings();
#ifndef SERIALD_SERVER_MALLOC_SETTINGS_H_
#define SERIALD_SERVER_MALLOC_SETTINGS_H_

#include <cstddef>

namespace seriald {

// Blocks of this size or more get a mapping of their own, returned to the system when freed.
inline constexpr size_t kOwnMappingFromBytes = size_t{1} << 20;
// Free memory an arena keeps at its top before it shrinks: more than gRPC's receive buffers of a
// few streamed chunks.
inline constexpr size_t kKeptAtArenaTopBytes = size_t{32} << 20;

// Applies the settings above, and one arena per core (at least two) unless MALLOC_ARENA_MAX is
// set. Process-wide; call once, before other threads start.
void ApplyServerMallocSettings();

}  // namespace seriald

#endif  // SERIALD_SERVER_MALLOC_SETTINGS_H_
