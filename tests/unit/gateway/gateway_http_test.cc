// The whole gateway over real HTTP on 127.0.0.1: the real CallService on
// fakes (device store, push sender) behind an in-process channel, as in
// callpush-server. Checks every DESIGN section 2 answer shape, the gRPC ->
// HTTP mapping, auth, limits and the probes.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "clients/base/clock.h"
#include "gateway/gateway_server.h"
#include "server/call_coordinator.h"
#include "server/call_service_impl.h"
#include "tests/testing/fake_device_store.h"
#include "tests/testing/fake_push_sender.h"

namespace callpush::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using ::testing::HasSubstr;

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// One connection, any number of requests (keep-alive).
class Client {
 public:
  explicit Client(int port) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  Reply Send(http::verb verb, const std::string& target, std::string body = "",
             std::map<std::string, std::string> headers = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    if (verb != http::verb::get || !req.body().empty()) req.prepare_payload();
    stream_.expires_after(std::chrono::seconds(10));
    http::write(stream_, req);
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res);
    Reply reply;
    reply.status = res.result_int();
    reply.body = res.body();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(c));
      reply.headers[name] = std::string(f.value());
    }
    return reply;
  }

  Reply Post(const std::string& target, std::string json) {
    return Send(http::verb::post, target, std::move(json),
                {{"Content-Type", "application/json"}});
  }

  beast::tcp_stream& stream() { return stream_; }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

constexpr char kMobile[] = "+447777123456";

class GatewayHttpTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }
  void TearDown() override { Stop(); }

  void Start(GatewayOptions options) {
    coordinator_ = std::make_unique<CallCoordinator>(
        store_, pusher_, SystemClock::Get(), CallCoordinatorOptions{});
    service_ = std::make_unique<CallServiceImpl>(
        *coordinator_, SystemClock::Get(), absl::Seconds(2));
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    server_->GetHealthCheckService()->SetServingStatus(
        "callpush.v1.CallService", true);
    options.http.address = "127.0.0.1:0";
    auto gw = GatewayServer::Start(
        server_->InProcessChannel(grpc::ChannelArguments()), options);
    ASSERT_TRUE(gw.ok()) << gw.status();
    gateway_ = *std::move(gw);
  }

  void Stop() {
    if (gateway_) gateway_->Stop(absl::Seconds(5));
    gateway_.reset();
    if (server_) server_->Shutdown();
    server_.reset();
  }

  int port() const { return gateway_->port(); }

  testing::FakeDeviceStore store_{SystemClock::Get()};
  testing::FakePushSender pusher_;
  std::unique_ptr<CallCoordinator> coordinator_;
  std::unique_ptr<CallServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<GatewayServer> gateway_;
};

TEST_F(GatewayHttpTest, CallableDevicesIsABareArray) {
  Client c(port());
  Reply none = c.Send(http::verb::get,
                      "/v1/callable-devices?mobileNumber=%2B447777123456");
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.body, "[]");
  EXPECT_EQ(none.headers["content-type"], "application/json");

  auto ios = store_.AddDevice(kMobile, Platform::kIos, "voip-1", "push-1");
  auto android =
      store_.AddDevice(kMobile, Platform::kAndroid, "fcm-2", "fcm-2");
  store_.AddDevice(kMobile, Platform::kIos, "voip-3", "push-3",
                   /*inbound_calls_allowed=*/false);
  Reply two = c.Send(http::verb::get,
                     "/v1/callable-devices?mobile_number=%2B447777123456");
  EXPECT_EQ(two.status, 200);
  EXPECT_THAT(two.body, HasSubstr(absl::StrCat("{\"id\":\"", ios.id, "\"}")));
  EXPECT_THAT(two.body,
              HasSubstr(absl::StrCat("{\"id\":\"", android.id, "\"}")));
  EXPECT_EQ(two.body.front(), '[');
  EXPECT_EQ(two.body.size(), 2 + 2 * (9 + 36) + 1);  // [{"id":"<uuid>"},{..}]
}

TEST_F(GatewayHttpTest, CallAnswers202WithAnEmptyBodyAfterThePush) {
  auto ios = store_.AddDevice(kMobile, Platform::kIos, "voip-1", "push-1");
  Client c(port());
  Reply r = c.Post("/v1/call",
                   absl::StrCat(R"({"deviceId":")", ios.id,
                                R"(","callId":"c-1","callerName":"Dr Who"})"));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers.count("content-type"), 0u);
  ASSERT_EQ(pusher_.sent().size(), 1u);
  EXPECT_EQ(pusher_.sent()[0].token, "voip-1");
  EXPECT_EQ(pusher_.sent()[0].call_id, "c-1");
  EXPECT_EQ(pusher_.sent()[0].caller_name, "Dr Who");

  // Form body, update and cancel.
  r = c.Send(http::verb::post, "/v1/update-call",
             absl::StrCat("deviceId=", ios.id, "&callId=c-1&callerName="),
             {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 202);
  r = c.Post(
      "/v1/cancel-call",
      absl::StrCat(R"({"deviceId":")", ios.id,
                   R"(","callId":"c-1","reason":"answered_elsewhere"})"));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(pusher_.sent().size(), 3u);
}

TEST_F(GatewayHttpTest, DocumentedRefusals) {
  auto refusing = store_.AddDevice(kMobile, Platform::kIos, "voip-1", "push-1",
                                   /*inbound_calls_allowed=*/false);
  Client c(port());
  Reply r =
      c.Post("/v1/call", absl::StrCat(R"({"deviceId":")", refusing.id,
                                      R"(","callId":"c","callerName":"A"})"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, R"({"error":"device rejected inbound call"})");

  for (const char* path : {"/v1/call", "/v1/update-call"}) {
    r = c.Post(path, R"({"deviceId":"cbc16ed8-0422-456f-9e15-f269b8a25811",)"
                     R"("callId":"c","callerName":"A"})");
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body, "") << path;
  }
  r = c.Post("/v1/cancel-call",
             R"({"deviceId":"cbc16ed8-0422-456f-9e15-f269b8a25811",)"
             R"("callId":"c","reason":"cancelled"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "");
  EXPECT_TRUE(pusher_.sent().empty());
}

TEST_F(GatewayHttpTest, BadInputIs400NamingTheParameter) {
  Client c(port());
  struct Case {
    const char* path;
    const char* body;
    const char* names;
  } cases[] = {
      {"/v1/call", R"({"deviceId":"nope","callId":"c","callerName":"A"})",
       "deviceId"},
      {"/v1/call", R"({"deviceId":5,"callId":"c","callerName":"A"})",
       "deviceId"},
      {"/v1/call",
       R"({"deviceId":"cbc16ed8-0422-456f-9e15-f269b8a25811","callerName":"A"})",
       "callId"},
      {"/v1/call",
       R"({"deviceId":"cbc16ed8-0422-456f-9e15-f269b8a25811","callId":"c"})",
       "callerName"},
      {"/v1/cancel-call",
       R"({"deviceId":"cbc16ed8-0422-456f-9e15-f269b8a25811","callId":"c","reason":"bored"})",
       "reason"},
      {"/v1/call", "{not json", "JSON"},
  };
  for (const auto& k : cases) {
    Reply r = c.Post(k.path, k.body);
    EXPECT_EQ(r.status, 400) << k.body;
    EXPECT_THAT(r.body, HasSubstr("{\"error\":\"")) << k.body;
    EXPECT_THAT(r.body, HasSubstr(k.names)) << k.body;
    EXPECT_EQ(r.headers["content-type"], "application/json");
  }
  for (const char* q : {"mobileNumber=07777123456", "mobileNumber=%2B44%207777",
                        "", "mobileNumber=%2B447777123456x"}) {
    Reply r = c.Send(http::verb::get, absl::StrCat("/v1/callable-devices?", q));
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_THAT(r.body, HasSubstr("mobileNumber")) << q;
  }
}

TEST_F(GatewayHttpTest, ProtocolErrors) {
  Client c(port());
  Reply r = c.Send(http::verb::get, "/v1/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("\"error\""));
  r = c.Send(http::verb::get, "/v1/call");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "POST");
  EXPECT_THAT(r.body, HasSubstr("\"error\""));
  r = c.Send(http::verb::post, "/v1/call", "x",
             {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_THAT(r.body, HasSubstr("\"error\""));
  r = c.Post("/v1/call", std::string(70 * 1024, ' '));
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.body, HasSubstr("65536"));
  EXPECT_EQ(r.headers["connection"], "close");
}

// An answer to HEAD carries the headers only: a body sent anyway would be
// read as the start of the next answer on the same connection (found by
// tests/fuzz, corpus/gateway_http/head_and_405).
TEST_F(GatewayHttpTest, HeadAnswersCarryNoBody) {
  Client c(port());
  http::request<http::empty_body> head{http::verb::head, "/healthz", 11};
  head.set(http::field::host, "127.0.0.1");
  http::write(c.stream(), head);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(true);  // a HEAD answer: Content-Length announces no body
  http::read(c.stream(), buffer, parser);
  EXPECT_EQ(parser.get().result_int(), 405);
  EXPECT_EQ(parser.get()[http::field::allow], "GET");
  // The next answer on the connection starts where the headers ended.
  http::request<http::empty_body> get{http::verb::get, "/healthz", 11};
  get.set(http::field::host, "127.0.0.1");
  http::write(c.stream(), get);
  http::response<http::string_body> res;
  http::read(c.stream(), buffer, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "{\"status\":\"ok\"}");
}

TEST_F(GatewayHttpTest, OversizedHeadersAre431) {
  Client c(port());
  Reply r = c.Send(http::verb::get, "/healthz", "",
                   {{"X-Padding", std::string(9000, 'a')}});
  EXPECT_EQ(r.status, 431);
  // Many small fields count as much as one big one.
  std::map<std::string, std::string> many;
  for (int i = 0; i < 100; ++i) {
    many[absl::StrCat("X-Field-", i)] = std::string(90, 'b');  // ~10 KB
  }
  Client c2(port());
  EXPECT_EQ(c2.Send(http::verb::get, "/healthz", "", many).status, 431);
  many.erase(many.begin(), std::next(many.begin(), 40));  // ~6 KB
  Client c3(port());
  EXPECT_EQ(c3.Send(http::verb::get, "/healthz", "", many).status, 200);
}

TEST_F(GatewayHttpTest, DependencyFailuresAre503NeverNotFound) {
  auto ios = store_.AddDevice(kMobile, Platform::kIos, "voip-1", "push-1");
  store_.FailWith(absl::UnavailableError("database unreachable"));
  Client c(port());
  Reply r = c.Send(http::verb::get,
                   "/v1/callable-devices?mobileNumber=%2B447777123456");
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, HasSubstr("\"error\""));
  r = c.Post("/v1/call", absl::StrCat(R"({"deviceId":")", ios.id,
                                      R"(","callId":"c","callerName":"A"})"));
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, HasSubstr("\"error\""));
}

TEST_F(GatewayHttpTest, DeadlineIs504AndDuplicateInFlightIs409) {
  Stop();
  GatewayOptions options;
  options.handler.deadline = absl::Milliseconds(300);
  Start(options);
  auto ios = store_.AddDevice(kMobile, Platform::kIos, "voip-1", "push-1");
  pusher_.Hold();
  const std::string body = absl::StrCat(R"({"deviceId":")", ios.id,
                                        R"(","callId":"c","callerName":"A"})");
  Reply first, second;
  std::thread t([&] { first = Client(port()).Post("/v1/call", body); });
  // The second arrives while the first push is held.
  absl::Time until = absl::Now() + absl::Seconds(5);
  while (pusher_.sent().empty() && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  second = Client(port()).Post("/v1/call", body);
  t.join();
  pusher_.Release();
  EXPECT_EQ(second.status, 409);
  EXPECT_THAT(second.body, HasSubstr("\"error\""));
  EXPECT_EQ(first.status, 504);
  EXPECT_THAT(first.body, HasSubstr("\"error\""));
}

TEST_F(GatewayHttpTest, StopLetsAnswersInProgressFinishAndCloses) {
  auto ios = store_.AddDevice(kMobile, Platform::kIos, "voip-1", "push-1");
  pusher_.Hold();
  Reply reply;
  const int p = port();
  std::thread caller([&] {
    reply = Client(p).Post("/v1/call",
                           absl::StrCat(R"({"deviceId":")", ios.id,
                                        R"(","callId":"c","callerName":"A"})"));
  });
  absl::Time until = absl::Now() + absl::Seconds(5);
  while (pusher_.sent().empty() && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  std::thread stopper([&] { gateway_->Stop(absl::Seconds(5)); });
  // Stopped accepting: new connections are refused.
  auto refused = [p] {
    net::io_context ioc;
    tcp::socket s(ioc);
    boost::system::error_code ec;
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), p), ec);
    return ec == net::error::connection_refused;
  };
  until = absl::Now() + absl::Seconds(5);
  while (!refused() && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(refused());
  pusher_.Release();
  caller.join();
  stopper.join();
  EXPECT_EQ(reply.status, 202);
  EXPECT_EQ(reply.headers["connection"], "close");
}

TEST_F(GatewayHttpTest, RequestIdsAreEchoedOrMade) {
  Client c(port());
  Reply r =
      c.Send(http::verb::get, "/healthz", "", {{"x-request-id", "proxy-42"}});
  EXPECT_EQ(r.headers["x-request-id"], "proxy-42");
  r = c.Send(http::verb::get, "/v1/nothing");
  EXPECT_EQ(r.headers["x-request-id"].size(), 32u);
  r = c.Post("/v1/call", "{bad");
  EXPECT_EQ(r.headers["x-request-id"].size(), 32u);
}

TEST_F(GatewayHttpTest, ProbesAndMetrics) {
  Client c(port());
  EXPECT_EQ(c.Send(http::verb::get, "/healthz").status, 200);
  EXPECT_EQ(c.Send(http::verb::get, "/readyz").status, 200);
  server_->GetHealthCheckService()->SetServingStatus("callpush.v1.CallService",
                                                     false);
  Reply r = c.Send(http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, HasSubstr("not ready"));
  c.Send(http::verb::get, "/v1/callable-devices?mobileNumber=%2B447777123456");
  r = c.Send(http::verb::get, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.headers["content-type"], HasSubstr("text/plain"));
  EXPECT_THAT(r.body, HasSubstr("callpush_http_requests_total{route=\"/v1/"
                                "callable-devices\",status=\"200\"} 1\n"));
  EXPECT_THAT(r.body, HasSubstr("callpush_http_request_duration_seconds_count{"
                                "route=\"/readyz\",status=\"503\"} 1\n"));
}

TEST_F(GatewayHttpTest, BearerTokens) {
  Stop();
  const std::string path = "/tmp/callpush-gateway-http-test-tokens";
  std::ofstream(path) << "s3cret\n";
  GatewayOptions options;
  options.auth_tokens_file = path;
  Start(options);
  Client c(port());
  Reply r = c.Send(http::verb::get,
                   "/v1/callable-devices?mobileNumber=%2B447777123456");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("\"error\""));
  EXPECT_EQ(r.headers["www-authenticate"], "Bearer");
  r = c.Send(http::verb::get, "/v1/nothing", "",
             {{"Authorization", "Bearer wrong"}});
  EXPECT_EQ(r.status, 401);  // no route discovery without a token
  r = c.Send(http::verb::get,
             "/v1/callable-devices?mobileNumber=%2B447777123456", "",
             {{"Authorization", "Bearer s3cret"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(c.Send(http::verb::get, "/healthz").status, 200);  // probes open
  std::remove(path.c_str());
}

TEST_F(GatewayHttpTest, RefusesPublicAddressesWithoutAuth) {
  GatewayOptions options;
  options.http.address = "0.0.0.0:0";
  auto gw = GatewayServer::Start(
      server_->InProcessChannel(grpc::ChannelArguments()), options);
  EXPECT_EQ(gw.status().code(), absl::StatusCode::kFailedPrecondition);
  options.insecure_no_auth = true;
  options.http.address = "127.0.0.1:0";
  EXPECT_TRUE(GatewayServer::Start(
                  server_->InProcessChannel(grpc::ChannelArguments()), options)
                  .ok());
}

TEST_F(GatewayHttpTest, SlowClientsAreCutOff) {
  Stop();
  GatewayOptions options;
  options.http.header_timeout = absl::Milliseconds(300);
  Start(options);
  Client c(port());
  const std::string partial = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  net::write(c.stream().socket(), net::buffer(partial));
  const absl::Time start = absl::Now();
  char buf[64];
  boost::system::error_code ec;
  c.stream().socket().read_some(net::buffer(buf), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset)
      << ec.message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(GatewayHttpTest, ConnectionsOverTheCapAre503) {
  Stop();
  GatewayOptions options;
  options.http.max_connections = 1;
  Start(options);
  Client first(port());
  EXPECT_EQ(first.Send(http::verb::get, "/healthz").status, 200);
  Client second(port());
  Reply r = second.Send(http::verb::get, "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, HasSubstr("too many connections"));
  EXPECT_EQ(first.Send(http::verb::get, "/healthz").status, 200);
}

}  // namespace
}  // namespace callpush::gateway
