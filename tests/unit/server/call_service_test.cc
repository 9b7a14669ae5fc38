// CallService over a real in-process gRPC channel, backed by fakes: what a
// gRPC client sees (status codes, messages naming fields, deadlines).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "callpush/v1/call_service.grpc.pb.h"
#include "server/call_service_impl.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_device_store.h"
#include "tests/testing/fake_push_sender.h"
#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::FakeClock;
using ::callpush::testing::FakeDeviceStore;
using ::callpush::testing::FakePushSender;
using ::callpush::testing::GrpcStatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kNumber[] = "+447777123456";

class CallServiceTest : public ::testing::Test {
 protected:
  CallServiceTest()
      : clock_(absl::Now()),
        store_(clock_),
        coordinator_(store_, pusher_, clock_,
                     CallCoordinatorOptions{absl::Seconds(45)}),
        service_(coordinator_, clock_, absl::Seconds(2)) {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::CallService::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~CallServiceTest() override { server_->Shutdown(); }

  grpc::Status Call(const std::string& device_id, const std::string& call_id,
                    const std::optional<std::string>& caller_name) {
    v1::CallRequest req;
    req.set_device_id(device_id);
    req.set_call_id(call_id);
    if (caller_name) req.set_caller_name(*caller_name);
    v1::CallResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    return stub_->Call(&ctx, req, &resp);
  }

  FakeClock clock_;
  FakeDeviceStore store_;
  FakePushSender pusher_;
  CallCoordinator coordinator_;
  CallServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CallService::Stub> stub_;
};

TEST_F(CallServiceTest, ListCallableDevicesAnswersIds) {
  DeviceRecord d = store_.AddDevice(kNumber, Platform::kIos, "aa", "bb");
  v1::ListCallableDevicesRequest req;
  req.set_mobile_number(kNumber);
  v1::ListCallableDevicesResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ListCallableDevices(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.devices_size(), 1);
  EXPECT_EQ(resp.devices(0).id(), d.id);
}

TEST_F(CallServiceTest, ListCallableDevicesEmptyForUnknownNumber) {
  v1::ListCallableDevicesRequest req;
  req.set_mobile_number("+447700900123");
  v1::ListCallableDevicesResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ListCallableDevices(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.devices_size(), 0);
}

TEST_F(CallServiceTest, ListCallableDevicesRejectsNonE164) {
  for (const char* bad :
       {"", "07777123456", "+44 7777 123456", "+4407777123456", "abc",
        "+447777123456'; DROP TABLE devices;--"}) {
    v1::ListCallableDevicesRequest req;
    req.set_mobile_number(bad);
    v1::ListCallableDevicesResponse resp;
    grpc::ClientContext ctx;
    EXPECT_THAT(stub_->ListCallableDevices(&ctx, req, &resp),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             HasSubstr("mobileNumber")))
        << bad;
  }
}

TEST_F(CallServiceTest, DatabaseOutageIsUnavailableNotEmpty) {
  store_.AddDevice(kNumber, Platform::kIos, "aa", "bb");
  store_.FailWith(absl::UnavailableError("database unavailable"));
  v1::ListCallableDevicesRequest req;
  req.set_mobile_number(kNumber);
  v1::ListCallableDevicesResponse resp;
  grpc::ClientContext ctx;
  EXPECT_THAT(stub_->ListCallableDevices(&ctx, req, &resp),
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE));
}

TEST_F(CallServiceTest, CallOutcomes) {
  DeviceRecord ok = store_.AddDevice(kNumber, Platform::kIos, "aa", "bb");
  DeviceRecord refusing =
      store_.AddDevice(kNumber, Platform::kIos, "cc", "dd", false);
  EXPECT_TRUE(Call(ok.id, "c1", "Surgery").ok());
  EXPECT_THAT(Call(refusing.id, "c1", "Surgery"),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                           "device rejected inbound call"));
  EXPECT_THAT(Call("5a0e8a6e-7c39-4c2e-9a57-3e0c9d1c2b11", "c1", "Surgery"),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(pusher_.sent(), SizeIs(1));
}

TEST_F(CallServiceTest, UpperCaseDeviceIdIsTheSameDevice) {
  DeviceRecord d = store_.AddDevice(kNumber, Platform::kIos, "aa", "bb");
  std::string upper = d.id;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_TRUE(Call(upper, "c1", "").ok());
  ASSERT_THAT(pusher_.sent(), SizeIs(1));
  EXPECT_EQ(pusher_.sent()[0].device_id, d.id);
}

TEST_F(CallServiceTest, CallerNameIsRequiredButMayBeEmpty) {
  DeviceRecord d = store_.AddDevice(kNumber, Platform::kIos, "aa", "bb");
  EXPECT_THAT(Call(d.id, "c1", std::nullopt),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           HasSubstr("callerName")));
  EXPECT_TRUE(Call(d.id, "c1", "").ok());
  EXPECT_TRUE(Call(d.id, "c2", "山田太郎 / محمد / Zoë").ok());
  ASSERT_THAT(pusher_.sent(), SizeIs(2));
  EXPECT_EQ(pusher_.sent()[1].caller_name, "山田太郎 / محمد / Zoë");
}

TEST_F(CallServiceTest, MalformedFieldsAreNamed) {
  DeviceRecord d = store_.AddDevice(kNumber, Platform::kIos, "aa", "bb");
  EXPECT_THAT(
      Call("not-a-uuid", "c1", "x"),
      GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("deviceId")));
  EXPECT_THAT(
      Call("", "c1", "x"),
      GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("deviceId")));
  EXPECT_THAT(
      Call(d.id, "", "x"),
      GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("callId")));
  EXPECT_THAT(
      Call(d.id, std::string(513, 'a'), "x"),
      GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("callId")));
  EXPECT_THAT(Call(d.id, "c1", std::string(513, 'n')),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           HasSubstr("callerName")));
  EXPECT_THAT(
      Call(d.id, "c1\r\nX: y", "x"),
      GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("callId")));
  EXPECT_THAT(pusher_.sent(), IsEmpty());
}

TEST_F(CallServiceTest, UpdateAndCancelValidateAndPush) {
  DeviceRecord d = store_.AddDevice(kNumber, Platform::kAndroid, "f1", "f1");
  {
    v1::UpdateCallRequest req;
    req.set_device_id(d.id);
    req.set_call_id("c1");
    req.set_caller_name("x");
    v1::UpdateCallResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub_->UpdateCall(&ctx, req, &resp).ok());
  }
  {
    v1::UpdateCallRequest req;  // callerName missing
    req.set_device_id(d.id);
    req.set_call_id("c1");
    v1::UpdateCallResponse resp;
    grpc::ClientContext ctx;
    EXPECT_THAT(stub_->UpdateCall(&ctx, req, &resp),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             HasSubstr("callerName")));
  }
  for (const char* reason : {"", "CANCELLED", "hung_up"}) {
    v1::CancelCallRequest req;
    req.set_device_id(d.id);
    req.set_call_id("c1");
    req.set_reason(reason);
    v1::CancelCallResponse resp;
    grpc::ClientContext ctx;
    EXPECT_THAT(
        stub_->CancelCall(&ctx, req, &resp),
        GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("reason")))
        << reason;
  }
  for (const char* reason : {"cancelled", "answered_elsewhere"}) {
    v1::CancelCallRequest req;
    req.set_device_id(d.id);
    req.set_call_id("c1");
    req.set_reason(reason);
    v1::CancelCallResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub_->CancelCall(&ctx, req, &resp).ok()) << reason;
  }
  ASSERT_THAT(pusher_.sent(), SizeIs(3));
  EXPECT_EQ(pusher_.sent()[0].kind, PushKind::kUpdate);
  EXPECT_EQ(pusher_.sent()[2].reason, "answered_elsewhere");
}

TEST_F(CallServiceTest, ClientDeadlineBoundsThePush) {
  DeviceRecord d = store_.AddDevice(kNumber, Platform::kIos, "aa", "bb");
  v1::CallRequest req;
  req.set_device_id(d.id);
  req.set_call_id("c1");
  req.set_caller_name("x");
  v1::CallResponse resp;
  grpc::ClientContext ctx;
  auto deadline =
      std::chrono::system_clock::now() + std::chrono::milliseconds(1500);
  ctx.set_deadline(deadline);
  ASSERT_TRUE(stub_->Call(&ctx, req, &resp).ok());
  ASSERT_THAT(pusher_.sent(), SizeIs(1));
  // gRPC carries the deadline as a timeout, so allow transit rounding.
  EXPECT_LE(absl::AbsDuration(pusher_.sent()[0].deadline -
                              absl::FromChrono(deadline)),
            absl::Milliseconds(50));
}

TEST_F(CallServiceTest, NoClientDeadlineGetsTheDefault) {
  DeviceRecord d = store_.AddDevice(kNumber, Platform::kIos, "aa", "bb");
  v1::CallRequest req;
  req.set_device_id(d.id);
  req.set_call_id("c1");
  req.set_caller_name("x");
  v1::CallResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Call(&ctx, req, &resp).ok());
  ASSERT_THAT(pusher_.sent(), SizeIs(1));
  EXPECT_EQ(pusher_.sent()[0].deadline, clock_.Now() + absl::Seconds(2));
  EXPECT_EQ(pusher_.sent()[0].expires_at, clock_.Now() + absl::Seconds(45));
}

}  // namespace
}  // namespace callpush
