#include "gateway/gateway_config.h"

#include "absl/strings/str_cat.h"
#include "clients/base/config_duration.h"
#include "clients/base/status_macros.h"

namespace callpush::gateway {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("http.", field, ": ", what));
}

absl::Status Positive(absl::string_view field, const std::string& text,
                      absl::Duration* out) {
  ASSIGN_OR_RETURN(*out,
                   ParseConfigDuration(absl::StrCat("http.", field), text));
  if (*out <= absl::ZeroDuration()) return Invalid(field, "must be positive");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GatewayOptions> GatewayOptionsFromConfig(
    const v1::HttpConfig& http, const std::string& address) {
  GatewayOptions o;
  o.http.address = address;
  if (http.threads() < 1 || http.threads() > 64) {
    return Invalid("threads", "must be 1 to 64");
  }
  o.http.threads = http.threads();
  if (http.max_body_bytes() < 1 || http.max_body_bytes() > (64 << 20)) {
    return Invalid("maxBodyBytes", "must be 1 to 67108864");
  }
  o.http.max_body_bytes = static_cast<size_t>(http.max_body_bytes());
  if (http.max_header_bytes() < 256 || http.max_header_bytes() > (1 << 20)) {
    return Invalid("maxHeaderBytes", "must be 256 to 1048576");
  }
  o.http.max_header_bytes = static_cast<size_t>(http.max_header_bytes());
  RETURN_IF_ERROR(
      Positive("headerTimeout", http.header_timeout(), &o.http.header_timeout));
  RETURN_IF_ERROR(
      Positive("readTimeout", http.read_timeout(), &o.http.read_timeout));
  RETURN_IF_ERROR(
      Positive("idleTimeout", http.idle_timeout(), &o.http.idle_timeout));
  if (http.max_connections() < 1) {
    return Invalid("maxConnections", "must be at least 1");
  }
  o.http.max_connections = http.max_connections();
  RETURN_IF_ERROR(Positive("deadline", http.deadline(), &o.handler.deadline));
  o.auth_tokens_file = http.auth_tokens_file();
  o.insecure_no_auth = http.insecure_no_auth();
  return o;
}

}  // namespace callpush::gateway
