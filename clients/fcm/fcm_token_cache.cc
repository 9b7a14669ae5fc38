#include "clients/fcm/fcm_token_cache.h"

#include <algorithm>
#include <utility>

namespace callpush {

FcmTokenCache::FcmTokenCache(const Clock& clock, FcmTokenCacheOptions options)
    : clock_(clock),
      options_(options),
      backoff_(std::min(options.first_retry_after_failure,
                        options.retry_after_failure)) {}

FcmTokenCache::Lease FcmTokenCache::Get() {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  Lease lease;
  const bool have = !token_.empty();
  if (have && now < expires_at_ - options_.margin) lease.token = token_;
  const bool due = !have || now >= expires_at_ - options_.refresh_ahead;
  const bool in_flight =
      refreshing_ && now < refresh_started_ + options_.refresh_timeout;
  if (due && !in_flight && now >= next_refresh_) {
    refreshing_ = true;
    refresh_started_ = now;
    lease.refresh = true;
  }
  return lease;
}

void FcmTokenCache::Set(AccessToken token) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  token_ = std::move(token.token);
  expires_at_ = token.expires_at;
  set_at_ = now;
  refreshing_ = false;
  next_refresh_ = absl::InfinitePast();
  backoff_ = std::min(options_.first_retry_after_failure,
                      options_.retry_after_failure);
}

void FcmTokenCache::RefreshFailed() {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  refreshing_ = false;
  next_refresh_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, options_.retry_after_failure);
}

bool FcmTokenCache::Invalidate(absl::string_view token) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  if (token_.empty() || token != token_) return false;
  if (now - set_at_ < options_.min_age_to_invalidate) return false;
  token_.clear();
  expires_at_ = absl::InfinitePast();
  return true;
}

}  // namespace callpush
