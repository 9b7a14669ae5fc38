// ParseRetryAfter: the Retry-After header of a 429/5xx answer (RFC 9110
// section 10.2.3), which both APNs and FCM may send.
#ifndef CALLPUSH_CLIENTS_APNS_RETRY_AFTER_H_
#define CALLPUSH_CLIENTS_APNS_RETRY_AFTER_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/http2/http2_types.h"
#include "server/push_sender.h"

namespace callpush {

// The longest wait we report: a push waits seconds, never days, and a bogus
// header must not overflow anything downstream.
inline constexpr absl::Duration kMaxRetryAfter = absl::Hours(1);

// Delta-seconds only ("120"), clamped to kMaxRetryAfter; nullopt for an
// empty, malformed or HTTP-date value (neither provider sends dates, and a
// date needs a trusted clock to mean anything).
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value);

// 429 and 5xx: the provider may take the same push later (both providers).
inline bool IsRetryableStatus(int status) {
  return status == 429 || status >= 500;
}

// Marks `result` retryable, with the answer's Retry-After.
void MarkRetryable(const http2::Response& response, PushResult& result);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_APNS_RETRY_AFTER_H_
