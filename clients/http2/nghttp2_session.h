// Nghttp2Session: an nghttp2 client session (RAII) whose C callbacks are
// forwarded to a C++ Handler, Envoy-style: nghttp2's user_data is this
// object and each callback is a captureless lambda. nghttp2 return codes
// become absl::Status here. Not thread-safe: one loop thread owns it.
#ifndef CALLPUSH_CLIENTS_HTTP2_NGHTTP2_SESSION_H_
#define CALLPUSH_CLIENTS_HTTP2_NGHTTP2_SESSION_H_

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "clients/http2/http2_types.h"

namespace callpush::http2 {

class Nghttp2Session {
 public:
  // Called from inside MemRecv/MemSend. A handler may submit frames (e.g.
  // RST_STREAM) but must not destroy the session.
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void OnFrameRecv(const nghttp2_frame& frame) = 0;
    virtual void OnHeadersSent(int32_t stream_id) = 0;
    virtual void OnHeader(int32_t stream_id, absl::string_view name,
                          absl::string_view value) = 0;
    virtual void OnDataChunk(int32_t stream_id, absl::string_view data) = 0;
    virtual void OnStreamClose(int32_t stream_id, uint32_t error_code) = 0;
  };

  // The request body a stream reads from; must outlive the stream.
  struct BodySource {
    std::string data;
    size_t offset = 0;
  };

  static absl::StatusOr<std::unique_ptr<Nghttp2Session>> NewClient(
      Handler* handler);
  ~Nghttp2Session();
  Nghttp2Session(const Nghttp2Session&) = delete;
  Nghttp2Session& operator=(const Nghttp2Session&) = delete;

  // Queues the client preface SETTINGS (server push disabled).
  absl::Status SubmitSettings();
  // The new stream id. `body` is null for a request without a body.
  absl::StatusOr<int32_t> SubmitRequest(const std::vector<nghttp2_nv>& nva,
                                        BodySource* body);
  void SubmitRstStream(int32_t stream_id, uint32_t error_code);
  absl::Status SubmitPing();
  // GOAWAY(NO_ERROR); the session ends once it is sent.
  void Terminate();

  // Feeds bytes read from the peer. INTERNAL on a fatal error.
  absl::Status MemRecv(absl::string_view data);
  // Appends frames ready to go out to `out`, up to about `limit` bytes.
  absl::Status MemSend(std::string* out, size_t limit);
  // False once the session has nothing more to read and write (it ended).
  bool Alive() const;
  // The peer's current SETTINGS_MAX_CONCURRENT_STREAMS.
  uint32_t RemoteMaxConcurrentStreams() const;

 private:
  Nghttp2Session() = default;
  nghttp2_session* session_ = nullptr;
};

}  // namespace callpush::http2

#endif  // CALLPUSH_CLIENTS_HTTP2_NGHTTP2_SESSION_H_
