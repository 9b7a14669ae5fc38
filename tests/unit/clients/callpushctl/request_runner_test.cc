// Tests for clients/callpushctl/request_runner.h against the generated mock
// stub: what each command prints on success, that errors print nothing, and
// that the deadline and fail-fast reach the RPC.
#include "clients/callpushctl/request_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "absl/strings/str_cat.h"
#include "callpush/v1/device_service_mock.grpc.pb.h"
#include "clients/callpushctl/output_format.h"
#include "tests/testing/status_matchers.h"

namespace callpush::ctl {
namespace {

using ::callpush::testing::GrpcStatusIs;
using ::testing::_;
using ::testing::DoAll;
using ::testing::Invoke;
using ::testing::Return;
using ::testing::SetArgPointee;
using ::testing::StrictMock;

const absl::Time kDeadline = absl::FromUnixSeconds(2000000000);
constexpr char kId[] = "11111111-1111-4111-8111-111111111111";

class RequestRunnerTest : public ::testing::Test {
 protected:
  grpc::Status Run(const Request& request) {
    return RunRequest(request, stub_, kDeadline, out_, err_);
  }

  StrictMock<v1::MockDeviceServiceStub> stub_;
  std::ostringstream out_, err_;
};

TEST_F(RequestRunnerTest, RegisterPrintsTheIdAloneAndSetsTheDeadline) {
  v1::RegisterDeviceRequest request;
  request.set_mobile_number("+447911123456");
  request.set_app("demo");
  v1::Device device;
  device.set_id(kId);
  device.set_mobile_number("+447911123456");
  EXPECT_CALL(stub_, RegisterDevice(_, _, _))
      .WillOnce(
          Invoke([&](grpc::ClientContext* ctx,
                     const v1::RegisterDeviceRequest& r, v1::Device* response) {
            EXPECT_EQ(ctx->deadline(), absl::ToChronoTime(kDeadline));
            EXPECT_EQ(r.mobile_number(), "+447911123456");
            EXPECT_EQ(r.app(), "demo");
            *response = device;
            return grpc::Status::OK;
          }));
  EXPECT_TRUE(Run(request).ok());
  EXPECT_EQ(out_.str(), absl::StrCat(kId, "\n"));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(RequestRunnerTest, SetInboundCallsPrintsTheNewState) {
  v1::Device device;
  device.set_id(kId);
  device.set_inbound_calls_allowed(false);
  EXPECT_CALL(stub_, SetInboundCallsAllowed(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(device), Return(grpc::Status::OK)));
  v1::SetInboundCallsAllowedRequest request;
  request.set_device_id(kId);
  EXPECT_TRUE(Run(request).ok());
  EXPECT_EQ(out_.str(), absl::StrCat(kId, " inbound calls off\n"));
}

TEST_F(RequestRunnerTest, RemovePrintsTheRemovedId) {
  EXPECT_CALL(stub_, RemoveDevice(_, _, _)).WillOnce(Return(grpc::Status::OK));
  v1::RemoveDeviceRequest request;
  request.set_device_id(kId);
  EXPECT_TRUE(Run(request).ok());
  EXPECT_EQ(out_.str(), absl::StrCat("removed ", kId, "\n"));
}

TEST_F(RequestRunnerTest, PatientPrintsNumberAndState) {
  v1::Patient patient;
  patient.set_mobile_number("+447911123456");
  patient.set_active(false);
  EXPECT_CALL(stub_, SetPatientActive(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(patient), Return(grpc::Status::OK)));
  EXPECT_TRUE(Run(v1::SetPatientActiveRequest()).ok());
  EXPECT_EQ(out_.str(), "+447911123456 inactive\n");
}

TEST_F(RequestRunnerTest, EmptyListsSayNothingOnStdout) {
  EXPECT_CALL(stub_, ListDevices(_, _, _)).WillOnce(Return(grpc::Status::OK));
  EXPECT_CALL(stub_, ListCallPushes(_, _, _))
      .WillOnce(Return(grpc::Status::OK));
  EXPECT_TRUE(Run(v1::ListDevicesRequest()).ok());
  EXPECT_TRUE(Run(v1::ListCallPushesRequest()).ok());
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "no devices\nno push attempts\n");
}

TEST_F(RequestRunnerTest, ListPrintsTheTable) {
  v1::ListDevicesResponse response;
  response.add_devices()->set_id(kId);
  EXPECT_CALL(stub_, ListDevices(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(response), Return(grpc::Status::OK)));
  EXPECT_TRUE(Run(v1::ListDevicesRequest()).ok());
  EXPECT_EQ(out_.str(), FormatDevices(response));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(RequestRunnerTest, ErrorsPrintNothing) {
  EXPECT_CALL(stub_, RemoveDevice(_, _, _))
      .WillOnce(Return(
          grpc::Status(grpc::StatusCode::NOT_FOUND, "device not found")));
  EXPECT_CALL(stub_, ListDevices(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")));
  EXPECT_THAT(Run(v1::RemoveDeviceRequest()),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND, "device not found"));
  EXPECT_THAT(Run(v1::ListDevicesRequest()),
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE, "down"));
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "");
}

}  // namespace
}  // namespace callpush::ctl
