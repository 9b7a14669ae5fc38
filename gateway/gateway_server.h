// GatewayServer: the JSON gateway as one running unit (routes of
// callpush.v1.CallService, auth, metrics, the HTTP/1.1 server), used the same
// way by callpush-gateway (channel to a remote server) and callpush-server
// (its in-process channel).
#ifndef CALLPUSH_GATEWAY_GATEWAY_SERVER_H_
#define CALLPUSH_GATEWAY_GATEWAY_SERVER_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/base/metrics_registry.h"
#include "gateway/gateway.h"
#include "gateway/http_server.h"
#include "gateway/route_table.h"

namespace callpush::gateway {

struct GatewayOptions {
  HttpServerOptions http;
  GatewayHandlerOptions handler;
  // One accepted bearer token per line; empty: no auth.
  std::string auth_tokens_file;
  // Allows listening beyond loopback without auth (behind a trusted proxy
  // that authenticates). Off by default.
  bool insecure_no_auth = false;
  // Where the gateway's own families live; null: a registry of its own.
  // callpush-server passes one that its metrics listener renders too, and
  // that outlives the gateway.
  MetricsRegistry* metrics = nullptr;
};

class GatewayServer {
 public:
  // FailedPrecondition when asked to listen beyond loopback without auth;
  // InvalidArgument for a bad address or tokens file; Unavailable when the
  // port cannot be bound.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(
      std::shared_ptr<grpc::Channel> channel, GatewayOptions options);
  ~GatewayServer();

  int port() const { return http_->port(); }
  bool auth_enabled() const { return auth_enabled_; }
  // Stops accepting, lets answers in progress finish (up to `grace`).
  void Stop(absl::Duration grace);

 private:
  GatewayServer() = default;

  std::unique_ptr<RouteTable> routes_;
  MetricsRegistry own_metrics_;
  std::unique_ptr<Gateway> handler_;
  std::unique_ptr<HttpServer> http_;
  bool auth_enabled_ = false;
};

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_GATEWAY_SERVER_H_
