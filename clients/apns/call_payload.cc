#include "clients/apns/call_payload.h"

#include "clients/apns/call_uuid.h"

namespace callpush {

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::vector<std::pair<std::string, std::string>> CallPayloadFields(
    const PushRequest& request, absl::Time sent_at, bool hide_caller_name) {
  std::vector<std::pair<std::string, std::string>> fields;
  fields.emplace_back("type", PushKindName(request.kind));
  fields.emplace_back("callId", request.call_id);
  fields.emplace_back("callUuid", CallUuid(request.call_id));
  if (request.kind != PushKind::kCancel) {
    // Blank rather than absent: the app's parser always finds the key.
    fields.emplace_back("callerName",
                        hide_caller_name ? "" : request.caller_name);
  } else {
    fields.emplace_back("reason", request.reason);
  }
  fields.emplace_back("deviceId", request.device_id);
  fields.emplace_back("sentAt", FormatRfc3339(sent_at));
  if (request.expires_at != absl::InfinitePast() &&
      request.expires_at != absl::InfiniteFuture()) {
    fields.emplace_back("expiresAt", FormatRfc3339(request.expires_at));
  }
  return fields;
}

}  // namespace callpush
