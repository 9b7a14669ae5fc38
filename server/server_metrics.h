// ServerMetrics: every Prometheus family of callpush-server, in one
// MetricsRegistry (served on metricsAddress and after the in-process
// gateway's own). The names and labels are a contract with the dashboard
// and the alert rules: change none without them.
//
// Fed three ways: as the RpcObserver of the interceptor (requests), as the
// PushObserver of the coordinator and the provider sender (pushes, dead
// tokens, credential refreshes), and by collectors that read pools and
// readiness when /metrics is scraped.
//
// Thread-safe. The Collect*/Set* calls are made once, at start-up, before
// the first scrape; the sources they read must outlive every scrape.
#ifndef CALLPUSH_SERVER_SERVER_METRICS_H_
#define CALLPUSH_SERVER_SERVER_METRICS_H_

#include <google/protobuf/descriptor.h>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "clients/base/metrics_registry.h"
#include "server/pg/pg_pool.h"
#include "server/provider_push_sender.h"
#include "server/push_observer.h"
#include "server/rpc_observer.h"

namespace callpush {

class ServerMetrics final : public RpcObserver, public PushObserver {
 public:
  // The methods of `services` get their request series resolved once per
  // (method, code) and then updated without a lookup; other methods (the
  // health service) take the ordinary path.
  explicit ServerMetrics(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services =
          {});
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  MetricsRegistry& registry() { return registry_; }
  const MetricsRegistry& registry() const { return registry_; }

  // RpcObserver: callpush_grpc_requests_total and
  // callpush_grpc_request_duration_seconds.
  void OnRpcDone(const RpcRecord& rpc) override;

  // PushObserver: callpush_push_attempts_total,
  // callpush_push_provider_duration_seconds, callpush_pushes_in_flight,
  // callpush_token_invalidations_total, callpush_token_refreshes_total,
  // callpush_token_last_refresh_success_timestamp_seconds.
  void OnPushSent(const std::string& provider) override;
  void OnPushResult(const std::string& provider, PushKind kind,
                    const PushResult& result) override;
  void OnTokenInvalidated(const std::string& provider) override;
  void OnTokenRefresh(const std::string& provider, const std::string& app,
                      bool ok, absl::Time at) override;

  // callpush_certificate_expiry_timestamp_seconds{app}.
  void SetCertificateExpiries(const std::map<std::string, absl::Time>& apps);
  // callpush_provider_*{provider,endpoint}, read at every scrape.
  void CollectProviderPools(
      std::function<std::vector<ProviderPoolStats>()> pools);
  // callpush_db_pool_* and callpush_db_errors_total, read at every scrape.
  void CollectDbPool(std::function<PgPoolStats()> pool);
  // callpush_ready: 1 while `ready()` says CallService is SERVING.
  void CollectReadiness(std::function<bool()> ready);

 private:
  static constexpr int kCodes = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED
  // The resolved series of one method, filled in on first use of a code.
  struct MethodSeries {
    std::array<std::atomic<MetricFamily::Series*>, kCodes> requests{};
    std::array<std::atomic<MetricFamily::Series*>, kCodes> latency{};
  };

  MetricsRegistry registry_;
  MetricFamily& grpc_requests_;
  MetricFamily& grpc_latency_;
  MetricFamily& push_attempts_;
  MetricFamily& push_latency_;
  MetricFamily& pushes_in_flight_;
  MetricFamily& provider_connections_;
  MetricFamily& provider_connects_;
  MetricFamily& provider_connect_failures_;
  MetricFamily& provider_goaways_;
  MetricFamily& provider_stream_resets_;
  MetricFamily& provider_resent_;
  MetricFamily& token_invalidations_;
  MetricFamily& token_refreshes_;
  MetricFamily& token_last_success_;
  MetricFamily& certificate_expiry_;
  MetricFamily& db_connections_;
  MetricFamily& db_workers_;
  MetricFamily& db_queue_;
  MetricFamily& db_errors_;
  MetricFamily& ready_;
  // Constant after construction (so read without a lock).
  absl::flat_hash_map<std::string, std::unique_ptr<MethodSeries>> methods_;
};

// The reason label of a push attempt: "" when accepted; the provider's
// reason or ours when it is one word ("BadDeviceToken", "unavailable");
// else the text before its first ':' in snake case, at most 64 bytes
// ("cannot sign the APNs provider token: ..." ->
// "cannot_sign_the_apns_provider_token"), so that error details never
// multiply the series.
std::string PushReasonLabel(const PushResult& result);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_SERVER_METRICS_H_
