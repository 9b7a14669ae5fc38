// MetricsHttpHandler: the HttpHandler of callpush-server's metrics listener
// (metricsAddress): GET /metrics renders its registries one after the other
// as Prometheus text (version 0.0.4), GET /healthz answers 200 while the
// process runs; anything else is 404 (405 for another method). No auth:
// the address is for scrapers and kubelet, like the gateway's probes.
#ifndef CALLPUSH_SERVER_METRICS_HTTP_HANDLER_H_
#define CALLPUSH_SERVER_METRICS_HTTP_HANDLER_H_

#include <vector>

#include "clients/base/metrics_registry.h"
#include "gateway/http_handler.h"

namespace callpush {

class MetricsHttpHandler final : public gateway::HttpHandler {
 public:
  // The registries must outlive the handler.
  explicit MetricsHttpHandler(std::vector<const MetricsRegistry*> registries);

  // Answers inline: rendering reads counters and runs quick collectors.
  void Handle(gateway::HttpRequest request,
              gateway::Responder respond) override;
  gateway::HttpResponse Rejected(int status, absl::string_view message,
                                 absl::string_view request_id) override;

 private:
  const std::vector<const MetricsRegistry*> registries_;
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_METRICS_HTTP_HANDLER_H_
