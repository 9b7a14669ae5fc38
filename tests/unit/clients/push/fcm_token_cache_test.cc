#include "clients/fcm/fcm_token_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/testing/fake_clock.h"

namespace callpush {
namespace {

using ::callpush::testing::FakeClock;

AccessToken Token(std::string value, absl::Time expires_at) {
  return AccessToken{std::move(value), expires_at};
}

TEST(FcmTokenCacheTest, EmptyCacheAsksOneCallerToRefresh) {
  FakeClock clock;
  FcmTokenCache cache(clock);
  FcmTokenCache::Lease first = cache.Get();
  EXPECT_EQ(first.token, std::nullopt);
  EXPECT_TRUE(first.refresh);
  FcmTokenCache::Lease second = cache.Get();
  EXPECT_EQ(second.token, std::nullopt);
  EXPECT_FALSE(second.refresh) << "one refresh at a time";
  cache.Set(Token("t1", clock.Now() + absl::Hours(1)));
  FcmTokenCache::Lease third = cache.Get();
  EXPECT_EQ(third.token, "t1");
  EXPECT_FALSE(third.refresh);
}

TEST(FcmTokenCacheTest, RefreshesAheadAndStopsUsingAtTheMargin) {
  FakeClock clock;
  FcmTokenCache cache(clock);
  ASSERT_TRUE(cache.Get().refresh);
  const absl::Time expiry = clock.Now() + absl::Hours(1);
  cache.Set(Token("t1", expiry));
  clock.Advance(absl::Minutes(50) - absl::Seconds(1));
  EXPECT_FALSE(cache.Get().refresh);
  clock.Advance(absl::Seconds(1));  // 10 min before expiry: fetch the next
  FcmTokenCache::Lease lease = cache.Get();
  EXPECT_EQ(lease.token, "t1");
  EXPECT_TRUE(lease.refresh);
  clock.Advance(absl::Minutes(5) - absl::Seconds(1));
  EXPECT_EQ(cache.Get().token, "t1");
  clock.Advance(absl::Seconds(1));  // 5 min before expiry: no longer used
  lease = cache.Get();
  EXPECT_EQ(lease.token, std::nullopt);
  EXPECT_FALSE(lease.refresh) << "the refresh started earlier is in flight";
  cache.Set(Token("t2", clock.Now() + absl::Hours(1)));
  EXPECT_EQ(cache.Get().token, "t2");
}

TEST(FcmTokenCacheTest, LostRefreshIsHandedOutAgain) {
  FakeClock clock;
  FcmTokenCache cache(clock);
  ASSERT_TRUE(cache.Get().refresh);
  clock.Advance(absl::Seconds(59));
  EXPECT_FALSE(cache.Get().refresh);
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(cache.Get().refresh);
}

// Fails once, then waits `wait` minus a millisecond (no refresh yet) and
// the millisecond (the next refresh is handed out).
void FailAndExpectRetryAfter(FakeClock& clock, FcmTokenCache& cache,
                             absl::Duration wait) {
  cache.RefreshFailed();
  EXPECT_FALSE(cache.Get().refresh);
  clock.Advance(wait - absl::Milliseconds(1));
  EXPECT_FALSE(cache.Get().refresh) << "before " << wait;
  clock.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(cache.Get().refresh) << "after " << wait;
}

TEST(FcmTokenCacheTest, FailedRefreshBacksOffExponentiallyToTheCap) {
  FakeClock clock;
  FcmTokenCache cache(clock);
  ASSERT_TRUE(cache.Get().refresh);
  // A lost connection to the token endpoint: retried within a quarter
  // second, not after the 10 s cap.
  for (int ms : {250, 500, 1000, 2000, 4000, 8000, 10000, 10000}) {
    FailAndExpectRetryAfter(clock, cache, absl::Milliseconds(ms));
  }
  // A success starts the backoff over.
  cache.Set(Token("t1", clock.Now() + absl::Minutes(9)));  // refresh due
  ASSERT_TRUE(cache.Get().refresh);
  FailAndExpectRetryAfter(clock, cache, absl::Milliseconds(250));
}

TEST(FcmTokenCacheTest, FixedWaitWhenFirstRetryIsTheCap) {
  FakeClock clock;
  FcmTokenCacheOptions options;
  options.first_retry_after_failure = absl::Seconds(10);
  FcmTokenCache cache(clock, options);
  ASSERT_TRUE(cache.Get().refresh);
  FailAndExpectRetryAfter(clock, cache, absl::Seconds(10));
  FailAndExpectRetryAfter(clock, cache, absl::Seconds(10));
}

TEST(FcmTokenCacheTest, InvalidateDropsTheCurrentTokenOnce) {
  FakeClock clock;
  FcmTokenCache cache(clock);
  ASSERT_TRUE(cache.Get().refresh);
  cache.Set(Token("t1", clock.Now() + absl::Hours(1)));
  // Just issued: a 401 now is not about its age; keep it.
  clock.Advance(absl::Seconds(59));
  EXPECT_FALSE(cache.Invalidate("t1"));
  EXPECT_EQ(cache.Get().token, "t1");
  clock.Advance(absl::Seconds(1));
  EXPECT_FALSE(cache.Invalidate("other"));
  EXPECT_TRUE(cache.Invalidate("t1"));
  FcmTokenCache::Lease lease = cache.Get();
  EXPECT_EQ(lease.token, std::nullopt);
  EXPECT_TRUE(lease.refresh);
  cache.Set(Token("t2", clock.Now() + absl::Hours(1)));
  clock.Advance(absl::Minutes(5));
  // The 401 of a push still in flight with t1 must not drop t2.
  EXPECT_FALSE(cache.Invalidate("t1"));
  EXPECT_EQ(cache.Get().token, "t2");
}

TEST(FcmTokenCacheTest, ConcurrentGetsHandOutOneRefresh) {
  FakeClock clock;
  FcmTokenCache cache(clock);
  std::atomic<int> refreshes{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 1000; ++j) {
        if (cache.Get().refresh) ++refreshes;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(refreshes.load(), 1);
}

}  // namespace
}  // namespace callpush
