// The configuration file: defaults, file, environment in that order, and
// validation errors that name the field an operator has to fix.
#include "server/server_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gateway/gateway_config.h"
#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::StatusIs;
using ::testing::HasSubstr;

class ServerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/callpush-server-config-test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    for (const char* name : {"apns.p8", "fcm.json", "ca.pem"}) {
      std::ofstream(Path(name)) << "x";
    }
    std::ofstream(Path("db-url")) << "  postgresql://u:secret@db:5432/cp\n";
  }
  void TearDown() override {
    (void)system(absl::StrCat("rm -rf ", dir_).c_str());
  }

  std::string Path(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

  // Writes `json` ($D = the temp dir) and loads it with `env`.
  absl::StatusOr<v1::ServerConfig> Load(
      const std::string& json, std::map<std::string, std::string> env = {}) {
    std::ofstream(Path("config.json"))
        << absl::StrReplaceAll(json, {{"$D", dir_}});
    env_ = std::move(env);
    return LoadServerConfig(Path("config.json"), [this](const char* name) {
      auto it = env_.find(name);
      return it == env_.end() ? static_cast<const char*>(nullptr)
                              : it->second.c_str();
    });
  }

  absl::StatusOr<ServerSettings> Resolve(const std::string& json) {
    auto config = Load(json);
    if (!config.ok()) return config.status();
    return ResolveServerConfig(*config);
  }

  std::string dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ServerConfigTest, DefaultsAloneRunTheLocalSetup) {
  absl::StatusOr<ServerSettings> s = ResolveServerConfig(DefaultServerConfig());
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->grpc_address, "127.0.0.1:50051");
  EXPECT_EQ(s->http_address, "");
  EXPECT_EQ(s->metrics_address, "");
  EXPECT_EQ(s->log_level, LogLevel::kInfo);
  EXPECT_EQ(s->database_url, "postgresql://callpush@127.0.0.1:5432/callpush");
  EXPECT_EQ(s->db_workers, 8);
  EXPECT_EQ(s->db_statement_timeout, absl::Seconds(2));
  EXPECT_EQ(s->request_deadline, absl::Seconds(2));
  EXPECT_EQ(s->ring_window, absl::Seconds(60));
  EXPECT_EQ(s->push_retention, absl::Hours(720));
  EXPECT_EQ(s->drain_delay, absl::ZeroDuration());
  EXPECT_EQ(s->shutdown_grace, absl::Seconds(10));
  EXPECT_FALSE(s->push.has_value());
  auto gateway = gateway::GatewayOptionsFromConfig(s->http, "127.0.0.1:8080");
  ASSERT_THAT(gateway, IsOk());
  EXPECT_EQ(gateway->http.threads, 2);
  EXPECT_EQ(gateway->http.max_body_bytes, 64u * 1024);
  EXPECT_EQ(gateway->http.max_header_bytes, 8u * 1024);
  EXPECT_EQ(gateway->handler.deadline, absl::Seconds(2));
  EXPECT_EQ(gateway->http.max_connections, 1024);
}

TEST_F(ServerConfigTest, FileOverridesDefaultsAndKeepsTheRest) {
  absl::StatusOr<ServerSettings> s = Resolve(R"({
    "grpcAddress": "0.0.0.0:50051", "http_address": "0.0.0.0:8080",
    "metricsAddress": "0.0.0.0:9090", "logLevel": "warning",
    "database": {"urlFile": "$D/db-url", "workers": 3,
                 "migrateOnStart": true},
    "calls": {"ringWindow": "45s"},
    "shutdown": {"drainDelay": "5s", "grace": "20s"},
    "http": {"threads": 4, "deadline": "1500ms"}})");
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->grpc_address, "0.0.0.0:50051");
  EXPECT_EQ(s->http_address, "0.0.0.0:8080");
  EXPECT_EQ(s->metrics_address, "0.0.0.0:9090");
  EXPECT_EQ(s->log_level, LogLevel::kWarning);
  // Read from the Secret file, surrounding whitespace dropped.
  EXPECT_EQ(s->database_url, "postgresql://u:secret@db:5432/cp");
  EXPECT_EQ(s->db_workers, 3);
  EXPECT_TRUE(s->migrate_on_start);
  EXPECT_EQ(s->ring_window, absl::Seconds(45));
  EXPECT_EQ(s->request_deadline, absl::Seconds(2));  // default kept
  EXPECT_EQ(s->drain_delay, absl::Seconds(5));
  EXPECT_EQ(s->shutdown_grace, absl::Seconds(20));
  auto gateway = gateway::GatewayOptionsFromConfig(s->http, s->http_address);
  ASSERT_THAT(gateway, IsOk());
  EXPECT_EQ(gateway->http.threads, 4);
  EXPECT_EQ(gateway->handler.deadline, absl::Milliseconds(1500));
  EXPECT_EQ(gateway->http.idle_timeout, absl::Seconds(60));  // default kept
}

TEST_F(ServerConfigTest, EnvironmentOverridesTheFile) {
  absl::StatusOr<v1::ServerConfig> c = Load(
      R"({"grpcAddress": "0.0.0.0:1", "logLevel": "error",
          "database": {"url": "postgresql://file/db", "workers": 3}})",
      {{"CALLPUSH_GRPC_ADDRESS", "127.0.0.1:7000"},
       {"CALLPUSH_HTTP_ADDRESS", "127.0.0.1:7001"},
       {"CALLPUSH_METRICS_ADDRESS", "127.0.0.1:7002"},
       {"CALLPUSH_LOG_LEVEL", "debug"},
       {"CALLPUSH_DATABASE_URL", "postgresql://env/db"},
       {"CALLPUSH_DB_WORKERS", "5"},
       {"CALLPUSH_GRPC_TARGET", "server:50051"},
       {"CALLPUSH_HTTP_AUTH_TOKENS_FILE", ""}});  // empty: no change
  ASSERT_THAT(c, IsOk());
  absl::StatusOr<ServerSettings> s = ResolveServerConfig(*c);
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->grpc_address, "127.0.0.1:7000");
  EXPECT_EQ(s->http_address, "127.0.0.1:7001");
  EXPECT_EQ(s->metrics_address, "127.0.0.1:7002");
  EXPECT_EQ(s->log_level, LogLevel::kDebug);
  EXPECT_EQ(s->database_url, "postgresql://env/db");
  EXPECT_EQ(s->db_workers, 5);
  EXPECT_EQ(c->grpc_target(), "server:50051");
  EXPECT_EQ(c->http().auth_tokens_file(), "");
}

TEST_F(ServerConfigTest, PushConfigInlineOrFromAFile) {
  constexpr char kApps[] = R"({"apps": [{"name": "demo",
      "apns": {"bundleId": "com.example.patient", "teamId": "TEAM123456",
               "keyId": "KEY1234567", "keyFile": "$D/apns.p8"}}]})";
  absl::StatusOr<ServerSettings> inline_push =
      Resolve(absl::StrCat(R"({"push": )", kApps, "}"));
  ASSERT_THAT(inline_push, IsOk());
  ASSERT_TRUE(inline_push->push.has_value());
  EXPECT_EQ(inline_push->push->apps(0).name(), "demo");
  EXPECT_EQ(inline_push->push_source, "inline");

  std::ofstream(Path("push.json"))
      << absl::StrReplaceAll(kApps, {{"$D", dir_}});
  absl::StatusOr<ServerSettings> from_file =
      Resolve(R"({"pushConfigFile": "$D/push.json"})");
  ASSERT_THAT(from_file, IsOk());
  ASSERT_TRUE(from_file->push.has_value());
  EXPECT_EQ(from_file->push_source, Path("push.json"));

  EXPECT_THAT(Resolve(absl::StrCat(R"({"pushConfigFile": "$D/push.json",
                                       "push": )",
                                   kApps, "}")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("pushConfigFile: give the push "
                                 "configuration as a file or inline")));
  EXPECT_THAT(Resolve(R"({"push": {"apps": [{"name": "demo",
                 "apns": {"bundleId": "b", "teamId": "T", "keyId": "K",
                          "keyFile": "$D/missing.p8"}}]}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("push: apps[0].apns.keyFile: cannot read")));
}

TEST_F(ServerConfigTest, ErrorsNameTheField) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"grpcAdress": "x"})", "grpcAdress"},
      {R"({"grpcAddress": "nowhere"})", "grpcAddress: must be host:port"},
      {R"({"httpAddress": "h:99999"})", "httpAddress: must be host:port"},
      {R"({"metricsAddress": ":"})", "metricsAddress: must be host:port"},
      {R"({"logLevel": "loud"})", "logLevel: must be debug, info"},
      {R"({"database": {"workers": 1000}})", "database.workers: must be 1"},
      {R"({"database": {"urlFile": "$D/none"}})",
       "database.urlFile: cannot read"},
      {R"({"database": {"statementTimeout": "-1s"}})",
       "database.statementTimeout: must be a duration"},
      {R"({"calls": {"requestDeadline": "2"}})",
       "calls.requestDeadline: must be a duration"},
      {R"({"calls": {"ringWindow": "0s"}})",
       "calls.ringWindow: must be positive"},
      {R"({"shutdown": {"grace": "forever"}})", "shutdown.grace: must be"},
      {R"({"pushConfigFile": "$D/none.json"})",
       "pushConfigFile: push config: cannot read"},
      {R"({"database": {"workers": "many"}})", "workers"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    absl::StatusOr<ServerSettings> s = Resolve(c.json);
    EXPECT_THAT(
        s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
}

TEST_F(ServerConfigTest, EnvironmentErrorsNameTheVariable) {
  EXPECT_THAT(Load("{}", {{"CALLPUSH_DB_WORKERS", "eight"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("CALLPUSH_DB_WORKERS: must be a number")));
}

TEST_F(ServerConfigTest, UnreadableOrMalformedFileNamesThePath) {
  EXPECT_THAT(
      LoadServerConfig(Path("absent.json"),
                       [](const char*) -> const char* { return nullptr; }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("cannot read " + Path("absent.json"))));
  EXPECT_THAT(Load("{not json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(Path("config.json") + ": ")));
}

TEST_F(ServerConfigTest, GatewayValidatesOnlyWhatItUses) {
  // A configuration shared with the server: the push secrets are not
  // mounted in the gateway's pod, and the gateway must not care.
  absl::StatusOr<v1::ServerConfig> c = Load(
      R"({"httpAddress": "0.0.0.0:8080", "grpcTarget": "callpush:50051",
          "pushConfigFile": "/not/mounted.json",
          "database": {"urlFile": "/not/mounted"}})");
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT(ResolveServerConfig(*c),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<ServerSettings> s = ResolveGatewayConfig(*c);
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->grpc_target, "callpush:50051");
  EXPECT_EQ(s->http_address, "0.0.0.0:8080");

  c->set_grpc_target("nohost");
  EXPECT_THAT(ResolveGatewayConfig(*c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("grpcTarget: must be host:port")));
}

TEST_F(ServerConfigTest, GatewayHttpErrorsNameTheField) {
  v1::HttpConfig http = DefaultServerConfig().http();
  http.set_threads(0);
  EXPECT_THAT(gateway::GatewayOptionsFromConfig(http, "127.0.0.1:0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("http.threads: must be 1 to 64")));
  http = DefaultServerConfig().http();
  http.set_header_timeout("soon");
  EXPECT_THAT(gateway::GatewayOptionsFromConfig(http, "127.0.0.1:0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("http.headerTimeout: must be a duration")));
  http = DefaultServerConfig().http();
  http.set_max_header_bytes(10);
  EXPECT_THAT(gateway::GatewayOptionsFromConfig(http, "127.0.0.1:0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("http.maxHeaderBytes")));
}

}  // namespace
}  // namespace callpush
