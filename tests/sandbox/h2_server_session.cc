#include "tests/sandbox/h2_server_session.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/write.hpp>
#include <cstring>
#include <utility>
#include <vector>

#include "clients/base/log.h"

namespace callpush::sandbox {

namespace asio = boost::asio;

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

// The nghttp2 C callbacks, bridged to the session object.
struct H2Callbacks {
  static H2ServerSession* Self(void* user_data) {
    return static_cast<H2ServerSession*>(user_data);
  }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame,
                            void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    Self(user_data)->streams_[frame->hd.stream_id] =
        std::make_unique<H2ServerSession::Stream>();
    return 0;
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame,
                      const uint8_t* name, size_t namelen, const uint8_t* value,
                      size_t valuelen, uint8_t, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2ServerSession::Stream* stream =
        Self(user_data)->FindStream(frame->hd.stream_id);
    if (stream == nullptr) return 0;
    std::string key(reinterpret_cast<const char*>(name), namelen);
    std::string val(reinterpret_cast<const char*>(value), valuelen);
    HttpRequest& request = stream->request;
    if (key == ":method") {
      request.method = std::move(val);
    } else if (key == ":path") {
      request.path = std::move(val);
    } else if (key == ":authority") {
      request.authority = std::move(val);
    } else if (!key.empty() && key[0] != ':') {
      request.headers.emplace_back(std::move(key), std::move(val));
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id,
                         const uint8_t* data, size_t len, void* user_data) {
    H2ServerSession::Stream* stream = Self(user_data)->FindStream(stream_id);
    if (stream == nullptr) return 0;
    if (stream->request.body.size() + len > kMaxRequestBody) {
      stream->body_too_large = true;
      return 0;
    }
    stream->request.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame,
                         void* user_data) {
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      Self(user_data)->OnRequestComplete(frame->hd.stream_id);
    }
    return 0;
  }

  static int OnFrameSend(nghttp2_session*, const nghttp2_frame* frame,
                         void* user_data) {
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      Self(user_data)->OnAnswerSerialized(frame->hd.stream_id);
    }
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t,
                           void* user_data) {
    H2ServerSession* self = Self(user_data);
    auto it = self->streams_.find(stream_id);
    if (it == self->streams_.end()) return 0;
    // Reset by the client (or closed by us) before the answer went out.
    H2ServerSession::AnswerNotSent(*it->second);
    self->streams_.erase(it);
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buf,
                          size_t length, uint32_t* data_flags,
                          nghttp2_data_source*, void* user_data) {
    H2ServerSession::Stream* stream = Self(user_data)->FindStream(stream_id);
    if (stream == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t left = stream->response_body.size() - stream->response_offset;
    size_t n = std::min(left, length);
    std::memcpy(buf, stream->response_body.data() + stream->response_offset, n);
    stream->response_offset += n;
    if (stream->response_offset == stream->response_body.size()) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return static_cast<ssize_t>(n);
  }
};

H2ServerSession::H2ServerSession(TlsSocket socket, RequestHandler& handler,
                                 uint32_t max_concurrent_streams)
    : socket_(std::move(socket)),
      handler_(handler),
      max_concurrent_streams_(max_concurrent_streams),
      handshake_timer_(socket_.get_executor()) {}

H2ServerSession::~H2ServerSession() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

void H2ServerSession::Start() {
  auto self = shared_from_this();
  handshake_timer_.expires_after(kHandshakeTimeout);
  handshake_timer_.async_wait([self](const boost::system::error_code& error) {
    if (!error) self->Close();
  });
  socket_.async_handshake(asio::ssl::stream_base::server,
                          [self](const boost::system::error_code& error) {
                            self->OnHandshake(error);
                          });
}

void H2ServerSession::OnHandshake(const boost::system::error_code& error) {
  handshake_timer_.cancel();
  if (error || closed_) {
    if (error) {
      Log(LogLevel::kInfo, "TLS handshake failed",
          {{"error", error.message()}});
    }
    Close();
    return;
  }
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(socket_.native_handle(), &alpn, &alpn_len);
  if (alpn_len != 2 || std::memcmp(alpn, "h2", 2) != 0) {
    Log(LogLevel::kInfo, "client did not negotiate h2; closing");
    Close();
    return;
  }
  client_certificate_ =
      SSL_get0_peer_certificate(socket_.native_handle()) != nullptr &&
      SSL_get_verify_result(socket_.native_handle()) == X509_V_OK;
  if (!InitSession()) {
    Close();
    return;
  }
  Flush();
  Read();
}

bool H2ServerSession::InitSession() {
  nghttp2_session_callbacks* callbacks;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(
      callbacks, &H2Callbacks::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks,
                                                   &H2Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
      callbacks, &H2Callbacks::OnDataChunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(
      callbacks, &H2Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_frame_send_callback(
      callbacks, &H2Callbacks::OnFrameSend);
  nghttp2_session_callbacks_set_on_stream_close_callback(
      callbacks, &H2Callbacks::OnStreamClose);
  int rv = nghttp2_session_server_new(&session_, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return false;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_concurrent_streams_}};
  return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1) == 0;
}

void H2ServerSession::UpdateMaxConcurrentStreams(
    uint32_t max_concurrent_streams) {
  max_concurrent_streams_ = max_concurrent_streams;
  if (session_ == nullptr || closed_) return;  // InitSession will use it
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_concurrent_streams}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
  Flush();
}

void H2ServerSession::Read() {
  if (closed_) return;
  auto self = shared_from_this();
  socket_.async_read_some(
      asio::buffer(read_buffer_),
      [self](const boost::system::error_code& error, size_t n) {
        if (self->closed_) return;
        if (error) {
          self->Close();
          return;
        }
        ssize_t rv = nghttp2_session_mem_recv(self->session_,
                                              self->read_buffer_.data(), n);
        if (rv < 0) {
          Log(LogLevel::kInfo, "HTTP/2 protocol error",
              {{"error", nghttp2_strerror(static_cast<int>(rv))}});
          self->Close();
          return;
        }
        self->Flush();
        if (!self->closed_ && nghttp2_session_want_read(self->session_)) {
          self->Read();
        }
      });
}

void H2ServerSession::Flush() {
  if (closed_ || writing_ || session_ == nullptr) return;
  write_buffer_.clear();
  for (;;) {
    const uint8_t* data;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      Close();
      return;
    }
    if (n == 0) break;
    write_buffer_.append(reinterpret_cast<const char*>(data),
                         static_cast<size_t>(n));
    if (write_buffer_.size() >= 64 * 1024) break;
  }
  // Answers serialized now ride on this write; with nothing to write they
  // were in the one that already completed.
  std::vector<AnswerCallback> answers = std::move(serialized_answers_);
  serialized_answers_.clear();
  if (write_buffer_.empty()) {
    for (AnswerCallback& answer : answers) answer(true);
    MaybeFinish();
    return;
  }
  writing_ = true;
  auto self = shared_from_this();
  asio::async_write(
      socket_, asio::buffer(write_buffer_),
      [self, answers = std::move(answers)](
          const boost::system::error_code& error, size_t) mutable {
        self->writing_ = false;
        for (AnswerCallback& answer : answers) answer(!error);
        if (error) {
          self->Close();
          return;
        }
        self->Flush();
      });
}

void H2ServerSession::MaybeFinish() {
  if (!nghttp2_session_want_read(session_) &&
      !nghttp2_session_want_write(session_)) {
    Close();
  }
}

void H2ServerSession::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  handshake_timer_.cancel();
  socket_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both,
                                  ignored);
  socket_.lowest_layer().close(ignored);
  // A write in progress tells its own answers when it fails.
  for (AnswerCallback& answer : serialized_answers_) answer(false);
  serialized_answers_.clear();
  for (auto& [id, stream] : streams_) AnswerNotSent(*stream);
}

void H2ServerSession::OnAnswerSerialized(int32_t stream_id) {
  Stream* stream = FindStream(stream_id);
  if (stream == nullptr || !stream->on_answer) return;
  serialized_answers_.push_back(std::move(stream->on_answer));
  stream->on_answer = nullptr;
}

void H2ServerSession::AnswerNotSent(Stream& stream) {
  if (!stream.on_answer) return;
  AnswerCallback answer = std::move(stream.on_answer);
  stream.on_answer = nullptr;
  answer(false);
}

H2ServerSession::Stream* H2ServerSession::FindStream(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void H2ServerSession::OnRequestComplete(int32_t stream_id) {
  // A drop closes the connection inside nghttp2_session_mem_recv, which
  // goes on with the rest of what was read: those requests never arrived.
  if (closed_) return;
  Stream* stream = FindStream(stream_id);
  if (stream == nullptr || stream->answered) return;
  stream->answered = true;
  stream->request.client_certificate = client_certificate_;
  if (stream->body_too_large) {
    HttpResponse too_large;
    too_large.status = 413;
    too_large.headers.emplace_back("content-type", "application/json");
    too_large.body = R"({"reason":"PayloadTooLarge"})";
    Respond(stream_id, too_large);
    return;
  }
  if (goaway_last_stream_id_ >= 0 && stream_id > goaway_last_stream_id_) {
    // Complete before our GOAWAY left: the client resends it, so it must
    // not be processed here as well.
    handler_.NotProcessed(stream->request, StreamAction::kGoaway);
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id,
                              NGHTTP2_REFUSED_STREAM);
    return;
  }
  StreamReply reply = handler_.Handle(stream->request);
  if (reply.action == StreamAction::kRespond) {
    stream->on_answer = std::move(reply.on_answer);
  }
  switch (reply.action) {
    case StreamAction::kGoaway: {
      // The last stream id is the highest one processed (answered or still
      // being delayed): those complete, and the connection ends after them.
      // Everything above it, this stream included, is left unprocessed;
      // nghttp2 closes those once the GOAWAY is sent. A stream processed
      // out of order above this one would cover it, so refuse it too.
      goaway_last_stream_id_ = max_processed_stream_id_;
      nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, goaway_last_stream_id_,
                            NGHTTP2_NO_ERROR, nullptr, 0);
      if (stream_id <= goaway_last_stream_id_) {
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id,
                                  NGHTTP2_REFUSED_STREAM);
      }
      return;
    }
    case StreamAction::kRefuseStream:
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id,
                                NGHTTP2_REFUSED_STREAM);
      return;
    case StreamAction::kDrop:
      // Closing inside an nghttp2 callback is safe: the read handler checks
      // closed_ before touching the session again.
      Close();
      return;
    case StreamAction::kRespond:
      max_processed_stream_id_ = std::max(max_processed_stream_id_, stream_id);
      break;
  }
  if (reply.delay <= absl::ZeroDuration()) {
    Respond(stream_id, reply.response);
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(socket_.get_executor());
  timer->expires_after(
      std::chrono::milliseconds(absl::ToInt64Milliseconds(reply.delay)));
  auto self = shared_from_this();
  timer->async_wait(
      [self, timer, stream_id,
       response = std::move(reply.response)](const boost::system::error_code&) {
        if (self->closed_ || self->FindStream(stream_id) == nullptr) return;
        self->Respond(stream_id, response);
        self->Flush();
      });
}

void H2ServerSession::Respond(int32_t stream_id, const HttpResponse& response) {
  Stream* stream = FindStream(stream_id);
  if (stream == nullptr) return;
  std::string status = std::to_string(response.status);
  std::string length = std::to_string(response.body.size());
  std::vector<nghttp2_nv> nva;
  auto add = [&nva](const std::string& name, const std::string& value) {
    nva.push_back(
        nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                   reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
                   name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
  };
  static const std::string kStatus = ":status";
  static const std::string kContentLength = "content-length";
  add(kStatus, status);
  for (const auto& [name, value] : response.headers) add(name, value);
  add(kContentLength, length);
  stream->response_body = response.body;
  stream->response_offset = 0;
  nghttp2_data_provider provider{};
  provider.read_callback = &H2Callbacks::ReadBody;
  int rv = nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(),
                                   response.body.empty() ? nullptr : &provider);
  if (rv != 0) {
    Log(LogLevel::kWarning, "nghttp2_submit_response failed",
        {{"error", nghttp2_strerror(rv)}});
  }
}

}  // namespace callpush::sandbox
