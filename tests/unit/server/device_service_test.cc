// DeviceService: RegistrationFrom() alone, then the service over a real
// in-process gRPC channel backed by FakeDeviceStore (what an internal client
// sees: status codes, messages naming fields, tokens never echoed).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "callpush/v1/device_service.grpc.pb.h"
#include "server/device_service_impl.h"
#include "server/validation.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_device_store.h"
#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::FakeClock;
using ::callpush::testing::FakeDeviceStore;
using ::callpush::testing::GrpcStatusIs;
using ::callpush::testing::IsOk;
using ::callpush::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

constexpr char kNumber[] = "+447777123456";
constexpr char kOtherNumber[] = "+447777654321";
constexpr char kDeviceId[] = "cbc16ed8-0422-456f-9e15-f269b8a25811";
constexpr char kUnknownId[] = "00000000-0000-4000-8000-00000000ffff";
constexpr char kVoipToken[] =
    "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad";
constexpr char kPushToken[] =
    "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
constexpr char kFcmToken[] = "dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1_x.y";

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

v1::RegisterDeviceRequest IosRequest() {
  v1::RegisterDeviceRequest req;
  req.set_mobile_number(kNumber);
  req.set_platform(v1::PLATFORM_IOS);
  req.set_app("com.example.patient");
  req.set_environment(v1::PUSH_ENVIRONMENT_PRODUCTION);
  req.set_voip_token(kVoipToken);
  req.set_push_token(kPushToken);
  return req;
}

v1::RegisterDeviceRequest AndroidRequest() {
  v1::RegisterDeviceRequest req;
  req.set_mobile_number(kNumber);
  req.set_platform(v1::PLATFORM_ANDROID);
  req.set_app("com.example.patient");
  req.set_voip_token(kFcmToken);
  req.set_push_token(kFcmToken);
  return req;
}

// --- RegistrationFrom (pure) ------------------------------------------------

TEST(DeviceRegistrationFromTest, ValidIosRegistrationIsNormalised) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.set_mobile_number("07777 123456");
  req.set_default_region("GB");
  req.set_environment(v1::PUSH_ENVIRONMENT_SANDBOX);

  absl::StatusOr<DeviceRegistration> r = RegistrationFrom(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->device_id, "");
  EXPECT_EQ(r->mobile_number, "+447777123456");
  EXPECT_EQ(r->platform, Platform::kIos);
  EXPECT_EQ(r->app, "com.example.patient");
  EXPECT_EQ(r->environment, "sandbox");
  EXPECT_THAT(r->voip_token, Optional(std::string(kVoipToken)));
  EXPECT_THAT(r->push_token, Optional(std::string(kPushToken)));
  EXPECT_EQ(r->inbound_calls_allowed, std::nullopt);
}

TEST(DeviceRegistrationFromTest, EnvironmentMapsToStoredNames) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.set_environment(v1::PUSH_ENVIRONMENT_PRODUCTION);
  ASSERT_THAT(RegistrationFrom(req), IsOk());
  EXPECT_EQ(RegistrationFrom(req)->environment, "production");

  req.set_environment(v1::PUSH_ENVIRONMENT_UNSPECIFIED);
  ASSERT_THAT(RegistrationFrom(req), IsOk());
  EXPECT_EQ(RegistrationFrom(req)->environment, "");
}

TEST(DeviceRegistrationFromTest, UnknownEnvironmentIsRejected) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.set_environment(static_cast<v1::PushEnvironment>(7));
  EXPECT_THAT(RegistrationFrom(req),
              StatusIs(kInvalid, StartsWith("environment: ")));
}

TEST(DeviceRegistrationFromTest, ValidAndroidRegistrationAcceptsFcmTokens) {
  absl::StatusOr<DeviceRegistration> r = RegistrationFrom(AndroidRequest());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->platform, Platform::kAndroid);
  EXPECT_THAT(r->voip_token, Optional(std::string(kFcmToken)));
  EXPECT_THAT(r->push_token, Optional(std::string(kFcmToken)));
}

TEST(DeviceRegistrationFromTest, DeviceIdIsCanonicalised) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.set_device_id("CBC16ED8-0422-456F-9E15-F269B8A25811");
  absl::StatusOr<DeviceRegistration> r = RegistrationFrom(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->device_id, kDeviceId);
}

TEST(DeviceRegistrationFromTest, MalformedDeviceIdIsRejected) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.set_device_id("not-a-uuid");
  EXPECT_THAT(RegistrationFrom(req),
              StatusIs(kInvalid, StartsWith("deviceId: ")));
}

TEST(DeviceRegistrationFromTest, MobileNumberIsChecked) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.set_mobile_number("");
  EXPECT_THAT(RegistrationFrom(req),
              StatusIs(kInvalid, "mobileNumber: is required"));

  req.set_mobile_number("+442079460000");  // UK fixed line
  EXPECT_THAT(RegistrationFrom(req),
              StatusIs(kInvalid, "mobileNumber: is not a mobile number"));

  req.set_mobile_number("07777 123456");  // national, no region
  EXPECT_THAT(RegistrationFrom(req),
              StatusIs(kInvalid, StartsWith("mobileNumber: ")));
}

TEST(DeviceRegistrationFromTest, MissingPlatformIsRejected) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.clear_platform();
  EXPECT_THAT(RegistrationFrom(req),
              StatusIs(kInvalid, StartsWith("platform: ")));

  req.set_platform(static_cast<v1::Platform>(9));
  EXPECT_THAT(RegistrationFrom(req),
              StatusIs(kInvalid, StartsWith("platform: ")));
}

TEST(DeviceRegistrationFromTest, BadAppIsRejected) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.clear_app();
  EXPECT_THAT(RegistrationFrom(req), StatusIs(kInvalid, "app: is required"));

  req.set_app("my app");
  EXPECT_THAT(RegistrationFrom(req), StatusIs(kInvalid, StartsWith("app: ")));

  req.set_app(std::string(65, 'a'));
  EXPECT_THAT(RegistrationFrom(req), StatusIs(kInvalid, StartsWith("app: ")));
}

TEST(DeviceRegistrationFromTest, BadIosTokensAreRejectedByName) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.set_voip_token("abc");  // odd length
  EXPECT_THAT(RegistrationFrom(req),
              StatusIs(kInvalid, "voipToken: must be a hex APNs device token"));

  req.set_voip_token(kFcmToken);  // an FCM token on iOS
  EXPECT_THAT(RegistrationFrom(req),
              StatusIs(kInvalid, "voipToken: must be a hex APNs device token"));

  req = IosRequest();
  req.set_push_token("zz");
  EXPECT_THAT(RegistrationFrom(req),
              StatusIs(kInvalid, "pushToken: must be a hex APNs device token"));
}

TEST(DeviceRegistrationFromTest, BadFcmTokenIsRejectedByName) {
  v1::RegisterDeviceRequest req = AndroidRequest();
  req.set_push_token("not a token");
  EXPECT_THAT(
      RegistrationFrom(req),
      StatusIs(kInvalid, "pushToken: must be an FCM registration token"));

  req = AndroidRequest();
  req.set_voip_token(std::string(4097, 'a'));
  EXPECT_THAT(RegistrationFrom(req),
              StatusIs(kInvalid, "voipToken: must be at most 4096 bytes"));
}

TEST(DeviceRegistrationFromTest, AbsentTokensStayAbsent) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.clear_voip_token();
  req.clear_push_token();
  absl::StatusOr<DeviceRegistration> r = RegistrationFrom(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->voip_token, std::nullopt);
  EXPECT_EQ(r->push_token, std::nullopt);
}

TEST(DeviceRegistrationFromTest, EmptyTokensMeanClear) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.set_voip_token("");
  req.set_push_token("");
  absl::StatusOr<DeviceRegistration> r = RegistrationFrom(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->voip_token, Optional(std::string()));
  EXPECT_THAT(r->push_token, Optional(std::string()));
}

TEST(DeviceRegistrationFromTest, InboundCallsAllowedIsOptional) {
  v1::RegisterDeviceRequest req = IosRequest();
  ASSERT_THAT(RegistrationFrom(req), IsOk());
  EXPECT_EQ(RegistrationFrom(req)->inbound_calls_allowed, std::nullopt);

  req.set_inbound_calls_allowed(false);
  ASSERT_THAT(RegistrationFrom(req), IsOk());
  EXPECT_THAT(RegistrationFrom(req)->inbound_calls_allowed, Optional(false));

  req.set_inbound_calls_allowed(true);
  ASSERT_THAT(RegistrationFrom(req), IsOk());
  EXPECT_THAT(RegistrationFrom(req)->inbound_calls_allowed, Optional(true));
}

// --- DeviceService over gRPC ------------------------------------------------

class DeviceServiceTest : public ::testing::Test {
 protected:
  // The fake store compares deadlines with clock_; the service takes the
  // client's deadline, which is real time, so the fake clock starts now.
  DeviceServiceTest()
      : clock_(absl::Now()),
        store_(clock_),
        service_(store_, clock_, absl::Seconds(2)) {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::DeviceService::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~DeviceServiceTest() override { server_->Shutdown(); }

  static void SetDeadline(grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
  }

  grpc::Status Register(const v1::RegisterDeviceRequest& req, v1::Device* out) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    return stub_->RegisterDevice(&ctx, req, out);
  }

  // Registers `req` and answers the new device (failing the test otherwise).
  v1::Device MustRegister(const v1::RegisterDeviceRequest& req) {
    v1::Device device;
    grpc::Status s = Register(req, &device);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    return device;
  }

  grpc::Status Get(const std::string& id, v1::Device* out) {
    v1::GetDeviceRequest req;
    req.set_device_id(id);
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    return stub_->GetDevice(&ctx, req, out);
  }

  grpc::Status Remove(const std::string& id) {
    v1::RemoveDeviceRequest req;
    req.set_device_id(id);
    v1::RemoveDeviceResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    return stub_->RemoveDevice(&ctx, req, &resp);
  }

  grpc::Status SetAllowed(const std::string& id, bool allowed,
                          v1::Device* out) {
    v1::SetInboundCallsAllowedRequest req;
    req.set_device_id(id);
    req.set_allowed(allowed);
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    return stub_->SetInboundCallsAllowed(&ctx, req, out);
  }

  grpc::Status SetActive(const std::string& number, bool active,
                         v1::Patient* out) {
    v1::SetPatientActiveRequest req;
    req.set_mobile_number(number);
    req.set_active(active);
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    return stub_->SetPatientActive(&ctx, req, out);
  }

  grpc::Status List(const std::string& number, v1::ListDevicesResponse* out) {
    v1::ListDevicesRequest req;
    req.set_mobile_number(number);
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    return stub_->ListDevices(&ctx, req, out);
  }

  grpc::Status ListPushes(const std::string& call_id,
                          v1::ListCallPushesResponse* out) {
    v1::ListCallPushesRequest req;
    req.set_call_id(call_id);
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    return stub_->ListCallPushes(&ctx, req, out);
  }

  FakeClock clock_;
  FakeDeviceStore store_;
  DeviceServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::DeviceService::Stub> stub_;
};

std::vector<std::string> Ids(const v1::ListDevicesResponse& resp) {
  std::vector<std::string> ids;
  for (const v1::Device& d : resp.devices()) ids.push_back(d.id());
  return ids;
}

TEST_F(DeviceServiceTest, RegisterThenGetRoundTrips) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.set_mobile_number("07777 123456");
  req.set_default_region("GB");
  v1::Device registered = MustRegister(req);

  EXPECT_THAT(CanonicalUuid("id", registered.id()), IsOk());
  EXPECT_EQ(registered.mobile_number(), kNumber);
  EXPECT_TRUE(registered.patient_active());
  EXPECT_EQ(registered.platform(), v1::PLATFORM_IOS);
  EXPECT_EQ(registered.app(), "com.example.patient");
  EXPECT_EQ(registered.environment(), v1::PUSH_ENVIRONMENT_PRODUCTION);
  EXPECT_TRUE(registered.has_voip_token());
  EXPECT_TRUE(registered.has_push_token());
  EXPECT_TRUE(registered.inbound_calls_allowed());  // the default on create
  EXPECT_TRUE(registered.has_created_at());
  EXPECT_TRUE(registered.has_updated_at());
  EXPECT_TRUE(registered.has_token_updated_at());

  v1::Device got;
  ASSERT_TRUE(Get(registered.id(), &got).ok());
  EXPECT_EQ(got.id(), registered.id());
  EXPECT_EQ(got.mobile_number(), kNumber);
  EXPECT_EQ(got.platform(), v1::PLATFORM_IOS);
  EXPECT_EQ(got.app(), "com.example.patient");
  EXPECT_EQ(got.environment(), v1::PUSH_ENVIRONMENT_PRODUCTION);
  EXPECT_TRUE(got.has_voip_token());
  EXPECT_TRUE(got.has_push_token());
  EXPECT_TRUE(got.inbound_calls_allowed());

  // The store holds the tokens; the API never gives them back.
  std::optional<DeviceRecord> stored = store_.Device(registered.id());
  ASSERT_TRUE(stored.has_value());
  EXPECT_THAT(stored->voip_token, Optional(std::string(kVoipToken)));
  EXPECT_THAT(stored->push_token, Optional(std::string(kPushToken)));
  for (const v1::Device* d : {&registered, &got}) {
    std::string wire = d->SerializeAsString();
    EXPECT_THAT(wire, Not(HasSubstr(kVoipToken)));
    EXPECT_THAT(wire, Not(HasSubstr(kPushToken)));
    EXPECT_THAT(d->DebugString(), Not(HasSubstr(kVoipToken)));
  }
}

TEST_F(DeviceServiceTest, RegisterWithoutTokensHasNone) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.clear_voip_token();
  req.clear_push_token();
  req.set_inbound_calls_allowed(false);
  v1::Device d = MustRegister(req);
  EXPECT_FALSE(d.has_voip_token());
  EXPECT_FALSE(d.has_push_token());
  EXPECT_FALSE(d.inbound_calls_allowed());
}

TEST_F(DeviceServiceTest, RegisterWithSameIdUpdatesTheDevice) {
  v1::RegisterDeviceRequest first = IosRequest();
  first.set_device_id("CBC16ED8-0422-456F-9E15-F269B8A25811");
  v1::Device created = MustRegister(first);
  EXPECT_EQ(created.id(), kDeviceId);  // lower-cased

  // Second registration: new push token, VoIP token absent (kept), new app.
  v1::RegisterDeviceRequest second = IosRequest();
  second.set_device_id(kDeviceId);
  second.clear_voip_token();
  second.set_push_token(std::string(64, 'f'));
  second.set_app("com.example.other");
  v1::Device updated = MustRegister(second);
  EXPECT_EQ(updated.id(), kDeviceId);
  EXPECT_EQ(updated.app(), "com.example.other");
  EXPECT_TRUE(updated.has_voip_token());
  EXPECT_TRUE(updated.has_push_token());

  std::optional<DeviceRecord> stored = store_.Device(kDeviceId);
  ASSERT_TRUE(stored.has_value());
  EXPECT_THAT(stored->voip_token, Optional(std::string(kVoipToken)));
  EXPECT_THAT(stored->push_token, Optional(std::string(64, 'f')));

  // Still one device for the number.
  v1::ListDevicesResponse listed;
  ASSERT_TRUE(List(kNumber, &listed).ok());
  EXPECT_THAT(Ids(listed), ElementsAre(kDeviceId));
}

TEST_F(DeviceServiceTest, RegisterWithEmptyTokenClearsIt) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.set_device_id(kDeviceId);
  MustRegister(req);

  req.set_voip_token("");
  req.clear_push_token();
  v1::Device updated = MustRegister(req);
  EXPECT_FALSE(updated.has_voip_token());
  EXPECT_TRUE(updated.has_push_token());
  std::optional<DeviceRecord> stored = store_.Device(kDeviceId);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->voip_token, std::nullopt);
  EXPECT_THAT(stored->push_token, Optional(std::string(kPushToken)));
}

TEST_F(DeviceServiceTest, RegisterRejectsInvalidRequestsByField) {
  v1::Device d;
  v1::RegisterDeviceRequest req = IosRequest();
  req.clear_platform();
  EXPECT_THAT(Register(req, &d),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           StartsWith("platform: ")));

  req = IosRequest();
  req.set_voip_token("xyz");
  EXPECT_THAT(Register(req, &d),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           StartsWith("voipToken: ")));

  req = IosRequest();
  req.set_device_id("1234");
  EXPECT_THAT(Register(req, &d),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           StartsWith("deviceId: ")));

  req = IosRequest();
  req.set_mobile_number("+442079460000");
  EXPECT_THAT(Register(req, &d),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           "mobileNumber: is not a mobile number"));

  // Nothing was written.
  v1::ListDevicesResponse listed;
  ASSERT_TRUE(List(kNumber, &listed).ok());
  EXPECT_THAT(listed.devices(), IsEmpty());
}

TEST_F(DeviceServiceTest, SetInboundCallsAllowed) {
  v1::Device d = MustRegister(IosRequest());
  ASSERT_TRUE(d.inbound_calls_allowed());

  v1::Device updated;
  ASSERT_TRUE(SetAllowed(d.id(), false, &updated).ok());
  EXPECT_EQ(updated.id(), d.id());
  EXPECT_FALSE(updated.inbound_calls_allowed());
  EXPECT_TRUE(updated.has_voip_token());

  v1::Device got;
  ASSERT_TRUE(Get(d.id(), &got).ok());
  EXPECT_FALSE(got.inbound_calls_allowed());

  ASSERT_TRUE(SetAllowed(d.id(), true, &updated).ok());
  EXPECT_TRUE(updated.inbound_calls_allowed());
}

TEST_F(DeviceServiceTest, SetInboundCallsAllowedOnUnknownDeviceIsNotFound) {
  v1::Device d;
  EXPECT_THAT(SetAllowed(kUnknownId, true, &d),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(DeviceServiceTest, SetPatientActive) {
  v1::Device d = MustRegister(IosRequest());

  v1::Patient patient;
  ASSERT_TRUE(SetActive(kNumber, false, &patient).ok());
  EXPECT_EQ(patient.mobile_number(), kNumber);
  EXPECT_FALSE(patient.active());
  EXPECT_FALSE(patient.id().empty());

  v1::Device got;
  ASSERT_TRUE(Get(d.id(), &got).ok());
  EXPECT_FALSE(got.patient_active());

  ASSERT_TRUE(SetActive(kNumber, true, &patient).ok());
  EXPECT_TRUE(patient.active());
  ASSERT_TRUE(Get(d.id(), &got).ok());
  EXPECT_TRUE(got.patient_active());
}

TEST_F(DeviceServiceTest, SetPatientActiveOnUnknownNumberIsNotFound) {
  v1::Patient patient;
  EXPECT_THAT(SetActive(kOtherNumber, false, &patient),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(DeviceServiceTest, SetPatientActiveNeedsE164) {
  MustRegister(IosRequest());
  v1::Patient patient;
  // A lookup is never reformatted, even when it names a known patient.
  EXPECT_THAT(SetActive("07777 123456", false, &patient),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           StartsWith("mobileNumber: ")));
  EXPECT_THAT(SetActive("", false, &patient),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           "mobileNumber: is required"));
}

TEST_F(DeviceServiceTest, RemoveDeviceThenGetIsNotFound) {
  v1::Device d = MustRegister(IosRequest());
  ASSERT_TRUE(Remove(d.id()).ok());

  v1::Device got;
  EXPECT_THAT(Get(d.id(), &got), GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(Remove(d.id()), GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(DeviceServiceTest, GetUnknownDeviceIsNotFound) {
  v1::Device got;
  EXPECT_THAT(Get(kUnknownId, &got), GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(DeviceServiceTest, UpperCaseIdFindsTheDevice) {
  v1::RegisterDeviceRequest req = IosRequest();
  req.set_device_id(kDeviceId);
  MustRegister(req);
  v1::Device got;
  ASSERT_TRUE(Get("CBC16ED8-0422-456F-9E15-F269B8A25811", &got).ok());
  EXPECT_EQ(got.id(), kDeviceId);
}

TEST_F(DeviceServiceTest, ListDevicesAnswersEveryDeviceOfTheNumber) {
  v1::Device ios = MustRegister(IosRequest());
  v1::RegisterDeviceRequest android_req = AndroidRequest();
  android_req.set_inbound_calls_allowed(false);  // listed although not callable
  v1::Device android = MustRegister(android_req);
  v1::RegisterDeviceRequest other = IosRequest();
  other.set_mobile_number(kOtherNumber);
  v1::Device elsewhere = MustRegister(other);

  v1::ListDevicesResponse listed;
  ASSERT_TRUE(List(kNumber, &listed).ok());
  EXPECT_THAT(Ids(listed), UnorderedElementsAre(ios.id(), android.id()));
  for (const v1::Device& d : listed.devices()) {
    EXPECT_EQ(d.mobile_number(), kNumber);
    EXPECT_THAT(d.SerializeAsString(), Not(HasSubstr(kFcmToken)));
    EXPECT_THAT(d.SerializeAsString(), Not(HasSubstr(kVoipToken)));
  }

  v1::ListDevicesResponse other_listed;
  ASSERT_TRUE(List(kOtherNumber, &other_listed).ok());
  EXPECT_THAT(Ids(other_listed), ElementsAre(elsewhere.id()));
}

TEST_F(DeviceServiceTest, ListDevicesOfUnknownNumberIsEmpty) {
  v1::ListDevicesResponse listed;
  ASSERT_TRUE(List("+33612345678", &listed).ok());
  EXPECT_THAT(listed.devices(), IsEmpty());
}

TEST_F(DeviceServiceTest, ListDevicesNeedsE164) {
  v1::ListDevicesResponse listed;
  EXPECT_THAT(List("447777123456", &listed),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           StartsWith("mobileNumber: ")));
}

TEST_F(DeviceServiceTest, InvalidDeviceIdIsInvalidArgumentNamingDeviceId) {
  const char* const kBad[] = {"", "42", "cbc16ed8-0422-456f-9e15-f269b8a2581z",
                              "cbc16ed80422456f9e15f269b8a25811"};
  for (const char* id : kBad) {
    v1::Device d;
    EXPECT_THAT(Get(id, &d), GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                          HasSubstr("deviceId")))
        << id;
    EXPECT_THAT(Remove(id), GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                         HasSubstr("deviceId")))
        << id;
    EXPECT_THAT(
        SetAllowed(id, true, &d),
        GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("deviceId")))
        << id;
  }
}

TEST_F(DeviceServiceTest, ListCallPushesAnswersTheCallsAttempts) {
  v1::Device d = MustRegister(IosRequest());
  PushAttempt attempt;
  attempt.call_id = "call-1@proxy";
  attempt.device_id = d.id();
  attempt.kind = PushKind::kCancel;
  attempt.reason = "cancelled";
  attempt.provider = "apns";
  attempt.outcome = PushOutcome::kAccepted;
  attempt.provider_status = 200;
  attempt.provider_id = "apns-id-1";
  attempt.latency = absl::Milliseconds(12);
  absl::Status recorded;
  store_.RecordPush(attempt, clock_.Now() + absl::Seconds(1),
                    [&recorded](absl::Status s) { recorded = s; });
  ASSERT_THAT(recorded, IsOk());

  v1::ListCallPushesResponse resp;
  ASSERT_TRUE(ListPushes("call-1@proxy", &resp).ok());
  ASSERT_EQ(resp.pushes_size(), 1);
  const v1::CallPush& p = resp.pushes(0);
  EXPECT_EQ(p.call_id(), "call-1@proxy");
  EXPECT_EQ(p.device_id(), d.id());
  EXPECT_EQ(p.kind(), v1::PUSH_KIND_CANCEL);
  EXPECT_EQ(p.reason(), "cancelled");
  EXPECT_EQ(p.provider(), "apns");
  EXPECT_EQ(p.outcome(), "accepted");
  EXPECT_EQ(p.provider_status(), 200);
  EXPECT_EQ(p.provider_id(), "apns-id-1");
  EXPECT_EQ(p.latency_ms(), 12);

  v1::ListCallPushesResponse none;
  ASSERT_TRUE(ListPushes("other-call", &none).ok());
  EXPECT_THAT(none.pushes(), IsEmpty());
}

TEST_F(DeviceServiceTest, ListCallPushesNeedsCallId) {
  v1::ListCallPushesResponse resp;
  EXPECT_THAT(
      ListPushes("", &resp),
      GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, "callId: is required"));
}

TEST_F(DeviceServiceTest, StoreFailureIsUnavailable) {
  v1::Device d = MustRegister(IosRequest());
  store_.FailWith(absl::UnavailableError("database unreachable"));

  v1::Device device;
  EXPECT_THAT(
      Register(IosRequest(), &device),
      GrpcStatusIs(grpc::StatusCode::UNAVAILABLE, "database unreachable"));
  // Never NOT_FOUND for a device that exists.
  EXPECT_THAT(Get(d.id(), &device),
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_THAT(SetAllowed(d.id(), false, &device),
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_THAT(Remove(d.id()), GrpcStatusIs(grpc::StatusCode::UNAVAILABLE));
  v1::Patient patient;
  EXPECT_THAT(SetActive(kNumber, false, &patient),
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE));
  // Never an empty list for a number that has devices.
  v1::ListDevicesResponse listed;
  EXPECT_THAT(List(kNumber, &listed),
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_THAT(listed.devices(), IsEmpty());
  v1::ListCallPushesResponse pushes;
  EXPECT_THAT(ListPushes("call-1", &pushes),
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE));

  // Service comes back with the store.
  store_.FailWith(absl::OkStatus());
  EXPECT_TRUE(Get(d.id(), &device).ok());
}

TEST_F(DeviceServiceTest, StoreWorkIsBoundByTheClientDeadline) {
  v1::Device d = MustRegister(IosRequest());
  // The client allows 10 s; on the store's clock they have passed.
  clock_.Advance(absl::Minutes(1));
  v1::Device got;
  EXPECT_THAT(Get(d.id(), &got),
              GrpcStatusIs(grpc::StatusCode::DEADLINE_EXCEEDED));
}

TEST_F(DeviceServiceTest, NoClientDeadlineUsesTheDefault) {
  v1::Device d = MustRegister(IosRequest());
  // Without a client deadline the service allows now + 2 s on its own clock,
  // however far that clock has moved.
  clock_.Advance(absl::Hours(1));
  v1::GetDeviceRequest req;
  req.set_device_id(d.id());
  v1::Device got;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->GetDevice(&ctx, req, &got).ok());
  EXPECT_EQ(got.id(), d.id());
}

}  // namespace
}  // namespace callpush
