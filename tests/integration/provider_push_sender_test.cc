// ProviderPushSender against the real push sandbox (tests/sandbox): APNs
// token auth, FCM with an OAuth token fetched from the sandbox, dead tokens
// and unknown apps. No Postgres.
#include "server/provider_push_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

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
#include "clients/base/clock.h"
#include "server/push_config.h"
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

class ProviderPushSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sandbox = SandboxProcess::Start();
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = *std::move(sandbox);
    auto parsed = ParsePushConfig(
        sandbox_->PushConfig("acme", "com.example.acme").dump());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    auto sender = ProviderPushSender::Create(*parsed, SystemClock::Get());
    ASSERT_TRUE(sender.ok()) << sender.status();
    sender_ = *std::move(sender);
  }

  void TearDown() override {
    if (sender_ != nullptr) sender_->Shutdown(absl::Seconds(1));
    sender_.reset();
    sandbox_.reset();
  }

  static PushRequest Call(Platform platform, std::string token) {
    PushRequest request;
    request.kind = PushKind::kCall;
    request.device_id = "device-1";
    request.call_id = "call-1";
    request.caller_name = "Dr. Who";
    request.platform = platform;
    request.app = "acme";
    request.token_kind = TokenKind::kVoip;
    request.token = std::move(token);
    request.deadline = absl::Now() + absl::Seconds(10);
    request.expires_at = absl::Now() + absl::Seconds(60);
    return request;
  }

  PushResult SendAndWait(PushRequest request) {
    absl::Notification notified;
    PushResult out;
    int calls = 0;
    sender_->Send(std::move(request), [&](PushResult result) {
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

TEST_F(ProviderPushSenderTest, RetryAfterIsHonouredByNotResending) {
  PutRules(absl::StrCat(R"([{"token":")", kAndroidToken,
                        R"(","status":503,"retry_after":30,"times":1}])"));
  PushResult result = SendAndWait(Call(Platform::kAndroid, kAndroidToken));
  EXPECT_EQ(result.outcome, PushResult::Outcome::kFailed);
  EXPECT_EQ(result.provider, "fcm");
  EXPECT_EQ(result.http_status, 503);
  EXPECT_TRUE(result.retryable);
  ASSERT_TRUE(result.retry_after.has_value());
  EXPECT_EQ(*result.retry_after, absl::Seconds(30));
  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 1u) << deliveries.dump();
  EXPECT_EQ(deliveries[0]["status"], 503);
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
