// ProviderPushSender against the real push sandbox (tests/sandbox): APNs
// token and certificate auth, FCM with an OAuth token fetched from the
// sandbox, dead tokens, Retry-After, credential renewal after a 403 / 401,
// and unknown apps. No Postgres.
//
// The sender runs on a ShiftedClock: real time plus an offset a test can
// move, because credentials are kept for a while after they are issued
// (APNs 20 minutes, FCM 1 minute) and the sandbox checks them against the
// real time.
#include "server/provider_push_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "server/push_config.h"
#include "tests/testing/loopback_socket.h"
#include "tests/testing/sandbox_process.h"
#include "tests/testing/subprocess.h"

namespace callpush {
namespace {

using ::callpush::testing::RunProgram;
using ::callpush::testing::SandboxProcess;
using ::callpush::testing::Subprocess;

constexpr char kIosToken[] =
    "3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a";
constexpr char kDeadIosToken[] =
    "deaddeaddeaddeaddeaddeaddeaddeaddeaddeaddeaddeaddeaddeaddeaddead";
constexpr char kAndroidToken[] = "fcm-token-android-1:APA91bExample";

// The real time plus an offset that tests move.
class ShiftedClock final : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return absl::Now() + offset_;
  }
  void Shift(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    offset_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Duration offset_ ABSL_GUARDED_BY(mu_);
};

class ProviderPushSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sandbox = SandboxProcess::Start();
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = *std::move(sandbox);
    auto sender =
        CreateSender(sandbox_->PushConfig("acme", "com.example.acme"));
    ASSERT_TRUE(sender.ok()) << sender.status();
    sender_ = *std::move(sender);
  }

  void TearDown() override {
    if (sender_ != nullptr) sender_->Shutdown(absl::Seconds(1));
    sender_.reset();
    sandbox_.reset();
  }

  absl::StatusOr<std::unique_ptr<ProviderPushSender>> CreateSender(
      const nlohmann::json& config) {
    auto parsed = ParsePushConfig(config.dump());
    if (!parsed.ok()) return parsed.status();
    return ProviderPushSender::Create(*parsed, clock_);
  }

  // One app, "certapp", with APNs certificate auth against the sandbox.
  nlohmann::json CertificateConfig(const std::string& certificate_file,
                                   const std::string& key_file) const {
    return {{"apps",
             {{{"name", "certapp"},
               {"apns",
                {{"bundleId", "com.example.certapp"},
                 {"certificateFile", certificate_file},
                 {"certificateKeyFile", key_file},
                 {"productionEndpoint", sandbox_->h2()},
                 {"sandboxEndpoint", sandbox_->h2()},
                 {"caFile", sandbox_->dir() + "/ca.pem"}}}}}}};
  }

  PushRequest Call(Platform platform, std::string token) const {
    PushRequest request;
    request.kind = PushKind::kCall;
    request.device_id = "device-1";
    request.call_id = "call-1";
    request.caller_name = "Dr. Who";
    request.platform = platform;
    request.app = "acme";
    request.token_kind = TokenKind::kVoip;
    request.token = std::move(token);
    request.deadline = clock_.Now() + absl::Seconds(10);
    request.expires_at = clock_.Now() + absl::Seconds(60);
    return request;
  }

  PushResult SendAndWait(PushRequest request) {
    return SendAndWait(*sender_, std::move(request));
  }

  static PushResult SendAndWait(ProviderPushSender& sender,
                                PushRequest request) {
    absl::Notification notified;
    PushResult out;
    int calls = 0;
    sender.Send(std::move(request), [&](PushResult result) {
      out = std::move(result);
      ++calls;
      notified.Notify();
    });
    EXPECT_TRUE(notified.WaitForNotificationWithTimeout(absl::Seconds(20)));
    EXPECT_EQ(calls, 1);
    return out;
  }

  nlohmann::json Deliveries() { return sandbox_->Deliveries(); }

  void PutRules(const std::string& json) {
    ASSERT_TRUE(sandbox_->PutRules(json).ok());
  }

  // Declared before the senders, which must not outlive it.
  ShiftedClock clock_;
  std::unique_ptr<SandboxProcess> sandbox_;
  std::unique_ptr<ProviderPushSender> sender_;
};

TEST_F(ProviderPushSenderTest, ProviderAndTokenKinds) {
  EXPECT_EQ(sender_->ProviderFor(Platform::kIos, "acme"), "apns");
  EXPECT_EQ(sender_->ProviderFor(Platform::kAndroid, "acme"), "fcm");
  EXPECT_EQ(sender_->ProviderFor(Platform::kIos, "other"), "none");
  using V = std::vector<TokenKind>;
  EXPECT_EQ(sender_->TokenKindsFor(Platform::kIos, "acme", PushKind::kCall),
            V{TokenKind::kVoip});
  EXPECT_EQ(sender_->TokenKindsFor(Platform::kIos, "acme", PushKind::kUpdate),
            V{TokenKind::kPush});
  EXPECT_EQ(sender_->TokenKindsFor(Platform::kIos, "acme", PushKind::kCancel),
            V{TokenKind::kPush});
  EXPECT_EQ(
      sender_->TokenKindsFor(Platform::kAndroid, "acme", PushKind::kCancel),
      (V{TokenKind::kPush, TokenKind::kVoip}));
}

TEST_F(ProviderPushSenderTest, IosCallIsDeliveredThroughApns) {
  PushResult result = SendAndWait(Call(Platform::kIos, kIosToken));
  EXPECT_EQ(result.outcome, PushResult::Outcome::kAccepted) << result.reason;
  EXPECT_EQ(result.provider, "apns");
  EXPECT_EQ(result.http_status, 200);
  EXPECT_FALSE(result.provider_id.empty());
  EXPECT_GT(result.latency, absl::ZeroDuration());

  nlohmann::json deliveries = Deliveries();
  ASSERT_TRUE(deliveries.is_array()) << deliveries.dump();
  ASSERT_EQ(deliveries.size(), 1u) << deliveries.dump();
  const nlohmann::json& d = deliveries[0];
  EXPECT_EQ(d["provider"], "apns");
  EXPECT_EQ(d["token"], kIosToken);
  EXPECT_EQ(d["status"], 200);
  EXPECT_EQ(d["headers"]["apns-push-type"], "voip");
  EXPECT_EQ(d["headers"]["apns-topic"], "com.example.acme.voip");
}

TEST_F(ProviderPushSenderTest, AndroidCallIsDeliveredThroughFcm) {
  PushResult result = SendAndWait(Call(Platform::kAndroid, kAndroidToken));
  EXPECT_EQ(result.outcome, PushResult::Outcome::kAccepted) << result.reason;
  EXPECT_EQ(result.provider, "fcm");
  EXPECT_EQ(result.http_status, 200);
  EXPECT_FALSE(result.provider_id.empty());
  // The second push reuses the cached access token.
  PushResult again = SendAndWait(Call(Platform::kAndroid, kAndroidToken));
  EXPECT_EQ(again.outcome, PushResult::Outcome::kAccepted) << again.reason;

  nlohmann::json deliveries = Deliveries();
  ASSERT_TRUE(deliveries.is_array()) << deliveries.dump();
  ASSERT_EQ(deliveries.size(), 2u) << deliveries.dump();
  EXPECT_EQ(deliveries[0]["provider"], "fcm");
  EXPECT_EQ(deliveries[0]["token"], kAndroidToken);
  EXPECT_EQ(deliveries[0]["status"], 200);
}

TEST_F(ProviderPushSenderTest, UnregisteredTokenIsRejectedAsDead) {
  PutRules(absl::StrCat(R"([{"token":")", kDeadIosToken,
                        R"(","status":410,"reason":"Unregistered"}])"));
  PushResult result = SendAndWait(Call(Platform::kIos, kDeadIosToken));
  EXPECT_EQ(result.outcome, PushResult::Outcome::kRejected) << result.reason;
  EXPECT_EQ(result.provider, "apns");
  EXPECT_EQ(result.http_status, 410);
  EXPECT_EQ(result.reason, "Unregistered");
  EXPECT_TRUE(result.dead_token);
  EXPECT_TRUE(result.token_invalidated_at.has_value());
}

TEST_F(ProviderPushSenderTest, ServiceUnavailableIsResentOnce) {
  PutRules(absl::StrCat(R"([{"token":")", kIosToken,
                        R"(","status":503,"times":1}])"));
  PushResult result = SendAndWait(Call(Platform::kIos, kIosToken));
  EXPECT_EQ(result.outcome, PushResult::Outcome::kAccepted) << result.reason;
  EXPECT_EQ(result.http_status, 200);
  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 2u) << deliveries.dump();
  EXPECT_EQ(deliveries[0]["status"], 503);
  EXPECT_EQ(deliveries[1]["status"], 200);
}

TEST_F(ProviderPushSenderTest,
       RetryAfterWithinTheDeadlineIsWaitedOutThenResent) {
  PutRules(absl::StrCat(R"([{"token":")", kIosToken,
                        R"(","status":429,"retry_after":1,"times":1}])"));
  PushRequest request = Call(Platform::kIos, kIosToken);  // 10 s deadline
  const absl::Time start = absl::Now();
  PushResult result = SendAndWait(std::move(request));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(result.outcome, PushResult::Outcome::kAccepted) << result.reason;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_GE(took, absl::Seconds(1));
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_GE(result.latency, absl::Seconds(1));
  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 2u) << deliveries.dump();
  EXPECT_EQ(deliveries[0]["status"], 429);
  EXPECT_EQ(deliveries[1]["status"], 200);
}

TEST_F(ProviderPushSenderTest, RetryAfterBeyondTheDeadlineFailsWithoutResend) {
  PutRules(absl::StrCat(R"([{"token":")", kAndroidToken,
                        R"(","status":503,"retry_after":5,"times":1}])"));
  PushRequest request = Call(Platform::kAndroid, kAndroidToken);
  request.deadline = clock_.Now() + absl::Seconds(2);
  const absl::Time start = absl::Now();
  PushResult result = SendAndWait(std::move(request));
  // Answered as soon as the 503 came, not at the deadline.
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(result.outcome, PushResult::Outcome::kFailed);
  EXPECT_EQ(result.provider, "fcm");
  EXPECT_EQ(result.http_status, 503);
  EXPECT_FALSE(result.deadline_exceeded);
  EXPECT_TRUE(result.retryable);
  ASSERT_TRUE(result.retry_after.has_value());
  EXPECT_EQ(*result.retry_after, absl::Seconds(5));
  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 1u) << deliveries.dump();
  EXPECT_EQ(deliveries[0]["status"], 503);
}

TEST_F(ProviderPushSenderTest, AtMostTwoTriesWhateverTheProviderAnswers) {
  PutRules(absl::StrCat(R"([{"token":")", kIosToken,
                        R"(","status":500,"times":3}])"));
  PushResult result = SendAndWait(Call(Platform::kIos, kIosToken));
  EXPECT_EQ(result.outcome, PushResult::Outcome::kFailed);
  EXPECT_EQ(result.http_status, 500);
  EXPECT_TRUE(result.retryable);
  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 2u) << deliveries.dump();
  EXPECT_EQ(deliveries[0]["status"], 500);
  EXPECT_EQ(deliveries[1]["status"], 500);
}

TEST_F(ProviderPushSenderTest, CertificateAuthSendsNoAuthorizationHeader) {
  auto sender = CreateSender(CertificateConfig(
      sandbox_->dir() + "/client.pem", sandbox_->dir() + "/client-key.pem"));
  ASSERT_TRUE(sender.ok()) << sender.status();
  // The sandbox's client certificate is valid for a year.
  std::map<std::string, absl::Time> expiries = (*sender)->CertificateExpiries();
  ASSERT_EQ(expiries.size(), 1u);
  ASSERT_EQ(expiries.count("certapp"), 1u);
  EXPECT_GT(expiries["certapp"], absl::Now() + absl::Hours(24 * 360));
  EXPECT_LT(expiries["certapp"], absl::Now() + absl::Hours(24 * 366));
  // Token auth exports no expiry.
  EXPECT_TRUE(sender_->CertificateExpiries().empty());

  PushRequest request = Call(Platform::kIos, kIosToken);
  request.app = "certapp";
  PushResult result = SendAndWait(**sender, std::move(request));
  (*sender)->Shutdown(absl::Seconds(1));
  EXPECT_EQ(result.outcome, PushResult::Outcome::kAccepted) << result.reason;
  EXPECT_EQ(result.http_status, 200);
  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 1u) << deliveries.dump();
  EXPECT_EQ(deliveries[0]["status"], 200);
  EXPECT_EQ(deliveries[0]["headers"]["apns-topic"], "com.example.certapp.voip");
  // The sandbox accepted the push on the strength of the certificate alone.
  EXPECT_FALSE(deliveries[0]["headers"].contains("authorization"))
      << deliveries[0].dump();
  EXPECT_FALSE(deliveries[0].contains("credential")) << deliveries[0].dump();
}

TEST_F(ProviderPushSenderTest, CertificateFromAnotherCaFailsClassified) {
  // Self-signed: the sandbox's CA did not sign it, so the TLS handshake
  // fails and no push reaches the sandbox.
  const std::string cert = sandbox_->dir() + "/rogue.pem";
  const std::string key = sandbox_->dir() + "/rogue-key.pem";
  auto made = RunProgram(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
       "-days", "30", "-subj", "/CN=rogue APNs client"},
      absl::Seconds(30));
  ASSERT_TRUE(made.ok()) << made.status();
  ASSERT_EQ(made->exit_code, 0) << made->output;
  auto sender = CreateSender(CertificateConfig(cert, key));
  ASSERT_TRUE(sender.ok()) << sender.status();
  const std::map<std::string, absl::Time> expiries =
      (*sender)->CertificateExpiries();
  ASSERT_EQ(expiries.count("certapp"), 1u);
  EXPECT_LT(expiries.at("certapp"), absl::Now() + absl::Hours(24 * 31));

  PushRequest request = Call(Platform::kIos, kIosToken);
  request.app = "certapp";
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  PushResult result = SendAndWait(**sender, std::move(request));
  (*sender)->Shutdown(absl::Seconds(1));
  EXPECT_LT(absl::Now(), deadline);  // a failed handshake, not a timeout
  EXPECT_EQ(result.outcome, PushResult::Outcome::kFailed) << result.reason;
  EXPECT_EQ(result.provider, "apns");
  EXPECT_EQ(result.http_status, 0);
  EXPECT_FALSE(result.deadline_exceeded);
  EXPECT_FALSE(result.dead_token);
  // Nothing says the push was not processed: never resent blindly.
  EXPECT_FALSE(result.retryable);
  EXPECT_FALSE(result.reason.empty());
  EXPECT_EQ(Deliveries().size(), 0u);
}

TEST_F(ProviderPushSenderTest, UnreadableCertificateIsInvalidArgument) {
  // The key where the certificate belongs: a common mix-up.
  auto sender =
      CreateSender(CertificateConfig(sandbox_->dir() + "/client-key.pem",
                                     sandbox_->dir() + "/client-key.pem"));
  ASSERT_FALSE(sender.ok());
  EXPECT_EQ(sender.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(sender.status().message(),
                                "apps[0] (certapp): apns: certificateFile"))
      << sender.status();
}

// ApnsTokenProvider::OnTokenRejected keeps a token younger than 20 minutes
// (min_renew_interval): renewing it would earn TooManyProviderTokenUpdates,
// and a fresh token that is refused points at the configuration, not at its
// age. So a 403 right after the token was issued does not renew it.
TEST_F(ProviderPushSenderTest, ProviderTokenRefusedSoonAfterIssueIsKept) {
  ASSERT_EQ(SendAndWait(Call(Platform::kIos, kIosToken)).outcome,
            PushResult::Outcome::kAccepted);
  PutRules(absl::StrCat(R"([{"token":")", kIosToken,
                        R"(","status":403,"reason":"ExpiredProviderToken",)",
                        R"("times":1}])"));
  PushResult refused = SendAndWait(Call(Platform::kIos, kIosToken));
  EXPECT_EQ(refused.outcome, PushResult::Outcome::kFailed);
  EXPECT_EQ(refused.http_status, 403);
  EXPECT_EQ(refused.reason, "ExpiredProviderToken");
  EXPECT_FALSE(refused.dead_token);
  EXPECT_FALSE(refused.retryable);
  PushResult next = SendAndWait(Call(Platform::kIos, kIosToken));
  EXPECT_EQ(next.outcome, PushResult::Outcome::kAccepted) << next.reason;

  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 3u) << deliveries.dump();  // no resend
  EXPECT_EQ(deliveries[1]["status"], 403);
  ASSERT_TRUE(deliveries[0].contains("credential")) << deliveries[0].dump();
  EXPECT_EQ(deliveries[1]["credential"], deliveries[0]["credential"]);
  EXPECT_EQ(deliveries[2]["credential"], deliveries[0]["credential"]);
}

TEST_F(ProviderPushSenderTest,
       ProviderTokenRefusedAfterTwentyMinutesIsRenewed) {
  // The first token is issued 30 minutes ago (the sandbox accepts tokens up
  // to an hour old), then the clock comes back to now.
  clock_.Shift(-absl::Minutes(30));
  ASSERT_EQ(SendAndWait(Call(Platform::kIos, kIosToken)).outcome,
            PushResult::Outcome::kAccepted);
  clock_.Shift(absl::Minutes(30));
  PutRules(absl::StrCat(R"([{"token":")", kIosToken,
                        R"(","status":403,"reason":"ExpiredProviderToken",)",
                        R"("times":1}])"));
  PushResult refused = SendAndWait(Call(Platform::kIos, kIosToken));
  EXPECT_EQ(refused.outcome, PushResult::Outcome::kFailed);
  EXPECT_EQ(refused.http_status, 403);
  EXPECT_FALSE(refused.dead_token);
  EXPECT_FALSE(refused.retryable);
  PushResult next = SendAndWait(Call(Platform::kIos, kIosToken));
  EXPECT_EQ(next.outcome, PushResult::Outcome::kAccepted) << next.reason;

  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 3u) << deliveries.dump();  // no resend
  EXPECT_EQ(deliveries[0]["status"], 200);
  EXPECT_EQ(deliveries[1]["status"], 403);
  EXPECT_EQ(deliveries[2]["status"], 200);
  ASSERT_TRUE(deliveries[0].contains("credential")) << deliveries[0].dump();
  // The refused push carried the old token (30 minutes is under the 50
  // minute renewal); the one after it a new one.
  EXPECT_EQ(deliveries[1]["credential"], deliveries[0]["credential"]);
  EXPECT_NE(deliveries[2]["credential"], deliveries[0]["credential"]);
}

TEST_F(ProviderPushSenderTest, FcmUnauthorizedIsResentWithAFreshAccessToken) {
  // FcmTokenCache keeps a token younger than a minute (a token refused at
  // once points at the configuration): fetch it two minutes "ago".
  clock_.Shift(-absl::Minutes(2));
  ASSERT_EQ(SendAndWait(Call(Platform::kAndroid, kAndroidToken)).outcome,
            PushResult::Outcome::kAccepted);
  clock_.Shift(absl::Minutes(2));
  PutRules(absl::StrCat(R"([{"token":")", kAndroidToken,
                        R"(","status":401,"times":1}])"));
  PushResult result = SendAndWait(Call(Platform::kAndroid, kAndroidToken));
  EXPECT_EQ(result.outcome, PushResult::Outcome::kAccepted) << result.reason;
  EXPECT_EQ(result.http_status, 200);

  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 3u) << deliveries.dump();
  EXPECT_EQ(deliveries[1]["status"], 401);
  EXPECT_EQ(deliveries[2]["status"], 200);
  ASSERT_TRUE(deliveries[0].contains("credential")) << deliveries[0].dump();
  EXPECT_EQ(deliveries[1]["credential"], deliveries[0]["credential"]);
  EXPECT_NE(deliveries[2]["credential"], deliveries[1]["credential"]);
}

TEST_F(ProviderPushSenderTest, FcmUnauthorizedRightAfterFetchKeepsTheToken) {
  // What the cache does with a token under a minute old: the one resend
  // goes out with the same token (here the sandbox then accepts it).
  PutRules(absl::StrCat(R"([{"token":")", kAndroidToken,
                        R"(","status":401,"times":1}])"));
  PushResult result = SendAndWait(Call(Platform::kAndroid, kAndroidToken));
  EXPECT_EQ(result.outcome, PushResult::Outcome::kAccepted) << result.reason;

  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 2u) << deliveries.dump();
  EXPECT_EQ(deliveries[0]["status"], 401);
  EXPECT_EQ(deliveries[1]["status"], 200);
  ASSERT_TRUE(deliveries[0].contains("credential")) << deliveries[0].dump();
  EXPECT_EQ(deliveries[1]["credential"], deliveries[0]["credential"]);
}

TEST_F(ProviderPushSenderTest, ConcurrentFcmPushesWaitForOneTokenFetch) {
  constexpr int kPushes = 5;
  absl::Mutex mu;
  std::vector<PushResult> results;
  absl::Notification all_done;
  for (int i = 0; i < kPushes; ++i) {
    sender_->Send(Call(Platform::kAndroid, kAndroidToken),
                  [&](PushResult result) {
                    absl::MutexLock lock(&mu);
                    results.push_back(std::move(result));
                    if (results.size() == kPushes) all_done.Notify();
                  });
  }
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  absl::MutexLock lock(&mu);
  for (const PushResult& result : results) {
    EXPECT_EQ(result.outcome, PushResult::Outcome::kAccepted) << result.reason;
  }
  EXPECT_EQ(Deliveries().size(), static_cast<size_t>(kPushes));
}

TEST_F(ProviderPushSenderTest, SlowTokenFetchAnswersAtThePushDeadline) {
  // The OAuth token endpoint accepts TCP and never speaks: the fetch can
  // only end at its own 5 s timeout. The push must not wait that long.
  ::callpush::testing::LoopbackSocket silent;
  silent.Listen();
  std::ifstream in(sandbox_->dir() + "/fcm-service-account.json");
  nlohmann::json account = nlohmann::json::parse(in);
  account["token_uri"] =
      absl::StrCat("https://127.0.0.1:", silent.port(), "/token");
  const std::string account_file = sandbox_->dir() + "/silent-account.json";
  std::ofstream(account_file) << account.dump();
  nlohmann::json config = sandbox_->PushConfig("acme", "com.example.acme");
  config["apps"][0]["fcm"]["serviceAccountFile"] = account_file;
  auto sender = CreateSender(config);
  ASSERT_TRUE(sender.ok()) << sender.status();

  PushRequest request = Call(Platform::kAndroid, kAndroidToken);
  request.deadline = absl::Now() + absl::Milliseconds(500);
  absl::Time start = absl::Now();
  absl::Notification done;
  PushResult result;
  (*sender)->Send(std::move(request), [&](PushResult r) {
    result = std::move(r);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(result.outcome, PushResult::Outcome::kFailed);
  EXPECT_TRUE(result.deadline_exceeded) << result.reason;
  EXPECT_GE(took, absl::Milliseconds(450));
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_TRUE(Deliveries().empty());
  (*sender)->Shutdown(absl::Seconds(1));
}

TEST_F(ProviderPushSenderTest, UnknownAppFailsInline) {
  PushRequest request = Call(Platform::kIos, kIosToken);
  request.app = "nosuchapp";
  PushResult result = SendAndWait(std::move(request));
  EXPECT_EQ(result.outcome, PushResult::Outcome::kFailed);
  EXPECT_EQ(result.provider, "none");
  EXPECT_EQ(result.reason, "app nosuchapp has no apns configuration");
  EXPECT_EQ(result.http_status, 0);
}

}  // namespace
}  // namespace callpush
