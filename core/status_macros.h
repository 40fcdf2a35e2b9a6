// File: core/status_macros.h
//
// Early-return helpers for absl::Status and absl::StatusOr. Abseil 20220623 (Debian 12) ships no
// status macros, so seriald defines its own, small and predictable.
//
// Example:
//
//   absl::StatusOr<int32_t> ReadCount(ByteReader& in) {
//     ASSIGN_OR_RETURN(int32_t n, in.ReadInt32());
//     RETURN_IF_ERROR(CheckCount(n, in));
//     return n;
//   }
#ifndef SERIALD_CORE_STATUS_MACROS_H_
#define SERIALD_CORE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SERIALD_STATUS_CONCAT_INNER_(a, b) a##b
#define SERIALD_STATUS_CONCAT_(a, b) SERIALD_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function if it is not OK.
#define RETURN_IF_ERROR(expr)                                                                 \
  do {                                                                                        \
    if (absl::Status seriald_status_ = (expr); !seriald_status_.ok()) return seriald_status_; \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from the enclosing
// function, otherwise moves the value into `lhs` (which may be a declaration).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  SERIALD_ASSIGN_OR_RETURN_IMPL_(SERIALD_STATUS_CONCAT_(seriald_statusor_, __LINE__), lhs, rexpr)

#define SERIALD_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(statusor).value()

#endif  // SERIALD_CORE_STATUS_MACROS_H_
