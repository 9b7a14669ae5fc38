// What CallCoordinator tells its PushObserver: one OnPushSent and one
// OnPushResult per push (with the kind and the sender's result), one
// OnTokenInvalidated per dead token cleared, nothing for operations that
// send no push.
#include "server/push_observer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/call_coordinator.h"
#include "server/unconfigured_push_sender.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_device_store.h"
#include "tests/testing/fake_push_sender.h"

namespace callpush {
namespace {

using ::callpush::testing::FakeClock;
using ::callpush::testing::FakeDeviceStore;
using ::callpush::testing::FakePushSender;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kNumber[] = "+447777123456";

// Each event as one line, in order.
class RecordingPushObserver final : public PushObserver {
 public:
  void OnPushSent(const std::string& provider) override {
    Add(absl::StrCat("sent ", provider));
  }
  void OnPushResult(const std::string& provider, PushKind kind,
                    const PushResult& result) override {
    const char* outcome =
        result.outcome == PushResult::Outcome::kAccepted   ? "accepted"
        : result.outcome == PushResult::Outcome::kRejected ? "rejected"
                                                           : "failed";
    Add(absl::StrCat("result ", provider, " ", PushKindName(kind), " ", outcome,
                     " ", result.provider, " ", result.reason));
  }
  void OnTokenInvalidated(const std::string& provider) override {
    Add(absl::StrCat("invalidated ", provider));
  }
  void OnTokenRefresh(const std::string& provider, const std::string& app,
                      bool ok, absl::Time at) override {
    Add(absl::StrCat("refresh ", provider, " ", app, " ", ok));
  }
  std::vector<std::string> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  void Add(std::string e) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(e));
  }
  mutable absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

class PushObserverTest : public ::testing::Test {
 protected:
  CallCoordinatorOptions Options() {
    CallCoordinatorOptions o;
    o.observer = &observer_;
    return o;
  }
  absl::Time Deadline() { return clock_.Now() + absl::Seconds(2); }

  FakeClock clock_;
  FakeDeviceStore store_{clock_};
  RecordingPushObserver observer_;
};

TEST_F(PushObserverTest, EveryPushIsSentThenAnsweredOnce) {
  FakePushSender pusher;
  CallCoordinator coordinator(store_, pusher, clock_, Options());
  const std::string ios =
      store_.AddDevice(kNumber, Platform::kIos, "aa11", "bb22").id;
  const std::string android =
      store_.AddDevice(kNumber, Platform::kAndroid, "fcm-1", std::nullopt).id;
  std::vector<absl::Status> answers;
  auto done = [&answers](absl::Status s) { answers.push_back(s); };
  coordinator.Call(CallArgs{ios, "c1", "Dr Who"}, Deadline(), done);
  coordinator.UpdateCall(CallArgs{android, "c1", "Dr Who"}, Deadline(), done);
  coordinator.CancelCall(CancelArgs{ios, "c1", "cancelled"}, Deadline(), done);
  // A repeat within the ring window and an unknown device push nothing.
  coordinator.Call(CallArgs{ios, "c1", "Dr Who"}, Deadline(), done);
  coordinator.Call(CallArgs{"ffffffff-ffff-4fff-bfff-ffffffffffff", "c2", ""},
                   Deadline(), done);
  ASSERT_EQ(answers.size(), 5u);
  EXPECT_THAT(observer_.events(),
              ElementsAre("sent apns", "result apns call accepted apns ",
                          "sent fcm", "result fcm update accepted fcm ",
                          "sent apns", "result apns cancel accepted apns "));
}

TEST_F(PushObserverTest, ADeadTokenIsCountedOnceCleared) {
  FakePushSender pusher;
  CallCoordinator coordinator(store_, pusher, clock_, Options());
  const std::string ios =
      store_.AddDevice(kNumber, Platform::kIos, "dead", std::nullopt).id;
  PushResult dead;
  dead.outcome = PushResult::Outcome::kRejected;
  dead.http_status = 410;
  dead.reason = "Unregistered";
  dead.dead_token = true;
  pusher.SetResult("dead", dead);
  std::optional<absl::Status> answer;
  coordinator.Call(CallArgs{ios, "c1", "Dr Who"}, Deadline(),
                   [&answer](absl::Status s) { answer = s; });
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(absl::IsNotFound(*answer));
  EXPECT_THAT(
      observer_.events(),
      ElementsAre("sent apns", "result apns call rejected apns Unregistered",
                  "invalidated apns"));
}

TEST_F(PushObserverTest, HeldPushesStayInFlightUntilAnswered) {
  FakePushSender pusher;
  CallCoordinator coordinator(store_, pusher, clock_, Options());
  const std::string ios =
      store_.AddDevice(kNumber, Platform::kIos, "aa11", std::nullopt).id;
  pusher.Hold();
  std::optional<absl::Status> answer;
  coordinator.Call(CallArgs{ios, "c1", "Dr Who"}, Deadline(),
                   [&answer](absl::Status s) { answer = s; });
  EXPECT_THAT(observer_.events(), ElementsAre("sent apns"));
  pusher.Release();
  EXPECT_THAT(observer_.events(),
              ElementsAre("sent apns", "result apns call accepted apns "));
  EXPECT_TRUE(answer.has_value());
}

TEST_F(PushObserverTest, NoProviderIsNamedNone) {
  UnconfiguredPushSender pusher;
  CallCoordinator coordinator(store_, pusher, clock_, Options());
  const std::string ios =
      store_.AddDevice(kNumber, Platform::kIos, "aa11", std::nullopt).id;
  std::optional<absl::Status> answer;
  coordinator.Call(CallArgs{ios, "c1", "Dr Who"}, Deadline(),
                   [&answer](absl::Status s) { answer = s; });
  ASSERT_TRUE(answer.has_value());
  EXPECT_THAT(observer_.events(),
              ElementsAre("sent none",
                          "result none call failed none no push provider "
                          "configured"));
}

TEST_F(PushObserverTest, WithoutAnObserverNothingChanges) {
  FakePushSender pusher;
  CallCoordinator coordinator(store_, pusher, clock_, CallCoordinatorOptions{});
  const std::string ios =
      store_.AddDevice(kNumber, Platform::kIos, "aa11", std::nullopt).id;
  std::optional<absl::Status> answer;
  coordinator.Call(CallArgs{ios, "c1", "Dr Who"}, Deadline(),
                   [&answer](absl::Status s) { answer = s; });
  EXPECT_TRUE(answer.has_value() && answer->ok());
  EXPECT_THAT(observer_.events(), IsEmpty());
}

}  // namespace
}  // namespace callpush
