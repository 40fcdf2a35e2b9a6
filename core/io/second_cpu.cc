#include "core/io/second_cpu.h"

#include <sched.h>

namespace seriald {

bool HasSecondCpu() {
  static const bool has = [] {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    return sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) >= 2;
  }();
  return has;
}

}  // namespace seriald
