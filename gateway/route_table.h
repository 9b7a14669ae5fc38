// RouteTable: the HTTP routes of a set of gRPC services, read from the
// `google.api.http` rules (and our `callpush.v1.http_response` option) in the
// compiled descriptors, so the gateway has no per-route code. Immutable after
// Build() and therefore safe to share between threads.
//
// Path templates: literal segments and single-segment variables `{field}` or
// `{a.b}` (bound to a request field). `**` and `{x=...}` patterns are not
// supported; Build() rejects them rather than routing wrongly.
#ifndef CALLPUSH_GATEWAY_ROUTE_TABLE_H_
#define CALLPUSH_GATEWAY_ROUTE_TABLE_H_

#include <google/protobuf/descriptor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "callpush/v1/http_options.pb.h"

namespace callpush::gateway {

struct Route {
  std::string http_method;    // "GET", "POST", ...
  std::string path_template;  // as written, e.g. "/v1/call"; metric label
  std::vector<std::string> segments;  // literal, or "{field.path}"
  std::string body;                   // "" none, "*" whole message, or a field
  std::string response_body;          // "" whole message, or a field
  std::string grpc_method;            // "/callpush.v1.CallService/Call"
  const google::protobuf::MethodDescriptor* method = nullptr;
  callpush::v1::HttpResponseRule response_rule;  // success code 200 if unset
};

// (field path, value) pairs taken from path variables.
using PathBindings = std::vector<std::pair<std::string, std::string>>;

class RouteTable {
 public:
  // Every method of `services` with a google.api.http rule becomes a route
  // (additional_bindings too). InvalidArgument for a rule we cannot serve.
  static absl::StatusOr<std::unique_ptr<RouteTable>> Build(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services);

  struct Match {
    enum Kind { kFound, kNoPath, kWrongMethod } kind = kNoPath;
    const Route* route = nullptr;
    PathBindings bindings;
    std::string allowed_methods;  // for kWrongMethod: "GET, POST"
  };
  // `path` without the query string; percent-decoding of variables is done
  // here.
  Match Find(absl::string_view http_method, absl::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_ROUTE_TABLE_H_
