#include "clients/apns/apns_response.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace callpush {
namespace {

using Outcome = PushResult::Outcome;

http2::Response Answer(
    int status, std::string body,
    std::vector<std::pair<std::string, std::string>> headers = {}) {
  http2::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(ClassifyApnsResponseTest, OkIsAcceptedWithApnsId) {
  PushResult r = ClassifyApnsResponse(
      Answer(200, "", {{"apns-id", "E4F1D2C3-0000-4000-8000-00000000ABCD"}}));
  EXPECT_EQ(r.outcome, Outcome::kAccepted);
  EXPECT_EQ(r.provider, "apns");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.provider_id, "E4F1D2C3-0000-4000-8000-00000000ABCD");
  EXPECT_FALSE(r.dead_token);
  EXPECT_FALSE(r.retryable);
}

TEST(ClassifyApnsResponseTest, OkWithGarbageBodyIsStillAccepted) {
  PushResult r = ClassifyApnsResponse(Answer(200, "{not json"));
  EXPECT_EQ(r.outcome, Outcome::kAccepted);
  EXPECT_EQ(r.provider_id, "");
}

TEST(ClassifyApnsResponseTest, UnregisteredIsDeadWithTimestamp) {
  PushResult r = ClassifyApnsResponse(
      Answer(410, R"({"reason":"Unregistered","timestamp":1800000000123})"));
  EXPECT_EQ(r.outcome, Outcome::kRejected);
  EXPECT_TRUE(r.dead_token);
  EXPECT_EQ(r.reason, "Unregistered");
  EXPECT_EQ(r.http_status, 410);
  EXPECT_EQ(r.token_invalidated_at, absl::FromUnixMillis(1800000000123));
}

TEST(ClassifyApnsResponseTest, UnregisteredWithoutUsableTimestamp) {
  for (const char* body : {R"({"reason":"Unregistered"})",
                           R"({"reason":"Unregistered","timestamp":"soon"})",
                           R"({"reason":"ExpiredToken","timestamp":-5})"}) {
    PushResult r = ClassifyApnsResponse(Answer(410, body));
    EXPECT_EQ(r.outcome, Outcome::kRejected) << body;
    EXPECT_TRUE(r.dead_token) << body;
    EXPECT_EQ(r.token_invalidated_at, std::nullopt) << body;
  }
}

struct Row {
  int status;
  std::string reason;
  Outcome outcome;
  bool dead_token;
  bool retryable;
};

class ApnsTableTest : public ::testing::TestWithParam<Row> {};

TEST_P(ApnsTableTest, Classifies) {
  const Row& row = GetParam();
  PushResult r = ClassifyApnsResponse(
      Answer(row.status, R"({"reason":")" + row.reason + R"("})"));
  EXPECT_EQ(r.outcome, row.outcome);
  EXPECT_EQ(r.dead_token, row.dead_token);
  EXPECT_EQ(r.retryable, row.retryable);
  EXPECT_EQ(r.http_status, row.status);
  EXPECT_EQ(r.provider, "apns");
  EXPECT_EQ(r.token_invalidated_at, std::nullopt);
  EXPECT_EQ(r.reason, row.outcome == Outcome::kFailed && row.status != 403 &&
                              row.status != 429 && row.status < 500
                          ? "unexpected_status"
                          : row.reason);
}

INSTANTIATE_TEST_SUITE_P(
    AppleTable, ApnsTableTest,
    ::testing::Values(
        Row{410, "Unregistered", Outcome::kRejected, true, false},
        Row{410, "ExpiredToken", Outcome::kRejected, true, false},
        Row{400, "BadDeviceToken", Outcome::kRejected, true, false},
        Row{400, "DeviceTokenNotForTopic", Outcome::kRejected, true, false},
        // A dead-token reason under the wrong status is not trusted.
        Row{403, "BadDeviceToken", Outcome::kRejected, false, false},
        Row{400, "BadTopic", Outcome::kRejected, false, false},
        Row{400, "BadCollapseId", Outcome::kRejected, false, false},
        Row{400, "TopicDisallowed", Outcome::kRejected, false, false},
        Row{403, "ExpiredProviderToken", Outcome::kFailed, false, false},
        Row{403, "InvalidProviderToken", Outcome::kFailed, false, false},
        Row{403, "BadCertificate", Outcome::kRejected, false, false},
        Row{403, "MissingProviderToken", Outcome::kRejected, false, false},
        Row{404, "BadPath", Outcome::kRejected, false, false},
        Row{405, "MethodNotAllowed", Outcome::kRejected, false, false},
        Row{413, "PayloadTooLarge", Outcome::kRejected, false, false},
        Row{429, "TooManyProviderTokenUpdates", Outcome::kFailed, false, false},
        Row{429, "TooManyRequests", Outcome::kFailed, false, true},
        Row{500, "InternalServerError", Outcome::kFailed, false, true},
        Row{503, "ServiceUnavailable", Outcome::kFailed, false, true},
        Row{503, "Shutdown", Outcome::kFailed, false, true},
        Row{502, "Whatever", Outcome::kFailed, false, true},
        Row{302, "Moved", Outcome::kFailed, false, false}));

TEST(ClassifyApnsResponseTest, RetryAfterIsHonoured) {
  PushResult r = ClassifyApnsResponse(
      Answer(429, R"({"reason":"TooManyRequests"})", {{"retry-after", "30"}}));
  EXPECT_TRUE(r.retryable);
  EXPECT_EQ(r.retry_after, absl::Seconds(30));
  r = ClassifyApnsResponse(Answer(503, R"({"reason":"ServiceUnavailable"})"));
  EXPECT_TRUE(r.retryable);
  EXPECT_EQ(r.retry_after, std::nullopt);
  r = ClassifyApnsResponse(Answer(503, "<html>", {{"retry-after", "garbage"}}));
  EXPECT_EQ(r.retry_after, std::nullopt);
}

TEST(ClassifyApnsResponseTest, ProviderTokenErrorsAreRecognised) {
  EXPECT_TRUE(IsApnsProviderTokenError(ClassifyApnsResponse(
      Answer(403, R"({"reason":"ExpiredProviderToken"})"))));
  EXPECT_TRUE(IsApnsProviderTokenError(ClassifyApnsResponse(
      Answer(403, R"({"reason":"InvalidProviderToken"})"))));
  EXPECT_FALSE(IsApnsProviderTokenError(
      ClassifyApnsResponse(Answer(403, R"({"reason":"BadCertificate"})"))));
  EXPECT_FALSE(IsApnsProviderTokenError(ClassifyApnsResponse(Answer(200, ""))));
}

TEST(ClassifyApnsResponseTest, MalformedBodiesFailAndNeverKillTokens) {
  const std::string huge =
      R"({"reason":"Unregistered","pad":")" + std::string(5000, 'x') + "\"}";
  for (const std::string& body :
       {std::string(""), std::string("{"), std::string("null"),
        std::string("[]"), std::string(R"("Unregistered")"),
        std::string(R"({"timestamp":1})"), std::string(R"({"reason":""})"),
        std::string(R"({"reason":42})"), std::string(R"({"reason":null})"),
        std::string("\xff\xfe\x00garbage", 10), huge,
        R"({"reason":")" + std::string(100, 'A') + "\"}"}) {
    for (int status : {400, 410, 403}) {
      PushResult r = ClassifyApnsResponse(Answer(status, body));
      EXPECT_EQ(r.outcome, Outcome::kFailed) << status << " " << body;
      EXPECT_FALSE(r.dead_token) << status << " " << body;
      EXPECT_FALSE(r.retryable);
      EXPECT_EQ(r.reason, "malformed_response");
      EXPECT_EQ(r.http_status, status);
    }
    PushResult r = ClassifyApnsResponse(Answer(503, body));
    EXPECT_EQ(r.outcome, Outcome::kFailed);
    EXPECT_TRUE(r.retryable) << "a 503 is retryable whatever its body";
  }
}

TEST(ClassifyApnsResponseTest, TransportErrors) {
  PushResult r = ClassifyApnsResponse(absl::DeadlineExceededError("timeout"));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.deadline_exceeded);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_EQ(r.provider, "apns");
  r = ClassifyApnsResponse(absl::UnavailableError("connection lost"));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.reason, "unavailable");
  EXPECT_FALSE(r.deadline_exceeded);
  EXPECT_FALSE(r.retryable);
}

}  // namespace
}  // namespace callpush
