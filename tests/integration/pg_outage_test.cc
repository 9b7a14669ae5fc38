// Postgres stops and restarts under a running service (DESIGN section 7):
// requests fail fast with UNAVAILABLE (never NOT_FOUND or an empty list,
// never past the deadline), readiness goes false, and the service recovers
// by itself once Postgres is back.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "callpush/v1/call_service.grpc.pb.h"
#include "callpush/v1/device_service.grpc.pb.h"
#include "tests/testing/fake_push_sender.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/service_stack.h"

namespace callpush {
namespace {

using ::callpush::testing::FakePushSender;
using ::callpush::testing::HealthCheck;
using ::callpush::testing::PgInstance;
using ::callpush::testing::ScratchDatabase;
using ::callpush::testing::ServiceStack;

constexpr char kNumber[] = "+447911123555";
constexpr int kServing = 1;
constexpr int kNotServing = 2;

class PgOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto instance = PgInstance::Start();
    ASSERT_TRUE(instance.ok()) << instance.status();
    instance_ = *std::move(instance);
    auto db = ScratchDatabase::Create(instance_->url());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ServiceStack::Options options;
    options.database_url = db_->url();
    options.db_workers = 3;
    options.health = true;
    stack_ = std::make_unique<ServiceStack>(options);
    pusher_ = &stack_->pusher();
    channel_ = stack_->channel();
    call_stub_ = &stack_->calls();
    device_stub_ = &stack_->devices();
  }

  grpc::Status List(v1::ListCallableDevicesResponse* out) {
    v1::ListCallableDevicesRequest req;
    req.set_mobile_number(kNumber);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(1));
    return call_stub_->ListCallableDevices(&ctx, req, out);
  }

  grpc::Status Call(const std::string& device_id, const std::string& call_id) {
    v1::CallRequest req;
    req.set_device_id(device_id);
    req.set_call_id(call_id);
    req.set_caller_name("x");
    v1::CallResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(1));
    return call_stub_->Call(&ctx, req, &resp);
  }

  bool AwaitHealth(int want, absl::Duration within) {
    absl::Time deadline = absl::Now() + within;
    while (absl::Now() < deadline) {
      auto h = HealthCheck(channel_, "");
      if (h.ok() && *h == want) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  std::unique_ptr<PgInstance> instance_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<ServiceStack> stack_;
  FakePushSender* pusher_ = nullptr;
  std::shared_ptr<grpc::Channel> channel_;
  v1::CallService::Stub* call_stub_ = nullptr;
  v1::DeviceService::Stub* device_stub_ = nullptr;
};

TEST_F(PgOutageTest, StopAndRestartPostgres) {
  v1::RegisterDeviceRequest reg;
  reg.set_mobile_number(kNumber);
  reg.set_platform(v1::PLATFORM_ANDROID);
  reg.set_app("demo");
  reg.set_voip_token("fcm-token-1");
  reg.set_push_token("fcm-token-1");
  v1::Device device;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(device_stub_->RegisterDevice(&ctx, reg, &device).ok());
  }
  ASSERT_TRUE(AwaitHealth(kServing, absl::Seconds(10)));
  v1::ListCallableDevicesResponse listed;
  ASSERT_TRUE(List(&listed).ok());
  ASSERT_EQ(listed.devices_size(), 1);

  ASSERT_TRUE(instance_->Stop().ok());

  // Every answer while Postgres is down: UNAVAILABLE, fast.
  absl::Duration slowest = absl::ZeroDuration();
  for (int i = 0; i < 20; ++i) {
    absl::Time start = absl::Now();
    v1::ListCallableDevicesResponse out;
    grpc::Status list = List(&out);
    grpc::Status call = Call(device.id(), "outage-" + std::to_string(i));
    absl::Duration took = absl::Now() - start;
    EXPECT_EQ(list.error_code(), grpc::StatusCode::UNAVAILABLE)
        << i << ": " << list.error_message();
    EXPECT_EQ(out.devices_size(), 0);
    EXPECT_EQ(call.error_code(), grpc::StatusCode::UNAVAILABLE)
        << i << ": " << call.error_message();
    EXPECT_LT(took, absl::Milliseconds(1000)) << "request " << i;
    slowest = std::max(slowest, took);
  }
  RecordProperty("slowest_pair_during_outage_us",
                 absl::StrCat(absl::ToInt64Microseconds(slowest)));
  EXPECT_TRUE(pusher_->sent().empty()) << "no push without a device lookup";
  EXPECT_TRUE(AwaitHealth(kNotServing, absl::Seconds(5)))
      << "readiness must go false while Postgres is down";

  ASSERT_TRUE(instance_->Restart().ok());

  // Recovery without restarting the service: within a few probe rounds.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  grpc::Status list;
  v1::ListCallableDevicesResponse after;
  int failures_after_restart = 0;
  while (absl::Now() < deadline) {
    after.Clear();
    list = List(&after);
    if (list.ok()) break;
    EXPECT_EQ(list.error_code(), grpc::StatusCode::UNAVAILABLE);
    ++failures_after_restart;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(list.ok()) << list.error_message();
  ASSERT_EQ(after.devices_size(), 1);
  EXPECT_EQ(after.devices(0).id(), device.id());
  // Each database worker reconnects on its own (at most every 200 ms): the
  // call may still meet one that has not, and is then UNAVAILABLE, never
  // anything else, and without a push; retried, it is pushed once.
  grpc::Status call;
  while (absl::Now() < deadline) {
    call = Call(device.id(), "after-restart");
    if (call.ok()) break;
    EXPECT_EQ(call.error_code(), grpc::StatusCode::UNAVAILABLE);
    ++failures_after_restart;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(call.ok()) << call.error_message();
  EXPECT_EQ(pusher_->sent().size(), 1u);
  EXPECT_TRUE(AwaitHealth(kServing, absl::Seconds(5)));
  RecordProperty("failures_after_restart", failures_after_restart);
}

TEST_F(PgOutageTest, RestartWhileConnectedDropsNoAnswerIntoNotFound) {
  v1::RegisterDeviceRequest reg;
  reg.set_mobile_number(kNumber);
  reg.set_platform(v1::PLATFORM_IOS);
  reg.set_app("demo");
  reg.set_voip_token(std::string(64, 'b'));
  v1::Device device;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(device_stub_->RegisterDevice(&ctx, reg, &device).ok());
  }
  // Warm every worker's connection, then bounce Postgres under them.
  for (int i = 0; i < 6; ++i) {
    v1::ListCallableDevicesResponse out;
    ASSERT_TRUE(List(&out).ok());
  }
  ASSERT_TRUE(instance_->Stop().ok());
  ASSERT_TRUE(instance_->Restart().ok());
  int ok = 0, unavailable = 0;
  for (int i = 0; i < 30; ++i) {
    v1::ListCallableDevicesResponse out;
    grpc::Status s = List(&out);
    if (s.ok()) {
      ++ok;
      EXPECT_EQ(out.devices_size(), 1)
          << "a stale connection must not read as []";
    } else {
      ++unavailable;
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE)
          << s.error_message();
    }
  }
  RecordProperty("ok_after_bounce", ok);
  RecordProperty("unavailable_after_bounce", unavailable);
  // At most one failed request per worker whose connection died.
  EXPECT_LE(unavailable, 3);
  EXPECT_GE(ok, 27);
}

}  // namespace
}  // namespace callpush
