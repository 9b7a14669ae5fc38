// The real callpush-server binary as a separate process against real
// Postgres: migrate subcommand, port-0 listening, health and reflection,
// DeviceService and CallService over TCP, and SIGTERM.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "callpush/v1/call_service.grpc.pb.h"
#include "callpush/v1/device_service.grpc.pb.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace callpush {
namespace {

using ::callpush::testing::GrpcStatusIs;
using ::callpush::testing::HealthCheck;
using ::callpush::testing::ReflectionListServices;
using ::callpush::testing::RunProgram;
using ::callpush::testing::ScratchDatabase;
using ::callpush::testing::SharedPgUrl;
using ::callpush::testing::Subprocess;
using ::testing::HasSubstr;

const std::string kServer =
    absl::StrCat(CALLPUSH_BINARY_DIR, "/server/callpush-server");
constexpr int kServing = 1;

class ServerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = SharedPgUrl();
    ASSERT_TRUE(url.ok()) << url.status();
    auto db = ScratchDatabase::Create(*url);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  // Starts the server on a free port; answers a channel to it.
  std::shared_ptr<grpc::Channel> StartServer() {
    auto child = Subprocess::Start({kServer, "--grpc_address=127.0.0.1:0",
                                    absl::StrCat("--database_url=", db_->url()),
                                    "--db_workers=2", "--shutdown_grace=1s"});
    EXPECT_TRUE(child.ok()) << child.status();
    server_ = *std::move(child);
    auto addr = server_->WaitForLine("callpush-server listening grpc=",
                                     absl::Seconds(20));
    EXPECT_TRUE(addr.ok()) << addr.status();
    return grpc::CreateChannel(*addr, grpc::InsecureChannelCredentials());
  }

  // Readiness is reported once the first database ping answers.
  void AwaitServing(std::shared_ptr<grpc::Channel> channel) {
    absl::Time deadline = absl::Now() + absl::Seconds(15);
    absl::StatusOr<int> health;
    while (absl::Now() < deadline) {
      health = HealthCheck(channel, "");
      if (health.ok() && *health == kServing) return;
      absl::SleepFor(absl::Milliseconds(20));
    }
    FAIL() << "server never became SERVING: "
           << (health.ok() ? absl::StrCat(*health)
                           : health.status().ToString());
  }

  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<Subprocess> server_;
};

TEST_F(ServerProcessTest, MigrateIsIdempotent) {
  auto run = RunProgram(
      {kServer, "migrate", absl::StrCat("--database_url=", db_->url())},
      absl::Seconds(30));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 0) << run->output;
  EXPECT_THAT(run->output, HasSubstr("schema up to date"));
  EXPECT_THAT(run->output, HasSubstr("\"applied\":\"0\""));
}

TEST_F(ServerProcessTest, MigrateReportsUnreachableDatabase) {
  auto run = RunProgram({kServer, "migrate",
                         "--database_url=postgresql://postgres@127.0.0.1:1/x"},
                        absl::Seconds(30));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 1);
  EXPECT_THAT(run->output, HasSubstr("UNAVAILABLE"));
}

TEST_F(ServerProcessTest, RejectsUnknownSubcommand) {
  auto run = RunProgram({kServer, "frobnicate"}, absl::Seconds(10));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 2);
  EXPECT_THAT(run->output, HasSubstr("usage"));
}

TEST_F(ServerProcessTest, ServesHealthReflectionAndBothServices) {
  auto channel = StartServer();
  ASSERT_NO_FATAL_FAILURE(AwaitServing(channel));
  EXPECT_THAT(HealthCheck(channel, "callpush.v1.CallService"),
              ::callpush::testing::IsOkAndHolds(kServing));

  auto services = ReflectionListServices(channel);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, HasSubstr("callpush.v1.CallService"));
  EXPECT_THAT(*services, HasSubstr("callpush.v1.DeviceService"));
  EXPECT_THAT(*services, HasSubstr("grpc.health.v1.Health"));

  auto devices = v1::DeviceService::NewStub(channel);
  auto calls = v1::CallService::NewStub(channel);
  v1::RegisterDeviceRequest reg;
  reg.set_mobile_number("+447911123321");
  reg.set_platform(v1::PLATFORM_IOS);
  reg.set_app("demo");
  reg.set_voip_token(std::string(64, 'a'));
  v1::Device device;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(devices->RegisterDevice(&ctx, reg, &device).ok());
  }
  v1::ListCallableDevicesRequest list;
  list.set_mobile_number("+447911123321");
  v1::ListCallableDevicesResponse listed;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(calls->ListCallableDevices(&ctx, list, &listed).ok());
  }
  ASSERT_EQ(listed.devices_size(), 1);
  EXPECT_EQ(listed.devices(0).id(), device.id());

  // No push provider is configured yet: the server must not pretend.
  v1::CallRequest call;
  call.set_device_id(device.id());
  call.set_call_id("proc-call-1");
  call.set_caller_name("Surgery");
  v1::CallResponse called;
  {
    grpc::ClientContext ctx;
    EXPECT_THAT(calls->Call(&ctx, call, &called),
                GrpcStatusIs(grpc::StatusCode::UNAVAILABLE,
                             HasSubstr("no push provider configured")));
  }
  v1::ListCallPushesRequest pushes_req;
  pushes_req.set_call_id("proc-call-1");
  v1::ListCallPushesResponse pushes;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(devices->ListCallPushes(&ctx, pushes_req, &pushes).ok());
  }
  ASSERT_EQ(pushes.pushes_size(), 1);
  EXPECT_EQ(pushes.pushes(0).outcome(), "failed");
  EXPECT_EQ(pushes.pushes(0).provider(), "none");
}

TEST_F(ServerProcessTest, SigtermExitsCleanly) {
  auto channel = StartServer();
  ASSERT_NO_FATAL_FAILURE(AwaitServing(channel));
  server_->Signal(SIGTERM);
  auto code = server_->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace callpush
