// HttpServer: a keep-alive HTTP/1.1 server on Boost.Beast that hands complete
// requests to an HttpHandler. It enforces the limits a public-facing server
// needs: header and body size, a header timeout that starts at a request's
// first byte (slowloris), a body read timeout, an idle keep-alive timeout, a
// write timeout and a cap on open connections.
//
// Threads: `threads` I/O threads share one io_context; each connection runs
// on its own strand. Responses may be produced on any thread; they are
// written from the connection's strand.
#ifndef CALLPUSH_GATEWAY_HTTP_SERVER_H_
#define CALLPUSH_GATEWAY_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/http_handler.h"

namespace callpush::gateway {

struct HttpServerOptions {
  std::string address = "127.0.0.1:8080";  // host:port, IPv6 as [::1]:port
  int threads = 2;
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 64 * 1024;
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration read_timeout = absl::Seconds(10);
  absl::Duration idle_timeout = absl::Seconds(60);
  absl::Duration write_timeout = absl::Seconds(10);
  int max_connections = 1024;
};

class HttpServer {
 public:
  // Binds and starts serving. InvalidArgument for a bad address,
  // Unavailable when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      HttpServerOptions options, HttpHandler& handler);
  virtual ~HttpServer() = default;

  virtual int port() const = 0;
  virtual bool loopback_only() const = 0;
  // Stops accepting; from then on every answer closes its connection and
  // no further request is read. Waits up to `grace` for requests being
  // handled, then closes every connection and joins the I/O threads.
  // Idempotent.
  virtual void Stop(absl::Duration grace) = 0;

  // Whether "host:port" names a loopback address; InvalidArgument when it
  // does not parse. Lets callers apply policy before binding.
  static absl::StatusOr<bool> IsLoopbackAddress(const std::string& address);
};

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_HTTP_SERVER_H_
