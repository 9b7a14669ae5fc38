#include "clients/apns/apns_app_config.h"

namespace callpush {

const char* ApnsPushTypeName(ApnsPushType type) {
  switch (type) {
    case ApnsPushType::kVoip:
      return "voip";
    case ApnsPushType::kAlert:
      return "alert";
    case ApnsPushType::kBackground:
      return "background";
  }
  return "voip";
}

ApnsPushType ApnsPushTypeFor(const PushRequest& request,
                             const ApnsAppConfig& config) {
  switch (request.kind) {
    case PushKind::kCall:
      return ApnsPushType::kVoip;
    case PushKind::kUpdate:
      return config.update_as_voip ? ApnsPushType::kVoip
                                   : ApnsPushType::kBackground;
    case PushKind::kCancel:
      if (config.cancel_as_voip) return ApnsPushType::kVoip;
      if (request.reason == "cancelled" && config.missed_call_alert) {
        return ApnsPushType::kAlert;
      }
      return ApnsPushType::kBackground;
  }
  return ApnsPushType::kVoip;
}

TokenKind ApnsTokenKindFor(ApnsPushType type) {
  return type == ApnsPushType::kVoip ? TokenKind::kVoip : TokenKind::kPush;
}

std::string ApnsEnvironmentFor(const PushRequest& request,
                               const ApnsAppConfig& config) {
  if (!request.environment.empty()) return request.environment;
  if (!config.default_environment.empty()) return config.default_environment;
  return "production";
}

}  // namespace callpush
