// ClassifyFcmResponse: what an FCM HTTP v1 answer (or its absence) means for
// the push and the registration token, after Firebase's ErrorCode table.
// Pure and total: any input, however malformed, yields a PushResult.
#ifndef CALLPUSH_CLIENTS_FCM_FCM_RESPONSE_H_
#define CALLPUSH_CLIENTS_FCM_FCM_RESPONSE_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "clients/http2/http2_types.h"
#include "server/push_sender.h"

namespace callpush {

inline constexpr size_t kMaxFcmBodyBytes = 16 * 1024;

// provider "fcm", http_status, latency left 0. The error code is the
// FcmError detail's errorCode (type.googleapis.com/google.firebase.fcm.v1.
// FcmError), else error.status; it becomes `reason`.
//   200 {"name"}             -> kAccepted, provider_id = name
//   UNREGISTERED             -> kRejected, dead_token
//   INVALID_ARGUMENT         -> kRejected; dead_token only when the message
//                               says the registration token is not valid
//                               (other INVALID_ARGUMENTs are our payload's
//                               fault, and the token may be fine)
//   SENDER_ID_MISMATCH       -> kRejected, token kept: the token belongs to
//                               another Firebase project, but a wrong
//                               projectId in our config looks the same for
//                               every device, and must not wipe them all
//   QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL, any 429/5xx
//                            -> kFailed, retryable, retry_after
//   401 (not THIRD_PARTY_AUTH_ERROR)
//                            -> kFailed: refresh the OAuth token and retry
//                               once (IsFcmAuthError)
//   THIRD_PARTY_AUTH_ERROR, other 4xx
//                            -> kRejected, token kept
//   anything else            -> kFailed "unexpected_status"
//   no answer                -> TransportFailure
// An error body we cannot read gives kFailed "malformed_response" (retryable
// for 429/5xx). A 200 is accepted whatever its body.
PushResult ClassifyFcmResponse(const absl::StatusOr<http2::Response>& response);

// FCM refused our OAuth access token: invalidate it (FcmTokenCache), fetch
// a new one and resend this push once.
bool IsFcmAuthError(const PushResult& result);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_FCM_FCM_RESPONSE_H_
