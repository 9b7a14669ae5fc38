// HttpHandler: what the HTTP/1.1 server hands each complete request to.
#ifndef CALLPUSH_GATEWAY_HTTP_HANDLER_H_
#define CALLPUSH_GATEWAY_HTTP_HANDLER_H_

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace callpush::gateway {

using HttpRequest =
    boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse =
    boost::beast::http::response<boost::beast::http::string_body>;
// Sends the answer; call exactly once, from any thread.
using Responder = std::function<void(HttpResponse)>;

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;

  // Runs on a server I/O thread and must not block: answer later through
  // `respond` (on any thread) once the work is done.
  virtual void Handle(HttpRequest request, Responder respond) = 0;

  // An answer the server gives on its own before a request could be handed
  // over (400 malformed, 413, 431, 503 too many connections), so that
  // it has the same shape and headers as every other answer. `request_id`
  // is the client's header when it was read, else empty. Thread-safe.
  virtual HttpResponse Rejected(int status, absl::string_view message,
                                absl::string_view request_id) = 0;
};

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_HTTP_HANDLER_H_
