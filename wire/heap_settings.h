// File: wire/heap_settings.h
//
// How a process that streams large payloads through gRPC sets up its heap (glibc malloc) before
// gRPC starts its threads: which blocks get mappings of their own, how many arenas there are, and
// how much free memory an arena keeps at its top. glibc's defaults suit neither the memory of
// such a process (large blocks kept for good) nor its speed: gRPC's buffers for each received
// message are given back to the system and faulted in again for the next one. seriald applies
// these settings at start, serialctl before a command with --server connects. The C++ client
// library (client/seriald_client.h) never changes its host process's heap by itself: a program of
// its own that streams large payloads calls this function in main. The server's IdleMemoryReturner
// (server/idle_memory.h) gives back what is kept once it is idle.
//
// Example (in main, before any gRPC channel or server exists):
//
//   seriald::ApplyStreamingHeapSettings();
#ifndef SERIALD_WIRE_HEAP_SETTINGS_H_
#define SERIALD_WIRE_HEAP_SETTINGS_H_

#include <cstddef>

namespace seriald {

// Blocks of this size or more get a mapping of their own, returned to the system when freed:
// more than gRPC's own buffers of a message, less than the arrays a call holds.
inline constexpr size_t kOwnMappingFromBytes = size_t{8} << 20;
// Free memory an arena keeps at its top before it shrinks: more than gRPC's receive buffers of a
// few streamed chunks.
inline constexpr size_t kKeptAtArenaTopBytes = size_t{32} << 20;

// Gives the pages of freed heap memory back to the system, wherever in the heap they lie
// (malloc_trim): what a call frees while it grows elsewhere, which the settings above keep for
// the next allocations. Process-wide, and it briefly locks each arena.
void GiveBackFreedHeapPages();

// Applies the settings above, and one arena per core (at least two) unless MALLOC_ARENA_MAX is
// set. Process-wide; call once, before other threads start.
void ApplyStreamingHeapSettings();

}  // namespace seriald

#endif  // SERIALD_WIRE_HEAP_SETTINGS_H_
