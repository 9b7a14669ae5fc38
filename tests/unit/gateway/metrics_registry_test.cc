#include "clients/base/metrics_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace callpush {
namespace {

using ::testing::HasSubstr;

TEST(MetricsRegistryTest, RendersCountersGaugesAndHistograms) {
  MetricsRegistry registry;
  auto& requests =
      registry.AddCounter("x_requests_total", "Requests", {"route", "status"});
  auto& gauge = registry.AddGauge("x_expiry_seconds", "Expiry", {"app"});
  auto& latency =
      registry.AddHistogram("x_seconds", "Latency", {"route"}, {0.1, 0.01, 1});
  requests.Increment({"/v1/call", "202"});
  requests.Increment({"/v1/call", "202"}, 2);
  requests.Increment({"/v1/call", "404"});
  gauge.Set({"demo"}, 12.5);
  latency.Observe({"/v1/call"}, 0.005);
  latency.Observe({"/v1/call"}, 0.05);
  latency.Observe({"/v1/call"}, 5);

  const std::string text = registry.RenderText();
  EXPECT_THAT(text, HasSubstr("# TYPE x_requests_total counter\n"));
  EXPECT_THAT(
      text,
      HasSubstr("x_requests_total{route=\"/v1/call\",status=\"202\"} 3\n"));
  EXPECT_THAT(
      text,
      HasSubstr("x_requests_total{route=\"/v1/call\",status=\"404\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("x_expiry_seconds{app=\"demo\"} 12.5\n"));
  // Buckets are cumulative and sorted; +Inf equals the count.
  EXPECT_THAT(text,
              HasSubstr("x_seconds_bucket{route=\"/v1/call\",le=\"0.01\"} 1\n"
                        "x_seconds_bucket{route=\"/v1/call\",le=\"0.1\"} 2\n"
                        "x_seconds_bucket{route=\"/v1/call\",le=\"1\"} 2\n"
                        "x_seconds_bucket{route=\"/v1/call\",le=\"+Inf\"} 3\n"
                        "x_seconds_sum{route=\"/v1/call\"} 5.055\n"
                        "x_seconds_count{route=\"/v1/call\"} 3\n"));
}

TEST(MetricsRegistryTest, EscapesLabelValues) {
  MetricsRegistry registry;
  registry.AddCounter("y_total", "Y", {"reason"})
      .Increment({"bad \"quote\"\\\n"});
  EXPECT_THAT(registry.RenderText(),
              HasSubstr("y_total{reason=\"bad \\\"quote\\\"\\\\\\n\"} 1\n"));
}

}  // namespace
}  // namespace callpush
