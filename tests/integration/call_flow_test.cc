// The Calls API end to end inside one process: gRPC services over the real
// Postgres store, with a scripted push sender. Registration through
// DeviceService, then every documented outcome of CallService, checked
// against what was pushed and what call_pushes recorded.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <thread>

#include "callpush/v1/call_service.grpc.pb.h"
#include "callpush/v1/device_service.grpc.pb.h"
#include "tests/testing/fake_push_sender.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/service_stack.h"
#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::FakePushSender;
using ::callpush::testing::GrpcStatusIs;
using ::callpush::testing::ScratchDatabase;
using ::callpush::testing::ServiceStack;
using ::callpush::testing::SharedPgUrl;
using ::testing::ElementsAre;
using ::testing::SizeIs;

constexpr char kIosVoip[] =
    "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
constexpr char kIosPush[] =
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

class CallFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = SharedPgUrl();
    ASSERT_TRUE(url.ok()) << url.status();
    auto db = ScratchDatabase::Create(*url);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ServiceStack::Options options;
    options.database_url = db_->url();
    stack_ = std::make_unique<ServiceStack>(options);
    call_stub_ = &stack_->calls();
    device_stub_ = &stack_->devices();
  }

  FakePushSender& pusher() { return stack_->pusher(); }

  v1::Device Register(const std::string& number, v1::Platform platform,
                      const std::string& voip, const std::string& push,
                      const std::string& region = "") {
    v1::RegisterDeviceRequest req;
    req.set_mobile_number(number);
    req.set_default_region(region);
    req.set_platform(platform);
    req.set_app("demo");
    if (!voip.empty()) req.set_voip_token(voip);
    if (!push.empty()) req.set_push_token(push);
    v1::Device out;
    grpc::ClientContext ctx;
    grpc::Status s = device_stub_->RegisterDevice(&ctx, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  std::vector<std::string> Callable(const std::string& number) {
    v1::ListCallableDevicesRequest req;
    req.set_mobile_number(number);
    v1::ListCallableDevicesResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = call_stub_->ListCallableDevices(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const auto& d : resp.devices()) ids.push_back(d.id());
    return ids;
  }

  grpc::Status Call(const std::string& device_id, const std::string& call_id) {
    v1::CallRequest req;
    req.set_device_id(device_id);
    req.set_call_id(call_id);
    req.set_caller_name("Riverside Surgery");
    v1::CallResponse resp;
    grpc::ClientContext ctx;
    return call_stub_->Call(&ctx, req, &resp);
  }

  std::vector<v1::CallPush> Pushes(const std::string& call_id) {
    v1::ListCallPushesRequest req;
    req.set_call_id(call_id);
    v1::ListCallPushesResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(device_stub_->ListCallPushes(&ctx, req, &resp).ok());
    return {resp.pushes().begin(), resp.pushes().end()};
  }

  v1::Device Get(const std::string& id) {
    v1::GetDeviceRequest req;
    req.set_device_id(id);
    v1::Device out;
    grpc::ClientContext ctx;
    EXPECT_TRUE(device_stub_->GetDevice(&ctx, req, &out).ok());
    return out;
  }

  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<ServiceStack> stack_;
  v1::CallService::Stub* call_stub_ = nullptr;
  v1::DeviceService::Stub* device_stub_ = nullptr;
};

TEST_F(CallFlowTest, RegisterListCallAndRepeat) {
  // A national number at registration is stored as E.164.
  v1::Device ios =
      Register("07911 123123", v1::PLATFORM_IOS, kIosVoip, kIosPush, "GB");
  EXPECT_EQ(ios.mobile_number(), "+447911123123");
  v1::Device android =
      Register("+447911123123", v1::PLATFORM_ANDROID, "fcm:tok-1", "fcm:tok-1");
  EXPECT_THAT(Callable("+447911123123"), ElementsAre(ios.id(), android.id()));
  EXPECT_THAT(Callable("+447911123999"), ::testing::IsEmpty());

  ASSERT_TRUE(Call(ios.id(), "sip-call-1@proxy").ok());
  ASSERT_TRUE(Call(android.id(), "sip-call-1@proxy").ok());
  // The proxy retries: no second ring.
  ASSERT_TRUE(Call(ios.id(), "sip-call-1@proxy").ok());
  std::vector<PushRequest> sent = pusher().sent();
  ASSERT_THAT(sent, SizeIs(2));
  EXPECT_EQ(sent[0].token, kIosVoip);
  EXPECT_EQ(sent[0].platform, Platform::kIos);
  EXPECT_EQ(sent[0].caller_name, "Riverside Surgery");
  EXPECT_EQ(sent[1].token, "fcm:tok-1");
  EXPECT_EQ(sent[1].platform, Platform::kAndroid);

  std::vector<v1::CallPush> rows = Pushes("sip-call-1@proxy");
  ASSERT_THAT(rows, SizeIs(2));
  EXPECT_EQ(rows[0].device_id(), ios.id());
  EXPECT_EQ(rows[0].kind(), v1::PUSH_KIND_CALL);
  EXPECT_EQ(rows[0].outcome(), "accepted");
  EXPECT_EQ(rows[0].provider(), "apns");
  EXPECT_EQ(rows[0].provider_status(), 200);
  EXPECT_EQ(rows[0].provider_id(), "fake-1");
  EXPECT_EQ(rows[1].provider(), "fcm");
}

TEST_F(CallFlowTest, ConcurrentDuplicateCallsPushOnce) {
  v1::Device ios = Register("+447911123124", v1::PLATFORM_IOS, kIosVoip, "");
  std::vector<grpc::Status> results(10);
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] { results[i] = Call(ios.id(), "dup-call"); });
  }
  for (auto& t : threads) t.join();
  int ok = 0;
  for (const auto& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_THAT(pusher().sent(), SizeIs(1));
  EXPECT_THAT(Pushes("dup-call"), SizeIs(1));
}

TEST_F(CallFlowTest, DeadTokenIsClearedInTheDatabase) {
  v1::Device ios =
      Register("+447911123125", v1::PLATFORM_IOS, kIosVoip, kIosPush);
  PushResult dead;
  dead.outcome = PushResult::Outcome::kRejected;
  dead.http_status = 410;
  dead.reason = "Unregistered";
  dead.dead_token = true;
  dead.token_invalidated_at = absl::Now();
  pusher().SetResult(kIosVoip, dead);
  EXPECT_THAT(Call(ios.id(), "dead-1"),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
  v1::Device after = Get(ios.id());
  EXPECT_FALSE(after.has_voip_token());
  EXPECT_TRUE(after.has_push_token());
  EXPECT_THAT(Callable("+447911123125"), ::testing::IsEmpty());
  std::vector<v1::CallPush> rows = Pushes("dead-1");
  ASSERT_THAT(rows, SizeIs(1));
  EXPECT_EQ(rows[0].outcome(), "rejected");
  EXPECT_EQ(rows[0].provider_status(), 410);
  EXPECT_EQ(rows[0].provider_reason(), "Unregistered");
  EXPECT_TRUE(rows[0].token_invalidated());
  // The app registers a fresh token: callable again.
  Register("+447911123125", v1::PLATFORM_IOS, std::string(64, 'c'), "");
  v1::RegisterDeviceRequest again;
  again.set_device_id(ios.id());
  again.set_mobile_number("+447911123125");
  again.set_platform(v1::PLATFORM_IOS);
  again.set_app("demo");
  again.set_voip_token(std::string(64, 'd'));
  v1::Device renewed;
  grpc::ClientContext ctx;
  ASSERT_TRUE(device_stub_->RegisterDevice(&ctx, again, &renewed).ok());
  EXPECT_EQ(renewed.id(), ios.id());
  EXPECT_TRUE(renewed.has_voip_token());
  EXPECT_TRUE(renewed.has_push_token()) << "absent push token is kept";
  EXPECT_THAT(Callable("+447911123125"), SizeIs(2));
}

TEST_F(CallFlowTest, SettingsChangeWhatIsCallable) {
  v1::Device ios =
      Register("+447911123126", v1::PLATFORM_IOS, kIosVoip, kIosPush);
  {
    v1::SetInboundCallsAllowedRequest req;
    req.set_device_id(ios.id());
    req.set_allowed(false);
    v1::Device out;
    grpc::ClientContext ctx;
    ASSERT_TRUE(device_stub_->SetInboundCallsAllowed(&ctx, req, &out).ok());
    EXPECT_FALSE(out.inbound_calls_allowed());
  }
  EXPECT_THAT(Callable("+447911123126"), ::testing::IsEmpty());
  EXPECT_THAT(Call(ios.id(), "c1"),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                           "device rejected inbound call"));
  {
    v1::UpdateCallRequest req;  // update ignores the inbound setting
    req.set_device_id(ios.id());
    req.set_call_id("c1");
    req.set_caller_name("");
    v1::UpdateCallResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(call_stub_->UpdateCall(&ctx, req, &resp).ok());
  }
  {
    v1::SetPatientActiveRequest req;
    req.set_mobile_number("+447911123126");
    req.set_active(false);
    v1::Patient out;
    grpc::ClientContext ctx;
    ASSERT_TRUE(device_stub_->SetPatientActive(&ctx, req, &out).ok());
    EXPECT_FALSE(out.active());
  }
  {
    v1::CancelCallRequest req;
    req.set_device_id(ios.id());
    req.set_call_id("c1");
    req.set_reason("cancelled");
    v1::CancelCallResponse resp;
    grpc::ClientContext ctx;
    EXPECT_THAT(call_stub_->CancelCall(&ctx, req, &resp),
                GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
  }
  std::vector<v1::CallPush> rows = Pushes("c1");
  ASSERT_THAT(rows, SizeIs(1));
  EXPECT_EQ(rows[0].kind(), v1::PUSH_KIND_UPDATE);
  {
    v1::RemoveDeviceRequest req;
    req.set_device_id(ios.id());
    v1::RemoveDeviceResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(device_stub_->RemoveDevice(&ctx, req, &resp).ok());
  }
  EXPECT_THAT(Call(ios.id(), "c2"), GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
  // History outlives the device.
  EXPECT_THAT(Pushes("c1"), SizeIs(1));
}

TEST_F(CallFlowTest, CancelRecordsReason) {
  v1::Device android =
      Register("+447911123127", v1::PLATFORM_ANDROID, "fcm-2", "fcm-2");
  ASSERT_TRUE(Call(android.id(), "c9").ok());
  v1::CancelCallRequest req;
  req.set_device_id(android.id());
  req.set_call_id("c9");
  req.set_reason("answered_elsewhere");
  v1::CancelCallResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(call_stub_->CancelCall(&ctx, req, &resp).ok());
  std::vector<v1::CallPush> rows = Pushes("c9");
  ASSERT_THAT(rows, SizeIs(2));
  EXPECT_EQ(rows[1].kind(), v1::PUSH_KIND_CANCEL);
  EXPECT_EQ(rows[1].reason(), "answered_elsewhere");
  EXPECT_EQ(rows[1].outcome(), "accepted");
}

}  // namespace
}  // namespace callpush
