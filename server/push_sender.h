// PushSender: the seam between call handling and the push providers. The real
// one (APNs/FCM over the HTTP/2 pool) arrives with clients/; until then the
// server runs UnconfiguredPushSender, which refuses every push rather than
// pretending to send it. Tests use tests/testing/fake_push_sender.h.
#ifndef CALLPUSH_SERVER_PUSH_SENDER_H_
#define CALLPUSH_SERVER_PUSH_SENDER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "server/model.h"

namespace callpush {

struct PushRequest {
  PushKind kind = PushKind::kCall;
  std::string device_id;  // pn-prid, carried in the payload
  std::string call_id;
  std::string caller_name;  // call and update
  std::string reason;       // cancel: "cancelled" | "answered_elsewhere"
  Platform platform = Platform::kIos;
  std::string app;
  std::string environment;  // "" = the app's default
  TokenKind token_kind = TokenKind::kVoip;
  std::string token;
  absl::Time deadline = absl::InfinitePast();  // answer by then
  absl::Time expires_at =
      absl::InfinitePast();  // ring timeout (apns-expiration, ttl)
};

struct PushResult {
  enum class Outcome {
    kAccepted,  // the provider took the push (provider_id set)
    kRejected,  // the provider refused it for good (see dead_token)
    kFailed,    // it could not be delivered now (transient, or no answer)
  };
  Outcome outcome = Outcome::kFailed;
  std::string provider;  // "apns" | "fcm" | "none"
  int http_status = 0;   // 0 when no answer
  std::string reason;    // provider reason or our failure reason
  std::string provider_id;
  // The token is dead (APNs 410/BadDeviceToken, FCM UNREGISTERED): clear it.
  bool dead_token = false;
  std::optional<absl::Time> token_invalidated_at;  // APNs 410 timestamp
  bool deadline_exceeded = false;  // kFailed because the deadline passed
  absl::Duration latency = absl::ZeroDuration();
  // kFailed only: the provider asked us to try again (APNs/FCM 429 and 5xx),
  // so one more attempt within the deadline is allowed (DESIGN section 5).
  // False for every other failure, where a resend might deliver twice.
  bool retryable = false;
  // The provider's Retry-After, when it sent one: wait at least this long.
  std::optional<absl::Duration> retry_after;
};

// Thread-safe. Send never blocks; `done` runs exactly once, on any thread
// (usually a provider event loop, possibly inline), by request.deadline, and
// must not block. A push is sent at most once per Send once the provider
// processed it.
class PushSender {
 public:
  virtual ~PushSender() = default;
  // Which provider a device's pushes go to ("apns", "fcm", "none").
  virtual std::string ProviderFor(Platform platform,
                                  const std::string& app) const = 0;
  // Which of a device's tokens a push of `kind` may go to, preferred first.
  // A device with none of them is not valid for that push. The default:
  // calls need the VoIP token; updates and cancels prefer the regular token
  // (a VoIP push the app does not report to CallKit gets it killed on iOS
  // 13+) and fall back to the VoIP token. Senders that know an app's
  // configuration (update/cancel as VoIP) override it.
  virtual std::vector<TokenKind> TokenKindsFor(Platform platform,
                                               const std::string& app,
                                               PushKind kind) const {
    if (kind == PushKind::kCall) return {TokenKind::kVoip};
    return {TokenKind::kPush, TokenKind::kVoip};
  }
  virtual void Send(PushRequest request,
                    absl::AnyInvocable<void(PushResult)> done) = 0;
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PUSH_SENDER_H_
