#include "server/pg/pg_errors.h"

#include <pqxx/pqxx>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace callpush {

PgError PgErrorFromException(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return {absl::UnavailableError("database unavailable: connection lost"),
            true};
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return {absl::UnavailableError(
                "database unavailable: connection lost during commit"),
            true};
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    std::string state = sql->sqlstate();
    std::string where =
        absl::StrCat("(SQLSTATE ", state.empty() ? "?" : state, ")");
    if (state == "57014") {  // query_canceled: statement_timeout
      return {absl::DeadlineExceededError(
                  absl::StrCat("database query timed out ", where)),
              false};
    }
    // 08: connection exceptions; 57P01-03: admin/crash shutdown, cannot
    // connect now (starting up or shutting down).
    if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P")) {
      return {
          absl::UnavailableError(absl::StrCat("database unavailable ", where)),
          true};
    }
    // 40001 serialization failure, 40P01 deadlock, 53 insufficient
    // resources, 55P03 lock not available: retry later.
    if (absl::StartsWith(state, "40") || absl::StartsWith(state, "53") ||
        state == "55P03") {
      return {absl::UnavailableError(absl::StrCat("database busy ", where)),
              false};
    }
    if (state == "23505") {
      return {absl::AlreadyExistsError(absl::StrCat("already exists ", where)),
              false};
    }
    if (absl::StartsWith(state, "23")) {
      return {absl::FailedPreconditionError(
                  absl::StrCat("constraint violated ", where)),
              false};
    }
    if (state.empty()) {
      // No SQLSTATE: libpq lost the server mid-query.
      return {absl::UnavailableError("database unavailable: no answer"), true};
    }
    return {absl::InternalError(absl::StrCat("database error ", where)), false};
  }
  if (dynamic_cast<const pqxx::usage_error*>(&e) != nullptr) {
    return {absl::InternalError("database usage error"), false};
  }
  return {absl::InternalError("database error"), false};
}

}  // namespace callpush
