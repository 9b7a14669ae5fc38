// StatusIs / IsOk matchers for absl::Status and StatusOr, the local stand-in
// for absl/status/status_matchers.h (not in Abseil 20220623).
#ifndef CALLPUSH_TESTS_TESTING_STATUS_MATCHERS_H_
#define CALLPUSH_TESTS_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace callpush::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER_P(StatusIs, code,
          std::string("has status code ") + absl::StatusCodeToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           std::string("has status code ") + absl::StatusCodeToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code &&
         ::testing::ExplainMatchResult(
             message_matcher, std::string(s.message()), result_listener);
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.ok();
}

MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

// For grpc::Status: GrpcStatusIs(grpc::StatusCode::NOT_FOUND).
MATCHER_P(GrpcStatusIs, code, "") {
  *result_listener << "grpc status is " << arg.error_code() << " "
                   << arg.error_message();
  return arg.error_code() == code;
}

MATCHER_P2(GrpcStatusIs, code, message_matcher, "") {
  *result_listener << "grpc status is " << arg.error_code() << " "
                   << arg.error_message();
  return arg.error_code() == code &&
         ::testing::ExplainMatchResult(message_matcher, arg.error_message(),
                                       result_listener);
}

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_STATUS_MATCHERS_H_
