// ApnsTokenOptions::on_refresh: told of each signing (with the token's
// issue time), not of the cached answers in between, and never given the
// token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "clients/apns/apns_token_provider.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/clients/push/test_keys.h"

namespace callpush {
namespace {

using ::callpush::testing::EcP256Pem;
using ::callpush::testing::FakeClock;
using ::callpush::testing::IsOk;
using ::testing::ElementsAre;

TEST(ApnsTokenRefreshTest, ReportsEachSigningWithItsIssueTime) {
  FakeClock clock(absl::FromUnixMillis(1'800'000'000'700));
  std::vector<std::pair<bool, absl::Time>> refreshes;
  ApnsTokenOptions options;
  options.on_refresh = [&refreshes](const absl::Status& s, absl::Time at) {
    refreshes.emplace_back(s.ok(), at);
  };
  auto provider = ApnsTokenProvider::FromPem("TEAM123456", "KEY1234567",
                                             EcP256Pem(), clock, options);
  ASSERT_THAT(provider, IsOk());
  EXPECT_THAT(refreshes, ::testing::IsEmpty());

  ASSERT_THAT((*provider)->Token(), IsOk());
  clock.Advance(absl::Minutes(10));
  ASSERT_THAT((*provider)->Token(), IsOk());  // cached: not a refresh
  clock.Advance(absl::Minutes(40));
  ASSERT_THAT((*provider)->Token(), IsOk());  // 50 minutes old: renewed

  // iat is whole seconds.
  EXPECT_THAT(
      refreshes,
      ElementsAre(std::make_pair(true, absl::FromUnixSeconds(1'800'000'000)),
                  std::make_pair(true, absl::FromUnixSeconds(1'800'003'000))));
}

}  // namespace
}  // namespace callpush
