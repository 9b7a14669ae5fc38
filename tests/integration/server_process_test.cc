// The real callpush-server binary as a separate process against real
// Postgres: migrate subcommand, port-0 listening, health and reflection,
// DeviceService and CallService over TCP, and SIGTERM.
#include "tests/testing/server_process.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <pqxx/pqxx>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "callpush/v1/call_service.grpc.pb.h"
#include "callpush/v1/device_service.grpc.pb.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/sandbox_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace callpush {
namespace {

using ::callpush::testing::GrpcStatusIs;
using ::callpush::testing::HealthCheck;
using ::callpush::testing::ReflectionListServices;
using ::callpush::testing::RunProgram;
using ::callpush::testing::SandboxProcess;
using ::callpush::testing::ScratchDatabase;
using ::callpush::testing::ServerProcess;
using ::callpush::testing::SharedPgUrl;
using ::testing::HasSubstr;

const std::string kServer =
    absl::StrCat(CALLPUSH_BINARY_DIR, "/server/callpush-server");
constexpr int kServing = 1;
constexpr int kNotServing = 2;

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
  std::shared_ptr<grpc::Channel> StartServer(
      const std::vector<std::string>& extra_flags = {}) {
    auto server = ServerProcess::Start(db_->url(), extra_flags);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    server_ = *std::move(server);
    return server_->channel();
  }

  // Readiness is reported once the first database ping answers.
  void AwaitServing() { ASSERT_TRUE(server_->AwaitServing().ok()); }

  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<ServerProcess> server_;
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
  ASSERT_NO_FATAL_FAILURE(AwaitServing());
  EXPECT_THAT(HealthCheck(channel, "callpush.v1.DeviceService"),
              ::callpush::testing::IsOkAndHolds(kServing));
  // Without push credentials every CallService operation could only fail,
  // so it is not ready (the gateway's /readyz asks exactly this).
  EXPECT_THAT(HealthCheck(channel, "callpush.v1.CallService"),
              ::callpush::testing::IsOkAndHolds(kNotServing));

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
  ASSERT_NO_FATAL_FAILURE(AwaitServing());
  server_->process().Signal(SIGTERM);
  auto code = server_->process().Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
}

// The whole chain with real pushes: gRPC Call -> Postgres -> APNs over
// HTTP/2 + TLS to the sandbox -> the row in call_pushes; and a dead token
// from the provider clears the device's token.
TEST_F(ServerProcessTest, CallPushesThroughTheSandbox) {
  auto sandbox = SandboxProcess::Start();
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();
  std::string config_path = (*sandbox)->dir() + "/push-config.json";
  std::ofstream(config_path)
      << (*sandbox)->PushConfig("demo", "com.example.patient").dump();
  auto channel = StartServer({"--push_config=" + config_path});
  ASSERT_NO_FATAL_FAILURE(AwaitServing());
  EXPECT_THAT(HealthCheck(channel, "callpush.v1.CallService"),
              ::callpush::testing::IsOkAndHolds(kServing));
  auto devices = v1::DeviceService::NewStub(channel);
  auto calls = v1::CallService::NewStub(channel);

  auto register_ios = [&](const std::string& voip) {
    v1::RegisterDeviceRequest reg;
    reg.set_mobile_number("+447911123322");
    reg.set_platform(v1::PLATFORM_IOS);
    reg.set_app("demo");
    reg.set_voip_token(voip);
    v1::Device device;
    grpc::ClientContext ctx;
    EXPECT_TRUE(devices->RegisterDevice(&ctx, reg, &device).ok());
    return device;
  };
  auto call = [&](const std::string& device_id, const std::string& call_id) {
    v1::CallRequest req;
    req.set_device_id(device_id);
    req.set_call_id(call_id);
    req.set_caller_name("Riverside Surgery");
    v1::CallResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    return calls->Call(&ctx, req, &resp);
  };

  const std::string live(64, 'a'), dead(64, 'd');
  v1::Device phone = register_ios(live);
  v1::Device old_phone = register_ios(dead);
  ASSERT_TRUE((*sandbox)
                  ->PutRules(absl::StrCat(
                      R"([{"token":")", dead,
                      R"(","status":410,"reason":"Unregistered"}])"))
                  .ok());

  grpc::Status ok = call(phone.id(), "e2e-call-1");
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_THAT(call(old_phone.id(), "e2e-call-1"),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND));

  nlohmann::json deliveries = (*sandbox)->Deliveries();
  ASSERT_EQ(deliveries.size(), 2u) << deliveries.dump();
  EXPECT_EQ(deliveries[0]["provider"], "apns");
  EXPECT_EQ(deliveries[0]["token"], live);
  EXPECT_EQ(deliveries[0]["status"], 200);
  EXPECT_EQ(deliveries[0]["headers"]["apns-push-type"], "voip");
  EXPECT_EQ(deliveries[0]["headers"]["apns-topic"], "com.example.patient.voip");
  EXPECT_EQ(deliveries[0]["payload"]["callId"], "e2e-call-1");
  EXPECT_EQ(deliveries[0]["payload"]["deviceId"], phone.id());
  EXPECT_EQ(deliveries[1]["status"], 410);

  v1::GetDeviceRequest get;
  get.set_device_id(old_phone.id());
  v1::Device after;
  grpc::ClientContext ctx;
  ASSERT_TRUE(devices->GetDevice(&ctx, get, &after).ok());
  EXPECT_FALSE(after.has_voip_token());

  v1::ListCallPushesRequest pushes_req;
  pushes_req.set_call_id("e2e-call-1");
  v1::ListCallPushesResponse pushes;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(devices->ListCallPushes(&ctx2, pushes_req, &pushes).ok());
  ASSERT_EQ(pushes.pushes_size(), 2);
  EXPECT_EQ(pushes.pushes(0).outcome(), "accepted");
  EXPECT_EQ(pushes.pushes(0).provider(), "apns");
  EXPECT_FALSE(pushes.pushes(0).provider_id().empty());
  EXPECT_EQ(pushes.pushes(1).outcome(), "rejected");
  EXPECT_TRUE(pushes.pushes(1).token_invalidated());
}

namespace config_file {

// Postgres connections the server holds on its database (its pool: one per
// worker).
int ServerConnections(const std::string& url, const std::string& db) {
  pqxx::connection c(url);
  pqxx::work tx(c);
  return tx
      .exec1("SELECT count(*) FROM pg_stat_activity WHERE datname = " +
             tx.quote(db) + " AND pid <> pg_backend_pid()")[0]
      .as<int>();
}

class ServerConfigFileTest : public ServerProcessTest {
 protected:
  void TearDown() override { unsetenv("CALLPUSH_DB_WORKERS"); }

  std::string WriteConfig(const std::string& json) {
    const std::string path = absl::StrCat(
        ::testing::TempDir(), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        ".json");
    std::ofstream(path) << json;
    return path;
  }
};

// The file, then the environment, then the flags given: each wins over the
// one before. Seen from outside: the number of Postgres connections
// (database.workers) and where the server listens.
TEST_F(ServerConfigFileTest, FileThenEnvironmentThenFlags) {
  const std::string url_file =
      absl::StrCat(::testing::TempDir(), "/database-url");
  std::ofstream(url_file) << db_->url() << "\n";
  const std::string config = WriteConfig(absl::StrCat(
      R"({"grpcAddress": "127.0.0.1:0", "httpAddress": "127.0.0.1:0",
          "database": {"urlFile": ")",
      url_file, R"(", "workers": 5}, "shutdown": {"grace": "1s"}})"));

  for (const auto& [env, flag, expected] :
       {std::make_tuple("", "", 5), std::make_tuple("3", "", 3),
        std::make_tuple("3", "--db_workers=2", 2)}) {
    SCOPED_TRACE(absl::StrCat("env=", env, " flag=", flag));
    if (*env) setenv("CALLPUSH_DB_WORKERS", env, 1);
    std::vector<std::string> argv = {kServer, "--config=" + config};
    if (*flag) argv.push_back(flag);
    auto server = ::callpush::testing::Subprocess::Start(argv);
    ASSERT_TRUE(server.ok()) << server.status();
    auto grpc = (*server)->WaitForLine("callpush-server listening grpc=",
                                       absl::Seconds(20));
    ASSERT_TRUE(grpc.ok()) << grpc.status();
    auto http = (*server)->WaitForLine("callpush-gateway listening http=",
                                       absl::Seconds(20));
    ASSERT_TRUE(http.ok()) << http.status();
    auto channel =
        grpc::CreateChannel(*grpc, grpc::InsecureChannelCredentials());
    absl::Time until = absl::Now() + absl::Seconds(15);
    while (HealthCheck(channel, "callpush.v1.DeviceService").value_or(0) !=
               kServing &&
           absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    // Workers connect on their own schedule: wait for the count to settle.
    int seen = -1;
    until = absl::Now() + absl::Seconds(10);
    while ((seen = ServerConnections(db_->url(), db_->name())) != expected &&
           absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_EQ(seen, expected);
    (*server)->Signal(SIGTERM);
    auto code = (*server)->Wait(absl::Seconds(10));
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 0);
    unsetenv("CALLPUSH_DB_WORKERS");
  }
}

TEST_F(ServerConfigFileTest, InvalidConfigurationExitsTwoNamingTheField) {
  struct Case {
    std::string json;
    std::string message;
  } cases[] = {
      {R"({"database": {"workers": 0, "url": "x"}, "logLevel": "chatty"})",
       "invalid configuration: logLevel: must be debug, info, warning or "
       "error"},
      {R"({"grpcAddress": "127.0.0.1:0", "database": {"wokers": 2}})",
       "wokers"},
      {R"({"pushConfigFile": "/nonexistent/push.json"})",
       "pushConfigFile: push config: cannot read /nonexistent/push.json"},
  };
  for (const Case& c : cases) {
    auto run = RunProgram({kServer, "--config=" + WriteConfig(c.json)},
                          absl::Seconds(10));
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->exit_code, 2) << run->output;
    EXPECT_THAT(run->output, HasSubstr(c.message));
  }
  // The migration Job shares the file but not the push secrets.
  auto migrate =
      RunProgram({kServer, "migrate",
                  "--config=" + WriteConfig(absl::StrCat(
                                    R"({"pushConfigFile": "/not/mounted.json",
                             "database": {"url": ")",
                                    db_->url(), R"("}})"))},
                 absl::Seconds(30));
  ASSERT_TRUE(migrate.ok()) << migrate.status();
  EXPECT_EQ(migrate->exit_code, 0) << migrate->output;
}

}  // namespace config_file

}  // namespace
}  // namespace callpush
