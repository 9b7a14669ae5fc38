#include "gateway/gateway_flags.h"

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "clients/base/env.h"

using callpush::EnvOr;

ABSL_FLAG(std::string, http_auth_tokens_file,
          EnvOr("CALLPUSH_HTTP_AUTH_TOKENS_FILE", ""),
          "file with the accepted bearer tokens, one per line; empty: no auth "
          "(allowed on loopback only) [env CALLPUSH_HTTP_AUTH_TOKENS_FILE]");
ABSL_FLAG(bool, http_insecure_no_auth, false,
          "serve HTTP beyond loopback without auth (only behind a proxy that "
          "authenticates)");
ABSL_FLAG(absl::Duration, http_deadline, absl::Seconds(2),
          "deadline of each HTTP request's RPC; 504 when it passes");
ABSL_FLAG(int, http_threads, 2, "HTTP I/O threads");
ABSL_FLAG(int64_t, http_max_body_bytes, 64 * 1024,
          "larger request bodies are refused with 413");
ABSL_FLAG(int64_t, http_max_header_bytes, 8 * 1024,
          "larger request headers are refused with 431");
ABSL_FLAG(absl::Duration, http_header_timeout, absl::Seconds(10),
          "a request's headers must arrive within this time of its first "
          "byte, else the connection is closed (slow clients)");
ABSL_FLAG(absl::Duration, http_read_timeout, absl::Seconds(10),
          "a request body must arrive within this time");
ABSL_FLAG(absl::Duration, http_idle_timeout, absl::Seconds(60),
          "an idle keep-alive connection is closed after this time");
ABSL_FLAG(int, http_max_connections, 1024,
          "open HTTP connections; more are answered 503 and closed");

namespace callpush::gateway {

GatewayOptions GatewayOptionsFromFlags(const std::string& address) {
  GatewayOptions o;
  o.http.address = address;
  o.http.threads = absl::GetFlag(FLAGS_http_threads);
  o.http.max_body_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_http_max_body_bytes));
  o.http.max_header_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_http_max_header_bytes));
  o.http.header_timeout = absl::GetFlag(FLAGS_http_header_timeout);
  o.http.read_timeout = absl::GetFlag(FLAGS_http_read_timeout);
  o.http.idle_timeout = absl::GetFlag(FLAGS_http_idle_timeout);
  o.http.max_connections = absl::GetFlag(FLAGS_http_max_connections);
  o.handler.deadline = absl::GetFlag(FLAGS_http_deadline);
  o.auth_tokens_file = absl::GetFlag(FLAGS_http_auth_tokens_file);
  o.insecure_no_auth = absl::GetFlag(FLAGS_http_insecure_no_auth);
  return o;
}

}  // namespace callpush::gateway
