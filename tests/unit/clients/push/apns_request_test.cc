#include "clients/apns/apns_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/apns/call_uuid.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const std::string kToken(64, 'a');
constexpr char kJwt[] = "eyJ.header.sig";

// A header as a comparable tuple: name, value, sensitive.
using H = std::tuple<std::string, std::string, bool>;
std::vector<H> Headers(const http2::Request& r) {
  std::vector<H> out;
  for (const auto& h : r.headers)
    out.emplace_back(h.name, h.value, h.sensitive);
  return out;
}

ApnsAppConfig Config() {
  ApnsAppConfig c;
  c.bundle_id = "com.example.care";
  c.team_id = "TEAM";
  c.key_id = "KEY";
  c.key_file = "/secrets/apns.p8";
  return c;
}

PushRequest Call() {
  PushRequest r;
  r.kind = PushKind::kCall;
  r.device_id = "8c1e6c2e-0000-4000-8000-000000000001";
  r.call_id = "call-42";
  r.caller_name = "Nurse Joy";
  r.platform = Platform::kIos;
  r.app = "care";
  r.token_kind = TokenKind::kVoip;
  r.token = kToken;
  r.expires_at = kNow + absl::Milliseconds(30'500);
  r.deadline = kNow + absl::Seconds(5);
  return r;
}

PushRequest Update() {
  PushRequest r = Call();
  r.kind = PushKind::kUpdate;
  r.token_kind = TokenKind::kPush;
  return r;
}

PushRequest Cancel(std::string reason) {
  PushRequest r = Call();
  r.kind = PushKind::kCancel;
  r.caller_name = "";
  r.reason = std::move(reason);
  r.token_kind = TokenKind::kPush;
  return r;
}

TEST(BuildApnsRequestTest, CallIsAVoipPush) {
  auto r = BuildApnsRequest(Call(), Config(), kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/3/device/" + kToken);
  EXPECT_THAT(Headers(*r),
              ElementsAre(H{"apns-push-type", "voip", false},
                          H{"apns-topic", "com.example.care.voip", false},
                          H{"apns-priority", "10", false},
                          // 30.5 s of ring time, rounded up.
                          H{"apns-expiration", "1800000031", false},
                          H{"authorization", "bearer eyJ.header.sig", true}));
  EXPECT_EQ(Json::parse(r->body),
            (Json{{"type", "call"},
                  {"callId", "call-42"},
                  {"callUuid", CallUuid("call-42")},
                  {"callerName", "Nurse Joy"},
                  {"deviceId", "8c1e6c2e-0000-4000-8000-000000000001"},
                  {"sentAt", "2027-01-15T08:00:00.000Z"},
                  {"expiresAt", "2027-01-15T08:00:30.500Z"}}));
  EXPECT_EQ(r->deadline, kNow + absl::Seconds(5));
}

TEST(BuildApnsRequestTest, UpdateIsABackgroundPushByDefault) {
  auto r = BuildApnsRequest(Update(), Config(), kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(Headers(*r),
              ElementsAre(H{"apns-push-type", "background", false},
                          H{"apns-topic", "com.example.care", false},
                          H{"apns-priority", "5", false},
                          H{"apns-expiration", "1800000031", false},
                          H{"authorization", "bearer eyJ.header.sig", true}));
  Json body = Json::parse(r->body);
  EXPECT_EQ(body["type"], "update");
  EXPECT_EQ(body["callUuid"], CallUuid("call-42"));
  EXPECT_EQ(body["callerName"], "Nurse Joy");
  EXPECT_EQ(body["aps"], (Json{{"content-available", 1}}));
}

TEST(BuildApnsRequestTest, UpdateAsVoipWhenTheAppSaysSo) {
  ApnsAppConfig c = Config();
  c.update_as_voip = true;
  PushRequest u = Update();
  u.token_kind = TokenKind::kVoip;
  auto r = BuildApnsRequest(u, c, kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(std::get<1>(Headers(*r)[0]), "voip");
  EXPECT_EQ(std::get<1>(Headers(*r)[1]), "com.example.care.voip");
  EXPECT_EQ(std::get<1>(Headers(*r)[2]), "10");
  EXPECT_FALSE(Json::parse(r->body).contains("aps"));
}

TEST(BuildApnsRequestTest, CancelledIsAMissedCallAlert) {
  auto r = BuildApnsRequest(Cancel("cancelled"), Config(), kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(Headers(*r),
              ElementsAre(H{"apns-push-type", "alert", false},
                          H{"apns-topic", "com.example.care", false},
                          H{"apns-priority", "10", false},
                          // Kept for a day: a missed call is news later.
                          H{"apns-expiration", "1800086400", false},
                          H{"apns-collapse-id", "call-42", false},
                          H{"authorization", "bearer eyJ.header.sig", true}));
  Json body = Json::parse(r->body);
  EXPECT_EQ(body["type"], "cancel");
  EXPECT_EQ(body["reason"], "cancelled");
  EXPECT_EQ(body["callUuid"], CallUuid("call-42"));
  EXPECT_FALSE(body.contains("callerName"));
  EXPECT_EQ(body["aps"], (Json{{"alert", {{"title", "Missed call"}}}}));
}

TEST(BuildApnsRequestTest, MissedCallAlertNamesTheCallerUnlessHidden) {
  PushRequest c = Cancel("cancelled");
  c.caller_name = "Nurse Joy";
  auto r = BuildApnsRequest(c, Config(), kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(Json::parse(r->body)["aps"]["alert"],
            (Json{{"title", "Missed call"}, {"body", "Nurse Joy"}}));
  ApnsAppConfig hidden = Config();
  hidden.hide_caller_name = true;
  r = BuildApnsRequest(c, hidden, kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(Json::parse(r->body)["aps"]["alert"],
            (Json{{"title", "Missed call"}}));
  EXPECT_THAT(r->body, ::testing::Not(HasSubstr("Nurse")));
}

TEST(BuildApnsRequestTest, LongCallIdCollapsesOnItsUuid) {
  PushRequest c = Cancel("cancelled");
  c.call_id = std::string(65, 'x');
  auto r = BuildApnsRequest(c, Config(), kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(std::get<1>(Headers(*r)[4]), CallUuid(c.call_id));
}

TEST(BuildApnsRequestTest, AnsweredElsewhereIsABackgroundPush) {
  auto r = BuildApnsRequest(Cancel("answered_elsewhere"), Config(), kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(Headers(*r),
              ElementsAre(H{"apns-push-type", "background", false},
                          H{"apns-topic", "com.example.care", false},
                          H{"apns-priority", "5", false},
                          H{"apns-expiration", "1800000031", false},
                          H{"authorization", "bearer eyJ.header.sig", true}));
  Json body = Json::parse(r->body);
  EXPECT_EQ(body["reason"], "answered_elsewhere");
  EXPECT_EQ(body["aps"], (Json{{"content-available", 1}}));
}

TEST(BuildApnsRequestTest, CancelStylesAreConfigurable) {
  ApnsAppConfig silent = Config();
  silent.missed_call_alert = false;
  auto r = BuildApnsRequest(Cancel("cancelled"), silent, kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(std::get<1>(Headers(*r)[0]), "background");

  ApnsAppConfig voip = Config();
  voip.cancel_as_voip = true;
  PushRequest c = Cancel("cancelled");
  c.token_kind = TokenKind::kVoip;
  r = BuildApnsRequest(c, voip, kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(std::get<1>(Headers(*r)[0]), "voip");
  EXPECT_EQ(std::get<1>(Headers(*r)[1]), "com.example.care.voip");
}

TEST(BuildApnsRequestTest, PastRingTimeMeansDeliverNowOrNever) {
  PushRequest u = Update();
  u.expires_at = kNow - absl::Seconds(1);
  auto r = BuildApnsRequest(u, Config(), kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(std::get<1>(Headers(*r)[3]), "0");
  u.expires_at = absl::InfinitePast();
  r = BuildApnsRequest(u, Config(), kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(std::get<1>(Headers(*r)[3]), "0");
  EXPECT_FALSE(Json::parse(r->body).contains("expiresAt"));
}

TEST(BuildApnsRequestTest, CallWithoutRingTimeIsRefused) {
  PushRequest c = Call();
  c.expires_at = kNow;
  EXPECT_THAT(BuildApnsRequest(c, Config(), kJwt, kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  c.expires_at = absl::InfinitePast();
  EXPECT_THAT(BuildApnsRequest(c, Config(), kJwt, kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(BuildApnsRequestTest, CertificateAuthSendsNoAuthorization) {
  ApnsAppConfig c = Config();
  c.key_file.clear();
  c.certificate_file = "/secrets/apns.crt";
  c.certificate_key_file = "/secrets/apns.key";
  auto r = BuildApnsRequest(Call(), c, "", kNow);
  ASSERT_THAT(r, IsOk());
  for (const auto& h : r->headers) EXPECT_NE(h.name, "authorization");
  EXPECT_THAT(BuildApnsRequest(Call(), c, kJwt, kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildApnsRequest(Call(), Config(), "", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(BuildApnsRequestTest, TokenKindMustMatchThePushType) {
  // Sending these would earn DeviceTokenNotForTopic and clear a good token.
  PushRequest c = Call();
  c.token_kind = TokenKind::kPush;
  EXPECT_THAT(BuildApnsRequest(c, Config(), kJwt, kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  PushRequest u = Update();
  u.token_kind = TokenKind::kVoip;
  EXPECT_THAT(
      BuildApnsRequest(u, Config(), kJwt, kNow),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("background")));
}

TEST(BuildApnsRequestTest, BadTokensAndConfigAreRefused) {
  for (std::string token :
       {std::string(), std::string("abc/../x"), std::string(63, 'a') + "g",
        std::string(201, 'a')}) {
    PushRequest c = Call();
    c.token = token;
    EXPECT_THAT(BuildApnsRequest(c, Config(), kJwt, kNow),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << token;
  }
  PushRequest upper = Call();
  upper.token = std::string(64, 'F');
  EXPECT_THAT(BuildApnsRequest(upper, Config(), kJwt, kNow), IsOk());
  ApnsAppConfig c = Config();
  c.bundle_id.clear();
  EXPECT_THAT(BuildApnsRequest(Call(), c, kJwt, kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// The caller name is the only free-size field: grow it to each limit.
void ExpectLimit(const PushRequest& base, size_t limit) {
  PushRequest r = base;
  r.caller_name.clear();
  auto small = BuildApnsRequest(r, Config(), kJwt, kNow);
  ASSERT_THAT(small, IsOk());
  r.caller_name = std::string(limit - small->body.size(), 'n');
  auto at_limit = BuildApnsRequest(r, Config(), kJwt, kNow);
  ASSERT_THAT(at_limit, IsOk());
  EXPECT_EQ(at_limit->body.size(), limit);
  r.caller_name.push_back('n');
  EXPECT_THAT(BuildApnsRequest(r, Config(), kJwt, kNow),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat(limit, "-byte limit"))));
}

TEST(BuildApnsRequestTest, VoipPayloadLimitIs5120) {
  ExpectLimit(Call(), kApnsVoipPayloadLimit);
}

TEST(BuildApnsRequestTest, BackgroundPayloadLimitIs4096) {
  ExpectLimit(Update(), kApnsPayloadLimit);
}

TEST(BuildApnsRequestTest, InvalidUtf8NameDoesNotThrow) {
  PushRequest c = Call();
  c.caller_name = "bad \xff name";
  auto r = BuildApnsRequest(c, Config(), kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(Json::parse(r->body)["callerName"], "bad \xef\xbf\xbd name");
}

TEST(BuildApnsRequestTest, UnsetDeadlineLeavesTheClientDefault) {
  PushRequest c = Call();
  c.deadline = absl::InfinitePast();
  auto r = BuildApnsRequest(c, Config(), kJwt, kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->deadline, absl::InfiniteFuture());
}

TEST(ApnsAppConfigTest, EnvironmentFallsBackToTheAppDefault) {
  ApnsAppConfig c = Config();
  c.default_environment = "sandbox";
  PushRequest r = Call();
  EXPECT_EQ(ApnsEnvironmentFor(r, c), "sandbox");
  r.environment = "production";
  EXPECT_EQ(ApnsEnvironmentFor(r, c), "production");
  c.default_environment.clear();
  r.environment.clear();
  EXPECT_EQ(ApnsEnvironmentFor(r, c), "production");
}

}  // namespace
}  // namespace callpush
