#include "clients/apns/transport_failure.h"

#include <string>

namespace callpush {

PushResult TransportFailure(const absl::Status& status,
                            absl::string_view provider) {
  PushResult r;
  r.outcome = PushResult::Outcome::kFailed;
  r.provider = std::string(provider);
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      r.reason = "deadline_exceeded";
      r.deadline_exceeded = true;
      break;
    case absl::StatusCode::kUnavailable:
      r.reason = "unavailable";
      break;
    case absl::StatusCode::kResourceExhausted:
      r.reason = "overloaded";
      break;
    case absl::StatusCode::kInternal:
      r.reason = "protocol_error";
      break;
    default:
      r.reason = "transport_error";
      break;
  }
  return r;
}

}  // namespace callpush
