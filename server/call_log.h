// File: server/call_log.h
//
// One structured log line per call, in logfmt (key=value pairs, values quoted when needed), on
// standard error:
//
//   seriald call method=ConvertStream peer=ipv4:127.0.0.1:41234 in=t7 out=t7-ascii
//     bytes_in=1610612790 bytes_out=2147483700 ms=5321.7 status=OK
//
// A ConvertStream that converted as its input arrived adds "as_received=1", the most input it
// held in memory at once waiting to be converted ("queued_peak") and what of it waited in a
// spill file ("spilled", when the client did not read the output while it sent). An R stream
// converted so keeps its input in case the conversion needs the object graph; "input_kept=0"
// says it stopped keeping it, finding no room (--max-spill-bytes, a full disk).
//
// Example:
//
//   CallRecord record{"Convert", context->peer()};
//   ... fill formats and sizes ...
//   log.Write(record, status);
#ifndef SERIALD_SERVER_CALL_LOG_H_
#define SERIALD_SERVER_CALL_LOG_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace seriald {

struct CallRecord {
  CallRecord(std::string method_name, std::string peer_address)
      : method(std::move(method_name)), peer(std::move(peer_address)) {}

  std::string method;
  std::string peer;
  std::string input_format;
  std::string output_format;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  absl::Time start = absl::Now();
  // ConvertStream, converting as the input arrives (see the file comment).
  bool as_received = false;
  uint64_t queued_peak_bytes = 0;
  uint64_t spilled_bytes = 0;
  // An R stream that found no room to keep its input (ConvertStream's R conversion).
  bool input_not_kept = false;
};

class CallLog {
 public:
  // Writes the line for a finished call.
  void Write(const CallRecord& record, const absl::Status& status);

 private:
  absl::Mutex mutex_;
};

}  // namespace seriald

#endif  // SERIALD_SERVER_CALL_LOG_H_
