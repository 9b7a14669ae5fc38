// PendingRequest: one Send() from the moment the pool accepts it until its
// callback has run: possibly held until Request::not_before, queued, then on
// a stream of some connection, possibly requeued (REFUSED_STREAM, GOAWAY)
// and sent again. Loop thread only.
#ifndef CALLPUSH_CLIENTS_HTTP2_PENDING_REQUEST_H_
#define CALLPUSH_CLIENTS_HTTP2_PENDING_REQUEST_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <utility>

#include "clients/http2/http2_types.h"

namespace callpush::http2 {

class Http2Connection;

struct PendingRequest {
  PendingRequest(boost::asio::io_context& io, Request r, Callback d)
      : request(std::move(r)),
        done(std::move(d)),
        deadline_timer(io),
        hold_timer(io) {}

  // Runs the callback unless it already ran; true if it ran now. The one
  // place a request is answered, so every callback runs exactly once.
  bool Finish(absl::StatusOr<Response> result) {
    if (finished) return false;
    finished = true;
    deadline_timer.cancel();
    // A held request answered early must not keep the loop alive.
    hold_timer.cancel();
    Callback callback = std::move(done);
    callback(std::move(result));
    return true;
  }

  Request request;
  Callback done;
  boost::asio::steady_timer deadline_timer;
  // Runs until request.not_before while the pool holds the request.
  boost::asio::steady_timer hold_timer;
  bool finished = false;
  // Where it is in flight, if it is: for a reset at the deadline.
  std::weak_ptr<Http2Connection> connection;
  int32_t stream_id = -1;
};

}  // namespace callpush::http2

#endif  // CALLPUSH_CLIENTS_HTTP2_PENDING_REQUEST_H_
