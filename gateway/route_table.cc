#include "gateway/route_table.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "callpush/v1/http_options.pb.h"
#include "gateway/url_encoding.h"
#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"

namespace callpush::gateway {
namespace {

bool IsVariable(absl::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

absl::StatusOr<Route> RouteFor(const google::protobuf::MethodDescriptor* method,
                               const google::api::HttpRule& rule) {
  Route r;
  r.method = method;
  r.grpc_method =
      absl::StrCat("/", method->service()->full_name(), "/", method->name());
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      r.http_method = "GET";
      r.path_template = rule.get();
      break;
    case google::api::HttpRule::kPut:
      r.http_method = "PUT";
      r.path_template = rule.put();
      break;
    case google::api::HttpRule::kPost:
      r.http_method = "POST";
      r.path_template = rule.post();
      break;
    case google::api::HttpRule::kDelete:
      r.http_method = "DELETE";
      r.path_template = rule.delete_();
      break;
    case google::api::HttpRule::kPatch:
      r.http_method = "PATCH";
      r.path_template = rule.patch();
      break;
    case google::api::HttpRule::kCustom:
      r.http_method = rule.custom().kind();
      r.path_template = rule.custom().path();
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(method->full_name(), ": http rule has no pattern"));
  }
  if (!absl::StartsWith(r.path_template, "/")) {
    return absl::InvalidArgumentError(absl::StrCat(
        method->full_name(), ": path must start with '/': ", r.path_template));
  }
  for (absl::string_view s :
       absl::StrSplit(absl::string_view(r.path_template).substr(1), '/')) {
    if (absl::StrContains(s, "*") || absl::StrContains(s, "=") ||
        absl::StrContains(s, ":") ||
        (absl::StrContains(s, "{") && !IsVariable(s))) {
      return absl::InvalidArgumentError(absl::StrCat(
          method->full_name(), ": unsupported path segment '", s, "'"));
    }
    r.segments.emplace_back(s);
  }
  r.body = rule.body();
  r.response_body = rule.response_body();
  if (!r.response_body.empty() &&
      method->output_type()->FindFieldByName(r.response_body) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(method->full_name(),
                     ": response_body names no field: ", r.response_body));
  }
  if (!r.body.empty() && r.body != "*" &&
      method->input_type()->FindFieldByName(r.body) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(method->full_name(), ": body names no field: ", r.body));
  }
  if (method->options().HasExtension(callpush::v1::http_response)) {
    r.response_rule =
        method->options().GetExtension(callpush::v1::http_response);
  }
  if (r.response_rule.success_code() == 0)
    r.response_rule.set_success_code(200);
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RouteTable>> RouteTable::Build(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services) {
  auto table = std::unique_ptr<RouteTable>(new RouteTable());
  for (const auto* service : services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      if (!method->options().HasExtension(google::api::http)) continue;
      const google::api::HttpRule& rule =
          method->options().GetExtension(google::api::http);
      std::vector<const google::api::HttpRule*> rules = {&rule};
      for (const auto& extra : rule.additional_bindings())
        rules.push_back(&extra);
      for (const auto* one : rules) {
        auto route = RouteFor(method, *one);
        if (!route.ok()) return route.status();
        table->routes_.push_back(*std::move(route));
      }
    }
  }
  return table;
}

RouteTable::Match RouteTable::Find(absl::string_view http_method,
                                   absl::string_view path) const {
  Match match;
  if (!absl::StartsWith(path, "/")) return match;
  std::vector<absl::string_view> parts = absl::StrSplit(path.substr(1), '/');
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    if (route.segments.size() != parts.size()) continue;
    PathBindings bindings;
    bool same_path = true;
    for (size_t i = 0; i < parts.size() && same_path; ++i) {
      const std::string& seg = route.segments[i];
      if (IsVariable(seg)) {
        auto value = PercentDecode(parts[i], /*plus_is_space=*/false);
        if (!value.ok() || value->empty()) {
          same_path = false;
        } else {
          bindings.emplace_back(seg.substr(1, seg.size() - 2), *value);
        }
      } else {
        same_path = seg == parts[i];
      }
    }
    if (!same_path) continue;
    if (route.http_method == http_method) {
      match.kind = Match::kFound;
      match.route = &route;
      match.bindings = std::move(bindings);
      return match;
    }
    allowed.push_back(route.http_method);
  }
  if (!allowed.empty()) {
    match.kind = Match::kWrongMethod;
    match.allowed_methods = absl::StrJoin(allowed, ", ");
  }
  return match;
}

}  // namespace callpush::gateway
