// Fuzz target: the two FCM answers we read, ClassifyFcmResponse
// (clients/fcm/fcm_response.h, every push) and ParseTokenResponse
// (clients/fcm/oauth_token_exchange.h, the OAuth token endpoint). Both take
// the same input, an answer in the text form of fuzz_support.h
// ("404\n\n{"error":{...}}"). Beyond not crashing, each keeps its header's
// contract: which answers kill a token, which are retried, that an access
// token accepted is usable in a header and expires within a day.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/apns/retry_after.h"
#include "clients/fcm/fcm_response.h"
#include "clients/fcm/oauth_token_exchange.h"
#include "tests/fuzz/fuzz_support.h"

namespace callpush {
namespace {

using Outcome = PushResult::Outcome;

void CheckPush(const absl::StatusOr<http2::Response>& response) {
  const PushResult r = ClassifyFcmResponse(response);
  FUZZ_CHECK(r.provider == "fcm");
  if (r.retry_after.has_value()) {
    FUZZ_CHECK(r.retryable);
    FUZZ_CHECK(*r.retry_after >= absl::ZeroDuration() &&
               *r.retry_after <= kMaxRetryAfter);
  }
  if (r.retryable) FUZZ_CHECK(r.outcome == Outcome::kFailed);
  if (r.dead_token) {
    FUZZ_CHECK(r.outcome == Outcome::kRejected);
    // SENDER_ID_MISMATCH and the rest never clear a token.
    FUZZ_CHECK(r.reason == "UNREGISTERED" || r.reason == "INVALID_ARGUMENT");
  }
  FUZZ_CHECK(!r.token_invalidated_at.has_value());
  if (r.outcome != Outcome::kAccepted) FUZZ_CHECK(r.provider_id.empty());
  if (IsFcmAuthError(r)) {
    FUZZ_CHECK(r.http_status == 401 && r.outcome == Outcome::kFailed);
  }
  if (!response.ok()) {
    FUZZ_CHECK(r.outcome == Outcome::kFailed && r.http_status == 0);
    FUZZ_CHECK(!r.retryable && !r.dead_token);
    return;
  }
  const int status = response->status;
  FUZZ_CHECK(r.http_status == status);
  if (status == 200) {
    FUZZ_CHECK(r.outcome == Outcome::kAccepted);
    FUZZ_CHECK(!r.dead_token && !r.retryable && r.reason.empty());
    return;
  }
  FUZZ_CHECK(r.outcome != Outcome::kAccepted);
  FUZZ_CHECK(!r.reason.empty() && r.reason.size() <= 64);
  if (IsRetryableStatus(status) && r.reason == "malformed_response") {
    FUZZ_CHECK(r.retryable);
  }
  if (response->body.size() > kMaxFcmBodyBytes) {
    FUZZ_CHECK(r.reason == "malformed_response");
  }
}

void CheckToken(const absl::StatusOr<http2::Response>& response) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const absl::StatusOr<AccessToken> token = ParseTokenResponse(response, now);
  if (!response.ok()) {
    FUZZ_CHECK(token.status() == response.status());
    return;
  }
  const int status = response->status;
  if (token.ok()) {
    FUZZ_CHECK(status == 200);
    FUZZ_CHECK(!token->token.empty());
    for (char c : token->token) {
      FUZZ_CHECK(static_cast<unsigned char>(c) > ' ' && c != 0x7f);
    }
    FUZZ_CHECK(token->expires_at > now);
    FUZZ_CHECK(token->expires_at <= now + absl::Hours(24));
    return;
  }
  const absl::StatusCode code = token.status().code();
  if (status == 200) {
    FUZZ_CHECK(code == absl::StatusCode::kInternal);
  } else if (status == 429 || status >= 500) {
    FUZZ_CHECK(code == absl::StatusCode::kUnavailable);
  } else {
    FUZZ_CHECK(code == absl::StatusCode::kFailedPrecondition);
  }
  // Google's error and description are quoted, each cut to 200 bytes.
  FUZZ_CHECK(token.status().message().size() <= 64 + 2 * 200);
}

}  // namespace
}  // namespace callpush

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  callpush::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const auto response = callpush::fuzz::ParseResponseText(text);
  callpush::CheckPush(response);
  callpush::CheckToken(response);
  return 0;
}
