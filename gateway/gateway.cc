#include "gateway/gateway.h"

#include <google/protobuf/message.h>
#include <grpcpp/client_context.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/base/log.h"
#include "gateway/http_status.h"
#include "gateway/request_id.h"
#include "gateway/transcoder.h"

namespace callpush::gateway {
namespace http = boost::beast::http;

struct Gateway::Exchange {
  HttpRequest request;
  Responder respond;
  std::string request_id;
  absl::Time start;
  std::string route_label;
  const Route* route = nullptr;
  grpc::ClientContext context;
  std::unique_ptr<google::protobuf::Message> rpc_request;
  std::unique_ptr<google::protobuf::Message> rpc_response;
  grpc::ByteBuffer health_request, health_response;
};

namespace {

absl::string_view View(boost::beast::string_view s) {
  return absl::string_view(s.data(), s.size());
}

HttpResponse JsonResponse(int status, unsigned version, std::string body) {
  HttpResponse res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

HttpResponse EmptyResponse(int status, unsigned version) {
  return HttpResponse{static_cast<http::status>(status), version};
}

grpc::ByteBuffer HealthRequest(const std::string& service) {
  // HealthCheckRequest{service = 1}
  std::string bytes;
  bytes += static_cast<char>(0x0A);
  bytes += static_cast<char>(service.size());  // names here are < 128 bytes
  bytes += service;
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// HealthCheckResponse.status (field 1, varint); SERVING is 1.
bool IsServing(const grpc::ByteBuffer& response) {
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes.size() == 2 && bytes[0] == 0x08 && bytes[1] == 0x01;
}

}  // namespace

Gateway::Gateway(std::shared_ptr<grpc::Channel> channel,
                 const RouteTable& routes, std::optional<BearerAuth> auth,
                 MetricsRegistry& metrics, GatewayHandlerOptions options)
    : channel_(channel),
      routes_(routes),
      auth_(std::move(auth)),
      options_(std::move(options)),
      stub_(channel),
      health_stub_(channel),
      requests_(metrics.AddCounter("callpush_http_requests_total",
                                   "HTTP requests answered by the gateway",
                                   {"route", "status"})),
      latency_(metrics.AddHistogram(
          "callpush_http_request_duration_seconds",
          "Time from a complete HTTP request to its answer",
          {"route", "status"}, MetricsRegistry::LatencyBuckets())),
      metrics_(metrics) {}

Gateway::~Gateway() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return rpcs_in_flight_ == 0;
  };
  mu_.Await(absl::Condition(&idle));
}

void Gateway::Handle(HttpRequest request, Responder respond) {
  auto ex = std::make_shared<Exchange>();
  ex->start = absl::Now();
  ex->request_id = RequestIdFor(View(request["x-request-id"]));
  ex->respond = std::move(respond);
  ex->request = std::move(request);
  const unsigned version = ex->request.version();

  absl::string_view target = View(ex->request.target());
  const size_t q = target.find('?');
  const absl::string_view path = target.substr(0, q);
  const absl::string_view query =
      q == absl::string_view::npos ? "" : target.substr(q + 1);
  const absl::string_view method = View(ex->request.method_string());

  // Probes and scrapes carry no credentials (kubelet, Prometheus).
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    ex->route_label = std::string(path);
    if (method != "GET") {
      HttpResponse res = JsonResponse(405, version, ErrorJson("use GET"));
      res.set(http::field::allow, "GET");
      return Finish(*ex, std::move(res));
    }
    if (path == "/healthz") {
      return Finish(*ex, JsonResponse(200, version, "{\"status\":\"ok\"}"));
    }
    if (path == "/metrics") {
      HttpResponse res = EmptyResponse(200, version);
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = metrics_.RenderText();
      for (const MetricsRegistry* more : options_.more_metrics) {
        res.body() += more->RenderText();
      }
      return Finish(*ex, std::move(res));
    }
    return Ready(std::move(ex));
  }

  if (auth_.has_value() &&
      !auth_->Allows(View(ex->request[http::field::authorization]))) {
    ex->route_label = "unauthenticated";
    HttpResponse res = JsonResponse(
        401, version, ErrorJson("missing or invalid bearer token"));
    res.set(http::field::www_authenticate, "Bearer");
    return Finish(*ex, std::move(res));
  }

  RouteTable::Match match = routes_.Find(method, path);
  if (match.kind == RouteTable::Match::kNoPath) {
    ex->route_label = "unmatched";
    return Finish(*ex,
                  JsonResponse(404, version,
                               ErrorJson(absl::StrCat("no such resource: ",
                                                      path.substr(0, 200)))));
  }
  if (match.kind == RouteTable::Match::kWrongMethod) {
    ex->route_label = "unmatched";
    HttpResponse res =
        JsonResponse(405, version,
                     ErrorJson(absl::StrCat("method not allowed; use ",
                                            match.allowed_methods)));
    res.set(http::field::allow, match.allowed_methods);
    return Finish(*ex, std::move(res));
  }
  ex->route = match.route;
  ex->route_label = match.route->path_template;

  BodyFormat format = BodyFormat::kJson;
  if (!match.route->body.empty() && !ex->request.body().empty()) {
    auto f = BodyFormatFor(View(ex->request[http::field::content_type]),
                           ex->request.body());
    if (!f.has_value()) {
      return Finish(
          *ex, JsonResponse(415, version,
                            ErrorJson("Content-Type must be application/json "
                                      "or application/x-www-form-urlencoded")));
    }
    format = *f;
  }
  auto* factory = google::protobuf::MessageFactory::generated_factory();
  ex->rpc_request.reset(
      factory->GetPrototype(match.route->method->input_type())->New());
  ex->rpc_response.reset(
      factory->GetPrototype(match.route->method->output_type())->New());
  absl::Status built = BuildRequest(*match.route, match.bindings, query, format,
                                    ex->request.body(), ex->rpc_request.get());
  if (!built.ok()) {
    return Finish(*ex, JsonResponse(400, version, ErrorJson(built.message())));
  }
  CallBackend(std::move(ex));
}

void Gateway::CallBackend(std::shared_ptr<Exchange> ex) {
  ex->context.set_deadline(absl::ToChronoTime(ex->start + options_.deadline));
  ex->context.AddMetadata("x-request-id", ex->request_id);
  std::string traceparent = SaneTraceparent(View(ex->request["traceparent"]));
  if (!traceparent.empty()) {
    ex->context.AddMetadata("traceparent", traceparent);
    absl::string_view state = View(ex->request["tracestate"]);
    if (!state.empty() && state.size() <= 512) {
      ex->context.AddMetadata("tracestate", std::string(state));
    }
  }
  {
    absl::MutexLock lock(&mu_);
    ++rpcs_in_flight_;
  }
  Exchange* raw = ex.get();
  stub_.UnaryCall(
      &raw->context, raw->route->grpc_method, grpc::StubOptions(),
      raw->rpc_request.get(), raw->rpc_response.get(),
      [this, ex = std::move(ex)](grpc::Status status) {
        const Route& route = *ex->route;
        const unsigned version = ex->request.version();
        HttpResponse res;
        if (status.ok()) {
          const int code = route.response_rule.success_code();
          if (route.response_rule.empty_success_body()) {
            res = EmptyResponse(code, version);
          } else {
            auto json = ResponseJson(route, *ex->rpc_response);
            res = json.ok() ? JsonResponse(code, version, *std::move(json))
                            : JsonResponse(500, version,
                                           ErrorJson(json.status().message()));
          }
        } else {
          const int code = HttpStatusFromGrpc(status.error_code());
          bool empty = false;
          for (int c : route.response_rule.empty_body_statuses()) {
            empty |= c == code;
          }
          res = empty ? EmptyResponse(code, version)
                      : JsonResponse(code, version,
                                     ErrorJson(status.error_message()));
        }
        Finish(*ex, std::move(res));
        absl::MutexLock lock(&mu_);
        --rpcs_in_flight_;
      });
}

void Gateway::Ready(std::shared_ptr<Exchange> ex) {
  ex->context.set_deadline(absl::ToChronoTime(
      absl::Now() + std::min(options_.deadline, absl::Seconds(1))));
  ex->health_request = HealthRequest(options_.readiness_service);
  {
    absl::MutexLock lock(&mu_);
    ++rpcs_in_flight_;
  }
  Exchange* raw = ex.get();
  health_stub_.UnaryCall(
      &raw->context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
      &raw->health_request, &raw->health_response,
      [this, ex = std::move(ex)](grpc::Status status) {
        const unsigned version = ex->request.version();
        if (status.ok() && IsServing(ex->health_response)) {
          Finish(*ex, JsonResponse(200, version, "{\"status\":\"ready\"}"));
        } else {
          Finish(*ex,
                 JsonResponse(
                     503, version,
                     ErrorJson(status.ok()
                                   ? "not ready: the database is unreachable "
                                     "or push credentials are not loaded"
                                   : absl::StrCat("not ready: ",
                                                  status.error_message()))));
        }
        absl::MutexLock lock(&mu_);
        --rpcs_in_flight_;
      });
}

void Gateway::Finish(Exchange& ex, HttpResponse res) {
  res.set("x-request-id", ex.request_id);
  const int status = res.result_int();
  const std::string code = std::to_string(status);
  requests_.Increment({ex.route_label, code});
  const absl::Duration took = absl::Now() - ex.start;
  latency_.Observe({ex.route_label, code}, absl::ToDoubleSeconds(took));
  // The route's template, never the target: query strings carry mobile
  // numbers.
  Log(LogLevel::kInfo, "http request",
      {{"request_id", ex.request_id},
       {"method", std::string(ex.request.method_string())},
       {"route", ex.route_label},
       {"status", code},
       {"latency_ms",
        absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(took))}});
  ex.respond(std::move(res));
}

HttpResponse Gateway::Rejected(int status, absl::string_view message,
                               absl::string_view request_id) {
  HttpResponse res = JsonResponse(status, 11, ErrorJson(message));
  res.set("x-request-id", RequestIdFor(request_id));
  requests_.Increment({"rejected", std::to_string(status)});
  return res;
}

}  // namespace callpush::gateway
