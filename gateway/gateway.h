// Gateway: the HTTP handler that serves the routes of a RouteTable by calling
// the gRPC methods behind them (async callback API over any channel: TCP to a
// separate server, or the server's in-process channel), plus /healthz,
// /readyz and /metrics. It maps results exactly as DESIGN section 2 says:
// the route's success code and empty bodies from our http_response option,
// gRPC errors through HttpStatusFromGrpc, `{"error": ...}` bodies.
//
// Never blocks an I/O thread. The destructor waits for RPCs in flight (each
// bounded by the request deadline).
#ifndef CALLPUSH_GATEWAY_GATEWAY_H_
#define CALLPUSH_GATEWAY_GATEWAY_H_

#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/base/metrics_registry.h"
#include "gateway/bearer_auth.h"
#include "gateway/http_handler.h"
#include "gateway/route_table.h"

namespace callpush::gateway {

struct GatewayHandlerOptions {
  // Deadline of each RPC (and so of each answer).
  absl::Duration deadline = absl::Seconds(2);
  // The health-check service name /readyz asks the backend about.
  std::string readiness_service = "callpush.v1.CallService";
  // Rendered after the gateway's own on /metrics (the server's registry
  // when the gateway runs in-process, so that one scrape sees both). Each
  // must outlive the gateway.
  std::vector<const MetricsRegistry*> more_metrics;
};

class Gateway final : public HttpHandler {
 public:
  // `auth` empty: no authentication. `routes` and `metrics` must outlive
  // the gateway.
  Gateway(std::shared_ptr<grpc::Channel> channel, const RouteTable& routes,
          std::optional<BearerAuth> auth, MetricsRegistry& metrics,
          GatewayHandlerOptions options);
  ~Gateway() override;

  void Handle(HttpRequest request, Responder respond) override;
  HttpResponse Rejected(int status, absl::string_view message,
                        absl::string_view request_id) override;

 private:
  struct Exchange;  // one request being served

  void CallBackend(std::shared_ptr<Exchange> ex);
  void Ready(std::shared_ptr<Exchange> ex);
  void Finish(Exchange& ex, HttpResponse res);

  const std::shared_ptr<grpc::Channel> channel_;
  const RouteTable& routes_;
  const std::optional<BearerAuth> auth_;
  const GatewayHandlerOptions options_;
  grpc::TemplatedGenericStub<google::protobuf::Message,
                             google::protobuf::Message>
      stub_;
  grpc::GenericStub health_stub_;  // grpc.health.v1 has no C++ stub here
  MetricFamily& requests_;
  MetricFamily& latency_;
  MetricsRegistry& metrics_;

  absl::Mutex mu_;
  int rpcs_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_GATEWAY_H_
