// Metrics and per-request logs of the real callpush-server (issue 5 items 2
// and 3): RPCs and pushes through the sandbox (accepted, and a 410 that
// clears a dead token), then /metrics scraped over a real socket from the
// metrics listener and from the in-process gateway, with exact counts; and
// the server's stderr: one "rpc" line per RPC with its request and call
// ids, the gateway's line, and no mobile number, token or caller name.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "callpush/v1/call_service.grpc.pb.h"
#include "callpush/v1/device_service.grpc.pb.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/sandbox_process.h"
#include "tests/testing/server_metric_families.h"
#include "tests/testing/subprocess.h"

namespace callpush {
namespace {

using ::callpush::testing::HealthCheck;
using ::callpush::testing::SandboxProcess;
using ::callpush::testing::ScratchDatabase;
using ::callpush::testing::SharedPgUrl;
using ::callpush::testing::Subprocess;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNumber[] = "+447911123987";
constexpr char kNumberDigits[] = "447911123987";
constexpr char kCallerName[] = "Dr Octavia Pemberton";
constexpr char kAndroidToken[] = "fcm-token:metrics-test_0123456789";
const std::string kLiveToken =
    absl::StrCat(std::string(32, '0'), std::string(32, 'b'));
const std::string kDeadToken(64, 'd');

struct HttpAnswer {
  int status = 0;
  std::string head;
  std::string body;
};

// One GET over a fresh TCP connection (Connection: close), read to EOF.
absl::StatusOr<HttpAnswer> HttpGet(const std::string& address,
                                   const std::string& target,
                                   const std::string& extra_headers = "") {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(address);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) !=
      1) {
    return absl::InvalidArgumentError(address);
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket");
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", address));
  }
  const std::string request =
      absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: ", address,
                   "\r\nConnection: close\r\n", extra_headers, "\r\n");
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return absl::UnavailableError("send");
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[8192];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      close(fd);
      return absl::DeadlineExceededError("recv");
    }
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t end = raw.find("\r\n\r\n");
  HttpAnswer answer;
  if (end == std::string::npos || raw.size() < 12 ||
      !absl::SimpleAtoi(raw.substr(9, 3), &answer.status)) {
    return absl::InternalError(absl::StrCat("malformed answer: ", raw));
  }
  answer.head = raw.substr(0, end);
  answer.body = raw.substr(end + 4);
  return answer;
}

// The value of the sample line `series` (name and labels exactly as
// rendered), if the text has it.
std::optional<double> Sample(const std::string& text,
                             const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return std::nullopt;
}

// Arguments quoted for sh.
std::string Quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = SharedPgUrl();
    ASSERT_TRUE(url.ok()) << url.status();
    auto db = ScratchDatabase::Create(*url);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto sandbox = SandboxProcess::Start();
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = *std::move(sandbox);
  }

  // The server with its stderr (the log) in a file: sh only redirects and
  // execs, so the pid is the server's.
  void StartServer() {
    const std::string config = sandbox_->dir() + "/push-config.json";
    std::ofstream(config)
        << sandbox_->PushConfig("demo", "com.example.patient").dump();
    log_path_ = absl::StrCat(::testing::TempDir(), "/metrics_test_server.log");
    std::string command = "exec";
    for (const std::string& arg :
         {absl::StrCat(CALLPUSH_BINARY_DIR, "/server/callpush-server"),
          std::string("--grpc_address=127.0.0.1:0"),
          std::string("--http_address=127.0.0.1:0"),
          std::string("--metrics_address=127.0.0.1:0"),
          absl::StrCat("--database_url=", db_->url()),
          std::string("--db_workers=2"), std::string("--shutdown_grace=1s"),
          absl::StrCat("--push_config=", config)}) {
      absl::StrAppend(&command, " ", Quoted(arg));
    }
    absl::StrAppend(&command, " 2>", Quoted(log_path_));
    auto server = Subprocess::Start({"/bin/sh", "-c", command});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto grpc = server_->WaitForLine("callpush-server listening grpc=",
                                     absl::Seconds(20));
    ASSERT_TRUE(grpc.ok()) << grpc.status();
    auto metrics = server_->WaitForLine("callpush-server listening metrics=",
                                        absl::Seconds(20));
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    auto http = server_->WaitForLine("callpush-gateway listening http=",
                                     absl::Seconds(20));
    ASSERT_TRUE(http.ok()) << http.status();
    metrics_address_ = *metrics;
    http_address_ = *http;
    channel_ = grpc::CreateChannel(*grpc, grpc::InsecureChannelCredentials());
    // Ready once the database answered and push credentials are loaded.
    const absl::Time until = absl::Now() + absl::Seconds(15);
    while (HealthCheck(channel_, "callpush.v1.CallService").value_or(0) != 1) {
      ASSERT_LT(absl::Now(), until) << "CallService never became SERVING";
      absl::SleepFor(absl::Milliseconds(20));  // polling a remote state
    }
  }

  std::string Log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<SandboxProcess> sandbox_;
  std::unique_ptr<Subprocess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string log_path_, metrics_address_, http_address_;
};

TEST_F(MetricsTest, CountsRpcsAndPushesAndLogsOneLinePerRpc) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  auto devices = v1::DeviceService::NewStub(channel_);
  auto calls = v1::CallService::NewStub(channel_);
  auto context = [](grpc::ClientContext& ctx, const std::string& request_id) {
    ctx.AddMetadata("x-request-id", request_id);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
  };
  auto register_device = [&](const std::string& request_id, bool ios,
                             const std::string& token) {
    v1::RegisterDeviceRequest reg;
    reg.set_mobile_number(kNumber);
    reg.set_platform(ios ? v1::PLATFORM_IOS : v1::PLATFORM_ANDROID);
    reg.set_app("demo");
    reg.set_voip_token(token);
    v1::Device device;
    grpc::ClientContext ctx;
    context(ctx, request_id);
    grpc::Status s = devices->RegisterDevice(&ctx, reg, &device);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return device.id();
  };
  auto call = [&](const std::string& request_id, const std::string& device_id,
                  const std::string& call_id) {
    v1::CallRequest req;
    req.set_device_id(device_id);
    req.set_call_id(call_id);
    req.set_caller_name(kCallerName);
    v1::CallResponse resp;
    grpc::ClientContext ctx;
    context(ctx, request_id);
    return calls->Call(&ctx, req, &resp).error_code();
  };

  const std::string phone = register_device("req-reg-ios", true, kLiveToken);
  const std::string old_phone =
      register_device("req-reg-dead", true, kDeadToken);
  const std::string android =
      register_device("req-reg-android", false, kAndroidToken);
  ASSERT_TRUE(sandbox_
                  ->PutRules(absl::StrCat(
                      R"([{"token":")", kDeadToken,
                      R"(","status":410,"reason":"Unregistered"}])"))
                  .ok());
  EXPECT_EQ(call("req-call-ok", phone, "metrics-call-1"), grpc::StatusCode::OK);
  EXPECT_EQ(call("req-call-dead", old_phone, "metrics-call-2"),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(call("req-call-android", android, "metrics-call-3"),
            grpc::StatusCode::OK);
  {
    v1::CancelCallRequest req;
    req.set_device_id(android);
    req.set_call_id("metrics-call-3");
    req.set_reason("answered_elsewhere");
    v1::CancelCallResponse resp;
    grpc::ClientContext ctx;
    context(ctx, "req-cancel-android");
    EXPECT_TRUE(calls->CancelCall(&ctx, req, &resp).ok());
  }
  {
    v1::ListCallableDevicesRequest req;
    req.set_mobile_number(kNumber);
    v1::ListCallableDevicesResponse resp;
    grpc::ClientContext ctx;
    context(ctx, "req-list");
    EXPECT_TRUE(calls->ListCallableDevices(&ctx, req, &resp).ok());
    // The dead token was cleared: two devices left.
    EXPECT_EQ(resp.devices_size(), 2);
  }
  // Through the in-process gateway, which forwards its request id.
  auto listed = HttpGet(http_address_,
                        "/v1/callable-devices?mobileNumber=%2B447911123987",
                        "x-request-id: req-gw-list\r\n");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->status, 200) << listed->body;
  ASSERT_EQ(sandbox_->Deliveries().size(), 4u);

  // The metrics listener.
  auto health = HttpGet(metrics_address_, "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  auto scraped = HttpGet(metrics_address_, "/metrics");
  ASSERT_TRUE(scraped.ok()) << scraped.status();
  EXPECT_EQ(scraped->status, 200);
  EXPECT_THAT(scraped->head,
              HasSubstr("Content-Type: text/plain; version=0.0.4"));
  const std::string& text = scraped->body;
  for (const auto& [name, type] : ::callpush::testing::kServerMetricFamilies) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# HELP ", name, " ")));
    EXPECT_THAT(text,
                HasSubstr(absl::StrCat("# TYPE ", name, " ", type, "\n")));
  }
  // The in-process gateway's families too: one port scrapes the process.
  EXPECT_EQ(Sample(text,
                   "callpush_http_requests_total{route=\"/v1/"
                   "callable-devices\",status=\"200\"}"),
            1);

  const std::string rpcs =
      "callpush_grpc_requests_total{method=\"/callpush.v1.";
  EXPECT_EQ(Sample(text, rpcs + "CallService/Call\",code=\"OK\"}"), 2);
  EXPECT_EQ(Sample(text, rpcs + "CallService/Call\",code=\"NOT_FOUND\"}"), 1);
  EXPECT_EQ(Sample(text, rpcs + "CallService/CancelCall\",code=\"OK\"}"), 1);
  EXPECT_EQ(
      Sample(text, rpcs + "CallService/ListCallableDevices\",code=\"OK\"}"), 2);
  EXPECT_EQ(Sample(text, rpcs + "DeviceService/RegisterDevice\",code=\"OK\"}"),
            3);
  EXPECT_EQ(Sample(text,
                   "callpush_grpc_request_duration_seconds_count{method=\"/"
                   "callpush.v1.CallService/Call\",code=\"OK\"}"),
            2);

  const std::string attempts = "callpush_push_attempts_total{provider=";
  EXPECT_EQ(Sample(text, attempts + "\"apns\",kind=\"call\",outcome="
                                    "\"accepted\",reason=\"\"}"),
            1);
  EXPECT_EQ(Sample(text, attempts + "\"apns\",kind=\"call\",outcome="
                                    "\"rejected\",reason=\"Unregistered\"}"),
            1);
  EXPECT_EQ(Sample(text, attempts + "\"fcm\",kind=\"call\",outcome="
                                    "\"accepted\",reason=\"\"}"),
            1);
  EXPECT_EQ(Sample(text, attempts + "\"fcm\",kind=\"cancel\",outcome="
                                    "\"accepted\",reason=\"\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "callpush_push_provider_duration_seconds_count{"
                   "provider=\"apns\",outcome=\"accepted\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "callpush_push_provider_duration_seconds_count{"
                   "provider=\"fcm\",outcome=\"accepted\"}"),
            2);
  EXPECT_EQ(Sample(text, "callpush_pushes_in_flight{provider=\"apns\"}"), 0);
  EXPECT_EQ(Sample(text, "callpush_pushes_in_flight{provider=\"fcm\"}"), 0);
  EXPECT_EQ(Sample(text,
                   "callpush_token_invalidations_total{provider="
                   "\"apns\"}"),
            1);
  // One JWT signed for both APNs pushes, one OAuth token for both FCM ones.
  EXPECT_EQ(Sample(text,
                   "callpush_token_refreshes_total{provider=\"apns\","
                   "app=\"demo\",outcome=\"success\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "callpush_token_refreshes_total{provider=\"fcm\","
                   "app=\"demo\",outcome=\"success\"}"),
            1);
  EXPECT_THAT(text, Not(HasSubstr("outcome=\"failure\"")));
  for (const char* provider : {"apns", "fcm"}) {
    std::optional<double> at = Sample(
        text, absl::StrCat("callpush_token_last_refresh_success_timestamp_"
                           "seconds{provider=\"",
                           provider, "\",app=\"demo\"}"));
    ASSERT_TRUE(at.has_value()) << provider;
    EXPECT_NEAR(*at, absl::ToUnixSeconds(absl::Now()), 120) << provider;
  }
  // Token auth: no client certificate to expire.
  EXPECT_THAT(text, Not(HasSubstr("callpush_certificate_expiry_timestamp_"
                                  "seconds{")));

  // APNs, FCM and OAuth share the sandbox's address and CA: one pool, named
  // after its first user.
  const std::string pool =
      absl::StrCat("{provider=\"apns\",endpoint=\"", sandbox_->h2(), "\"");
  EXPECT_GE(Sample(text, "callpush_provider_connections" + pool + "}"), 1);
  EXPECT_GE(Sample(text, "callpush_provider_connects_total" + pool + "}"), 1);
  EXPECT_EQ(
      Sample(text, "callpush_provider_connect_failures_total" + pool + "}"), 0);
  EXPECT_EQ(Sample(text, "callpush_provider_goaways_total" + pool + "}"), 0);
  EXPECT_EQ(Sample(text, "callpush_provider_stream_resets_total" + pool +
                             ",reason=\"refused_stream\"}"),
            0);
  EXPECT_EQ(Sample(text, "callpush_provider_stream_resets_total" + pool +
                             ",reason=\"deadline\"}"),
            0);
  EXPECT_EQ(Sample(text, "callpush_provider_resent_total" + pool + "}"), 0);

  EXPECT_EQ(Sample(text, "callpush_db_pool_workers"), 2);
  EXPECT_EQ(Sample(text, "callpush_db_errors_total"), 0);
  EXPECT_TRUE(Sample(text, "callpush_db_pool_connections{state=\"connected\"}")
                  .has_value());
  EXPECT_TRUE(Sample(text, "callpush_db_pool_queue_length").has_value());
  EXPECT_EQ(Sample(text, "callpush_ready"), 1);

  // The gateway's /metrics: its own families, then the server's.
  auto both = HttpGet(http_address_, "/metrics");
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->status, 200);
  EXPECT_EQ(Sample(both->body,
                   "callpush_http_requests_total{route=\"/v1/"
                   "callable-devices\",status=\"200\"}"),
            1);
  EXPECT_EQ(Sample(both->body, rpcs + "CallService/Call\",code=\"OK\"}"), 2);
  for (const auto& [name, type] : ::callpush::testing::kServerMetricFamilies) {
    EXPECT_THAT(both->body,
                HasSubstr(absl::StrCat("# TYPE ", name, " ", type, "\n")));
  }
  EXPECT_LT(both->body.find("# TYPE callpush_http_requests_total"),
            both->body.find("# TYPE callpush_grpc_requests_total"));

  server_->Signal(SIGTERM);
  auto code = server_->Wait(absl::Seconds(15));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);

  // The log: one "rpc" line per RPC, found by its request id.
  const std::string log = Log();
  auto lines_with = [&log](const std::string& a, const std::string& b) {
    std::vector<std::string> found;
    for (absl::string_view line : absl::StrSplit(log, '\n')) {
      if (absl::StrContains(line, a) && absl::StrContains(line, b)) {
        found.emplace_back(line);
      }
    }
    return found;
  };
  struct Expected {
    std::string request_id, method, code, call_id;
  } expected[] = {
      {"req-reg-ios", "DeviceService/RegisterDevice", "OK", ""},
      {"req-reg-dead", "DeviceService/RegisterDevice", "OK", ""},
      {"req-reg-android", "DeviceService/RegisterDevice", "OK", ""},
      {"req-call-ok", "CallService/Call", "OK", "metrics-call-1"},
      {"req-call-dead", "CallService/Call", "NOT_FOUND", "metrics-call-2"},
      {"req-call-android", "CallService/Call", "OK", "metrics-call-3"},
      {"req-cancel-android", "CallService/CancelCall", "OK", "metrics-call-3"},
      {"req-list", "CallService/ListCallableDevices", "OK", ""},
      {"req-gw-list", "CallService/ListCallableDevices", "OK", ""},
  };
  for (const Expected& e : expected) {
    std::vector<std::string> lines = lines_with(
        "\"msg\":\"rpc\"", "\"request_id\":\"" + e.request_id + "\"");
    ASSERT_EQ(lines.size(), 1u) << e.request_id << "\n" << log;
    EXPECT_THAT(lines[0], HasSubstr(absl::StrCat(
                              "\"level\":\"info\",\"msg\":\"rpc\",\"method\":"
                              "\"/callpush.v1.",
                              e.method, "\",\"code\":\"", e.code, "\"")));
    EXPECT_THAT(lines[0], HasSubstr("\"latency_ms\":\""));
    EXPECT_THAT(lines[0],
                HasSubstr(absl::StrCat("\"call_id\":\"", e.call_id, "\"}")));
  }
  std::vector<std::string> gateway_lines =
      lines_with("\"msg\":\"http request\"", "\"request_id\":\"req-gw-list\"");
  ASSERT_EQ(gateway_lines.size(), 1u) << log;
  EXPECT_THAT(gateway_lines[0],
              HasSubstr("\"level\":\"info\",\"msg\":\"http request\","
                        "\"request_id\":\"req-gw-list\",\"method\":\"GET\","
                        "\"route\":\"/v1/callable-devices\",\"status\":\"200\","
                        "\"latency_ms\":\""));
  // Nothing personal in clear.
  EXPECT_THAT(log, Not(HasSubstr(kNumberDigits)));
  EXPECT_THAT(log, Not(HasSubstr("%2B4479")));
  EXPECT_THAT(log, Not(HasSubstr(kLiveToken)));
  EXPECT_THAT(log, Not(HasSubstr(kDeadToken)));
  EXPECT_THAT(log, Not(HasSubstr(kAndroidToken)));
  EXPECT_THAT(log, Not(HasSubstr("Octavia")));
  EXPECT_THAT(log, Not(HasSubstr("Pemberton")));
}

}  // namespace
}  // namespace callpush
