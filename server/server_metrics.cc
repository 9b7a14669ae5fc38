#include "server/server_metrics.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace callpush {
namespace {

constexpr size_t kMaxReasonBytes = 64;

const char* OutcomeName(PushResult::Outcome outcome) {
  switch (outcome) {
    case PushResult::Outcome::kAccepted:
      return "accepted";
    case PushResult::Outcome::kRejected:
      return "rejected";
    case PushResult::Outcome::kFailed:
      return "failed";
  }
  return "failed";
}

bool IsWord(absl::string_view s) {
  if (s.empty() || s.size() > kMaxReasonBytes) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

// Whole seconds: the exposition prints 9 significant digits of fractions.
double UnixSeconds(absl::Time t) {
  return static_cast<double>(absl::ToUnixSeconds(t));
}

}  // namespace

std::string PushReasonLabel(const PushResult& result) {
  if (result.outcome == PushResult::Outcome::kAccepted) return "";
  if (IsWord(result.reason)) return result.reason;
  const absl::string_view head =
      absl::string_view(result.reason).substr(0, result.reason.find(':'));
  std::string out;
  for (char c : head) {
    if (absl::ascii_isalnum(c)) {
      out.push_back(absl::ascii_tolower(c));
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
    if (out.size() >= kMaxReasonBytes) break;
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "unknown" : out;
}

ServerMetrics::ServerMetrics(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services)
    : grpc_requests_(registry_.AddCounter(
          "callpush_grpc_requests_total",
          "gRPC requests answered, by full method name and status code",
          {"method", "code"})),
      grpc_latency_(registry_.AddHistogram(
          "callpush_grpc_request_duration_seconds",
          "Time from a gRPC request's arrival to its status",
          {"method", "code"}, MetricsRegistry::LatencyBuckets())),
      push_attempts_(registry_.AddCounter(
          "callpush_push_attempts_total",
          "Pushes answered (each with at most one resend inside), by "
          "provider, kind, outcome and reason (\"\" when accepted)",
          {"provider", "kind", "outcome", "reason"})),
      push_latency_(registry_.AddHistogram(
          "callpush_push_provider_duration_seconds",
          "Time from handing a push to the provider client to its answer "
          "(resends included)",
          {"provider", "outcome"}, MetricsRegistry::LatencyBuckets())),
      pushes_in_flight_(registry_.AddGauge("callpush_pushes_in_flight",
                                           "Pushes sent and not yet answered",
                                           {"provider"})),
      provider_connections_(
          registry_.AddGauge("callpush_provider_connections",
                             "Ready HTTP/2 connections to a provider endpoint",
                             {"provider", "endpoint"})),
      provider_connects_(registry_.AddCounter(
          "callpush_provider_connects_total",
          "HTTP/2 connections established to a provider endpoint",
          {"provider", "endpoint"})),
      provider_connect_failures_(registry_.AddCounter(
          "callpush_provider_connect_failures_total",
          "Failed connection attempts to a provider endpoint",
          {"provider", "endpoint"})),
      provider_goaways_(registry_.AddCounter(
          "callpush_provider_goaways_total",
          "GOAWAY frames received from a provider", {"provider", "endpoint"})),
      provider_stream_resets_(registry_.AddCounter(
          "callpush_provider_stream_resets_total",
          "Streams reset: refused by the provider (refused_stream) or by us "
          "at the push deadline (deadline)",
          {"provider", "endpoint", "reason"})),
      provider_resent_(registry_.AddCounter(
          "callpush_provider_resent_total",
          "Requests the provider did not process, resent on another "
          "connection",
          {"provider", "endpoint"})),
      token_invalidations_(registry_.AddCounter(
          "callpush_token_invalidations_total",
          "Push tokens the provider called dead, cleared from the store",
          {"provider"})),
      token_refreshes_(registry_.AddCounter(
          "callpush_token_refreshes_total",
          "Provider credential renewals: APNs provider token signed, FCM "
          "OAuth access token fetched",
          {"provider", "app", "outcome"})),
      token_last_success_(registry_.AddGauge(
          "callpush_token_last_refresh_success_timestamp_seconds",
          "Unix time of the last successful credential renewal",
          {"provider", "app"})),
      certificate_expiry_(registry_.AddGauge(
          "callpush_certificate_expiry_timestamp_seconds",
          "Unix time at which an app's APNs client certificate expires",
          {"app"})),
      db_connections_(registry_.AddGauge(
          "callpush_db_pool_connections",
          "Database pool connections: connected, and busy running a query",
          {"state"})),
      db_workers_(registry_.AddGauge("callpush_db_pool_workers",
                                     "Database pool workers (one connection "
                                     "each)",
                                     {})),
      db_queue_(registry_.AddGauge("callpush_db_pool_queue_length",
                                   "Database jobs waiting for a free worker",
                                   {})),
      db_errors_(registry_.AddCounter(
          "callpush_db_errors_total",
          "Database operations that failed (connection or query errors)", {})),
      ready_(registry_.AddGauge(
          "callpush_ready",
          "1 while the health service reports callpush.v1.CallService "
          "SERVING, else 0",
          {})) {
  for (const google::protobuf::ServiceDescriptor* service : services) {
    for (int i = 0; i < service->method_count(); ++i) {
      methods_.emplace(absl::StrCat("/", service->full_name(), "/",
                                    service->method(i)->name()),
                       std::make_unique<MethodSeries>());
    }
  }
  // Present from the start, so that dashboards see 0 rather than nothing.
  for (const char* provider : {"apns", "fcm", "none"}) {
    pushes_in_flight_.Set({provider}, 0);
  }
}

void ServerMetrics::OnRpcDone(const RpcRecord& rpc) {
  const double seconds = absl::ToDoubleSeconds(rpc.latency);
  const int code = static_cast<int>(rpc.code);
  auto it = methods_.find(rpc.method);
  if (it == methods_.end() || code < 0 || code >= kCodes) {
    const LabelValues labels = {std::string(rpc.method),
                                std::string(GrpcCodeName(rpc.code))};
    grpc_requests_.Increment(labels);
    grpc_latency_.Observe(labels, seconds);
    return;
  }
  MethodSeries& m = *it->second;
  MetricFamily::Series* requests =
      m.requests[code].load(std::memory_order_acquire);
  MetricFamily::Series* latency =
      m.latency[code].load(std::memory_order_acquire);
  if (requests == nullptr || latency == nullptr) {
    // First use of this (method, code): WithLabels answers the same series
    // to every thread that races here.
    const LabelValues labels = {std::string(rpc.method),
                                std::string(GrpcCodeName(rpc.code))};
    requests = &grpc_requests_.WithLabels(labels);
    latency = &grpc_latency_.WithLabels(labels);
    m.requests[code].store(requests, std::memory_order_release);
    m.latency[code].store(latency, std::memory_order_release);
  }
  requests->Increment();
  latency->Observe(seconds);
}

void ServerMetrics::OnPushSent(const std::string& provider) {
  pushes_in_flight_.Increment({provider});
}

void ServerMetrics::OnPushResult(const std::string& provider, PushKind kind,
                                 const PushResult& result) {
  pushes_in_flight_.Increment({provider}, -1);
  const std::string& answered_by =
      result.provider.empty() ? provider : result.provider;
  const char* outcome = OutcomeName(result.outcome);
  push_attempts_.Increment(
      {answered_by, PushKindName(kind), outcome, PushReasonLabel(result)});
  // "none" is no provider: nothing went over the wire.
  if (answered_by != "none") {
    push_latency_.Observe({answered_by, outcome},
                          absl::ToDoubleSeconds(result.latency));
  }
}

void ServerMetrics::OnTokenInvalidated(const std::string& provider) {
  token_invalidations_.Increment({provider});
}

void ServerMetrics::OnTokenRefresh(const std::string& provider,
                                   const std::string& app, bool ok,
                                   absl::Time at) {
  token_refreshes_.Increment({provider, app, ok ? "success" : "failure"});
  if (ok) token_last_success_.Set({provider, app}, UnixSeconds(at));
}

void ServerMetrics::SetCertificateExpiries(
    const std::map<std::string, absl::Time>& apps) {
  for (const auto& [app, not_after] : apps) {
    certificate_expiry_.Set({app}, UnixSeconds(not_after));
  }
}

void ServerMetrics::CollectProviderPools(
    std::function<std::vector<ProviderPoolStats>()> pools) {
  registry_.AddCollector([this, pools = std::move(pools)] {
    // Pools that share a label pair (one endpoint with two TLS setups)
    // add up.
    std::map<std::pair<std::string, std::string>, http2::PoolStats> sums;
    for (const ProviderPoolStats& p : pools()) {
      http2::PoolStats& s = sums[{p.provider, p.endpoint}];
      s.connections_ready += p.stats.connections_ready;
      s.connects += p.stats.connects;
      s.connect_failures += p.stats.connect_failures;
      s.goaways += p.stats.goaways;
      s.refused_streams += p.stats.refused_streams;
      s.deadline_resets += p.stats.deadline_resets;
      s.resent += p.stats.resent;
    }
    for (const auto& [key, s] : sums) {
      const LabelValues labels = {key.first, key.second};
      provider_connections_.Set(labels, s.connections_ready);
      provider_connects_.Set(labels, s.connects);
      provider_connect_failures_.Set(labels, s.connect_failures);
      provider_goaways_.Set(labels, s.goaways);
      provider_stream_resets_.Set({key.first, key.second, "refused_stream"},
                                  s.refused_streams);
      provider_stream_resets_.Set({key.first, key.second, "deadline"},
                                  s.deadline_resets);
      provider_resent_.Set(labels, s.resent);
    }
  });
}

void ServerMetrics::CollectDbPool(std::function<PgPoolStats()> pool) {
  registry_.AddCollector([this, pool = std::move(pool)] {
    const PgPoolStats s = pool();
    db_connections_.Set({"connected"}, s.connected);
    db_connections_.Set({"busy"}, s.busy);
    db_workers_.Set({}, s.workers);
    db_queue_.Set({}, static_cast<double>(s.queued));
    db_errors_.Set({}, static_cast<double>(s.errors));
  });
}

void ServerMetrics::CollectReadiness(std::function<bool()> ready) {
  registry_.AddCollector(
      [this, ready = std::move(ready)] { ready_.Set({}, ready() ? 1 : 0); });
}

}  // namespace callpush
