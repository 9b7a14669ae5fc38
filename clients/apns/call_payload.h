// CallPayloadFields: what every call push carries (DESIGN section 5), in one
// place so that APNs (top-level JSON keys) and FCM (the data map, strings
// only) send the same names and values.
#ifndef CALLPUSH_CLIENTS_APNS_CALL_PAYLOAD_H_
#define CALLPUSH_CLIENTS_APNS_CALL_PAYLOAD_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "server/push_sender.h"

namespace callpush {

// RFC 3339 in UTC with milliseconds: "2027-01-15T08:00:00.250Z".
std::string FormatRfc3339(absl::Time t);

// In this order: type, callId, callUuid, callerName (call and update only;
// "" when `hide_caller_name`), reason (cancel only), deviceId, sentAt,
// expiresAt (left out when request.expires_at is not set). Every value is a
// string, as FCM data requires.
std::vector<std::pair<std::string, std::string>> CallPayloadFields(
    const PushRequest& request, absl::Time sent_at, bool hide_caller_name);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_APNS_CALL_PAYLOAD_H_
