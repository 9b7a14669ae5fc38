#include "clients/base/metrics_registry.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace callpush {
namespace {

// Label values are escaped as the exposition format requires.
std::string EscapeLabel(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return absl::StrFormat("%.0f", v);
  }
  return absl::StrFormat("%.9g", v);
}

// {a="x",b="y"} plus an optional extra label (histogram "le").
std::string Labels(const std::vector<std::string>& names,
                   const LabelValues& values, const std::string& extra_name,
                   const std::string& extra_value) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"",
                    EscapeLabel(i < values.size() ? values[i] : ""), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, out.empty() ? "" : ",", extra_name, "=\"",
                    extra_value, "\"");
  }
  return out.empty() ? "" : absl::StrCat("{", out, "}");
}

}  // namespace

MetricFamily::MetricFamily(std::string name, std::string help, Type type,
                           std::vector<std::string> label_names,
                           std::vector<double> bucket_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      bounds_(std::move(bucket_bounds)) {}

MetricFamily::Series::Series(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(bounds.size(), 0) {}

void MetricFamily::Series::Increment(double value) {
  absl::MutexLock lock(&mu_);
  value_ += value;
}

void MetricFamily::Series::Set(double value) {
  absl::MutexLock lock(&mu_);
  value_ = value;
}

void MetricFamily::Series::Observe(double value) {
  const size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  absl::MutexLock lock(&mu_);
  if (bucket < buckets_.size()) ++buckets_[bucket];
  ++count_;
  sum_ += value;
}

MetricFamily::Series& MetricFamily::WithLabels(const LabelValues& labels) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Series>& s = series_[labels];
  if (s == nullptr) s.reset(new Series(bounds_));
  return *s;
}

void MetricFamily::Increment(const LabelValues& labels, double value) {
  WithLabels(labels).Increment(value);
}

void MetricFamily::Set(const LabelValues& labels, double value) {
  WithLabels(labels).Set(value);
}

void MetricFamily::Observe(const LabelValues& labels, double value) {
  WithLabels(labels).Observe(value);
}

void MetricFamily::Render(std::string& out) const {
  const char* type = type_ == Type::kCounter ? "counter"
                     : type_ == Type::kGauge ? "gauge"
                                             : "histogram";
  absl::StrAppend(&out, "# HELP ", name_, " ", help_, "\n# TYPE ", name_, " ",
                  type, "\n");
  absl::MutexLock lock(&mu_);
  for (const auto& [labels, series] : series_) {
    const Series& s = *series;
    absl::MutexLock series_lock(&s.mu_);
    if (type_ != Type::kHistogram) {
      absl::StrAppend(&out, name_, Labels(label_names_, labels, "", ""), " ",
                      FormatValue(s.value_), "\n");
      continue;
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += s.buckets_[i];
      absl::StrAppend(
          &out, name_, "_bucket",
          Labels(label_names_, labels, "le", FormatValue(bounds_[i])), " ",
          cumulative, "\n");
    }
    absl::StrAppend(&out, name_, "_bucket",
                    Labels(label_names_, labels, "le", "+Inf"), " ", s.count_,
                    "\n", name_, "_sum", Labels(label_names_, labels, "", ""),
                    " ", FormatValue(s.sum_), "\n", name_, "_count",
                    Labels(label_names_, labels, "", ""), " ", s.count_, "\n");
  }
}

MetricFamily& MetricsRegistry::AddCounter(
    std::string name, std::string help, std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  families_.push_back(std::make_unique<MetricFamily>(
      std::move(name), std::move(help), MetricFamily::Type::kCounter,
      std::move(label_names), std::vector<double>{}));
  return *families_.back();
}

MetricFamily& MetricsRegistry::AddGauge(std::string name, std::string help,
                                        std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  families_.push_back(std::make_unique<MetricFamily>(
      std::move(name), std::move(help), MetricFamily::Type::kGauge,
      std::move(label_names), std::vector<double>{}));
  return *families_.back();
}

MetricFamily& MetricsRegistry::AddHistogram(
    std::string name, std::string help, std::vector<std::string> label_names,
    std::vector<double> bucket_bounds) {
  std::sort(bucket_bounds.begin(), bucket_bounds.end());
  absl::MutexLock lock(&mu_);
  families_.push_back(std::make_unique<MetricFamily>(
      std::move(name), std::move(help), MetricFamily::Type::kHistogram,
      std::move(label_names), std::move(bucket_bounds)));
  return *families_.back();
}

void MetricsRegistry::AddCollector(std::function<void()> collect) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collect));
}

std::string MetricsRegistry::RenderText() const {
  std::vector<std::function<void()>> collectors;
  {
    absl::MutexLock lock(&mu_);
    collectors = collectors_;
  }
  // Outside mu_: a collector updates families, never the registry.
  for (const auto& collect : collectors) collect();
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& f : families_) f->Render(out);
  return out;
}

std::vector<double> MetricsRegistry::LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}

}  // namespace callpush
