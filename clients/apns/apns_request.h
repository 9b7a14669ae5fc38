// BuildApnsRequest: the HTTP/2 request of one push to APNs (DESIGN section
// 5), network-free so that every header and payload byte is unit-tested.
#ifndef CALLPUSH_CLIENTS_APNS_APNS_REQUEST_H_
#define CALLPUSH_CLIENTS_APNS_APNS_REQUEST_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/apns/apns_app_config.h"
#include "clients/http2/http2_types.h"
#include "server/push_sender.h"

namespace callpush {

// Apple's payload limits: VoIP pushes may carry 5 KB, all others 4 KB.
inline constexpr size_t kApnsVoipPayloadLimit = 5120;
inline constexpr size_t kApnsPayloadLimit = 4096;

// POST /3/device/<token> with:
//   apns-push-type   ApnsPushTypeFor(request, config)
//   apns-topic       "<bundle>.voip" for voip, "<bundle>" otherwise
//   apns-priority    10 for voip and alert, 5 for background (Apple
//                    rejects background pushes at 10)
//   apns-expiration  voip/background: request.expires_at in unix seconds
//                    (rounded up), or 0 (deliver now or never) when it is
//                    unset or past: an update or cancel is useless once the
//                    call stopped ringing. alert (missed call): now +
//                    config.missed_call_ttl, since it is worth showing late.
//   apns-collapse-id alert only: the callId (or callUuid if the callId is
//                    longer than Apple's 64 bytes), so repeats replace it
//   authorization    "bearer <jwt>", sensitive; token auth only (`bearer`
//                    must then be non-empty, and empty for certificate auth)
// No apns-id is sent: APNs assigns one and returns it. The body is
// CallPayloadFields as top-level keys, plus "aps": {"content-available": 1}
// for background and {"alert": {"title", "body"?}} for alert (body = caller
// name unless hidden or empty). `now` stamps sentAt. The deadline is
// request.deadline when set.
//
// Errors, all meaning "do not send": INVALID_ARGUMENT for a token that is
// not hex, an empty bundle id, a bearer that does not match the auth mode,
// or a payload over the limit; FAILED_PRECONDITION when request.token_kind
// cannot receive this push type (ApnsTokenKindFor; sending would earn
// DeviceTokenNotForTopic and clear a good token) or a call's expires_at is
// unset or not after `now`.
absl::StatusOr<http2::Request> BuildApnsRequest(const PushRequest& request,
                                                const ApnsAppConfig& config,
                                                absl::string_view bearer,
                                                absl::Time now);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_APNS_APNS_REQUEST_H_
