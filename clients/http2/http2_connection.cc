#include "clients/http2/http2_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clients/http2/asio_duration.h"

namespace callpush::http2 {
namespace {

constexpr size_t kMaxWriteChunk = 64 * 1024;
// Response headers beyond this are treated as a malformed response.
constexpr size_t kMaxResponseHeaderBytes = 64 * 1024;
// How long a closing connection may take to flush its GOAWAY.
constexpr auto kCloseFlushTimeout = std::chrono::milliseconds(500);

nghttp2_nv Nv(const std::string& name, const std::string& value,
              bool sensitive) {
  nghttp2_nv nv;
  nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name.data()));
  nv.namelen = name.size();
  nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(value.data()));
  nv.valuelen = value.size();
  nv.flags = sensitive ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE;
  return nv;
}

std::string ErrorCodeName(uint32_t code) {
  return absl::StrCat(nghttp2_http2_strerror(code), " (", code, ")");
}

}  // namespace

Http2Connection::Http2Connection(boost::asio::io_context& io,
                                 boost::asio::ssl::context& tls,
                                 Options options, Owner* owner,
                                 StatsRecorder* stats)
    : options_(std::move(options)),
      owner_(owner),
      stats_(stats),
      resolver_(io),
      tls_(io, tls),
      connect_timer_(io),
      ping_timer_(io),
      close_timer_(io) {}

Http2Connection::~Http2Connection() {
  // Destroy the session before the streams whose bodies it may read.
  session_.reset();
}

int64_t Http2Connection::Room() const {
  if (state_ != State::kReady) return 0;
  return static_cast<int64_t>(session_->RemoteMaxConcurrentStreams()) -
         open_streams();
}

void Http2Connection::Start() {
  auto self = shared_from_this();
  connect_timer_.expires_after(ToAsioDuration(options_.connect_timeout));
  connect_timer_.async_wait([self](const boost::system::error_code& ec) {
    if (ec || self->state_ != State::kConnecting) return;
    self->Fail(absl::UnavailableError(
        absl::StrCat("connect to ", self->options_.host, ":",
                     self->options_.port, " timed out")));
  });
  resolver_.async_resolve(
      options_.host, std::to_string(options_.port),
      [self](const boost::system::error_code& ec,
             boost::asio::ip::tcp::resolver::results_type results) {
        if (self->state_ == State::kClosed) return;
        if (ec) {
          self->Fail(absl::UnavailableError(absl::StrCat(
              "resolve ", self->options_.host, ": ", ec.message())));
          return;
        }
        boost::asio::async_connect(
            self->tls_.lowest_layer(), results,
            [self](const boost::system::error_code& ec,
                   const boost::asio::ip::tcp::endpoint&) {
              if (self->state_ == State::kClosed) return;
              if (ec) {
                self->Fail(absl::UnavailableError(
                    absl::StrCat("connect to ", self->options_.host, ":",
                                 self->options_.port, ": ", ec.message())));
                return;
              }
              boost::system::error_code ignored;
              self->tls_.lowest_layer().set_option(
                  boost::asio::ip::tcp::no_delay(true), ignored);
              absl::Status configured =
                  ConfigureTlsStream(self->tls_, self->options_.verify_name);
              if (!configured.ok()) {
                self->Fail(configured);
                return;
              }
              self->tls_.async_handshake(
                  boost::asio::ssl::stream_base::client,
                  [self](const boost::system::error_code& ec) {
                    if (self->state_ == State::kClosed) return;
                    if (ec) {
                      self->Fail(absl::UnavailableError(absl::StrCat(
                          "TLS handshake with ", self->options_.host, ": ",
                          ec.message())));
                      return;
                    }
                    self->OnConnected();
                  });
            });
      });
}

void Http2Connection::OnConnected() {
  absl::Status alpn = CheckAlpnH2(tls_);
  if (!alpn.ok()) {
    Fail(alpn);
    return;
  }
  auto session = Nghttp2Session::NewClient(this);
  if (!session.ok()) {
    Fail(session.status());
    return;
  }
  session_ = *std::move(session);
  absl::Status settings = session_->SubmitSettings();
  if (!settings.ok()) {
    Fail(settings);
    return;
  }
  // Ready once the peer's SETTINGS arrive (OnFrameRecv): only then is its
  // MAX_CONCURRENT_STREAMS known.
  StartRead();
  Flush();
}

void Http2Connection::StartRead() {
  auto self = shared_from_this();
  tls_.async_read_some(
      boost::asio::buffer(in_, sizeof(in_)),
      [self](const boost::system::error_code& ec, size_t n) {
        if (self->socket_closed_ || self->state_ == State::kClosed) return;
        if (ec) {
          self->Fail(absl::UnavailableError(
              absl::StrCat("connection lost: ", ec.message())));
          return;
        }
        self->in_recv_ = true;
        absl::Status status =
            self->session_->MemRecv(absl::string_view(self->in_, n));
        self->in_recv_ = false;
        if (!status.ok()) {
          self->Fail(status);
          return;
        }
        self->Flush();
        self->AfterIo();
        if (self->state_ != State::kClosed) self->StartRead();
      });
}

void Http2Connection::Flush() {
  // nghttp2 must not be asked to send from inside its own callbacks; the
  // read handler flushes once MemRecv returns.
  if (in_recv_ || writing_ || session_ == nullptr || socket_closed_) return;
  absl::Status status = session_->MemSend(&out_, kMaxWriteChunk);
  if (!status.ok()) {
    Fail(status);
    return;
  }
  if (out_.empty()) {
    AfterIo();
    return;
  }
  writing_ = true;
  auto self = shared_from_this();
  boost::asio::async_write(tls_, boost::asio::buffer(out_),
                           [self](const boost::system::error_code& ec, size_t) {
                             self->writing_ = false;
                             self->out_.clear();
                             if (self->socket_closed_) return;
                             if (ec) {
                               self->Fail(absl::UnavailableError(absl::StrCat(
                                   "connection lost: ", ec.message())));
                               return;
                             }
                             self->Flush();
                           });
}

void Http2Connection::AfterIo() {
  if (in_recv_ || socket_closed_) return;
  if (state_ == State::kClosed) {
    // Closing gracefully: done once the GOAWAY is out.
    if (!writing_) CloseSocket();
    return;
  }
  if (state_ == State::kDraining && streams_.empty()) {
    // Also when nghttp2 is done with the session: after the peer's GOAWAY
    // it wants nothing more once the last stream has ended.
    Terminate(absl::OkStatus(), /*graceful=*/true);
    return;
  }
  if (session_ != nullptr && !session_->Alive()) {
    // nghttp2 ended the session itself: the peer broke the protocol.
    Fail(absl::InternalError("HTTP/2 protocol error from the peer"));
  }
}

void Http2Connection::ArmPing(absl::Duration after) {
  auto self = shared_from_this();
  ping_timer_.expires_after(ToAsioDuration(after));
  ping_timer_.async_wait([self](const boost::system::error_code& ec) {
    if (ec || self->state_ == State::kClosed) return;
    if (self->awaiting_ping_) {
      self->Fail(absl::UnavailableError("no PING ack in time"));
      return;
    }
    absl::Status status = self->session_->SubmitPing();
    if (!status.ok()) {
      self->Fail(status);
      return;
    }
    self->awaiting_ping_ = true;
    self->ArmPing(self->options_.ping_timeout);
    self->Flush();
  });
}

absl::Status Http2Connection::Submit(std::shared_ptr<PendingRequest> request) {
  const Request& r = request->request;
  static const std::string kMethod = ":method", kScheme = ":scheme",
                           kHttps = "https", kAuthority = ":authority",
                           kPath = ":path";
  std::vector<nghttp2_nv> nva;
  nva.reserve(4 + r.headers.size());
  nva.push_back(Nv(kMethod, r.method, false));
  nva.push_back(Nv(kScheme, kHttps, false));
  nva.push_back(Nv(kAuthority, options_.authority, false));
  // Always without indexing: APNs paths carry device tokens.
  nva.push_back(Nv(kPath, r.path, true));
  for (const Header& h : r.headers) {
    nva.push_back(Nv(h.name, h.value, h.sensitive));
  }
  auto stream = std::make_unique<Stream>();
  stream->request = request;
  Nghttp2Session::BodySource* body = nullptr;
  if (!r.body.empty()) {
    stream->body.data = r.body;
    body = &stream->body;
  }
  absl::StatusOr<int32_t> id = session_->SubmitRequest(nva, body);
  if (!id.ok()) {
    if (absl::IsResourceExhausted(id.status())) {
      // Stream ids ran out: this connection is done; let a new one come.
      state_ = State::kDraining;
      owner_->OnDraining(this);
      AfterIo();
    }
    return id.status();
  }
  request->connection = weak_from_this();
  request->stream_id = *id;
  streams_[*id] = std::move(stream);
  ScheduleFlush();
  return absl::OkStatus();
}

void Http2Connection::ScheduleFlush() {
  // One write per loop turn, not per request: a burst dispatched in one turn
  // leaves in one TLS record and one syscall (a flush per request measured
  // ~3x the client CPU per push and one-message ping-pong with the peer).
  ++batch_;
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  boost::asio::post(tls_.get_executor(), [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->batch_ = 0;
    self->Flush();
  });
}

void Http2Connection::Cancel(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end() || state_ == State::kClosed) return;
  it->second->request.reset();
  session_->SubmitRstStream(stream_id, NGHTTP2_CANCEL);
  Flush();
}

void Http2Connection::Close(const absl::Status& why) {
  Terminate(why, /*graceful=*/true);
}

void Http2Connection::Terminate(const absl::Status& why, bool graceful) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  connect_timer_.cancel();
  ping_timer_.cancel();
  resolver_.cancel();
  absl::Status lost =
      why.ok() ? absl::UnavailableError("connection closed") : why;
  if (!absl::IsInternal(lost) && !absl::IsUnavailable(lost)) {
    lost = absl::UnavailableError(lost.message());
  }
  // The Stream objects stay until the session is gone; only their requests
  // are answered now.
  for (auto& [id, stream] : streams_) {
    std::shared_ptr<PendingRequest> request = std::move(stream->request);
    if (request == nullptr) continue;
    if (!stream->headers_sent) {
      owner_->OnStreamRetry(std::move(request));
    } else {
      owner_->OnStreamDone(std::move(request), lost);
    }
  }
  if (graceful && session_ != nullptr && !socket_closed_) {
    session_->Terminate();
    auto self = shared_from_this();
    close_timer_.expires_after(kCloseFlushTimeout);
    close_timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) self->CloseSocket();
    });
    Flush();
  } else {
    CloseSocket();
  }
  owner_->OnClosed(this, why, was_ready_);
}

void Http2Connection::CloseSocket() {
  if (socket_closed_) return;
  socket_closed_ = true;
  close_timer_.cancel();
  boost::system::error_code ignored;
  tls_.lowest_layer().close(ignored);
}

void Http2Connection::ResetStream(Stream& stream, int32_t id,
                                  absl::Status error) {
  if (!stream.error.ok()) return;
  stream.error = std::move(error);
  session_->SubmitRstStream(id, NGHTTP2_CANCEL);
}

void Http2Connection::OnFrameRecv(const nghttp2_frame& frame) {
  switch (frame.hd.type) {
    case NGHTTP2_SETTINGS:
      if (frame.hd.flags & NGHTTP2_FLAG_ACK) break;
      if (state_ == State::kConnecting) {
        state_ = State::kReady;
        was_ready_ = true;
        connect_timer_.cancel();
        stats_->Update([](PoolStats& s) { ++s.connects; });
        ArmPing(options_.ping_interval);
        owner_->OnReady(this);
      } else {
        owner_->OnRoom(this);
      }
      break;
    case NGHTTP2_PING:
      if (frame.hd.flags & NGHTTP2_FLAG_ACK) {
        awaiting_ping_ = false;
        ArmPing(options_.ping_interval);
      }
      break;
    case NGHTTP2_GOAWAY:
      stats_->Update([](PoolStats& s) { ++s.goaways; });
      if (state_ == State::kReady || state_ == State::kConnecting) {
        state_ = State::kDraining;
        owner_->OnDraining(this);
      }
      break;
    case NGHTTP2_RST_STREAM: {
      auto it = streams_.find(frame.hd.stream_id);
      if (it != streams_.end()) it->second->peer_reset = true;
      if (frame.rst_stream.error_code == NGHTTP2_REFUSED_STREAM) {
        stats_->Update([](PoolStats& s) { ++s.refused_streams; });
      }
      break;
    }
    default:
      break;
  }
}

void Http2Connection::OnHeadersSent(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  if (it != streams_.end()) it->second->headers_sent = true;
}

void Http2Connection::OnHeader(int32_t stream_id, absl::string_view name,
                               absl::string_view value) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  Stream& stream = *it->second;
  if (!stream.error.ok()) return;
  stream.header_bytes += name.size() + value.size();
  if (stream.header_bytes > kMaxResponseHeaderBytes) {
    ResetStream(stream, stream_id,
                absl::InternalError("response headers too large"));
    return;
  }
  if (name == ":status") {
    int status = 0;
    if (!absl::SimpleAtoi(value, &status) || status < 100 || status > 999) {
      ResetStream(stream, stream_id,
                  absl::InternalError("malformed :status in response"));
      return;
    }
    // A final status after an informational (1xx) one starts afresh.
    stream.response.headers.clear();
    stream.response.status = status;
    return;
  }
  stream.response.headers.emplace_back(std::string(name), std::string(value));
}

void Http2Connection::OnDataChunk(int32_t stream_id, absl::string_view data) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  Stream& stream = *it->second;
  if (!stream.error.ok()) return;
  if (stream.response.body.size() + data.size() > options_.max_response_body) {
    ResetStream(
        stream, stream_id,
        absl::InternalError(absl::StrCat(
            "response body over ", options_.max_response_body, " bytes")));
    return;
  }
  stream.response.body.append(data.data(), data.size());
}

void Http2Connection::OnStreamClose(int32_t stream_id, uint32_t error_code) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  std::unique_ptr<Stream> stream = std::move(it->second);
  streams_.erase(it);
  std::shared_ptr<PendingRequest> request = std::move(stream->request);
  if (request != nullptr && state_ != State::kClosed) {
    if (!stream->error.ok()) {
      owner_->OnStreamDone(std::move(request), stream->error);
    } else if (!stream->headers_sent || error_code == NGHTTP2_REFUSED_STREAM) {
      // Never left, refused by the peer, or above a GOAWAY's last stream
      // id (nghttp2 closes those with REFUSED_STREAM): not processed.
      owner_->OnStreamRetry(std::move(request));
    } else if (error_code == NGHTTP2_NO_ERROR) {
      if (stream->response.status >= 200) {
        owner_->OnStreamDone(std::move(request), std::move(stream->response));
      } else {
        owner_->OnStreamDone(std::move(request),
                             absl::InternalError("stream ended without a "
                                                 "final response"));
      }
    } else if (!stream->peer_reset) {
      // nghttp2 reset it: the response broke HTTP/2 messaging rules.
      owner_->OnStreamDone(
          std::move(request),
          absl::InternalError(absl::StrCat("malformed response, stream reset: ",
                                           ErrorCodeName(error_code))));
    } else {
      owner_->OnStreamDone(
          std::move(request),
          absl::UnavailableError(absl::StrCat("stream reset by the peer: ",
                                              ErrorCodeName(error_code))));
    }
  }
  if (state_ != State::kClosed) owner_->OnRoom(this);
}

}  // namespace callpush::http2
