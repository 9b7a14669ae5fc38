// ApnsTokenProvider: the APNs provider token (an ES256 JWT) of one signing
// key, i.e. one (team id, key id). Every connection and every app using
// that key shares one provider, because APNs rejects a key whose token
// changes more often than every 20 minutes (TooManyProviderTokenUpdates),
// and a token older than an hour (ExpiredProviderToken).
#ifndef CALLPUSH_CLIENTS_APNS_APNS_TOKEN_PROVIDER_H_
#define CALLPUSH_CLIENTS_APNS_APNS_TOKEN_PROVIDER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/apns/jwt_signer.h"
#include "clients/base/clock.h"

namespace callpush {

struct ApnsTokenOptions {
  // Renew a token this old on the next Token() call: well inside Apple's
  // one hour, with room for a push in flight.
  absl::Duration renew_after = absl::Minutes(50);
  // Never renew a token younger than this, even when asked to.
  absl::Duration min_renew_interval = absl::Minutes(20);
  // Told of every signing attempt, for metrics: OK with the new token's
  // issue time, or the error with the time of the attempt. Runs on the
  // caller of Token(), outside the lock; must be thread-safe and quick.
  // Never given the token.
  std::function<void(const absl::Status& status, absl::Time at)> on_refresh;
};

// Thread-safe. Token() signs (tens of microseconds) under the lock at most
// once per renewal and otherwise returns the cached string; it never
// blocks on I/O. Never logs or reports the token or the key.
class ApnsTokenProvider {
 public:
  // The .p8 file Apple issued (PKCS#8 PEM, P-256). FAILED_PRECONDITION if it
  // cannot be read, INVALID_ARGUMENT if it is not such a key or an id is
  // empty.
  static absl::StatusOr<std::unique_ptr<ApnsTokenProvider>> FromKeyFile(
      std::string team_id, std::string key_id, const std::string& path,
      const Clock& clock, ApnsTokenOptions options = {});
  static absl::StatusOr<std::unique_ptr<ApnsTokenProvider>> FromPem(
      std::string team_id, std::string key_id, absl::string_view pem,
      const Clock& clock, ApnsTokenOptions options = {});

  // The JWT for "authorization: bearer <jwt>": header {alg: ES256, kid},
  // claims {iss: team id, iat: now in seconds}. Signs a new one on the
  // first call and once the current one is renew_after old.
  absl::StatusOr<std::string> Token() ABSL_LOCKS_EXCLUDED(mu_);

  // After APNs answered ExpiredProviderToken or InvalidProviderToken to a
  // push sent with `rejected`: drops the current token so the next Token()
  // signs anew, if `rejected` is the current token and it is at least
  // min_renew_interval old. Returns whether it did. A younger token is kept:
  // renewing it would only earn TooManyProviderTokenUpdates, and a fresh
  // token that is invalid points at the configuration, not at its age.
  bool OnTokenRejected(absl::string_view rejected) ABSL_LOCKS_EXCLUDED(mu_);

  // When the current token was issued (InfinitePast before the first). For
  // metrics and tests.
  absl::Time issued_at() const ABSL_LOCKS_EXCLUDED(mu_);

  const std::string& team_id() const { return team_id_; }
  const std::string& key_id() const { return key_id_; }

 private:
  ApnsTokenProvider(std::string team_id, std::string key_id, JwtSigner signer,
                    const Clock& clock, ApnsTokenOptions options);

  const std::string team_id_;
  const std::string key_id_;
  const JwtSigner signer_;
  const Clock& clock_;
  const ApnsTokenOptions options_;

  mutable absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);  // "" = none yet / dropped
  absl::Time issued_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_APNS_APNS_TOKEN_PROVIDER_H_
