// Requests and responses of the HTTP/2 client (clients/http2), the only
// types the push providers (clients/apns, clients/fcm) share with it.
#ifndef CALLPUSH_CLIENTS_HTTP2_HTTP2_TYPES_H_
#define CALLPUSH_CLIENTS_HTTP2_HTTP2_TYPES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace callpush::http2 {

struct Header {
  std::string name;  // lower case
  std::string value;
  // Sent without HPACK indexing (NGHTTP2_NV_FLAG_NO_INDEX): for `:path`
  // holding a device token and `authorization` (DESIGN section 5).
  bool sensitive = false;
};

struct Request {
  std::string method = "POST";
  std::string path;             // ":path"
  std::vector<Header> headers;  // besides the pseudo-headers
  std::string body;
  // The stream is reset and the request answered DEADLINE_EXCEEDED then.
  absl::Time deadline = absl::InfiniteFuture();
  // Not sent before this time (a provider's Retry-After): the pool holds the
  // request, counted in flight, on a timer until then, blocking no thread.
  // The deadline still applies while it is held (DEADLINE_EXCEEDED), and a
  // shutdown answers held requests UNAVAILABLE.
  absl::Time not_before = absl::InfinitePast();
};

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first header of that (lower-case) name, or "".
  std::string Header(absl::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
};

// Exactly once per request. Errors: DEADLINE_EXCEEDED (no answer by the
// deadline), UNAVAILABLE (no connection could take it, or the connection was
// lost after the request may have been processed), RESOURCE_EXHAUSTED (too
// many in flight), INTERNAL (protocol error, response too large). Requests
// the peer did not process (REFUSED_STREAM, above a GOAWAY's last stream id)
// are resent on another connection before any error is reported.
using Callback = absl::AnyInvocable<void(absl::StatusOr<Response>)>;

}  // namespace callpush::http2

#endif  // CALLPUSH_CLIENTS_HTTP2_HTTP2_TYPES_H_
