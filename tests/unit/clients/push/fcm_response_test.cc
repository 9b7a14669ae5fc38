#include "clients/fcm/fcm_response.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "nlohmann/json.hpp"

namespace callpush {
namespace {

using Outcome = PushResult::Outcome;
using Json = nlohmann::json;

http2::Response Answer(
    int status, std::string body,
    std::vector<std::pair<std::string, std::string>> headers = {}) {
  http2::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

// An FCM v1 error body as Google sends it.
std::string ErrorBody(int code, const std::string& status,
                      const std::string& error_code,
                      const std::string& message = "msg") {
  Json error = {{"code", code}, {"message", message}, {"status", status}};
  if (!error_code.empty()) {
    error["details"] = Json::array(
        {{{"@type", "type.googleapis.com/google.rpc.BadRequest"},
          {"fieldViolations", Json::array()}},
         {{"@type", "type.googleapis.com/google.firebase.fcm.v1.FcmError"},
          {"errorCode", error_code}}});
  }
  return Json{{"error", error}}.dump();
}

TEST(ClassifyFcmResponseTest, OkIsAcceptedWithMessageName) {
  PushResult r = ClassifyFcmResponse(Answer(
      200,
      R"({"name":"projects/care-prod/messages/0:1500415314455276%31bd1c9631bd1c96"})"));
  EXPECT_EQ(r.outcome, Outcome::kAccepted);
  EXPECT_EQ(r.provider, "fcm");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.provider_id,
            "projects/care-prod/messages/0:1500415314455276%31bd1c9631bd1c96");
  r = ClassifyFcmResponse(Answer(200, "garbage"));
  EXPECT_EQ(r.outcome, Outcome::kAccepted);
  EXPECT_EQ(r.provider_id, "");
}

struct Row {
  int status;
  std::string rpc_status;
  std::string error_code;  // FcmError detail, "" = none
  Outcome outcome;
  bool dead_token;
  bool retryable;
  std::string reason;
};

class FcmTableTest : public ::testing::TestWithParam<Row> {};

TEST_P(FcmTableTest, Classifies) {
  const Row& row = GetParam();
  PushResult r = ClassifyFcmResponse(Answer(
      row.status, ErrorBody(row.status, row.rpc_status, row.error_code)));
  EXPECT_EQ(r.outcome, row.outcome);
  EXPECT_EQ(r.dead_token, row.dead_token);
  EXPECT_EQ(r.retryable, row.retryable);
  EXPECT_EQ(r.reason, row.reason);
  EXPECT_EQ(r.http_status, row.status);
  EXPECT_EQ(r.provider, "fcm");
}

INSTANTIATE_TEST_SUITE_P(
    FirebaseTable, FcmTableTest,
    ::testing::Values(
        Row{404, "NOT_FOUND", "UNREGISTERED", Outcome::kRejected, true, false,
            "UNREGISTERED"},
        // A 404 without the FcmError (e.g. a wrong project in the path)
        // says nothing about the token.
        Row{404, "NOT_FOUND", "", Outcome::kRejected, false, false,
            "NOT_FOUND"},
        // A configuration mistake (wrong project) would earn it for every
        // device: rejected, but the token is kept.
        Row{403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", Outcome::kRejected,
            false, false, "SENDER_ID_MISMATCH"},
        Row{403, "PERMISSION_DENIED", "", Outcome::kRejected, false, false,
            "PERMISSION_DENIED"},
        Row{400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", Outcome::kRejected,
            false, false, "INVALID_ARGUMENT"},
        Row{429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", Outcome::kFailed,
            false, true, "QUOTA_EXCEEDED"},
        Row{503, "UNAVAILABLE", "UNAVAILABLE", Outcome::kFailed, false, true,
            "UNAVAILABLE"},
        Row{500, "INTERNAL", "INTERNAL", Outcome::kFailed, false, true,
            "INTERNAL"},
        Row{502, "UNKNOWN", "", Outcome::kFailed, false, true, "UNKNOWN"},
        Row{401, "UNAUTHENTICATED", "", Outcome::kFailed, false, false,
            "UNAUTHENTICATED"},
        Row{401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR",
            Outcome::kRejected, false, false, "THIRD_PARTY_AUTH_ERROR"},
        // Older answers carry the code in error.status only.
        Row{404, "UNREGISTERED", "", Outcome::kRejected, true, false,
            "UNREGISTERED"},
        Row{413, "FAILED_PRECONDITION", "", Outcome::kRejected, false, false,
            "FAILED_PRECONDITION"},
        Row{302, "MOVED", "", Outcome::kFailed, false, false,
            "unexpected_status"}));

TEST(ClassifyFcmResponseTest, InvalidTokenMessageMakesInvalidArgumentDead) {
  PushResult r = ClassifyFcmResponse(Answer(
      400, ErrorBody(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
                     "The registration token is not a valid FCM registration "
                     "token")));
  EXPECT_EQ(r.outcome, Outcome::kRejected);
  EXPECT_TRUE(r.dead_token);
  r = ClassifyFcmResponse(
      Answer(400, ErrorBody(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
                            "Invalid value at 'message.android.ttl'")));
  EXPECT_EQ(r.outcome, Outcome::kRejected);
  EXPECT_FALSE(r.dead_token);
}

TEST(ClassifyFcmResponseTest, RetryAfterIsHonoured) {
  PushResult r = ClassifyFcmResponse(
      Answer(429, ErrorBody(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
             {{"retry-after", "60"}}));
  EXPECT_TRUE(r.retryable);
  EXPECT_EQ(r.retry_after, absl::Seconds(60));
  r = ClassifyFcmResponse(
      Answer(503, ErrorBody(503, "UNAVAILABLE", "UNAVAILABLE")));
  EXPECT_EQ(r.retry_after, std::nullopt);
}

TEST(ClassifyFcmResponseTest, AuthErrorsAskForANewAccessToken) {
  EXPECT_TRUE(IsFcmAuthError(
      ClassifyFcmResponse(Answer(401, ErrorBody(401, "UNAUTHENTICATED", "")))));
  // An HTML 401 from a front end too: the token is what we can fix.
  EXPECT_TRUE(IsFcmAuthError(ClassifyFcmResponse(Answer(401, "<html>"))));
  EXPECT_FALSE(IsFcmAuthError(ClassifyFcmResponse(Answer(
      401, ErrorBody(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR")))));
  EXPECT_FALSE(IsFcmAuthError(ClassifyFcmResponse(
      Answer(403, ErrorBody(403, "PERMISSION_DENIED", "")))));
}

TEST(ClassifyFcmResponseTest, MalformedBodiesFailAndNeverKillTokens) {
  const std::string huge =
      ErrorBody(404, "NOT_FOUND", "UNREGISTERED", std::string(20000, 'x'));
  for (const std::string& body :
       {std::string(""), std::string("{"), std::string("null"),
        std::string(R"({"error":"UNREGISTERED"})"),
        std::string(R"({"error":{"code":404}})"),
        std::string(R"({"error":{"status":404}})"),
        std::string(R"({"error":{"status":""}})"),
        std::string(
            R"({"error":{"details":[1,"x",{"errorCode":"UNREGISTERED"}]}})"),
        std::string("\x00\x01\x02", 3), huge}) {
    for (int status : {400, 403, 404}) {
      PushResult r = ClassifyFcmResponse(Answer(status, body));
      EXPECT_EQ(r.outcome, Outcome::kFailed) << status << " " << body;
      EXPECT_FALSE(r.dead_token) << status << " " << body;
      EXPECT_FALSE(r.retryable);
      EXPECT_EQ(r.reason, "malformed_response");
    }
    PushResult r = ClassifyFcmResponse(Answer(500, body));
    EXPECT_EQ(r.outcome, Outcome::kFailed);
    EXPECT_TRUE(r.retryable);
  }
}

TEST(ClassifyFcmResponseTest, TransportErrors) {
  PushResult r = ClassifyFcmResponse(absl::DeadlineExceededError("t"));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.deadline_exceeded);
  EXPECT_EQ(r.provider, "fcm");
  r = ClassifyFcmResponse(absl::UnavailableError("u"));
  EXPECT_EQ(r.reason, "unavailable");
  EXPECT_FALSE(IsFcmAuthError(r));
}

}  // namespace
}  // namespace callpush
