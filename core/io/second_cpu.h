// File: core/io/second_cpu.h
//
// Whether this process may run on a second CPU: the condition for handing work that would
// otherwise wait in line (faulting in fresh pages, reading the next step of a file) to a helper
// thread. On one CPU a helper only adds switches. Decided once per process (the affinity mask
// at the first call: a container's CPU set).
//
// Example:
//
//   if (size >= kWorthAThread && HasSecondCpu()) helper_ = std::thread(...);
#ifndef SERIALD_CORE_IO_SECOND_CPU_H_
#define SERIALD_CORE_IO_SECOND_CPU_H_

namespace seriald {

bool HasSecondCpu();

}  // namespace seriald

#endif  // SERIALD_CORE_IO_SECOND_CPU_H_
