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

TEST(MetricsRegistryTest, WithLabelsResolvesOneSeriesOnce) {
  MetricsRegistry registry;
  auto& family = registry.AddGauge("z_in_flight", "Z", {"provider"});
  MetricFamily::Series& apns = family.WithLabels({"apns"});
  EXPECT_EQ(&apns, &family.WithLabels({"apns"}));
  EXPECT_NE(&apns, &family.WithLabels({"fcm"}));
  apns.Increment();
  apns.Increment();
  apns.Increment(-1);
  family.Increment({"apns"});
  EXPECT_THAT(registry.RenderText(),
              HasSubstr("z_in_flight{provider=\"apns\"} 2\n"
                        "z_in_flight{provider=\"fcm\"} 0\n"));
}

TEST(MetricsRegistryTest, CollectorsRunBeforeEveryRender) {
  MetricsRegistry registry;
  auto& workers = registry.AddGauge("w_workers", "W", {});
  auto& connects = registry.AddCounter("w_connects_total", "C", {"endpoint"});
  int scrapes = 0;
  registry.AddCollector([&] {
    ++scrapes;
    workers.Set({}, 2 * scrapes);
    connects.Set({"a:443"}, 10 * scrapes);
  });
  EXPECT_EQ(scrapes, 0);
  EXPECT_EQ(registry.RenderText(),
            "# HELP w_workers W\n# TYPE w_workers gauge\nw_workers 2\n"
            "# HELP w_connects_total C\n# TYPE w_connects_total counter\n"
            "w_connects_total{endpoint=\"a:443\"} 10\n");
  EXPECT_THAT(registry.RenderText(), HasSubstr("w_workers 4\n"));
  EXPECT_EQ(scrapes, 2);
}

TEST(MetricsRegistryTest, FamiliesWithoutSeriesStillRenderHelpAndType) {
  MetricsRegistry registry;
  registry.AddHistogram("h_seconds", "H", {"method"}, {1});
  EXPECT_EQ(registry.RenderText(),
            "# HELP h_seconds H\n# TYPE h_seconds histogram\n");
}

}  // namespace
}  // namespace callpush
