#include "server/metrics_http_handler.h"

#include <string>
#include <utility>

#include "gateway/transcoder.h"

namespace callpush {
namespace {

namespace http = boost::beast::http;

gateway::HttpResponse Answer(int status, unsigned version,
                             absl::string_view content_type, std::string body) {
  gateway::HttpResponse res{static_cast<http::status>(status), version};
  res.set(http::field::content_type,
          boost::beast::string_view(content_type.data(), content_type.size()));
  res.body() = std::move(body);
  return res;
}

}  // namespace

MetricsHttpHandler::MetricsHttpHandler(
    std::vector<const MetricsRegistry*> registries)
    : registries_(std::move(registries)) {}

void MetricsHttpHandler::Handle(gateway::HttpRequest request,
                                gateway::Responder respond) {
  const unsigned version = request.version();
  const boost::beast::string_view target = request.target();
  const boost::beast::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics" && path != "/healthz") {
    respond(Answer(404, version, "application/json",
                   gateway::ErrorJson("no such resource; use /metrics")));
    return;
  }
  if (request.method() != http::verb::get) {
    gateway::HttpResponse res =
        Answer(405, version, "application/json", gateway::ErrorJson("use GET"));
    res.set(http::field::allow, "GET");
    respond(std::move(res));
    return;
  }
  if (path == "/healthz") {
    respond(Answer(200, version, "application/json", "{\"status\":\"ok\"}"));
    return;
  }
  std::string text;
  for (const MetricsRegistry* registry : registries_) {
    text += registry->RenderText();
  }
  respond(Answer(200, version, "text/plain; version=0.0.4", std::move(text)));
}

gateway::HttpResponse MetricsHttpHandler::Rejected(
    int status, absl::string_view message, absl::string_view request_id) {
  return Answer(status, 11, "application/json", gateway::ErrorJson(message));
}

}  // namespace callpush
