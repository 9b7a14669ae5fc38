// H2ServerSession: one accepted TLS connection served as HTTP/2 with an
// nghttp2 server session. It completes the TLS handshake (ALPN must be h2),
// reads frames, hands each complete request to the RequestHandler and
// carries out the reply: an answer (after an optional delay), GOAWAY,
// RST_STREAM(REFUSED_STREAM) or dropping the connection. It tells the
// reply's AnswerCallback whether the answer was written out before the
// stream or the connection ended.
//
// Everything runs on the io_context's single thread; the nghttp2 session
// is touched only from it. Owned by shared_ptr: pending I/O and timers keep
// the session alive until the connection is closed.
#ifndef CALLPUSH_TESTS_SANDBOX_H2_SERVER_SESSION_H_
#define CALLPUSH_TESTS_SANDBOX_H2_SERVER_SESSION_H_

#include <nghttp2/nghttp2.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/sandbox/http_types.h"

namespace callpush::sandbox {

using TlsSocket = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

constexpr size_t kMaxRequestBody = 64 * 1024;

class H2ServerSession final
    : public std::enable_shared_from_this<H2ServerSession> {
 public:
  H2ServerSession(TlsSocket socket, RequestHandler& handler,
                  uint32_t max_concurrent_streams);
  ~H2ServerSession();

  H2ServerSession(const H2ServerSession&) = delete;
  H2ServerSession& operator=(const H2ServerSession&) = delete;

  // Starts the TLS handshake, then serves until the peer goes away.
  void Start();
  // Sends SETTINGS with the new SETTINGS_MAX_CONCURRENT_STREAMS.
  void UpdateMaxConcurrentStreams(uint32_t max_concurrent_streams);
  // Closes the socket at once (in-flight streams are lost).
  void Close();

 private:
  struct Stream {
    HttpRequest request;
    bool body_too_large = false;
    bool answered = false;
    std::string response_body;
    size_t response_offset = 0;
    AnswerCallback on_answer;  // until the answer leaves or the stream ends
  };

  void OnHandshake(const boost::system::error_code& error);
  bool InitSession();
  void Read();
  void Flush();
  void MaybeFinish();
  void OnRequestComplete(int32_t stream_id);
  void Respond(int32_t stream_id, const HttpResponse& response);
  // The last frame of `stream_id`'s answer was serialized: its callback is
  // told once the write that carries it completes.
  void OnAnswerSerialized(int32_t stream_id);
  // Tells a stream that never got its answer out (closed or reset first).
  static void AnswerNotSent(Stream& stream);
  Stream* FindStream(int32_t stream_id);

  // nghttp2 callbacks (bridged with captureless lambdas in the .cc).
  friend struct H2Callbacks;

  TlsSocket socket_;
  RequestHandler& handler_;
  uint32_t max_concurrent_streams_;
  boost::asio::steady_timer handshake_timer_;
  nghttp2_session* session_ = nullptr;
  bool client_certificate_ = false;
  bool writing_ = false;
  bool closed_ = false;
  std::array<uint8_t, 16 * 1024> read_buffer_;
  std::string write_buffer_;
  std::map<int32_t, std::unique_ptr<Stream>> streams_;
  // Callbacks of answers serialized since the last write started.
  std::vector<AnswerCallback> serialized_answers_;
  // The highest stream id handed to the handler and answered (or being
  // delayed), and the last-stream-id of the GOAWAY sent (-1: none yet).
  int32_t max_processed_stream_id_ = 0;
  int32_t goaway_last_stream_id_ = -1;
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_H2_SERVER_SESSION_H_
