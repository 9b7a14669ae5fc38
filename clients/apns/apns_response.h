// ClassifyApnsResponse: what an APNs answer (or its absence) means for the
// push and the device token, following Apple's "Handling notification
// responses from APNs" table. Pure, and total: any input, however
// malformed, yields a PushResult.
#ifndef CALLPUSH_CLIENTS_APNS_APNS_RESPONSE_H_
#define CALLPUSH_CLIENTS_APNS_APNS_RESPONSE_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "clients/http2/http2_types.h"
#include "server/push_sender.h"

namespace callpush {

// APNs error bodies are a few dozen bytes; anything larger is not APNs.
inline constexpr size_t kMaxApnsErrorBodyBytes = 4096;

// provider "apns", http_status, latency left 0 (the caller times the push).
//   200                                -> kAccepted, provider_id = apns-id
//   410 Unregistered | ExpiredToken    -> kRejected, dead_token,
//                                         token_invalidated_at = timestamp
//   400 BadDeviceToken |
//       DeviceTokenNotForTopic         -> kRejected, dead_token
//   403 ExpiredProviderToken |
//       InvalidProviderToken           -> kFailed (renew the token, see
//                                         IsApnsProviderTokenError)
//   429 TooManyProviderTokenUpdates    -> kFailed (a token error too)
//   429 (other), 500, 503, any 5xx     -> kFailed, retryable, retry_after
//   other 4xx                          -> kRejected, token kept
//   anything else                      -> kFailed "unexpected_status"
//   no answer                          -> TransportFailure
// A body that is not a JSON object with a string "reason" (or is over
// kMaxApnsErrorBodyBytes) gives kFailed "malformed_response", retryable for
// 429/5xx: a token is declared dead only on an answer we fully understood.
// A 200 is accepted whatever its body: APNs took the push, and failing it
// would invite a resend.
PushResult ClassifyApnsResponse(
    const absl::StatusOr<http2::Response>& response);

// The push failed because APNs refused our provider token (403
// ExpiredProviderToken / InvalidProviderToken): tell the
// ApnsTokenProvider (OnTokenRejected). Never retried within the call.
bool IsApnsProviderTokenError(const PushResult& result);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_APNS_APNS_RESPONSE_H_
