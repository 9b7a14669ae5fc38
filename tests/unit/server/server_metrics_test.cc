// ServerMetrics: every family of the metrics contract from the start, and
// the exact series each observer call and collector produces.
#include "server/server_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "callpush/v1/call_service.grpc.pb.h"
#include "callpush/v1/device_service.grpc.pb.h"
#include "tests/testing/server_metric_families.h"

namespace callpush {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<const google::protobuf::ServiceDescriptor*> Services() {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  return {pool->FindServiceByName(v1::CallService::service_full_name()),
          pool->FindServiceByName(v1::DeviceService::service_full_name())};
}

RpcRecord Rpc(absl::string_view method, grpc::StatusCode code,
              absl::Duration latency) {
  RpcRecord r;
  r.method = method;
  r.code = code;
  r.latency = latency;
  return r;
}

PushResult Result(PushResult::Outcome outcome, std::string provider,
                  std::string reason, absl::Duration latency) {
  PushResult r;
  r.outcome = outcome;
  r.provider = std::move(provider);
  r.reason = std::move(reason);
  r.latency = latency;
  return r;
}

TEST(ServerMetricsTest, EveryFamilyIsRenderedFromTheStart) {
  ServerMetrics metrics(Services());
  const std::string text = metrics.registry().RenderText();
  for (const auto& [name, type] : ::callpush::testing::kServerMetricFamilies) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# HELP ", name, " ")));
    EXPECT_THAT(text,
                HasSubstr(absl::StrCat("# TYPE ", name, " ", type, "\n")));
  }
  EXPECT_THAT(text,
              HasSubstr("callpush_pushes_in_flight{provider=\"apns\"} 0\n"
                        "callpush_pushes_in_flight{provider=\"fcm\"} 0\n"
                        "callpush_pushes_in_flight{provider=\"none\"} 0\n"));
}

TEST(ServerMetricsTest, CountsRpcsByMethodAndCode) {
  ServerMetrics metrics(Services());
  const std::string call = "/callpush.v1.CallService/Call";
  metrics.OnRpcDone(Rpc(call, grpc::StatusCode::OK, absl::Milliseconds(2)));
  metrics.OnRpcDone(Rpc(call, grpc::StatusCode::OK, absl::Milliseconds(30)));
  metrics.OnRpcDone(
      Rpc(call, grpc::StatusCode::NOT_FOUND, absl::Milliseconds(1)));
  // Not one of the services given: the ordinary path, same output.
  metrics.OnRpcDone(Rpc("/grpc.health.v1.Health/Check", grpc::StatusCode::OK,
                        absl::Microseconds(100)));
  const std::string text = metrics.registry().RenderText();
  EXPECT_THAT(text,
              HasSubstr("callpush_grpc_requests_total{method=\"/"
                        "callpush.v1.CallService/Call\",code=\"NOT_"
                        "FOUND\"} 1\n"
                        "callpush_grpc_requests_total{method=\"/"
                        "callpush.v1.CallService/Call\",code=\"OK\"} 2\n"
                        "callpush_grpc_requests_total{method=\"/"
                        "grpc.health.v1.Health/Check\",code=\"OK\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "callpush_grpc_request_duration_seconds_bucket{method=\"/"
          "callpush.v1.CallService/Call\",code=\"OK\",le=\"0.0025\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("callpush_grpc_request_duration_seconds_bucket{method=\"/"
                "callpush.v1.CallService/Call\",code=\"OK\",le=\"0.05\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("callpush_grpc_request_duration_seconds_sum{"
                              "method=\"/callpush.v1.CallService/Call\",code="
                              "\"OK\"} 0.032\n"));
  EXPECT_THAT(text, HasSubstr("callpush_grpc_request_duration_seconds_count{"
                              "method=\"/grpc.health.v1.Health/Check\",code="
                              "\"OK\"} 1\n"));
}

TEST(ServerMetricsTest, RacingFirstUsesOfAMethodCountEveryRpc) {
  ServerMetrics metrics(Services());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics] {
      for (int i = 0; i < 500; ++i) {
        metrics.OnRpcDone(Rpc("/callpush.v1.DeviceService/GetDevice",
                              grpc::StatusCode::OK, absl::Milliseconds(1)));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_THAT(metrics.registry().RenderText(),
              HasSubstr("callpush_grpc_requests_total{method=\"/"
                        "callpush.v1.DeviceService/GetDevice\",code=\"OK\"} "
                        "2000\n"));
}

TEST(ServerMetricsTest, PushesByProviderKindOutcomeAndReason) {
  ServerMetrics metrics(Services());
  metrics.OnPushSent("apns");
  metrics.OnPushSent("apns");
  metrics.OnPushSent("fcm");
  metrics.OnPushSent("none");
  EXPECT_THAT(metrics.registry().RenderText(),
              HasSubstr("callpush_pushes_in_flight{provider=\"apns\"} 2\n"
                        "callpush_pushes_in_flight{provider=\"fcm\"} 1\n"
                        "callpush_pushes_in_flight{provider=\"none\"} 1\n"));

  metrics.OnPushResult("apns", PushKind::kCall,
                       Result(PushResult::Outcome::kAccepted, "apns", "",
                              absl::Milliseconds(20)));
  PushResult dead = Result(PushResult::Outcome::kRejected, "apns",
                           "Unregistered", absl::Milliseconds(30));
  dead.dead_token = true;
  metrics.OnPushResult("apns", PushKind::kCall, dead);
  metrics.OnTokenInvalidated("apns");
  metrics.OnPushResult(
      "fcm", PushKind::kCancel,
      Result(PushResult::Outcome::kFailed, "fcm",
             "cannot obtain an FCM access token: UNAVAILABLE: 127.0.0.1:1",
             absl::Seconds(3)));
  metrics.OnPushResult(
      "none", PushKind::kUpdate,
      Result(PushResult::Outcome::kFailed, "none",
             "no push provider configured", absl::ZeroDuration()));

  const std::string text = metrics.registry().RenderText();
  EXPECT_THAT(text, HasSubstr("callpush_push_attempts_total{provider=\"apns\","
                              "kind=\"call\",outcome=\"accepted\",reason=\"\"} "
                              "1\n"
                              "callpush_push_attempts_total{provider=\"apns\","
                              "kind=\"call\",outcome=\"rejected\",reason="
                              "\"Unregistered\"} 1\n"
                              "callpush_push_attempts_total{provider=\"fcm\","
                              "kind=\"cancel\",outcome=\"failed\",reason="
                              "\"cannot_obtain_an_fcm_access_token\"} 1\n"
                              "callpush_push_attempts_total{provider=\"none\","
                              "kind=\"update\",outcome=\"failed\",reason=\"no_"
                              "push_provider_configured\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("callpush_pushes_in_flight{provider=\"apns\"} 0\n"
                        "callpush_pushes_in_flight{provider=\"fcm\"} 0\n"
                        "callpush_pushes_in_flight{provider=\"none\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("callpush_push_provider_duration_seconds_count{"
                              "provider=\"apns\",outcome=\"accepted\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("callpush_push_provider_duration_seconds_sum{"
                              "provider=\"fcm\",outcome=\"failed\"} 3\n"));
  // "none" sent nothing over the wire: no provider latency.
  EXPECT_THAT(text, Not(HasSubstr("duration_seconds_count{provider=\"none\"")));
  EXPECT_THAT(text,
              HasSubstr("callpush_token_invalidations_total{provider=\"apns\"} "
                        "1\n"));
}

TEST(ServerMetricsTest, ReasonLabelsStayFewAndShort) {
  auto label = [](PushResult::Outcome outcome, const std::string& reason) {
    PushResult r;
    r.outcome = outcome;
    r.reason = reason;
    return PushReasonLabel(r);
  };
  using O = PushResult::Outcome;
  EXPECT_EQ(label(O::kAccepted, "anything"), "");
  EXPECT_EQ(label(O::kRejected, "BadDeviceToken"), "BadDeviceToken");
  EXPECT_EQ(label(O::kFailed, "deadline_exceeded"), "deadline_exceeded");
  EXPECT_EQ(label(O::kFailed, "cannot sign the APNs provider token: x: y"),
            "cannot_sign_the_apns_provider_token");
  EXPECT_EQ(label(O::kFailed, "app demo has no apns configuration"),
            "app_demo_has_no_apns_configuration");
  EXPECT_EQ(label(O::kFailed, ""), "unknown");
  EXPECT_EQ(label(O::kFailed, ": only detail"), "unknown");
  EXPECT_EQ(label(O::kFailed, std::string(100, 'x') + " y").size(), 64u);
}

TEST(ServerMetricsTest, TokenRefreshesAndCertificateExpiry) {
  ServerMetrics metrics(Services());
  metrics.OnTokenRefresh("apns", "demo", true,
                         absl::FromUnixSeconds(1'700'000'000));
  metrics.OnTokenRefresh("fcm", "demo", false, absl::FromUnixSeconds(5));
  metrics.OnTokenRefresh("fcm", "demo", true,
                         absl::FromUnixMillis(1'700'000'100'500));
  metrics.SetCertificateExpiries(
      {{"legacy", absl::FromUnixSeconds(1'800'000'000)}});
  const std::string text = metrics.registry().RenderText();
  EXPECT_THAT(text,
              HasSubstr("callpush_token_refreshes_total{provider=\"apns\","
                        "app=\"demo\",outcome=\"success\"} 1\n"
                        "callpush_token_refreshes_total{provider=\"fcm\","
                        "app=\"demo\",outcome=\"failure\"} 1\n"
                        "callpush_token_refreshes_total{provider=\"fcm\","
                        "app=\"demo\",outcome=\"success\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("callpush_token_last_refresh_success_timestamp_seconds{"
                        "provider=\"apns\",app=\"demo\"} 1700000000\n"
                        "callpush_token_last_refresh_success_timestamp_seconds{"
                        "provider=\"fcm\",app=\"demo\"} 1700000100\n"));
  EXPECT_THAT(text,
              HasSubstr("callpush_certificate_expiry_timestamp_seconds{app="
                        "\"legacy\"} 1800000000\n"));
}

TEST(ServerMetricsTest, CollectorsReadPoolsAndReadinessAtEveryScrape) {
  ServerMetrics metrics(Services());
  std::atomic<int> scrape{0};
  metrics.CollectProviderPools([&] {
    http2::PoolStats a;
    a.connections_ready = 2;
    a.connects = 3 + scrape;
    a.connect_failures = 1;
    a.goaways = 4;
    a.refused_streams = 5;
    a.deadline_resets = 6;
    a.resent = 7;
    http2::PoolStats b = a;  // same labels: they add up
    http2::PoolStats c;
    c.connections_ready = 1;
    c.connects = 1;
    return std::vector<ProviderPoolStats>{{"apns", "api.push.apple.com:443", a},
                                          {"apns", "api.push.apple.com:443", b},
                                          {"fcm", "fcm.googleapis.com:443", c}};
  });
  metrics.CollectDbPool([&] {
    PgPoolStats s;
    s.workers = 8;
    s.connected = 7;
    s.busy = 3;
    s.queued = 12;
    s.errors = 9 + scrape;
    return s;
  });
  bool ready = true;
  metrics.CollectReadiness([&] { return ready; });

  std::string text = metrics.registry().RenderText();
  const std::string apns =
      "{provider=\"apns\",endpoint=\"api.push.apple.com:443\"";
  EXPECT_THAT(text,
              HasSubstr("callpush_provider_connections" + apns + "} 4\n"));
  EXPECT_THAT(text, HasSubstr("callpush_provider_connections{provider=\"fcm\","
                              "endpoint=\"fcm.googleapis.com:443\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("callpush_provider_connects_total" + apns + "} 6\n"));
  EXPECT_THAT(text, HasSubstr("callpush_provider_connect_failures_total" +
                              apns + "} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("callpush_provider_goaways_total" + apns + "} 8\n"));
  EXPECT_THAT(text, HasSubstr("callpush_provider_stream_resets_total" + apns +
                              ",reason=\"deadline\"} 12\n"));
  EXPECT_THAT(text, HasSubstr("callpush_provider_stream_resets_total" + apns +
                              ",reason=\"refused_stream\"} 10\n"));
  EXPECT_THAT(text,
              HasSubstr("callpush_provider_resent_total" + apns + "} 14\n"));
  EXPECT_THAT(text,
              HasSubstr("callpush_db_pool_connections{state=\"busy\"} 3\n"
                        "callpush_db_pool_connections{state=\"connected\"}"
                        " 7\n"));
  EXPECT_THAT(text, HasSubstr("callpush_db_pool_workers 8\n"));
  EXPECT_THAT(text, HasSubstr("callpush_db_pool_queue_length 12\n"));
  EXPECT_THAT(text, HasSubstr("callpush_db_errors_total 9\n"));
  EXPECT_THAT(text, HasSubstr("callpush_ready 1\n"));

  // The next scrape reads the sources again.
  scrape = 1;
  ready = false;
  text = metrics.registry().RenderText();
  EXPECT_THAT(text,
              HasSubstr("callpush_provider_connects_total" + apns + "} 8\n"));
  EXPECT_THAT(text, HasSubstr("callpush_db_errors_total 10\n"));
  EXPECT_THAT(text, HasSubstr("callpush_ready 0\n"));
}

}  // namespace
}  // namespace callpush
