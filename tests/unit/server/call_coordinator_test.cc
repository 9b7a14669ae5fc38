// CallCoordinator against the in-memory store and the scripted push sender:
// every documented outcome of the four operations (DESIGN section 2).
#include "server/call_coordinator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_device_store.h"
#include "tests/testing/fake_push_sender.h"
#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::FakeClock;
using ::callpush::testing::FakeDeviceStore;
using ::callpush::testing::FakePushSender;
using ::callpush::testing::IsOk;
using ::callpush::testing::IsOkAndHolds;
using ::callpush::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kNumber[] = "+447777123456";
constexpr char kVoip[] = "aa11";
constexpr char kPush[] = "bb22";

class CallCoordinatorTest : public ::testing::Test {
 protected:
  CallCoordinatorTest()
      : store_(clock_),
        coordinator_(store_, pusher_, clock_,
                     CallCoordinatorOptions{absl::Seconds(60)}) {}

  absl::Time Deadline() { return clock_.Now() + absl::Seconds(2); }

  // Runs an operation whose fakes answer inline; nullopt if still pending.
  std::optional<absl::Status> Call(const std::string& device,
                                   const std::string& call_id = "call-1",
                                   const std::string& name = "Dr Who") {
    std::optional<absl::Status> out;
    coordinator_.Call(CallArgs{device, call_id, name}, Deadline(),
                      [&out](absl::Status s) { out = s; });
    return out;
  }
  std::optional<absl::Status> Update(const std::string& device) {
    std::optional<absl::Status> out;
    coordinator_.UpdateCall(CallArgs{device, "call-1", "Dr Who"}, Deadline(),
                            [&out](absl::Status s) { out = s; });
    return out;
  }
  std::optional<absl::Status> Cancel(const std::string& device,
                                     const std::string& reason) {
    std::optional<absl::Status> out;
    coordinator_.CancelCall(CancelArgs{device, "call-1", reason}, Deadline(),
                            [&out](absl::Status s) { out = s; });
    return out;
  }
  absl::StatusOr<std::vector<std::string>> Callable() {
    absl::StatusOr<std::vector<std::string>> out =
        absl::InternalError("no answer");
    coordinator_.ListCallableDevices(
        kNumber, Deadline(),
        [&out](absl::StatusOr<std::vector<std::string>> r) { out = r; });
    return out;
  }
  DeviceRecord Ios(bool inbound = true) {
    return store_.AddDevice(kNumber, Platform::kIos, kVoip, kPush, inbound);
  }

  FakeClock clock_;
  FakeDeviceStore store_;
  FakePushSender pusher_;
  CallCoordinator coordinator_;
};

TEST_F(CallCoordinatorTest, CallSendsOneVoipPushAndRecordsIt) {
  DeviceRecord d = Ios();
  EXPECT_THAT(Call(d.id), ::testing::Optional(IsOk()));
  std::vector<PushRequest> sent = pusher_.sent();
  ASSERT_THAT(sent, SizeIs(1));
  const PushRequest& p = sent[0];
  EXPECT_EQ(p.kind, PushKind::kCall);
  EXPECT_EQ(p.token_kind, TokenKind::kVoip);
  EXPECT_EQ(p.token, kVoip);
  EXPECT_EQ(p.device_id, d.id);
  EXPECT_EQ(p.call_id, "call-1");
  EXPECT_EQ(p.caller_name, "Dr Who");
  EXPECT_EQ(p.app, "demo");
  EXPECT_EQ(p.expires_at, clock_.Now() + absl::Seconds(60));
  EXPECT_EQ(p.deadline, clock_.Now() + absl::Seconds(2));
  std::vector<PushAttempt> attempts = store_.Attempts();
  ASSERT_THAT(attempts, SizeIs(1));
  const PushAttempt& a = attempts[0];
  EXPECT_EQ(a.outcome, PushOutcome::kAccepted);
  EXPECT_EQ(a.kind, PushKind::kCall);
  EXPECT_EQ(a.provider, "apns");
  EXPECT_EQ(a.provider_id, "fake-1");
}

TEST_F(CallCoordinatorTest, AnonymousCallerStillRings) {
  DeviceRecord d = Ios();
  EXPECT_THAT(Call(d.id, "call-anon", ""), ::testing::Optional(IsOk()));
  ASSERT_THAT(pusher_.sent(), SizeIs(1));
  EXPECT_EQ(pusher_.sent()[0].caller_name, "");
}

TEST_F(CallCoordinatorTest, UnknownDeviceIsNotFound) {
  EXPECT_THAT(Call("00000000-0000-4000-8000-999999999999"),
              ::testing::Optional(StatusIs(absl::StatusCode::kNotFound)));
  EXPECT_THAT(pusher_.sent(), IsEmpty());
}

TEST_F(CallCoordinatorTest, InactivePatientIsNotFoundEvenIfRefusingCalls) {
  DeviceRecord d = Ios(/*inbound=*/false);
  store_.SetActive(kNumber, false);
  EXPECT_THAT(Call(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kNotFound,
                                           HasSubstr("not active"))));
  EXPECT_THAT(pusher_.sent(), IsEmpty());
}

TEST_F(CallCoordinatorTest, NoVoipTokenIsNotFoundForCall) {
  DeviceRecord d =
      store_.AddDevice(kNumber, Platform::kIos, std::nullopt, kPush);
  EXPECT_THAT(Call(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kNotFound,
                                           HasSubstr("VoIP push token"))));
  EXPECT_THAT(pusher_.sent(), IsEmpty());
}

TEST_F(CallCoordinatorTest, RefusedInboundCallsIsPermissionDenied) {
  DeviceRecord d = Ios(/*inbound=*/false);
  EXPECT_THAT(Call(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kPermissionDenied,
                                           "device rejected inbound call")));
  EXPECT_THAT(pusher_.sent(), IsEmpty());
  EXPECT_THAT(store_.Attempts(), IsEmpty());
}

TEST_F(CallCoordinatorTest, RepeatWithinRingWindowDoesNotRingTwice) {
  DeviceRecord d = Ios();
  EXPECT_THAT(Call(d.id), ::testing::Optional(IsOk()));
  clock_.Advance(absl::Seconds(59));
  EXPECT_THAT(Call(d.id), ::testing::Optional(IsOk()));
  EXPECT_THAT(pusher_.sent(), SizeIs(1));
  // Another call id, or the same device after the window, rings again.
  EXPECT_THAT(Call(d.id, "call-2"), ::testing::Optional(IsOk()));
  clock_.Advance(absl::Seconds(2));
  EXPECT_THAT(Call(d.id), ::testing::Optional(IsOk()));
  EXPECT_THAT(pusher_.sent(), SizeIs(3));
}

TEST_F(CallCoordinatorTest, RepeatWhileFirstInFlightIsAborted) {
  DeviceRecord d = Ios();
  pusher_.Hold();
  std::optional<absl::Status> first = Call(d.id);
  EXPECT_EQ(first, std::nullopt);
  EXPECT_THAT(Call(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kAborted,
                                           HasSubstr("in flight"))));
  pusher_.Release();
  EXPECT_THAT(pusher_.sent(), SizeIs(1));
  EXPECT_THAT(Call(d.id), ::testing::Optional(IsOk()));
  EXPECT_THAT(pusher_.sent(), SizeIs(1));
}

TEST_F(CallCoordinatorTest, FailedPushCanBeRetried) {
  DeviceRecord d = Ios();
  PushResult failed;
  failed.outcome = PushResult::Outcome::kFailed;
  failed.reason = "connection reset";
  pusher_.SetResult(kVoip, failed);
  EXPECT_THAT(Call(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kUnavailable,
                                           HasSubstr("connection reset"))));
  PushResult ok;
  ok.outcome = PushResult::Outcome::kAccepted;
  pusher_.SetResult(kVoip, ok);
  EXPECT_THAT(Call(d.id), ::testing::Optional(IsOk()));
  EXPECT_THAT(pusher_.sent(), SizeIs(2));
  ASSERT_THAT(store_.Attempts(), SizeIs(2));
  EXPECT_EQ(store_.Attempts()[0].outcome, PushOutcome::kFailed);
  EXPECT_EQ(store_.Attempts()[1].outcome, PushOutcome::kAccepted);
}

TEST_F(CallCoordinatorTest, PushDeadlineIsDeadlineExceeded) {
  DeviceRecord d = Ios();
  PushResult late;
  late.outcome = PushResult::Outcome::kFailed;
  late.deadline_exceeded = true;
  pusher_.SetResult(kVoip, late);
  EXPECT_THAT(Call(d.id), ::testing::Optional(
                              StatusIs(absl::StatusCode::kDeadlineExceeded)));
}

TEST_F(CallCoordinatorTest, DeadTokenIsClearedAndAnswersNotFound) {
  DeviceRecord d = Ios();
  PushResult dead;
  dead.outcome = PushResult::Outcome::kRejected;
  dead.http_status = 410;
  dead.reason = "Unregistered";
  dead.dead_token = true;
  dead.token_invalidated_at = clock_.Now();
  pusher_.SetResult(kVoip, dead);
  EXPECT_THAT(Call(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kNotFound)));
  EXPECT_EQ(store_.Device(d.id)->voip_token, std::nullopt);
  EXPECT_EQ(store_.Device(d.id)->push_token, kPush);  // a different token
  EXPECT_THAT(Callable(), IsOkAndHolds(IsEmpty()));
  ASSERT_THAT(store_.Attempts(), SizeIs(1));
  EXPECT_EQ(store_.Attempts()[0].outcome, PushOutcome::kRejected);
  EXPECT_EQ(store_.Attempts()[0].provider_status, 410);
  EXPECT_TRUE(store_.Attempts()[0].token_invalidated);
  // The device is no longer valid for a call.
  EXPECT_THAT(Call(d.id, "call-2"),
              ::testing::Optional(StatusIs(absl::StatusCode::kNotFound)));
  EXPECT_THAT(pusher_.sent(), SizeIs(1));
}

TEST_F(CallCoordinatorTest, TokenRenewedAfterInvalidationIsKept) {
  DeviceRecord d = Ios();
  PushResult dead;
  dead.outcome = PushResult::Outcome::kRejected;
  dead.dead_token = true;
  // Apple says the token died before the app last registered it.
  dead.token_invalidated_at = clock_.Now() - absl::Minutes(5);
  pusher_.SetResult(kVoip, dead);
  EXPECT_THAT(Call(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kNotFound)));
  EXPECT_EQ(store_.Device(d.id)->voip_token, kVoip);
  EXPECT_FALSE(store_.Attempts()[0].token_invalidated);
}

TEST_F(CallCoordinatorTest, PermanentRejectionIsUnavailableAndKeepsToken) {
  DeviceRecord d = Ios();
  PushResult rejected;
  rejected.outcome = PushResult::Outcome::kRejected;
  rejected.http_status = 400;
  rejected.reason = "TopicDisallowed";
  pusher_.SetResult(kVoip, rejected);
  EXPECT_THAT(Call(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kUnavailable,
                                           HasSubstr("TopicDisallowed"))));
  EXPECT_EQ(store_.Device(d.id)->voip_token, kVoip);
}

TEST_F(CallCoordinatorTest, DatabaseOutageIsUnavailableNeverNotFound) {
  DeviceRecord d = Ios();
  store_.FailWith(absl::UnavailableError("database unavailable"));
  EXPECT_THAT(Call(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kUnavailable)));
  EXPECT_THAT(Update(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kUnavailable)));
  EXPECT_THAT(Cancel(d.id, "cancelled"),
              ::testing::Optional(StatusIs(absl::StatusCode::kUnavailable)));
  EXPECT_THAT(Callable(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(pusher_.sent(), IsEmpty());
}

TEST_F(CallCoordinatorTest, AcceptedPushStandsWhenRecordingFails) {
  DeviceRecord d = Ios();
  pusher_.Hold();
  std::optional<absl::Status> out;
  coordinator_.Call(CallArgs{d.id, "call-1", "x"}, Deadline(),
                    [&out](absl::Status s) { out = s; });
  store_.FailWith(absl::UnavailableError("database unavailable"));
  pusher_.Release();
  EXPECT_THAT(out, ::testing::Optional(IsOk()));
}

TEST_F(CallCoordinatorTest, ListsOnlyCallableDevicesInOrder) {
  DeviceRecord a = Ios();
  store_.AddDevice(kNumber, Platform::kIos, kVoip, kPush, /*inbound=*/false);
  store_.AddDevice(kNumber, Platform::kAndroid, std::nullopt, "fcm1");
  DeviceRecord b =
      store_.AddDevice(kNumber, Platform::kAndroid, "fcm2", "fcm2");
  store_.AddDevice("+447777000000", Platform::kIos, kVoip, kPush);
  EXPECT_THAT(Callable(), IsOkAndHolds(ElementsAre(a.id, b.id)));
}

TEST_F(CallCoordinatorTest, UpdatePrefersPushTokenAndIgnoresInboundSetting) {
  DeviceRecord d = Ios(/*inbound=*/false);
  EXPECT_THAT(Update(d.id), ::testing::Optional(IsOk()));
  ASSERT_THAT(pusher_.sent(), SizeIs(1));
  EXPECT_EQ(pusher_.sent()[0].kind, PushKind::kUpdate);
  EXPECT_EQ(pusher_.sent()[0].token_kind, TokenKind::kPush);
  EXPECT_EQ(pusher_.sent()[0].token, kPush);
  ASSERT_THAT(store_.Attempts(), SizeIs(1));
  EXPECT_EQ(store_.Attempts()[0].kind, PushKind::kUpdate);
}

TEST_F(CallCoordinatorTest, UpdateFallsBackToVoipToken) {
  DeviceRecord d =
      store_.AddDevice(kNumber, Platform::kIos, kVoip, std::nullopt);
  EXPECT_THAT(Update(d.id), ::testing::Optional(IsOk()));
  ASSERT_THAT(pusher_.sent(), SizeIs(1));
  EXPECT_EQ(pusher_.sent()[0].token_kind, TokenKind::kVoip);
}

TEST_F(CallCoordinatorTest, UpdateAndCancelNeedSomeToken) {
  DeviceRecord d =
      store_.AddDevice(kNumber, Platform::kIos, std::nullopt, std::nullopt);
  EXPECT_THAT(Update(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kNotFound)));
  EXPECT_THAT(Cancel(d.id, "cancelled"),
              ::testing::Optional(StatusIs(absl::StatusCode::kNotFound)));
  EXPECT_THAT(pusher_.sent(), IsEmpty());
}

TEST_F(CallCoordinatorTest, CancelCarriesReasonAndIsRecorded) {
  DeviceRecord d = Ios();
  EXPECT_THAT(Cancel(d.id, "answered_elsewhere"), ::testing::Optional(IsOk()));
  ASSERT_THAT(pusher_.sent(), SizeIs(1));
  EXPECT_EQ(pusher_.sent()[0].kind, PushKind::kCancel);
  EXPECT_EQ(pusher_.sent()[0].reason, "answered_elsewhere");
  ASSERT_THAT(store_.Attempts(), SizeIs(1));
  EXPECT_EQ(store_.Attempts()[0].kind, PushKind::kCancel);
  EXPECT_EQ(store_.Attempts()[0].reason, "answered_elsewhere");
  // Cancel is not idempotent-deduplicated: each is an attempt.
  EXPECT_THAT(Cancel(d.id, "cancelled"), ::testing::Optional(IsOk()));
  EXPECT_THAT(pusher_.sent(), SizeIs(2));
}

TEST_F(CallCoordinatorTest, InactivePatientCannotBeUpdatedOrCancelled) {
  DeviceRecord d = Ios();
  store_.SetActive(kNumber, false);
  EXPECT_THAT(Update(d.id),
              ::testing::Optional(StatusIs(absl::StatusCode::kNotFound)));
  EXPECT_THAT(Cancel(d.id, "cancelled"),
              ::testing::Optional(StatusIs(absl::StatusCode::kNotFound)));
}

}  // namespace
}  // namespace callpush
