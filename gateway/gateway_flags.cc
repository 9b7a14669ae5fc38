#include "gateway/gateway_flags.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "clients/base/flag_override.h"

// Unset (nullopt) unless given: the configuration file's value stands.
ABSL_FLAG(std::optional<std::string>, http_auth_tokens_file, std::nullopt,
          "file with the accepted bearer tokens, one per line; empty: no auth "
          "(allowed on loopback only) [config http.authTokensFile, env "
          "CALLPUSH_HTTP_AUTH_TOKENS_FILE]");
// A bool flag can only switch the setting on (a bare --flag must parse).
ABSL_FLAG(bool, http_insecure_no_auth, false,
          "serve HTTP beyond loopback without auth (only behind a proxy that "
          "authenticates) [config http.insecureNoAuth]");
ABSL_FLAG(std::optional<absl::Duration>, http_deadline, std::nullopt,
          "deadline of each HTTP request's RPC; 504 when it passes (default "
          "2s) [config http.deadline]");
ABSL_FLAG(std::optional<int>, http_threads, std::nullopt,
          "HTTP I/O threads (default 2) [config http.threads]");
ABSL_FLAG(std::optional<int64_t>, http_max_body_bytes, std::nullopt,
          "larger request bodies are refused with 413 (default 65536) "
          "[config http.maxBodyBytes]");
ABSL_FLAG(std::optional<int64_t>, http_max_header_bytes, std::nullopt,
          "larger request headers are refused with 431 (default 8192) "
          "[config http.maxHeaderBytes]");
ABSL_FLAG(std::optional<absl::Duration>, http_header_timeout, std::nullopt,
          "a request's headers must arrive within this time of its first "
          "byte, else the connection is closed (default 10s) [config "
          "http.headerTimeout]");
ABSL_FLAG(std::optional<absl::Duration>, http_read_timeout, std::nullopt,
          "a request body must arrive within this time (default 10s) [config "
          "http.readTimeout]");
ABSL_FLAG(std::optional<absl::Duration>, http_idle_timeout, std::nullopt,
          "an idle keep-alive connection is closed after this time (default "
          "60s) [config http.idleTimeout]");
ABSL_FLAG(std::optional<int>, http_max_connections, std::nullopt,
          "open HTTP connections; more are answered 503 and closed (default "
          "1024) [config http.maxConnections]");

namespace callpush::gateway {
void ApplyGatewayFlags(v1::HttpConfig* http) {
  IfGiven(FLAGS_http_auth_tokens_file,
          [&](const std::string& v) { http->set_auth_tokens_file(v); });
  if (absl::GetFlag(FLAGS_http_insecure_no_auth)) {
    http->set_insecure_no_auth(true);
  }
  IfGiven(FLAGS_http_deadline, [&](absl::Duration v) {
    http->set_deadline(absl::FormatDuration(v));
  });
  IfGiven(FLAGS_http_threads, [&](int v) { http->set_threads(v); });
  IfGiven(FLAGS_http_max_body_bytes,
          [&](int64_t v) { http->set_max_body_bytes(v); });
  IfGiven(FLAGS_http_max_header_bytes,
          [&](int64_t v) { http->set_max_header_bytes(v); });
  IfGiven(FLAGS_http_header_timeout, [&](absl::Duration v) {
    http->set_header_timeout(absl::FormatDuration(v));
  });
  IfGiven(FLAGS_http_read_timeout, [&](absl::Duration v) {
    http->set_read_timeout(absl::FormatDuration(v));
  });
  IfGiven(FLAGS_http_idle_timeout, [&](absl::Duration v) {
    http->set_idle_timeout(absl::FormatDuration(v));
  });
  IfGiven(FLAGS_http_max_connections,
          [&](int v) { http->set_max_connections(v); });
}

}  // namespace callpush::gateway
