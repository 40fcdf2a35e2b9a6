#include "server/call_log.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace seriald {
namespace {

// A logfmt value: bare when it is a simple token, otherwise quoted with C escapes.
std::string LogValue(absl::string_view value) {
  bool bare = !value.empty();
  for (char c : value) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) >= 0x7f) {
      bare = false;
      break;
    }
  }
  return bare ? std::string(value) : absl::StrCat("\"", absl::CHexEscape(value), "\"");
}

}  // namespace

void CallLog::Write(const CallRecord& record, const absl::Status& status) {
  double ms = absl::ToDoubleMilliseconds(absl::Now() - record.start);
  std::string line = absl::StrFormat(
      "seriald call method=%s peer=%s in=%s out=%s bytes_in=%d bytes_out=%d ms=%.1f status=%s",
      record.method, LogValue(record.peer),
      LogValue(record.input_format.empty() ? "-" : record.input_format),
      LogValue(record.output_format.empty() ? "-" : record.output_format), record.bytes_in,
      record.bytes_out, ms, absl::StatusCodeToString(status.code()));
  if (record.as_received) {
    absl::StrAppend(&line, " as_received=1 queued_peak=", record.queued_peak_bytes,
                    " spilled=", record.spilled_bytes);
    if (record.input_not_kept) absl::StrAppend(&line, " input_kept=0");
  }
  if (!status.ok()) absl::StrAppend(&line, " error=", LogValue(status.message()));
  line.push_back('\n');
  absl::MutexLock lock(&mutex_);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace seriald
