#include "clients/apns/apns_token_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/clients/push/test_keys.h"

namespace callpush {
namespace {

using ::callpush::testing::EcP256Pem;
using ::callpush::testing::FakeClock;
using ::callpush::testing::IsOk;
using ::callpush::testing::JwtPart;
using ::callpush::testing::StatusIs;
using ::callpush::testing::VerifyJwt;
using ::testing::HasSubstr;

std::unique_ptr<ApnsTokenProvider> MakeProvider(const Clock& clock) {
  auto p = ApnsTokenProvider::FromPem("TEAM123456", "KEY1234567", EcP256Pem(),
                                      clock);
  EXPECT_THAT(p, IsOk());
  return *std::move(p);
}

TEST(ApnsTokenProviderTest, TokenIsAnEs256JwtWithTeamAndKey) {
  FakeClock clock;
  auto provider = MakeProvider(clock);
  auto token = provider->Token();
  ASSERT_THAT(token, IsOk());
  EXPECT_TRUE(VerifyJwt(*token, EcP256Pem(), "ES256"));
  EXPECT_EQ(JwtPart(*token, 0),
            (nlohmann::json{{"alg", "ES256"}, {"kid", "KEY1234567"}}));
  EXPECT_EQ(JwtPart(*token, 1),
            (nlohmann::json{{"iss", "TEAM123456"},
                            {"iat", absl::ToUnixSeconds(clock.Now())}}));
  EXPECT_EQ(provider->issued_at(), clock.Now());
}

TEST(ApnsTokenProviderTest, CachedUntilFiftyMinutesThenRenewed) {
  FakeClock clock;
  auto provider = MakeProvider(clock);
  const std::string first = *provider->Token();
  const absl::Time t0 = clock.Now();
  clock.Advance(absl::Minutes(50) - absl::Seconds(1));
  EXPECT_EQ(*provider->Token(), first);
  clock.Advance(absl::Seconds(1));
  const std::string second = *provider->Token();
  EXPECT_NE(second, first);
  EXPECT_EQ(provider->issued_at(), t0 + absl::Minutes(50));
  EXPECT_EQ(JwtPart(second, 1)["iat"], absl::ToUnixSeconds(clock.Now()));
  EXPECT_EQ(*provider->Token(), second);
}

TEST(ApnsTokenProviderTest, IatIsWholeSecondsAndAgeCountsFromIt) {
  FakeClock clock(absl::FromUnixMillis(1'800'000'000'900));
  auto provider = MakeProvider(clock);
  const std::string first = *provider->Token();
  EXPECT_EQ(JwtPart(first, 1)["iat"], 1'800'000'000);
  EXPECT_EQ(provider->issued_at(), absl::FromUnixSeconds(1'800'000'000));
  // 50 minutes after the iat Apple sees, not after our sub-second now.
  clock.Advance(absl::Minutes(50) - absl::Milliseconds(900));
  EXPECT_NE(*provider->Token(), first);
}

TEST(ApnsTokenProviderTest, RejectionRenewsOnlyTokensAtLeastTwentyMinutesOld) {
  FakeClock clock;
  auto provider = MakeProvider(clock);
  const std::string first = *provider->Token();
  clock.Advance(absl::Minutes(19));
  EXPECT_FALSE(provider->OnTokenRejected(first));
  EXPECT_EQ(*provider->Token(), first);
  clock.Advance(absl::Minutes(1));
  EXPECT_TRUE(provider->OnTokenRejected(first));
  const std::string second = *provider->Token();
  EXPECT_NE(second, first);
  // A late rejection of the old token must not drop the new one.
  clock.Advance(absl::Minutes(30));
  EXPECT_FALSE(provider->OnTokenRejected(first));
  EXPECT_EQ(*provider->Token(), second);
  EXPECT_FALSE(provider->OnTokenRejected("not-a-token"));
}

TEST(ApnsTokenProviderTest, NeverRenewsMoreThanOncePerTwentyMinutes) {
  FakeClock clock;
  auto provider = MakeProvider(clock);
  std::vector<absl::Time> issued;
  std::string last;
  // Six hours of a push every 30 s, every answer a token rejection: the
  // worst case of a key Apple does not accept.
  for (int i = 0; i < 6 * 120; ++i) {
    std::string token = *provider->Token();
    if (token != last) issued.push_back(provider->issued_at());
    last = token;
    provider->OnTokenRejected(token);
    clock.Advance(absl::Seconds(30));
  }
  ASSERT_GE(issued.size(), 2u);
  for (size_t i = 1; i < issued.size(); ++i) {
    EXPECT_GE(issued[i] - issued[i - 1], absl::Minutes(20)) << i;
  }
  EXPECT_EQ(issued.size(), 18u);  // 6 h / 20 min
}

TEST(ApnsTokenProviderTest, ConcurrentCallersShareOneToken) {
  FakeClock clock;
  auto provider = MakeProvider(clock);
  std::vector<std::string> seen(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 100; ++j) seen[i] = *provider->Token();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : seen) EXPECT_EQ(s, seen[0]);
}

TEST(ApnsTokenProviderTest, ConfigurationErrors) {
  FakeClock clock;
  EXPECT_THAT(
      ApnsTokenProvider::FromPem("", "KEY", EcP256Pem(), clock),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("team id")));
  EXPECT_THAT(
      ApnsTokenProvider::FromPem("TEAM", "", EcP256Pem(), clock),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key id")));
  EXPECT_THAT(
      ApnsTokenProvider::FromPem("TEAM", "KEY", testing::Rsa2048Pem(), clock),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      ApnsTokenProvider::FromKeyFile("TEAM", "KEY", "/nonexistent.p8", clock),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("/nonexistent.p8")));
}

TEST(ApnsTokenProviderTest, LoadsAP8File) {
  std::string path = ::testing::TempDir() + "/apns_test_key.p8";
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(EcP256Pem().data(), 1, EcP256Pem().size(), f);
  std::fclose(f);
  FakeClock clock;
  auto provider = ApnsTokenProvider::FromKeyFile("TEAM", "KEY", path, clock);
  ASSERT_THAT(provider, IsOk());
  EXPECT_TRUE(VerifyJwt(*(*provider)->Token(), EcP256Pem(), "ES256"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace callpush
