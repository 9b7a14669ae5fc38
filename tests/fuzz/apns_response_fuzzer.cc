// Fuzz target: ClassifyApnsResponse (clients/apns/apns_response.h), the
// reading of every APNs answer, including Retry-After. The input is an
// answer in the text form of fuzz_support.h ("410\napns-id: x\n\n{...}").
// Beyond not crashing, the result must keep the header's contract: a token
// is declared dead only for the two answers that say so, only 429/5xx are
// retryable, Retry-After is clamped, reasons are bounded.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "clients/apns/apns_response.h"
#include "clients/apns/retry_after.h"
#include "tests/fuzz/fuzz_support.h"

namespace callpush {
namespace {

using Outcome = PushResult::Outcome;

bool OneOf(const std::string& s, std::initializer_list<const char*> options) {
  for (const char* o : options) {
    if (s == o) return true;
  }
  return false;
}

void CheckRetryAfter(const std::optional<absl::Duration>& d) {
  if (!d.has_value()) return;
  FUZZ_CHECK(*d >= absl::ZeroDuration());
  FUZZ_CHECK(*d <= kMaxRetryAfter);
}

}  // namespace
}  // namespace callpush

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  callpush::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace callpush;  // NOLINT: a fuzz entry point
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<http2::Response> response =
      fuzz::ParseResponseText(text);
  const PushResult r = ClassifyApnsResponse(response);

  FUZZ_CHECK(r.provider == "apns");
  FUZZ_CHECK(r.latency == absl::ZeroDuration());
  CheckRetryAfter(r.retry_after);
  if (r.retry_after.has_value()) FUZZ_CHECK(r.retryable);
  if (r.retryable) FUZZ_CHECK(r.outcome == Outcome::kFailed);
  if (r.dead_token) FUZZ_CHECK(r.outcome == Outcome::kRejected);
  if (r.token_invalidated_at.has_value()) FUZZ_CHECK(r.dead_token);
  if (r.outcome != Outcome::kAccepted) FUZZ_CHECK(r.provider_id.empty());

  if (!response.ok()) {
    FUZZ_CHECK(r.outcome == Outcome::kFailed);
    FUZZ_CHECK(r.http_status == 0);
    FUZZ_CHECK(!r.retryable && !r.dead_token);
    FUZZ_CHECK(!IsApnsProviderTokenError(r));
    return 0;
  }
  const int status = response->status;
  FUZZ_CHECK(r.http_status == status);
  if (status == 200) {
    FUZZ_CHECK(r.outcome == Outcome::kAccepted);
    FUZZ_CHECK(r.provider_id == response->Header("apns-id"));
    FUZZ_CHECK(!r.dead_token && !r.retryable && r.reason.empty());
    return 0;
  }
  FUZZ_CHECK(r.outcome != Outcome::kAccepted);
  if (r.retryable) FUZZ_CHECK(IsRetryableStatus(status));
  if (r.dead_token) {
    FUZZ_CHECK(
        (status == 410 && OneOf(r.reason, {"Unregistered", "ExpiredToken"})) ||
        (status == 400 &&
         OneOf(r.reason, {"BadDeviceToken", "DeviceTokenNotForTopic"})));
  }
  if (r.token_invalidated_at.has_value()) FUZZ_CHECK(status == 410);
  // A reason is Apple's (a short word) or one of ours.
  FUZZ_CHECK(!r.reason.empty() && r.reason.size() <= 64);
  if (response->body.size() > kMaxApnsErrorBodyBytes) {
    FUZZ_CHECK(r.reason == "malformed_response");
  }
  if (IsApnsProviderTokenError(r)) {
    FUZZ_CHECK(status == 403 && r.outcome == Outcome::kFailed);
  }
  // Retry-After as the classifier read it, on its own.
  if (r.retryable) {
    FUZZ_CHECK(r.retry_after ==
               ParseRetryAfter(response->Header("retry-after")));
  }
  return 0;
}
