// ProviderPushSender: the real PushSender. iOS pushes go to APNs and Android
// pushes to FCM HTTP v1, over the HTTP/2 pool (clients/http2), with the
// request building and answer classification of clients/apns and
// clients/fcm. Built from the push configuration file (server/push_config.h).
//
// Retries: at most two sends per push. A push is resent once only when the
// provider asked for it (PushResult::retryable: 429/5xx) and its Retry-After
// (none: at once) still leaves time before the request's deadline; the
// resend waits out the Retry-After in the pool (http2::Request::not_before),
// blocking no thread. When the Retry-After reaches past the deadline the
// caller gets the failure, with retry_after, at once. Accepted pushes and
// rejections (dead tokens) are never resent, nor transport failures, after
// which the push may have been delivered. Credential errors renew the
// credential: APNs 403 provider-token errors tell the ApnsTokenProvider (no
// resend; it keeps a token younger than 20 minutes); an FCM 401 invalidates
// the access token (the cache keeps one younger than a minute) and resends
// the push once with whatever token is then cached.
#ifndef CALLPUSH_SERVER_PROVIDER_PUSH_SENDER_H_
#define CALLPUSH_SERVER_PROVIDER_PUSH_SENDER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "callpush/v1/push_config.pb.h"
#include "clients/base/clock.h"
#include "clients/http2/http2_pool.h"
#include "server/push_observer.h"
#include "server/push_sender.h"

namespace callpush {

// One connection pool of a ProviderPushSender and its counters.
struct ProviderPoolStats {
  // "apns" or "fcm" (FCM's OAuth token endpoint included); a pool that
  // serves both (one host:port and TLS files for both: only the sandbox
  // does that) is named after the first app configuration that uses it.
  std::string provider;
  std::string endpoint;  // host:port
  http2::PoolStats stats;
};

class ProviderPushSender final : public PushSender {
 public:
  // Reads every credential (APNs keys and certificates, FCM service
  // accounts) and creates the pools (connected lazily). INVALID_ARGUMENT /
  // FAILED_PRECONDITION naming the app for anything unusable (an APNs
  // certificate that cannot be read: INVALID_ARGUMENT naming the app and
  // certificateFile). `clock` must outlive the sender, and so must
  // `observer` (told of every APNs token signing and FCM token fetch; may
  // be null).
  static absl::StatusOr<std::unique_ptr<ProviderPushSender>> Create(
      const v1::PushConfig& config, const Clock& clock,
      PushObserver* observer = nullptr);
  // Shutdown(zero) if not shut down yet.
  ~ProviderPushSender() override;

  ProviderPushSender(const ProviderPushSender&) = delete;
  ProviderPushSender& operator=(const ProviderPushSender&) = delete;

  // "apns" for iOS devices of an app with APNs settings, "fcm" for Android
  // devices of an app with FCM settings, else "none".
  std::string ProviderFor(Platform platform,
                          const std::string& app) const override;
  // iOS: call -> {voip}; update -> {voip} if update_as_voip else {push};
  // cancel -> {voip} if cancel_as_voip else {push}. Android (one FCM token
  // serves all): call -> {voip}; update, cancel -> {push, voip}.
  std::vector<TokenKind> TokenKindsFor(Platform platform,
                                       const std::string& app,
                                       PushKind kind) const override;
  void Send(PushRequest request,
            absl::AnyInvocable<void(PushResult)> done) override;

  // App name -> notAfter of its APNs client certificate, for the apps using
  // certificate auth (token-auth apps have no entry). Constant after Create.
  std::map<std::string, absl::Time> CertificateExpiries() const;

  // Every connection pool with its counters now, for metrics. Thread-safe.
  std::vector<ProviderPoolStats> PoolStats() const;

  // Refuses new pushes, waits up to `grace` for those in flight, closes
  // every connection. Idempotent. Call before destroying the sender.
  void Shutdown(absl::Duration grace);

 private:
  struct ApnsApp;
  struct FcmApp;
  struct App;
  struct Pending;

  struct PoolEntry {
    std::unique_ptr<http2::Pool> pool;
    std::string provider;  // the first user's
    std::string endpoint;  // host:port
  };

  ProviderPushSender(const Clock& clock, PushObserver* observer);

  absl::StatusOr<http2::Pool*> PoolFor(const std::string& provider,
                                       const std::string& endpoint,
                                       int default_port,
                                       const std::string& ca_file,
                                       const std::string& cert_file,
                                       const std::string& key_file,
                                       int connections);

  void SendApns(ApnsApp& app, std::shared_ptr<Pending> pending);
  void SendFcm(FcmApp& app, std::shared_ptr<Pending> pending);
  void SendFcmWithToken(FcmApp& app, std::shared_ptr<Pending> pending,
                        const std::string& token);
  // Runs `use` with an access token of `app`: at once when one is cached,
  // else when the refresh in flight (started here if needed) ends.
  // A push that has to wait for the refresh is answered DEADLINE_EXCEEDED
  // at `deadline` if the refresh is slower (InfinitePast: no deadline).
  void WithFcmToken(FcmApp& app, absl::Time deadline,
                    absl::AnyInvocable<void(absl::StatusOr<std::string>)> use);
  void RefreshFcmToken(FcmApp& app);
  // When to resend after `result` (now, or after its Retry-After), or
  // nullopt when it must not be resent.
  std::optional<absl::Time> RetryAt(const PushResult& result,
                                    const Pending& pending) const;
  void Finish(Pending& pending, PushResult result) const;
  void OnApnsTokenRefresh(const std::string& team_id, const std::string& key_id,
                          bool ok, absl::Time at) const;

  const Clock& clock_;
  PushObserver* const observer_;  // may be null
  // Constant after Create.
  std::map<std::string, PoolEntry> pools_;
  // (team id, key id) -> the apps signing with that APNs key.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>>
      apns_key_apps_;
  std::map<std::string, std::unique_ptr<App>> apps_;
  std::map<std::string, absl::Time> certificate_expiries_;
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PROVIDER_PUSH_SENDER_H_
