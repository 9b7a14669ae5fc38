// FcmTokenCache: the OAuth access token of one service account, shared by
// all pushes of the apps using it, and the decision of when to fetch the
// next one. It does no I/O: Get() tells the caller to refresh, and the
// caller reports back with Set() or RefreshFailed().
#ifndef CALLPUSH_CLIENTS_FCM_FCM_TOKEN_CACHE_H_
#define CALLPUSH_CLIENTS_FCM_FCM_TOKEN_CACHE_H_

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "clients/fcm/oauth_token_exchange.h"

namespace callpush {

struct FcmTokenCacheOptions {
  // A token is used until this long before it expires, so that no push
  // arrives at FCM with a token that expired in flight.
  absl::Duration margin = absl::Minutes(5);
  // A refresh starts this long before expiry (>= margin), so that pushes
  // keep flowing on the old token while the new one is fetched.
  absl::Duration refresh_ahead = absl::Minutes(10);
  // A refresh that has not reported back by then is presumed lost; the
  // next Get() hands out another.
  absl::Duration refresh_timeout = absl::Minutes(1);
  // After a failed refresh, wait before the next: first_retry_after_failure
  // after the first failure, twice as long after each further one in a
  // row, at most retry_after_failure. A lost connection to the token
  // endpoint costs Android pushes a fraction of a second, not 10 s; a
  // broken credential still does not turn every push into a request to
  // Google (about one every 10 s once the backoff is at its cap).
  absl::Duration first_retry_after_failure = absl::Milliseconds(250);
  absl::Duration retry_after_failure = absl::Seconds(10);
  // Invalidate() keeps a token younger than this: a token refused right
  // after it was issued points at configuration, and refetching it for
  // every push would not help.
  absl::Duration min_age_to_invalidate = absl::Minutes(1);
};

// Thread-safe; never blocks beyond its mutex. Holds a secret: never log.
class FcmTokenCache {
 public:
  explicit FcmTokenCache(const Clock& clock, FcmTokenCacheOptions options = {});

  struct Lease {
    // The token to push with now, if a usable one is cached.
    std::optional<std::string> token;
    // This caller must fetch a new token now (BuildTokenRequest ...) and
    // then call Set() or RefreshFailed(). At most one caller at a time is
    // told so. Pushes without a token wait for Set() or fail.
    bool refresh = false;
  };
  Lease Get() ABSL_LOCKS_EXCLUDED(mu_);

  // A fetched token: cached, and the refresh is over.
  void Set(AccessToken token) ABSL_LOCKS_EXCLUDED(mu_);
  // The refresh failed; the next is allowed after the backoff (options).
  void RefreshFailed() ABSL_LOCKS_EXCLUDED(mu_);

  // FCM answered 401 to a push sent with `token`: drop it if it is still the
  // cached one and at least min_age_to_invalidate old, so the next Get()
  // refreshes at once. Returns whether it was dropped. Retrying the push
  // once with the new token is the caller's policy (DESIGN section 5).
  bool Invalidate(absl::string_view token) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const Clock& clock_;
  const FcmTokenCacheOptions options_;

  absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);  // "" = none
  absl::Time expires_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time set_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool refreshing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time refresh_started_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time next_refresh_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // The wait after the next failure; back to first_retry_after_failure
  // once a refresh succeeds.
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_FCM_FCM_TOKEN_CACHE_H_
