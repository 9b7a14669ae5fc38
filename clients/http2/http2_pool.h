// Http2Pool: long-lived HTTP/2 connections over TLS to one origin (a push
// provider endpoint), on nghttp2 + OpenSSL, driven by one Boost.Asio event
// loop thread (DESIGN section 5, "The pool").
//
// - N connections, connected lazily, kept alive with PING, reconnected with
//   exponential backoff and jitter.
// - Streams in flight are counted per connection against the peer's current
//   SETTINGS_MAX_CONCURRENT_STREAMS (nghttp2's hidden queue is never used);
//   requests go to a connection whose write for this loop turn is pending
//   (up to 16), else to the ready connection with the most room; the total
//   in flight is bounded.
// - REFUSED_STREAM and streams above a GOAWAY's last-stream-id were not
//   processed: they are resent on another connection within their deadline.
// - Each request has a deadline; its stream is reset when it passes.
// - Shutdown() waits for streams in flight (up to a grace), then closes.
//
// Thread-safe. Send() never blocks; callbacks run on the loop thread and must
// not block. An nghttp2 session is touched only from the loop thread.
#ifndef CALLPUSH_CLIENTS_HTTP2_HTTP2_POOL_H_
#define CALLPUSH_CLIENTS_HTTP2_HTTP2_POOL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "clients/http2/http2_types.h"

namespace callpush::http2 {

struct PoolOptions {
  std::string host;  // connect to, and ":authority"
  uint16_t port = 443;
  std::string sni;      // TLS server name; default: host
  std::string ca_file;  // PEM; empty: the system CAs
  // Optional TLS client certificate (APNs certificate auth).
  std::string client_cert_file;
  std::string client_key_file;
  int connections = 2;
  size_t max_in_flight = 10000;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration ping_interval = absl::Seconds(60);
  absl::Duration ping_timeout = absl::Seconds(10);
  absl::Duration reconnect_min = absl::Milliseconds(100);
  absl::Duration reconnect_max = absl::Seconds(30);
  size_t max_response_body = 64 * 1024;
};

struct PoolStats {
  int connections_ready = 0;
  int64_t in_flight = 0;
  int64_t connects = 0;
  int64_t connect_failures = 0;
  int64_t goaways = 0;
  int64_t refused_streams = 0;
  int64_t resent = 0;
  int64_t deadline_resets = 0;
};

class Pool {
 public:
  virtual ~Pool() = default;
  virtual void Send(Request request, Callback done) = 0;
  virtual PoolStats Stats() const = 0;
  // Runs `fn` on the loop thread at `at` (at once if past), so that a user
  // of the pool can keep a deadline without a thread of its own. Never runs
  // once the pool is shut down; `fn` must not block.
  virtual void RunAt(absl::Time at, absl::AnyInvocable<void()> fn) = 0;
  // Refuses new requests (UNAVAILABLE), waits up to `grace` for those in
  // flight, then closes every connection and stops the loop. Idempotent.
  virtual void Shutdown(absl::Duration grace) = 0;
};

// INVALID_ARGUMENT for bad options, or files that cannot be read.
absl::StatusOr<std::unique_ptr<Pool>> NewPool(PoolOptions options,
                                              const Clock& clock);

}  // namespace callpush::http2

#endif  // CALLPUSH_CLIENTS_HTTP2_HTTP2_POOL_H_
