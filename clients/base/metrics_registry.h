// MetricsRegistry: counters, gauges and histograms with labels, rendered in
// the Prometheus text exposition format (version 0.0.4). One registry per
// process part (gateway, server); families are created at start-up and live
// as long as the registry.
//
// Thread-safe: Increment/Set/Observe may run on any thread concurrently with
// RenderText. A metric never drives logic; it only reports. Hot paths
// resolve a series once (WithLabels) and keep the reference: updating it
// then takes only that series' lock, no lookup.
#ifndef CALLPUSH_CLIENTS_BASE_METRICS_REGISTRY_H_
#define CALLPUSH_CLIENTS_BASE_METRICS_REGISTRY_H_

#include <cstdint>
#include <functional>
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

  // One series: the value(s) of one label value tuple. Lives as long as its
  // family; thread-safe.
  class Series {
   public:
    Series(const Series&) = delete;
    Series& operator=(const Series&) = delete;

    // Counters: adds `value` (>= 0). Gauges: adds `value` (any sign).
    void Increment(double value = 1);
    // Gauges: replaces the value. Counters: only to mirror a cumulative
    // count kept elsewhere (read at scrape time).
    void Set(double value);
    // Histograms: counts `value` into its bucket.
    void Observe(double value);

   private:
    friend class MetricFamily;
    explicit Series(const std::vector<double>& bounds);

    const std::vector<double>& bounds_;  // the family's; ascending
    mutable absl::Mutex mu_;
    double value_ ABSL_GUARDED_BY(mu_) = 0;  // counter / gauge
    // Histogram: per bound, not cumulative.
    std::vector<uint64_t> buckets_ ABSL_GUARDED_BY(mu_);
    uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
    double sum_ ABSL_GUARDED_BY(mu_) = 0;
  };

  MetricFamily(std::string name, std::string help, Type type,
               std::vector<std::string> label_names,
               std::vector<double> bucket_bounds);
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // The series of `labels`, created on first use; the same reference every
  // time, valid as long as the family.
  Series& WithLabels(const LabelValues& labels) ABSL_LOCKS_EXCLUDED(mu_);

  // Shorthands for WithLabels(labels).Increment/Set/Observe.
  void Increment(const LabelValues& labels, double value = 1);
  void Set(const LabelValues& labels, double value);
  void Observe(const LabelValues& labels, double value);

  void Render(std::string& out) const;

 private:
  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // ascending; +Inf is implicit
  mutable absl::Mutex mu_;
  std::map<LabelValues, std::unique_ptr<Series>> series_ ABSL_GUARDED_BY(mu_);
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

  // Runs `collect` at the start of every RenderText, before any family is
  // rendered: for values read at scrape time (pool sizes, readiness), which
  // it Sets into this registry's families. It must be thread-safe (scrapes
  // may overlap), quick and non-blocking, and must not call RenderText.
  void AddCollector(std::function<void()> collect);

  // The whole registry as Prometheus text, collectors run first.
  std::string RenderText() const;

  // Latency buckets in seconds suited to request and push latencies
  // (0.5 ms .. 10 s).
  static std::vector<double> LatencyBuckets();

 private:
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<MetricFamily>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> collectors_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_BASE_METRICS_REGISTRY_H_
