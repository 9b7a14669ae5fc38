#include "clients/fcm/fcm_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "clients/apns/call_uuid.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::StatusIs;
using ::testing::HasSubstr;
using Json = nlohmann::json;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const std::string kToken = "fcm-token:APA91b" + std::string(140, 'x');

FcmAppConfig Config() {
  FcmAppConfig c;
  c.project_id = "care-prod";
  return c;
}

PushRequest Request(PushKind kind, std::string reason = "") {
  PushRequest r;
  r.kind = kind;
  r.device_id = "dev-7";
  r.call_id = "call-9";
  r.caller_name = kind == PushKind::kCancel ? "" : "Dr Quinn";
  r.reason = std::move(reason);
  r.platform = Platform::kAndroid;
  r.token_kind = TokenKind::kPush;
  r.token = kToken;
  r.expires_at = kNow + absl::Milliseconds(29'200);
  r.deadline = kNow + absl::Seconds(4);
  return r;
}

TEST(BuildFcmRequestTest, CallIsAHighPriorityDataMessage) {
  auto r =
      BuildFcmRequest(Request(PushKind::kCall), Config(), "ya29.tok", kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/v1/projects/care-prod/messages:send");
  ASSERT_EQ(r->headers.size(), 2u);
  EXPECT_EQ(r->headers[0].name, "authorization");
  EXPECT_EQ(r->headers[0].value, "Bearer ya29.tok");
  EXPECT_TRUE(r->headers[0].sensitive);
  EXPECT_EQ(r->headers[1].name, "content-type");
  EXPECT_EQ(r->headers[1].value, "application/json");
  EXPECT_FALSE(r->headers[1].sensitive);
  EXPECT_EQ(Json::parse(r->body),
            (Json{{"message",
                   {{"token", kToken},
                    {"data",
                     {{"type", "call"},
                      {"callId", "call-9"},
                      {"callUuid", CallUuid("call-9")},
                      {"callerName", "Dr Quinn"},
                      {"deviceId", "dev-7"},
                      {"sentAt", "2027-01-15T08:00:00.000Z"},
                      {"expiresAt", "2027-01-15T08:00:29.200Z"}}},
                    // 29.2 s of ring time, rounded up.
                    {"android", {{"priority", "HIGH"}, {"ttl", "30s"}}}}}}));
  EXPECT_EQ(r->deadline, kNow + absl::Seconds(4));
}

TEST(BuildFcmRequestTest, EveryDataValueIsAString) {
  for (const PushRequest& req :
       {Request(PushKind::kCall), Request(PushKind::kUpdate),
        Request(PushKind::kCancel, "cancelled"),
        Request(PushKind::kCancel, "answered_elsewhere")}) {
    auto r = BuildFcmRequest(req, Config(), "tok", kNow);
    ASSERT_THAT(r, IsOk());
    Json data = Json::parse(r->body)["message"]["data"];
    for (const auto& [key, value] : data.items()) {
      EXPECT_TRUE(value.is_string()) << key;
    }
    EXPECT_EQ(data["callUuid"], CallUuid("call-9"));
    EXPECT_EQ(Json::parse(r->body)["message"]["android"]["priority"], "HIGH");
  }
}

TEST(BuildFcmRequestTest, TtlPerEvent) {
  auto ttl = [](const PushRequest& req) {
    auto r = BuildFcmRequest(req, Config(), "tok", kNow);
    EXPECT_THAT(r, IsOk());
    return Json::parse(r->body)["message"]["android"]["ttl"].get<std::string>();
  };
  EXPECT_EQ(ttl(Request(PushKind::kUpdate)), "30s");
  EXPECT_EQ(ttl(Request(PushKind::kCancel, "answered_elsewhere")), "30s");
  EXPECT_EQ(ttl(Request(PushKind::kCancel, "cancelled")), "86400s");
  PushRequest late = Request(PushKind::kUpdate);
  late.expires_at = kNow - absl::Seconds(3);
  EXPECT_EQ(ttl(late), "0s");
}

TEST(BuildFcmRequestTest, CancelCarriesReasonAndHiddenNamesAreBlank) {
  auto r = BuildFcmRequest(Request(PushKind::kCancel, "answered_elsewhere"),
                           Config(), "tok", kNow);
  ASSERT_THAT(r, IsOk());
  Json data = Json::parse(r->body)["message"]["data"];
  EXPECT_EQ(data["type"], "cancel");
  EXPECT_EQ(data["reason"], "answered_elsewhere");
  EXPECT_FALSE(data.contains("callerName"));

  FcmAppConfig hidden = Config();
  hidden.hide_caller_name = true;
  r = BuildFcmRequest(Request(PushKind::kCall), hidden, "tok", kNow);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(Json::parse(r->body)["message"]["data"]["callerName"], "");
  EXPECT_THAT(r->body, ::testing::Not(HasSubstr("Quinn")));
}

TEST(BuildFcmRequestTest, DataLimitIs4096) {
  PushRequest r = Request(PushKind::kCall);
  r.caller_name.clear();
  auto small = BuildFcmRequest(r, Config(), "tok", kNow);
  ASSERT_THAT(small, IsOk());
  const size_t data_size =
      Json::parse(small->body)["message"]["data"].dump().size();
  r.caller_name = std::string(kFcmDataLimit - data_size, 'n');
  EXPECT_THAT(BuildFcmRequest(r, Config(), "tok", kNow), IsOk());
  r.caller_name.push_back('n');
  EXPECT_THAT(BuildFcmRequest(r, Config(), "tok", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("4096-byte limit")));
}

TEST(BuildFcmRequestTest, RefusesWhatCannotBeSent) {
  PushRequest call = Request(PushKind::kCall);
  call.expires_at = kNow;
  EXPECT_THAT(BuildFcmRequest(call, Config(), "tok", kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(BuildFcmRequest(Request(PushKind::kCall), Config(), "", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
  PushRequest no_token = Request(PushKind::kCall);
  no_token.token.clear();
  EXPECT_THAT(BuildFcmRequest(no_token, Config(), "tok", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
  for (const char* project : {"", "a/b", "../x", "p q", "p?x"}) {
    FcmAppConfig c = Config();
    c.project_id = project;
    EXPECT_THAT(BuildFcmRequest(Request(PushKind::kCall), c, "tok", kNow),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << project;
  }
}

}  // namespace
}  // namespace callpush
