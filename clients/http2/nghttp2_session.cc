#include "clients/http2/nghttp2_session.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace callpush::http2 {
namespace {

Nghttp2Session::Handler* HandlerOf(void* user_data) {
  return static_cast<Nghttp2Session::Handler*>(user_data);
}

absl::string_view View(const uint8_t* data, size_t len) {
  return absl::string_view(reinterpret_cast<const char*>(data), len);
}

struct CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* c) const {
    nghttp2_session_callbacks_del(c);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<Nghttp2Session>> Nghttp2Session::NewClient(
    Handler* handler) {
  nghttp2_session_callbacks* raw_callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&raw_callbacks) != 0) {
    return absl::ResourceExhaustedError("nghttp2_session_callbacks_new failed");
  }
  std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> callbacks(
      raw_callbacks);
  nghttp2_session_callbacks_set_on_frame_recv_callback(
      callbacks.get(),
      [](nghttp2_session*, const nghttp2_frame* frame, void* user_data) -> int {
        HandlerOf(user_data)->OnFrameRecv(*frame);
        return 0;
      });
  nghttp2_session_callbacks_set_on_frame_send_callback(
      callbacks.get(),
      [](nghttp2_session*, const nghttp2_frame* frame, void* user_data) -> int {
        if (frame->hd.type == NGHTTP2_HEADERS) {
          HandlerOf(user_data)->OnHeadersSent(frame->hd.stream_id);
        }
        return 0;
      });
  nghttp2_session_callbacks_set_on_header_callback(
      callbacks.get(),
      [](nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
         void* user_data) -> int {
        HandlerOf(user_data)->OnHeader(frame->hd.stream_id, View(name, namelen),
                                       View(value, valuelen));
        return 0;
      });
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
      callbacks.get(),
      [](nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
         size_t len, void* user_data) -> int {
        HandlerOf(user_data)->OnDataChunk(stream_id, View(data, len));
        return 0;
      });
  nghttp2_session_callbacks_set_on_stream_close_callback(
      callbacks.get(),
      [](nghttp2_session*, int32_t stream_id, uint32_t error_code,
         void* user_data) -> int {
        HandlerOf(user_data)->OnStreamClose(stream_id, error_code);
        return 0;
      });

  std::unique_ptr<Nghttp2Session> session(new Nghttp2Session());
  int rv =
      nghttp2_session_client_new(&session->session_, callbacks.get(), handler);
  if (rv != 0) {
    return absl::InternalError(
        absl::StrCat("nghttp2_session_client_new: ", nghttp2_strerror(rv)));
  }
  return session;
}

Nghttp2Session::~Nghttp2Session() { nghttp2_session_del(session_); }

absl::Status Nghttp2Session::SubmitSettings() {
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  int rv = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings,
                                   sizeof(settings) / sizeof(settings[0]));
  if (rv != 0) {
    return absl::InternalError(
        absl::StrCat("nghttp2_submit_settings: ", nghttp2_strerror(rv)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int32_t> Nghttp2Session::SubmitRequest(
    const std::vector<nghttp2_nv>& nva, BodySource* body) {
  nghttp2_data_provider provider;
  provider.source.ptr = body;
  provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf,
                              size_t length, uint32_t* data_flags,
                              nghttp2_data_source* source, void*) -> ssize_t {
    auto* src = static_cast<BodySource*>(source->ptr);
    size_t n = std::min(length, src->data.size() - src->offset);
    std::memcpy(buf, src->data.data() + src->offset, n);
    src->offset += n;
    if (src->offset == src->data.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  };
  int32_t id =
      nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                             body != nullptr ? &provider : nullptr, nullptr);
  if (id < 0) {
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
      return absl::ResourceExhaustedError("stream ids exhausted");
    }
    return absl::InternalError(
        absl::StrCat("nghttp2_submit_request: ", nghttp2_strerror(id)));
  }
  return id;
}

void Nghttp2Session::SubmitRstStream(int32_t stream_id, uint32_t error_code) {
  // Fails only for an already closed stream, which needs no reset.
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
}

absl::Status Nghttp2Session::SubmitPing() {
  int rv = nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
  if (rv != 0) {
    return absl::InternalError(
        absl::StrCat("nghttp2_submit_ping: ", nghttp2_strerror(rv)));
  }
  return absl::OkStatus();
}

void Nghttp2Session::Terminate() {
  nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
}

absl::Status Nghttp2Session::MemRecv(absl::string_view data) {
  ssize_t rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  if (rv < 0) {
    return absl::InternalError(absl::StrCat(
        "HTTP/2 protocol error: ", nghttp2_strerror(static_cast<int>(rv))));
  }
  return absl::OkStatus();
}

absl::Status Nghttp2Session::MemSend(std::string* out, size_t limit) {
  while (out->size() < limit) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      return absl::InternalError(absl::StrCat(
          "nghttp2_session_mem_send: ", nghttp2_strerror(static_cast<int>(n))));
    }
    if (n == 0) break;
    out->append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

bool Nghttp2Session::Alive() const {
  return nghttp2_session_want_read(session_) != 0 ||
         nghttp2_session_want_write(session_) != 0;
}

uint32_t Nghttp2Session::RemoteMaxConcurrentStreams() const {
  return nghttp2_session_get_remote_settings(
      session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

}  // namespace callpush::http2
