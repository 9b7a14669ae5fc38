// MetricsRegistry: counters, gauges and histograms with labels, rendered in
// the Prometheus text exposition format (version 0.0.4). One registry per
// process part (gateway, server); families are created at start-up and live
// as long as the registry.
//
// Thread-safe: Increment/Set/Observe may run on any thread concurrently with
// RenderText. A metric never drives logic; it only reports.
#ifndef CALLPUSH_CLIENTS_BASE_METRICS_REGISTRY_H_
#define CALLPUSH_CLIENTS_BASE_METRICS_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace callpush {

using LabelValues = std::vector<std::string>;

// One named metric with a fixed list of label names. Series (one per label
// value tuple) appear on first use.
class MetricFamily {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  MetricFamily(std::string name, std::string help, Type type,
               std::vector<std::string> label_names,
               std::vector<double> bucket_bounds);
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // Counters: adds `value` (>= 0).
  void Increment(const LabelValues& labels, double value = 1);
  // Gauges: replaces the value.
  void Set(const LabelValues& labels, double value);
  // Histograms: counts `value` into its bucket.
  void Observe(const LabelValues& labels, double value);

  void Render(std::string& out) const;

 private:
  struct Series {
    double value = 0;               // counter / gauge
    std::vector<uint64_t> buckets;  // histogram: per bound, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  Series& SeriesFor(const LabelValues& labels)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // ascending; +Inf is implicit
  mutable absl::Mutex mu_;
  std::map<LabelValues, Series> series_ ABSL_GUARDED_BY(mu_);
};

class MetricsRegistry {
 public:
  MetricFamily& AddCounter(std::string name, std::string help,
                           std::vector<std::string> label_names);
  MetricFamily& AddGauge(std::string name, std::string help,
                         std::vector<std::string> label_names);
  MetricFamily& AddHistogram(std::string name, std::string help,
                             std::vector<std::string> label_names,
                             std::vector<double> bucket_bounds);

  // The whole registry as Prometheus text.
  std::string RenderText() const;

  // Latency buckets in seconds suited to request and push latencies
  // (0.5 ms .. 10 s).
  static std::vector<double> LatencyBuckets();

 private:
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<MetricFamily>> families_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_BASE_METRICS_REGISTRY_H_
