#include "clients/fcm/oauth_token_exchange.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "clients/fcm/https_uri.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/unit/clients/push/test_keys.h"

namespace callpush {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::JwtPart;
using ::callpush::testing::Rsa2048Pem;
using ::callpush::testing::StatusIs;
using ::callpush::testing::VerifyJwt;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

ServiceAccount Account() {
  ServiceAccount a;
  a.project_id = "care-prod";
  a.client_email = "push@care-prod.iam.gserviceaccount.com";
  a.private_key = Rsa2048Pem();
  a.private_key_id = "kid-1";
  a.token_uri = "https://oauth2.googleapis.com/token";
  return a;
}

TEST(BuildOAuthAssertionTest, SignedRs256WithGoogleClaims) {
  auto jwt = BuildOAuthAssertion(Account(), kFcmScope, kNow);
  ASSERT_THAT(jwt, IsOk());
  EXPECT_TRUE(VerifyJwt(*jwt, Rsa2048Pem(), "RS256"));
  EXPECT_EQ(JwtPart(*jwt, 0),
            (Json{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "kid-1"}}));
  EXPECT_EQ(
      JwtPart(*jwt, 1),
      (Json{{"iss", "push@care-prod.iam.gserviceaccount.com"},
            {"scope", "https://www.googleapis.com/auth/firebase.messaging"},
            {"aud", "https://oauth2.googleapis.com/token"},
            {"iat", 1'800'000'000},
            {"exp", 1'800'003'600}}));
}

TEST(BuildOAuthAssertionTest, NoKidWithoutKeyId) {
  ServiceAccount a = Account();
  a.private_key_id.clear();
  auto jwt = BuildOAuthAssertion(a, kFcmScope, kNow);
  ASSERT_THAT(jwt, IsOk());
  EXPECT_FALSE(JwtPart(*jwt, 0).contains("kid"));
}

TEST(BuildTokenRequestTest, FormPostToTheTokenPath) {
  auto r = BuildTokenRequest(Account(), kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/token");
  ASSERT_EQ(r->headers.size(), 1u);
  EXPECT_EQ(r->headers[0].name, "content-type");
  EXPECT_EQ(r->headers[0].value, "application/x-www-form-urlencoded");
  const std::string prefix =
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
      "&assertion=";
  ASSERT_THAT(r->body, StartsWith(prefix));
  std::string assertion = r->body.substr(prefix.size());
  EXPECT_TRUE(VerifyJwt(assertion, Rsa2048Pem(), "RS256"));
}

TEST(BuildTokenRequestTest, BadTokenUriOrKey) {
  ServiceAccount a = Account();
  a.token_uri = "ftp://example.com/token";
  EXPECT_THAT(
      BuildTokenRequest(a, kNow),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("token_uri")));
  a = Account();
  a.private_key = "nope";
  EXPECT_THAT(BuildTokenRequest(a, kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

http2::Response Answer(int status, std::string body) {
  http2::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(ParseTokenResponseTest, ReadsTokenAndExpiry) {
  auto t = ParseTokenResponse(
      Answer(
          200,
          R"({"access_token":"ya29.c.abc","expires_in":3599,"token_type":"Bearer"})"),
      kNow);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->token, "ya29.c.abc");
  EXPECT_EQ(t->expires_at, kNow + absl::Seconds(3599));
}

TEST(ParseTokenResponseTest, ErrorsByWhatTheCallerShouldDo) {
  EXPECT_THAT(
      ParseTokenResponse(
          Answer(
              400,
              R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})"),
          kNow),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("400 invalid_grant: Invalid JWT Signature.")));
  EXPECT_THAT(ParseTokenResponse(Answer(401, "<html>"), kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(ParseTokenResponse(Answer(503, ""), kNow),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ParseTokenResponse(Answer(429, "{}"), kNow),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ParseTokenResponse(absl::DeadlineExceededError("slow"), kNow),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(ParseTokenResponseTest, MalformedOkAnswers) {
  for (const char* body :
       {"", "{", "[]", R"({"expires_in":3600})",
        R"({"access_token":"","expires_in":3600})",
        R"({"access_token":5,"expires_in":3600})",
        R"({"access_token":"a b","expires_in":3600})",
        "{\"access_token\":\"a\\r\\nx: y\",\"expires_in\":3600}",
        R"({"access_token":"a"})", R"({"access_token":"a","expires_in":0})",
        R"({"access_token":"a","expires_in":"3600"})",
        R"({"access_token":"a","expires_in":3600,"token_type":"MAC"})"}) {
    EXPECT_THAT(ParseTokenResponse(Answer(200, body), kNow),
                StatusIs(absl::StatusCode::kInternal))
        << body;
  }
}

TEST(ParseTokenResponseTest, HugeExpiryIsClamped) {
  auto t = ParseTokenResponse(
      Answer(200, R"({"access_token":"a","expires_in":99999999999})"), kNow);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->expires_at, kNow + absl::Hours(24));
}

TEST(HttpsUriTest, Parses) {
  auto u = ParseHttpsUri("https://oauth2.googleapis.com/token");
  ASSERT_THAT(u, IsOk());
  EXPECT_EQ(u->host, "oauth2.googleapis.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/token");
  u = ParseHttpsUri("HTTPS://LocalHost:8443");
  ASSERT_THAT(u, IsOk());
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path, "/");
  u = ParseHttpsUri("https://127.0.0.1:9/o/token?x=1");
  ASSERT_THAT(u, IsOk());
  EXPECT_EQ(u->path, "/o/token?x=1");
  u = ParseHttpsUri("https://h?x=1");
  ASSERT_THAT(u, IsOk());
  EXPECT_EQ(u->path, "/?x=1");
  for (const char* bad :
       {"http://h/token", "https://", "https://:443/", "https://h:0/",
        "https://h:70000/", "https://h:x/", "https://u@h/", "https://[::1]/",
        "https://h/a#frag", "https://h/a b", "https://h_x/"}) {
    EXPECT_THAT(ParseHttpsUri(bad),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

}  // namespace
}  // namespace callpush
