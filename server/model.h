// The records callpush keeps, as plain structs: business logic works on these
// and never on protobuf or SQL types, so it can be tested with fakes alone.
#ifndef CALLPUSH_SERVER_MODEL_H_
#define CALLPUSH_SERVER_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace callpush {

enum class Platform { kIos, kAndroid };
enum class PushKind { kCall, kUpdate, kCancel };
// Which of a device's two tokens a push goes to (DESIGN section 4).
enum class TokenKind { kVoip, kPush };

const char* PlatformName(Platform p);    // "ios" | "android"
const char* TokenKindName(TokenKind k);  // "voip" | "push"
bool ParsePlatform(const std::string& s, Platform* p);
bool ParsePushKind(const std::string& s, PushKind* k);

// "call" | "update" | "cancel": the wire name in payloads and call_pushes.
// Inline so the provider libraries use it without linking the server.
inline const char* PushKindName(PushKind k) {
  switch (k) {
    case PushKind::kCall:
      return "call";
    case PushKind::kUpdate:
      return "update";
    case PushKind::kCancel:
      return "cancel";
  }
  return "call";
}

struct PatientRecord {
  std::string id;
  std::string mobile_number;  // E.164
  bool active = true;
  absl::Time created_at = absl::InfinitePast();
  absl::Time updated_at = absl::InfinitePast();
};

struct DeviceRecord {
  std::string id;  // UUID, lower case; the RFC 8599 pn-prid
  std::string patient_id;
  std::string mobile_number;  // the patient's, E.164
  bool patient_active = true;
  Platform platform = Platform::kIos;
  std::string app;
  std::string environment;  // "sandbox" | "production" | "" (app default)
  std::optional<std::string> voip_token;
  std::optional<std::string> push_token;
  bool inbound_calls_allowed = true;
  absl::Time token_updated_at = absl::InfinitePast();
  absl::Time created_at = absl::InfinitePast();
  absl::Time updated_at = absl::InfinitePast();
};

// What RegisterDevice writes. Optional fields follow the proto's rules.
struct DeviceRegistration {
  std::string device_id;      // empty: create
  std::string mobile_number;  // already normalised to E.164
  Platform platform = Platform::kIos;
  std::string app;
  std::string environment;                // "" = app default
  std::optional<std::string> voip_token;  // nullopt keeps, "" clears
  std::optional<std::string> push_token;
  std::optional<bool> inbound_calls_allowed;
};

// Outcome of one push attempt as stored in call_pushes.
enum class PushOutcome { kPending, kAccepted, kRejected, kFailed };
const char* PushOutcomeName(PushOutcome o);
bool ParsePushOutcome(const std::string& s, PushOutcome* o);

struct PushAttempt {
  int64_t id = 0;
  std::string call_id;
  std::string device_id;
  PushKind kind = PushKind::kCall;
  std::string reason;    // cancel reason
  std::string provider;  // "apns" | "fcm" | "none"
  PushOutcome outcome = PushOutcome::kPending;
  int provider_status = 0;
  std::string provider_reason;
  std::string provider_id;
  absl::Duration latency = absl::ZeroDuration();
  bool token_invalidated = false;
  absl::Time created_at = absl::InfinitePast();
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_MODEL_H_
