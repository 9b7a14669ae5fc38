// Tests for clients/callpushctl/output_format.h: exact tables (alignment,
// "-" for empty cells, no control characters) and error lines.
#include "clients/callpushctl/output_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace callpush::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(FormatTableTest, AlignsColumnsAndMarksEmptyCells) {
  EXPECT_EQ(FormatTable({{"A", "BB", "C"}, {"CCC", "", "x y"}}),
            "A    BB  C\n"
            "CCC  -   x y\n");
}

TEST(FormatTableTest, ControlCharactersBecomeSpaces) {
  EXPECT_EQ(FormatTable({{"a\nb", "c\td\x1b"}}), "a b  c d \n");
}

TEST(FormatDevicesTest, OneLinePerDeviceAfterAHeader) {
  v1::ListDevicesResponse r;
  v1::Device* ios = r.add_devices();
  ios->set_id("11111111-1111-4111-8111-111111111111");
  ios->set_mobile_number("+447911123456");
  ios->set_patient_active(true);
  ios->set_platform(v1::PLATFORM_IOS);
  ios->set_app("demo");
  ios->set_environment(v1::PUSH_ENVIRONMENT_SANDBOX);
  ios->set_has_voip_token(true);
  ios->set_inbound_calls_allowed(true);
  v1::Device* android = r.add_devices();
  android->set_id("22222222-2222-4222-8222-222222222222");
  android->set_platform(v1::PLATFORM_ANDROID);
  android->set_app("clinic.app");
  android->set_has_push_token(true);
  EXPECT_EQ(FormatDevices(r),
            "ID                                    PLATFORM  APP         "
            "ENVIRONMENT  INBOUND  VOIP-TOKEN  PUSH-TOKEN  PATIENT\n"
            "11111111-1111-4111-8111-111111111111  ios       demo        "
            "sandbox      on       yes         no          active\n"
            "22222222-2222-4222-8222-222222222222  android   clinic.app  "
            "default      off      no          yes         inactive\n");
}

TEST(FormatDevicesTest, NoDevicesIsNothing) {
  EXPECT_EQ(FormatDevices(v1::ListDevicesResponse()), "");
}

TEST(FormatCallPushesTest, OneLinePerAttemptReasonLast) {
  v1::ListCallPushesResponse r;
  v1::CallPush* call = r.add_pushes();
  call->set_call_id("c1");
  call->set_device_id("11111111-1111-4111-8111-111111111111");
  call->set_kind(v1::PUSH_KIND_CALL);
  call->set_provider("apns");
  call->set_outcome("rejected");
  call->set_provider_status(410);
  call->set_provider_reason("Unregistered");
  call->set_provider_id("0c6c6c3e-0000-4000-8000-000000000001");
  call->set_latency_ms(12);
  call->set_token_invalidated(true);
  call->mutable_created_at()->set_seconds(1714557600);  // 2024-05-01 10:00
  call->mutable_created_at()->set_nanos(7000000);
  v1::CallPush* cancel = r.add_pushes();
  cancel->set_device_id("11111111-1111-4111-8111-111111111111");
  cancel->set_kind(v1::PUSH_KIND_CANCEL);
  cancel->set_reason("answered_elsewhere");
  cancel->set_provider("none");
  cancel->set_outcome("failed");
  cancel->set_provider_reason("no push provider configured");
  cancel->mutable_created_at()->set_seconds(1714557661);
  EXPECT_EQ(
      FormatCallPushes(r),
      "TIME                      DEVICE                                "
      "KIND                       OUTCOME   PROVIDER  STATUS  LATENCY  "
      "TOKEN        PROVIDER-ID                           REASON\n"
      "2024-05-01T10:00:00.007Z  11111111-1111-4111-8111-111111111111  "
      "call                       rejected  apns      410     12ms     "
      "invalidated  0c6c6c3e-0000-4000-8000-000000000001  Unregistered\n"
      "2024-05-01T10:01:01.000Z  11111111-1111-4111-8111-111111111111  "
      "cancel:answered_elsewhere  failed    none      -       0ms      "
      "-            -                                     no push provider "
      "configured\n");
}

TEST(FormatCallPushesTest, NoAttemptsIsNothing) {
  EXPECT_EQ(FormatCallPushes(v1::ListCallPushesResponse()), "");
}

TEST(GrpcCodeNameTest, NamesEveryCode) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::INVALID_ARGUMENT),
            "INVALID_ARGUMENT");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::PERMISSION_DENIED),
            "PERMISSION_DENIED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DEADLINE_EXCEEDED),
            "DEADLINE_EXCEEDED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "CODE_99");
}

TEST(FormatRpcErrorTest, ServerAnswersAreQuoted) {
  EXPECT_EQ(FormatRpcError(
                grpc::Status(grpc::StatusCode::NOT_FOUND, "device not found"),
                "127.0.0.1:50051", true),
            "callpushctl: NOT_FOUND: device not found");
  // A server that answered UNAVAILABLE (its database is down) was reached.
  EXPECT_EQ(FormatRpcError(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                        "database unavailable"),
                           "127.0.0.1:50051", true),
            "callpushctl: UNAVAILABLE: database unavailable");
}

TEST(FormatRpcErrorTest, UnreachedServerIsNamed) {
  EXPECT_EQ(
      FormatRpcError(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                  "failed to connect to all addresses"),
                     "127.0.0.1:1", false),
      "callpushctl: UNAVAILABLE: cannot reach 127.0.0.1:1: failed to connect "
      "to all addresses");
  EXPECT_EQ(FormatRpcError(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                        "Deadline Exceeded"),
                           "h:2", false),
            "callpushctl: DEADLINE_EXCEEDED: cannot reach h:2: Deadline "
            "Exceeded");
  // Other codes never come from an unreached server; no guessing.
  EXPECT_THAT(FormatRpcError(grpc::Status(grpc::StatusCode::INTERNAL, "x"),
                             "h:2", false),
              Not(HasSubstr("cannot reach")));
}

}  // namespace
}  // namespace callpush::ctl
