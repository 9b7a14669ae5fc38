#include "gateway/gateway_server.h"

#include "absl/strings/str_cat.h"
#include "callpush/v1/call_service.pb.h"

namespace callpush::gateway {

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    std::shared_ptr<grpc::Channel> channel, GatewayOptions options) {
  auto loopback = HttpServer::IsLoopbackAddress(options.http.address);
  if (!loopback.ok()) return loopback.status();
  std::optional<BearerAuth> auth;
  if (!options.auth_tokens_file.empty()) {
    auto loaded = BearerAuth::Load(options.auth_tokens_file);
    if (!loaded.ok()) return loaded.status();
    auth = *std::move(loaded);
  } else if (!*loopback && !options.insecure_no_auth) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to serve HTTP on ", options.http.address,
        " (beyond loopback) without auth: give a bearer tokens file, or "
        "start with the insecure flag behind a proxy that authenticates"));
  }
  auto routes = RouteTable::Build(
      {callpush::v1::CallRequest::descriptor()->file()->FindServiceByName(
          "CallService")});
  if (!routes.ok()) return routes.status();

  auto server = std::unique_ptr<GatewayServer>(new GatewayServer());
  server->auth_enabled_ = auth.has_value();
  server->routes_ = *std::move(routes);
  server->handler_ = std::make_unique<Gateway>(
      std::move(channel), *server->routes_, std::move(auth),
      options.metrics != nullptr ? *options.metrics : server->own_metrics_,
      options.handler);
  auto http = HttpServer::Start(options.http, *server->handler_);
  if (!http.ok()) return http.status();
  server->http_ = *std::move(http);
  return server;
}

GatewayServer::~GatewayServer() { Stop(absl::ZeroDuration()); }

void GatewayServer::Stop(absl::Duration grace) {
  if (http_ != nullptr) http_->Stop(grace);
}

}  // namespace callpush::gateway
