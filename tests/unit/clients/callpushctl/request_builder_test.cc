// Tests for clients/callpushctl/request_builder.h: each command's request as
// the proto the server receives, and the values the CLI rejects itself.
#include "clients/callpushctl/request_builder.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace callpush::ctl {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::StatusIs;
using ::google::protobuf::util::MessageDifferencer;

constexpr absl::StatusCode kUsage = absl::StatusCode::kInvalidArgument;

absl::StatusOr<Request> Build(const std::vector<std::string>& args) {
  CommandLine line;
  absl::Status parsed = ParseCommandLine(args, "", &line);
  EXPECT_THAT(parsed, IsOk());
  if (!parsed.ok()) return parsed;
  return BuildRequest(line);
}

// The request of type T that `args` build (a failure if another).
template <typename T>
T BuildAs(const std::vector<std::string>& args) {
  absl::StatusOr<Request> r = Build(args);
  EXPECT_THAT(r, IsOk());
  if (!r.ok() || !std::holds_alternative<T>(*r)) {
    ADD_FAILURE() << "wrong request type";
    return T();
  }
  return std::get<T>(*r);
}

template <typename T>
void ExpectProtoEq(const T& actual, const T& expected) {
  EXPECT_TRUE(MessageDifferencer::Equals(actual, expected))
      << "actual:\n"
      << actual.DebugString() << "expected:\n"
      << expected.DebugString();
}

TEST(RequestBuilderTest, RegisterWithRequiredOptionsOnly) {
  v1::RegisterDeviceRequest want;
  want.set_mobile_number("+447911123456");
  want.set_platform(v1::PLATFORM_ANDROID);
  want.set_app("demo");
  v1::RegisterDeviceRequest got = BuildAs<v1::RegisterDeviceRequest>(
      {"device", "register", "--mobile", "+447911123456", "--platform",
       "android", "--app", "demo"});
  ExpectProtoEq(got, want);
  // Absent, not false or empty: the server keeps or defaults them.
  EXPECT_FALSE(got.has_voip_token());
  EXPECT_FALSE(got.has_push_token());
  EXPECT_FALSE(got.has_inbound_calls_allowed());
}

TEST(RequestBuilderTest, RegisterWithEveryOption) {
  v1::RegisterDeviceRequest want;
  want.set_device_id("0b6f1d1e-8e0a-4f4e-9a55-3c1f1d2e4b5a");
  want.set_mobile_number("07911 123456");
  want.set_default_region("GB");
  want.set_platform(v1::PLATFORM_IOS);
  want.set_app("demo");
  want.set_environment(v1::PUSH_ENVIRONMENT_PRODUCTION);
  want.set_voip_token("aa");
  want.set_push_token("");
  want.set_inbound_calls_allowed(false);
  ExpectProtoEq(
      BuildAs<v1::RegisterDeviceRequest>(
          {"device", "register", "--mobile", "07911 123456", "--region", "GB",
           "--platform", "ios", "--app", "demo", "--environment", "production",
           "--voip-token", "aa", "--push-token=", "--refuse-calls", "--id",
           "0b6f1d1e-8e0a-4f4e-9a55-3c1f1d2e4b5a"}),
      want);
  EXPECT_EQ(BuildAs<v1::RegisterDeviceRequest>(
                {"device", "register", "--mobile", "+44", "--platform", "ios",
                 "--app", "demo", "--environment", "sandbox"})
                .environment(),
            v1::PUSH_ENVIRONMENT_SANDBOX);
}

TEST(RequestBuilderTest, RegisterRejectsUnknownChoices) {
  EXPECT_THAT(
      Build({"device", "register", "--mobile", "+44", "--platform", "IOS",
             "--app", "demo"}),
      StatusIs(kUsage, "--platform: must be ios or android, not 'IOS'"));
  EXPECT_THAT(Build({"device", "register", "--mobile", "+44", "--platform",
                     "ios", "--app", "demo", "--environment", "prod"}),
              StatusIs(kUsage,
                       "--environment: must be sandbox or production, "
                       "not 'prod'"));
}

TEST(RequestBuilderTest, SetInboundCalls) {
  v1::SetInboundCallsAllowedRequest on =
      BuildAs<v1::SetInboundCallsAllowedRequest>(
          {"device", "set-inbound-calls", "ID", "on"});
  EXPECT_EQ(on.device_id(), "ID");
  EXPECT_TRUE(on.allowed());
  EXPECT_FALSE(BuildAs<v1::SetInboundCallsAllowedRequest>(
                   {"device", "set-inbound-calls", "ID", "off"})
                   .allowed());
  EXPECT_THAT(Build({"device", "set-inbound-calls", "ID", "yes"}),
              StatusIs(kUsage, "on|off: must be on or off, not 'yes'"));
}

TEST(RequestBuilderTest, RemoveListAndCallLog) {
  EXPECT_EQ(
      BuildAs<v1::RemoveDeviceRequest>({"device", "remove", "ID"}).device_id(),
      "ID");
  EXPECT_EQ(BuildAs<v1::ListDevicesRequest>({"device", "list", "+4479"})
                .mobile_number(),
            "+4479");
  EXPECT_EQ(BuildAs<v1::ListCallPushesRequest>({"call-log", "a@b c"}).call_id(),
            "a@b c");
}

TEST(RequestBuilderTest, PatientActivateAndDeactivate) {
  v1::SetPatientActiveRequest on =
      BuildAs<v1::SetPatientActiveRequest>({"patient", "activate", "+4479"});
  EXPECT_EQ(on.mobile_number(), "+4479");
  EXPECT_TRUE(on.active());
  v1::SetPatientActiveRequest off =
      BuildAs<v1::SetPatientActiveRequest>({"patient", "deactivate", "+4479"});
  EXPECT_EQ(off.mobile_number(), "+4479");
  EXPECT_FALSE(off.active());
}

}  // namespace
}  // namespace callpush::ctl
