// Http2Connection: one TLS + HTTP/2 connection of a Pool, on the pool's
// loop thread. It connects (TCP, TLS with ALPN h2, the peer's first
// SETTINGS), carries streams for PendingRequests, keeps itself alive with
// PING, and reports every stream's outcome and its own end to its Owner.
// It never queues: the Owner submits only while Room() > 0.
//
// Loop thread only, including construction and destruction. Async handlers
// hold a shared_ptr, so the Owner may drop its reference at any time.
#ifndef CALLPUSH_CLIENTS_HTTP2_HTTP2_CONNECTION_H_
#define CALLPUSH_CLIENTS_HTTP2_HTTP2_CONNECTION_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/http2/nghttp2_session.h"
#include "clients/http2/pending_request.h"
#include "clients/http2/stats_recorder.h"
#include "clients/http2/tls_context.h"

namespace callpush::http2 {

class Http2Connection final
    : public std::enable_shared_from_this<Http2Connection>,
      private Nghttp2Session::Handler {
 public:
  // Called on the loop thread, possibly from inside nghttp2 callbacks: an
  // Owner may submit to this or other connections but not destroy them
  // synchronously (drop the shared_ptr instead).
  class Owner {
   public:
    virtual ~Owner() = default;
    // Connected and the peer's SETTINGS arrived: it takes streams now.
    virtual void OnReady(Http2Connection* connection) = 0;
    // GOAWAY received: it takes no new streams and closes once idle.
    virtual void OnDraining(Http2Connection* connection) = 0;
    // A stream closed, or the peer changed its SETTINGS: room may have
    // changed.
    virtual void OnRoom(Http2Connection* connection) = 0;
    // The final outcome of a request sent here.
    virtual void OnStreamDone(std::shared_ptr<PendingRequest> request,
                              absl::StatusOr<Response> result) = 0;
    // The peer did not process it (REFUSED_STREAM, above GOAWAY's last
    // stream id, or never sent): it may go out again.
    virtual void OnStreamRetry(std::shared_ptr<PendingRequest> request) = 0;
    // The end, exactly once, after every stream was reported. `why` is OK
    // for a drained or deliberately closed connection.
    virtual void OnClosed(Http2Connection* connection, const absl::Status& why,
                          bool was_ready) = 0;
  };

  struct Options {
    std::string host;
    uint16_t port = 443;
    std::string authority;    // ":authority"
    std::string verify_name;  // SNI and the certificate's name
    absl::Duration connect_timeout;
    absl::Duration ping_interval;
    absl::Duration ping_timeout;
    size_t max_response_body = 0;
  };

  Http2Connection(boost::asio::io_context& io, boost::asio::ssl::context& tls,
                  Options options, Owner* owner, StatsRecorder* stats);
  ~Http2Connection() override;

  void Start();
  bool ready() const { return state_ == State::kReady; }
  // Streams it may still open: the peer's current MAX_CONCURRENT_STREAMS
  // minus streams open (including reset ones not yet closed). 0 unless ready.
  int64_t Room() const;
  int64_t open_streams() const { return static_cast<int64_t>(streams_.size()); }
  // True while requests submitted in this loop turn wait for their write
  // and the batch can take more: adding to it costs no extra record or
  // syscall.
  bool batching() const {
    return flush_scheduled_ && batch_ < kMaxBatch && Room() > 0;
  }

  // Opens a stream for `request` (Room() must be > 0). RESOURCE_EXHAUSTED
  // when stream ids ran out (the connection then drains), INTERNAL else.
  absl::Status Submit(std::shared_ptr<PendingRequest> request);
  // RST_STREAM(CANCEL); the stream's request is no longer reported.
  void Cancel(int32_t stream_id);
  // Reports streams still open as UNAVAILABLE with `why`, sends GOAWAY if
  // the transport is up, then closes. Idempotent.
  void Close(const absl::Status& why);

 private:
  enum class State { kConnecting, kReady, kDraining, kClosed };
  struct Stream {
    std::shared_ptr<PendingRequest> request;  // null once cancelled
    Nghttp2Session::BodySource body;
    Response response;
    size_t header_bytes = 0;
    bool headers_sent = false;
    bool peer_reset = false;
    absl::Status error;  // set when the response was malformed or too big
  };

  void OnConnected();
  void StartRead();
  void Flush();
  void ScheduleFlush();
  void AfterIo();
  void ArmPing(absl::Duration after);
  void Fail(const absl::Status& why) { Terminate(why, /*graceful=*/false); }
  void Terminate(const absl::Status& why, bool graceful);
  void CloseSocket();
  void ResetStream(Stream& stream, int32_t id, absl::Status error);

  // Nghttp2Session::Handler
  void OnFrameRecv(const nghttp2_frame& frame) override;
  void OnHeadersSent(int32_t stream_id) override;
  void OnHeader(int32_t stream_id, absl::string_view name,
                absl::string_view value) override;
  void OnDataChunk(int32_t stream_id, absl::string_view data) override;
  void OnStreamClose(int32_t stream_id, uint32_t error_code) override;

  // Constant after construction.
  const Options options_;
  Owner* const owner_;
  StatsRecorder* const stats_;

  boost::asio::ip::tcp::resolver resolver_;
  TlsStream tls_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer ping_timer_;
  boost::asio::steady_timer close_timer_;
  // Declared before session_ so that it is destroyed after it: nghttp2 may
  // read a stream's body until the session is gone.
  std::map<int32_t, std::unique_ptr<Stream>> streams_;
  std::unique_ptr<Nghttp2Session> session_;

  State state_ = State::kConnecting;
  bool was_ready_ = false;
  bool in_recv_ = false;
  bool writing_ = false;
  bool socket_closed_ = false;
  bool awaiting_ping_ = false;
  bool flush_scheduled_ = false;
  // Requests submitted since the flush was scheduled. ~16 pushes of ~1 KB
  // fill one 16 KiB TLS record; past that, spreading over connections wins.
  static constexpr int kMaxBatch = 16;
  int batch_ = 0;
  std::string out_;
  char in_[16384];
};

}  // namespace callpush::http2

#endif  // CALLPUSH_CLIENTS_HTTP2_HTTP2_CONNECTION_H_
