// BuildFcmRequest: the HTTP/2 request of one push through FCM HTTP v1
// (DESIGN section 5), network-free so that every byte is unit-tested.
#ifndef CALLPUSH_CLIENTS_FCM_FCM_REQUEST_H_
#define CALLPUSH_CLIENTS_FCM_FCM_REQUEST_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/fcm/fcm_app_config.h"
#include "clients/http2/http2_types.h"
#include "server/push_sender.h"

namespace callpush {

// FCM's limit on a data message's payload. We apply it to the serialized
// "data" object, which is a little stricter than FCM's own count of keys
// and values, so nothing we accept can be refused for size.
inline constexpr size_t kFcmDataLimit = 4096;

// POST /v1/projects/<config.project_id>/messages:send, headers
// "authorization: Bearer <access_token>" (sensitive) and "content-type:
// application/json", body
//   {"message": {"token": <request.token>,
//                "data": CallPayloadFields (all strings),
//                "android": {"priority": "HIGH", "ttl": "<n>s"}}}
// Every event is a HIGH-priority data message: the app, not the system,
// shows the call UI and the missed-call notification. ttl: a call's and an
// update's remaining ring time (expires_at - now, rounded up; "0s" = now or
// never when unset or past); a cancel "cancelled": config.missed_call_ttl;
// other cancels like updates. `now` stamps sentAt. The deadline is
// request.deadline when set.
//
// Errors, meaning "do not send": INVALID_ARGUMENT for an empty token or
// access token, a project id outside [A-Za-z0-9._:-], or data over
// kFcmDataLimit; FAILED_PRECONDITION for a call whose expires_at is unset or
// not after `now`.
absl::StatusOr<http2::Request> BuildFcmRequest(const PushRequest& request,
                                               const FcmAppConfig& config,
                                               absl::string_view access_token,
                                               absl::Time now);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_FCM_FCM_REQUEST_H_
