// ApnsAppConfig: one iOS app's APNs settings as plain values (main copies
// them from the PushConfig proto, so this library needs no protobuf), plus
// the rules that turn them into a push's type and token.
#ifndef CALLPUSH_CLIENTS_APNS_APNS_APP_CONFIG_H_
#define CALLPUSH_CLIENTS_APNS_APNS_APP_CONFIG_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/push_sender.h"

namespace callpush {

struct ApnsAppConfig {
  std::string bundle_id;  // VoIP pushes go to "<bundle_id>.voip"
  // Token auth (preferred): a .p8 key and its ids.
  std::string team_id;
  std::string key_id;
  std::string key_file;
  // Certificate auth (when key_file is empty): client certificate and key.
  std::string certificate_file;
  std::string certificate_key_file;
  std::string default_environment = "production";  // or "sandbox"
  // Send update-call / cancel-call as VoIP pushes: only for apps that report
  // every VoIP push to CallKit (iOS 13+ kills the others).
  bool update_as_voip = false;
  bool cancel_as_voip = false;
  bool hide_caller_name = false;
  // A cancel with reason "cancelled" is a visible "missed call" alert; when
  // false it is a silent background push like "answered_elsewhere".
  bool missed_call_alert = true;
  std::string missed_call_title = "Missed call";
  // How long APNs keeps a missed-call alert for an offline phone: unlike
  // the call itself it is still worth showing later.
  absl::Duration missed_call_ttl = absl::Hours(24);

  bool uses_token_auth() const { return !key_file.empty(); }
};

enum class ApnsPushType { kVoip, kAlert, kBackground };

// "voip" | "alert" | "background": the apns-push-type header value.
const char* ApnsPushTypeName(ApnsPushType type);

// call: VoIP. update: VoIP if update_as_voip, else background. cancel: VoIP
// if cancel_as_voip; else an alert for reason "cancelled" when
// missed_call_alert; else background (answered_elsewhere, unknown reasons).
ApnsPushType ApnsPushTypeFor(const PushRequest& request,
                             const ApnsAppConfig& config);

// The token a push type can reach: APNs delivers VoIP pushes only to the
// PushKit (VoIP) token and the others only to the regular token; a
// mismatch is answered DeviceTokenNotForTopic, which reads as a dead token.
TokenKind ApnsTokenKindFor(ApnsPushType type);

// "production" | "sandbox": the request's environment or the app default.
std::string ApnsEnvironmentFor(const PushRequest& request,
                               const ApnsAppConfig& config);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_APNS_APNS_APP_CONFIG_H_
