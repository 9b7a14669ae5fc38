// AccessTokenStore: the OAuth2 access tokens the sandbox's /token endpoint
// issued, with their expiry, so that the FCM endpoint accepts exactly those.
// Thread-safe.
#ifndef CALLPUSH_TESTS_SANDBOX_ACCESS_TOKEN_STORE_H_
#define CALLPUSH_TESTS_SANDBOX_ACCESS_TOKEN_STORE_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace callpush::sandbox {

// Random lower-case hex of `bytes` random bytes (OpenSSL RAND_bytes).
std::string RandomHex(size_t bytes);
// A random (version 4) UUID, upper-case as APNs writes apns-id.
std::string RandomUuid();

class AccessTokenStore {
 public:
  // A new token valid until now + lifetime.
  std::string Issue(absl::Time now, absl::Duration lifetime)
      ABSL_LOCKS_EXCLUDED(mu_);
  bool IsValid(absl::string_view token, absl::Time now) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, absl::Time, std::less<>> expiry_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_ACCESS_TOKEN_STORE_H_
