// RETURN_IF_ERROR and ASSIGN_OR_RETURN: local equivalents of the macros that
// Abseil 20220623 does not ship (absl/status/status_macros.h came later).
#ifndef CALLPUSH_CLIENTS_BASE_STATUS_MACROS_H_
#define CALLPUSH_CLIENTS_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CALLPUSH_MACROS_CONCAT_INNER_(x, y) x##y
#define CALLPUSH_MACROS_CONCAT_(x, y) CALLPUSH_MACROS_CONCAT_INNER_(x, y)

#define RETURN_IF_ERROR(expr)                 \
  do {                                        \
    ::absl::Status _callpush_status = (expr); \
    if (!_callpush_status.ok()) {             \
      return _callpush_status;                \
    }                                         \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, rexpr) \
  CALLPUSH_ASSIGN_OR_RETURN_IMPL_(   \
      CALLPUSH_MACROS_CONCAT_(_callpush_statusor_, __LINE__), lhs, rexpr)

#define CALLPUSH_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                    \
  if (!statusor.ok()) {                                       \
    return std::move(statusor).status();                      \
  }                                                           \
  lhs = *std::move(statusor)

#endif  // CALLPUSH_CLIENTS_BASE_STATUS_MACROS_H_
