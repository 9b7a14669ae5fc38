// MetricsHttpHandler: /metrics renders every registry in order as
// Prometheus text; /healthz; 404 and 405 otherwise.
#include "server/metrics_http_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

namespace callpush {
namespace {

namespace http = boost::beast::http;

gateway::HttpResponse Serve(MetricsHttpHandler& handler, http::verb verb,
                            const std::string& target) {
  gateway::HttpRequest req{verb, target, 11};
  std::optional<gateway::HttpResponse> answer;
  handler.Handle(std::move(req),
                 [&answer](gateway::HttpResponse res) { answer = res; });
  EXPECT_TRUE(answer.has_value()) << "answered inline";
  return answer.value_or(gateway::HttpResponse{});
}

TEST(MetricsHttpHandlerTest, MetricsRendersEveryRegistryInOrder) {
  MetricsRegistry first, second;
  first.AddCounter("a_total", "A", {}).Increment({});
  second.AddGauge("b", "B", {}).Set({}, 7);
  MetricsHttpHandler handler({&first, &second});
  gateway::HttpResponse res = Serve(handler, http::verb::get, "/metrics");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::content_type], "text/plain; version=0.0.4");
  EXPECT_EQ(res.body(),
            "# HELP a_total A\n# TYPE a_total counter\na_total 1\n"
            "# HELP b B\n# TYPE b gauge\nb 7\n");
  // A query string changes nothing.
  EXPECT_EQ(Serve(handler, http::verb::get, "/metrics?x=1").body(), res.body());
}

TEST(MetricsHttpHandlerTest, HealthzNotFoundAndWrongMethod) {
  MetricsRegistry registry;
  MetricsHttpHandler handler({&registry});
  gateway::HttpResponse health = Serve(handler, http::verb::get, "/healthz");
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_EQ(health.body(), "{\"status\":\"ok\"}");
  EXPECT_EQ(Serve(handler, http::verb::get, "/").result_int(), 404);
  EXPECT_EQ(Serve(handler, http::verb::get, "/v1/call").result_int(), 404);
  gateway::HttpResponse post = Serve(handler, http::verb::post, "/metrics");
  EXPECT_EQ(post.result_int(), 405);
  EXPECT_EQ(post[http::field::allow], "GET");
  EXPECT_EQ(handler.Rejected(431, "headers too large", "").result_int(), 431);
}

}  // namespace
}  // namespace callpush
