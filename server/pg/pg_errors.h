// Converts libpqxx exceptions into absl::Status where they occur, so nothing
// above the pg/ layer sees a pqxx type. Messages carry the SQLSTATE but never
// Postgres' own text, which can quote row values (mobile numbers, tokens).
#ifndef CALLPUSH_SERVER_PG_PG_ERRORS_H_
#define CALLPUSH_SERVER_PG_PG_ERRORS_H_

#include <exception>

#include "absl/status/status.h"

namespace callpush {

struct PgError {
  absl::Status status;
  // The connection cannot be used again: drop it and reconnect.
  bool connection_lost = false;
};

// Call from inside a catch block with the caught exception.
PgError PgErrorFromException(const std::exception& e);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PG_PG_ERRORS_H_
