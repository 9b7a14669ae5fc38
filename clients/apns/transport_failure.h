// TransportFailure: the PushResult of a push that got no HTTP answer, from
// the HTTP/2 client's error (clients/http2/http2_types.h, Callback). Shared
// by APNs and FCM, whose transports fail the same way.
#ifndef CALLPUSH_CLIENTS_APNS_TRANSPORT_FAILURE_H_
#define CALLPUSH_CLIENTS_APNS_TRANSPORT_FAILURE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/push_sender.h"

namespace callpush {

// Always kFailed, http_status 0, never retryable: UNAVAILABLE may come after
// the provider processed the push, and a resend could ring twice; the pool
// already resent what was provably unprocessed. Reasons:
// DEADLINE_EXCEEDED -> "deadline_exceeded" (deadline_exceeded set),
// UNAVAILABLE -> "unavailable", RESOURCE_EXHAUSTED -> "overloaded",
// INTERNAL -> "protocol_error", anything else -> "transport_error".
PushResult TransportFailure(const absl::Status& status,
                            absl::string_view provider);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_APNS_TRANSPORT_FAILURE_H_
