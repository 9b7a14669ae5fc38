#include "clients/apns/call_payload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "clients/apns/call_uuid.h"
#include "clients/apns/credential_file.h"
#include "clients/apns/retry_after.h"
#include "clients/apns/transport_failure.h"
#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Pair;

const absl::Time kNow = absl::FromUnixMillis(1'800'000'000'250);

PushRequest Request(PushKind kind) {
  PushRequest r;
  r.kind = kind;
  r.device_id = "dev-1";
  r.call_id = "call-1";
  r.caller_name = "Dr Who";
  r.reason = kind == PushKind::kCancel ? "cancelled" : "";
  r.expires_at = kNow + absl::Seconds(30);
  return r;
}

TEST(FormatRfc3339Test, UtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(kNow), "2027-01-15T08:00:00.250Z");
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(0)),
            "1970-01-01T00:00:00.000Z");
}

TEST(CallPayloadFieldsTest, CallCarriesCallerName) {
  EXPECT_THAT(
      CallPayloadFields(Request(PushKind::kCall), kNow, false),
      ElementsAre(Pair("type", "call"), Pair("callId", "call-1"),
                  Pair("callUuid", CallUuid("call-1")),
                  Pair("callerName", "Dr Who"), Pair("deviceId", "dev-1"),
                  Pair("sentAt", "2027-01-15T08:00:00.250Z"),
                  Pair("expiresAt", "2027-01-15T08:00:30.250Z")));
}

TEST(CallPayloadFieldsTest, HiddenNameIsBlank) {
  auto fields = CallPayloadFields(Request(PushKind::kUpdate), kNow, true);
  EXPECT_THAT(fields[0], Pair("type", "update"));
  EXPECT_THAT(fields[3], Pair("callerName", ""));
}

TEST(CallPayloadFieldsTest, CancelCarriesReasonNotNameAndSameUuid) {
  PushRequest r = Request(PushKind::kCancel);
  r.expires_at = absl::InfinitePast();  // unset: no expiresAt
  EXPECT_THAT(
      CallPayloadFields(r, kNow, false),
      ElementsAre(Pair("type", "cancel"), Pair("callId", "call-1"),
                  Pair("callUuid", CallUuid("call-1")),
                  Pair("reason", "cancelled"), Pair("deviceId", "dev-1"),
                  Pair("sentAt", "2027-01-15T08:00:00.250Z")));
}

TEST(RetryAfterTest, DeltaSecondsOnly) {
  EXPECT_EQ(ParseRetryAfter("120"), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 "), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999"), kMaxRetryAfter);
  EXPECT_EQ(ParseRetryAfter("7200"), kMaxRetryAfter);
  EXPECT_EQ(ParseRetryAfter(""), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-1"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("1.5"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
}

TEST(TransportFailureTest, MapsHttp2ClientErrors) {
  PushResult d = TransportFailure(absl::DeadlineExceededError("late"), "apns");
  EXPECT_EQ(d.outcome, PushResult::Outcome::kFailed);
  EXPECT_EQ(d.provider, "apns");
  EXPECT_EQ(d.http_status, 0);
  EXPECT_TRUE(d.deadline_exceeded);
  EXPECT_EQ(d.reason, "deadline_exceeded");
  EXPECT_FALSE(d.retryable);

  PushResult u = TransportFailure(absl::UnavailableError("gone"), "fcm");
  EXPECT_EQ(u.reason, "unavailable");
  EXPECT_FALSE(u.deadline_exceeded);
  // It may have been delivered: no automatic resend.
  EXPECT_FALSE(u.retryable);
  EXPECT_EQ(TransportFailure(absl::ResourceExhaustedError(""), "fcm").reason,
            "overloaded");
  EXPECT_EQ(TransportFailure(absl::InternalError(""), "fcm").reason,
            "protocol_error");
  EXPECT_EQ(TransportFailure(absl::UnknownError(""), "fcm").reason,
            "transport_error");
}

TEST(CredentialFileTest, MissingFileNamesThePath) {
  EXPECT_THAT(ReadCredentialFile("/nonexistent/key.p8"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("/nonexistent/key.p8")));
}

TEST(CredentialFileTest, RefusesHugeFiles) {
  EXPECT_THAT(ReadCredentialFile("/dev/zero"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("larger than")));
}

}  // namespace
}  // namespace callpush
