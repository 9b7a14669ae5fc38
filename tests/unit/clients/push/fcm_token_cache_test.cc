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

TEST(FcmTokenCacheTest, FailedRefreshBacksOff) {
  FakeClock clock;
  FcmTokenCache cache(clock);
  ASSERT_TRUE(cache.Get().refresh);
  cache.RefreshFailed();
  EXPECT_FALSE(cache.Get().refresh);
  clock.Advance(absl::Seconds(9));
  EXPECT_FALSE(cache.Get().refresh);
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(cache.Get().refresh);
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
