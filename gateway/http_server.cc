#include "gateway/http_server.h"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "clients/base/log.h"

namespace callpush::gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::chrono::steady_clock::duration Chrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

absl::StatusOr<tcp::endpoint> ParseEndpoint(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("address must be host:port, got '", address, "'"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad port in '", address, "'"));
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto ip = net::ip::make_address(host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("host must be an IP address, got '", host, "'"));
  }
  return tcp::endpoint(ip, static_cast<uint16_t>(port));
}

class Session;

// What every connection shares; kept alive by the connections themselves so
// that a late response finds it.
struct Shared {
  explicit Shared(HttpServerOptions o, HttpHandler& h)
      : options(std::move(o)), handler(h) {}
  const HttpServerOptions options;
  HttpHandler& handler;
  net::io_context ioc;
  // Keeps the I/O threads running while requests wait for the handler
  // with no socket operation pending (after Stop() closed the acceptor).
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work{
      ioc.get_executor()};
  std::atomic<int> connections{0};
  // Set by Stop(): answers close their connection and no new request is
  // read, so keep-alive clients move to another replica.
  std::atomic<bool> draining{false};
  // Requests handed to the handler whose answer is not written yet; open
  // sessions, so Stop() can close what the grace period did not finish.
  absl::Mutex mu;
  int in_handler ABSL_GUARDED_BY(mu) = 0;
  // Set by Stop() once it closes every connection: a request read after
  // that is not handed to the handler (its client sees the connection
  // close without an answer, so it knows nothing was done).
  bool closing ABSL_GUARDED_BY(mu) = false;
  std::set<Session*> sessions ABSL_GUARDED_BY(mu);
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Shared> shared, bool over_limit)
      : shared_(std::move(shared)),
        stream_(std::move(socket)),
        over_limit_(over_limit) {}

  ~Session() {
    if (!over_limit_) shared_->connections.fetch_sub(1);
    absl::MutexLock lock(&shared_->mu);
    shared_->sessions.erase(this);
  }

  void Start() {
    {
      absl::MutexLock lock(&shared_->mu);
      shared_->sessions.insert(this);
    }
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->Begin(); });
  }

  // From any thread: closes the connection on its strand.
  void CloseSoon() {
    net::post(stream_.get_executor(),
              [self = shared_from_this()] { self->Close(); });
  }

 private:
  const HttpServerOptions& opt() const { return shared_->options; }

  void Begin() {
    if (over_limit_) {
      Reject(503, "too many connections");
      return;
    }
    WaitForRequest();
  }

  // Idle keep-alive wait: the header timeout starts at the first byte.
  void WaitForRequest() {
    if (shared_->draining.load()) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opt().max_header_bytes));
    parser_->body_limit(opt().max_body_bytes);
    if (buffer_.size() > 0) {
      ReadHeader();
      return;
    }
    stream_.expires_after(Chrono(opt().idle_timeout));
    stream_.async_read_some(
        buffer_.prepare(4096),
        [self = shared_from_this()](beast::error_code ec, size_t n) {
          if (ec) return self->Close();
          self->buffer_.commit(n);
          self->ReadHeader();
        });
  }

  void ReadHeader() {
    stream_.expires_after(Chrono(opt().header_timeout));
    scanned_ = 0;
    ScanHeader();
  }

  // Beast 1.74 applies header_limit to each parse step, and parsed fields
  // leave the buffer, so many small fields pass a limit that one big field
  // does not. The whole header is therefore gathered here first, its size
  // checked, and only then parsed.
  void ScanHeader() {
    const absl::string_view data(
        static_cast<const char*>(buffer_.data().data()), buffer_.size());
    const size_t end = data.find("\r\n\r\n", scanned_ >= 3 ? scanned_ - 3 : 0);
    const size_t max = opt().max_header_bytes;
    if (end != absl::string_view::npos) {
      if (end + 4 > max) return OnHeader(http::error::header_limit);
      http::async_read_header(
          stream_, buffer_, *parser_,
          [self = shared_from_this()](beast::error_code ec, size_t) {
            self->OnHeader(ec);
          });
      return;
    }
    if (data.size() >= max) return OnHeader(http::error::header_limit);
    scanned_ = data.size();
    stream_.async_read_some(
        buffer_.prepare(std::min<size_t>(4096, max - data.size() + 4)),
        [self = shared_from_this()](beast::error_code ec, size_t n) {
          if (ec) return self->OnHeader(ec);
          self->buffer_.commit(n);
          self->ScanHeader();
        });
  }

  // Read errors become the answer a client can act on; a timed-out or
  // vanished client just loses its connection.
  bool HandleReadError(beast::error_code ec) {
    if (!ec) return false;
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset) {
      Close();
    } else if (ec == beast::error::timeout) {
      // A slow client (slowloris) is cut off: tcp_stream has already closed
      // the socket, so there is no one to answer.
      Log(LogLevel::kDebug, "http client too slow, connection closed");
      Close();
    } else if (ec == http::error::header_limit) {
      Reject(431, absl::StrCat("request headers exceed ",
                               opt().max_header_bytes, " bytes"));
    } else if (ec == http::error::body_limit) {
      Reject(413, absl::StrCat("request body exceeds ", opt().max_body_bytes,
                               " bytes"));
    } else {
      Reject(400, absl::StrCat("malformed HTTP request: ", ec.message()));
    }
    return true;
  }

  void OnHeader(beast::error_code ec) {
    // Known once the request line parsed, even if the header then failed
    // (413): an answer to HEAD must carry no body (see Write).
    head_ = parser_->get().method() == http::verb::head;
    if (HandleReadError(ec)) return;
    auto& req = parser_->get();
    request_id_ = std::string(req["x-request-id"]);
    if (beast::iequals(req[http::field::expect], "100-continue") &&
        !parser_->is_done()) {
      // curl sends this for bodies over 1 KiB and would wait a second.
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(Chrono(opt().write_timeout));
      net::async_write(
          stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
          [self = shared_from_this()](beast::error_code ec, size_t) {
            if (ec) return self->Close();
            self->ReadBody();
          });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnRequest();
    stream_.expires_after(Chrono(opt().read_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (self->HandleReadError(ec)) return;
                       self->OnRequest();
                     });
  }

  void OnRequest() {
    // While the handler works, its own deadline bounds the wait.
    stream_.expires_never();
    keep_alive_ = parser_->get().keep_alive();
    {
      absl::MutexLock lock(&shared_->mu);
      if (!shared_->closing) ++shared_->in_handler;
      answering_ = !shared_->closing;
    }
    if (!answering_) return Close();
    shared_->handler.Handle(
        parser_->release(), [self = shared_from_this()](HttpResponse res) {
          net::post(self->stream_.get_executor(),
                    [self, res = std::move(res)]() mutable {
                      self->Write(std::move(res), /*close=*/false);
                    });
        });
  }

  void Reject(int status, absl::string_view message) {
    Write(shared_->handler.Rejected(status, message, request_id_),
          /*close=*/true);
  }

  void Write(HttpResponse res, bool close) {
    res.keep_alive(keep_alive_ && !close && !shared_->draining.load());
    res.prepare_payload();
    // RFC 9110 section 9.3.2: a HEAD answer has the headers a GET would get
    // (Content-Length included) and no content; content sent anyway would
    // be read as the start of the next answer on a keep-alive connection.
    if (head_) res.body().clear();
    auto owned = std::make_shared<HttpResponse>(std::move(res));
    stream_.expires_after(Chrono(opt().write_timeout));
    http::async_write(
        stream_, *owned,
        [self = shared_from_this(), owned](beast::error_code ec, size_t) {
          self->AnswerWritten();
          if (ec) return self->Close();
          if (!owned->keep_alive()) return self->Linger();
          self->WaitForRequest();
        });
  }

  // A handled request counts until its answer is on the wire, so that
  // Stop() never closes a connection under an answer being written.
  void AnswerWritten() {
    if (!answering_) return;
    answering_ = false;
    absl::MutexLock lock(&shared_->mu);
    --shared_->in_handler;
  }

  // After a closing answer the client may still be sending (a 413 body):
  // stop our side, then drain briefly so the close does not reset the
  // connection before the client has read the answer.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(1));
    DrainSome();
  }

  void DrainSome() {
    if (drained_ > 4 * opt().max_body_bytes + (1 << 20)) return Close();
    stream_.async_read_some(
        net::buffer(scratch_),
        [self = shared_from_this()](beast::error_code ec, size_t n) {
          if (ec) return self->Close();
          self->drained_ += n;
          self->DrainSome();
        });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  // First, so destroyed last: the last Session can be the last owner of
  // Shared, and stream_'s destructor still uses Shared::ioc's services.
  std::shared_ptr<Shared> shared_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const bool over_limit_;
  bool keep_alive_ = false;
  bool head_ = false;       // the request being answered is a HEAD
  bool answering_ = false;  // a handled request's answer is not written yet
  std::string request_id_;
  size_t drained_ = 0;
  size_t scanned_ = 0;  // bytes of buffer_ searched for the header's end
  char scratch_[4096];
};

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(HttpServerOptions options, HttpHandler& handler)
      : shared_(std::make_shared<Shared>(std::move(options), handler)),
        acceptor_(shared_->ioc),
        accept_retry_(shared_->ioc) {}

  ~HttpServerImpl() override { Stop(absl::ZeroDuration()); }

  absl::Status Listen() {
    auto endpoint = ParseEndpoint(shared_->options.address);
    if (!endpoint.ok()) return endpoint.status();
    loopback_ = endpoint->address().is_loopback();
    boost::system::error_code ec;
    acceptor_.open(endpoint->protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(*endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", shared_->options.address, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    const int n = std::max(1, shared_->options.threads);
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([shared = shared_] { shared->ioc.run(); });
    }
    return absl::OkStatus();
  }

  int port() const override { return port_; }
  bool loopback_only() const override { return loopback_; }

  void Stop(absl::Duration grace) override {
    if (stopped_.exchange(true)) return;
    shared_->draining.store(true);
    std::vector<std::shared_ptr<Session>> left;
    net::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      accept_retry_.cancel();
    });
    {
      absl::MutexLock lock(&shared_->mu);
      auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(shared_->mu) {
        return shared_->in_handler == 0;
      };
      shared_->mu.AwaitWithTimeout(absl::Condition(&idle), grace);
      // What is left (idle keep-alives, answers past the grace) is closed,
      // so no client waits on a connection nobody serves; a request still
      // being read is dropped unhandled (see OnRequest).
      shared_->closing = true;
      for (Session* session : shared_->sessions) {
        if (auto alive = session->weak_from_this().lock()) {
          left.push_back(std::move(alive));
        }
      }
    }
    // Outside the lock: dropping the last reference runs ~Session, which
    // takes it.
    for (auto& session : left) session->CloseSoon();
    left.clear();
    // Let the I/O threads run the closes, then stop them.
    {
      absl::MutexLock lock(&shared_->mu);
      auto closed = [this]() ABSL_SHARED_LOCKS_REQUIRED(shared_->mu) {
        return shared_->sessions.empty();
      };
      shared_->mu.AwaitWithTimeout(absl::Condition(&closed), absl::Seconds(1));
    }
    shared_->ioc.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(shared_->ioc),
                           [this](beast::error_code ec, tcp::socket socket) {
                             OnAccept(ec, std::move(socket));
                           });
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      const bool over =
          shared_->connections.fetch_add(1) >= shared_->options.max_connections;
      if (over) shared_->connections.fetch_sub(1);
      std::make_shared<Session>(std::move(socket), shared_, over)->Start();
      Accept();
      return;
    }
    // Out of descriptors (EMFILE) and the like: retrying at once would
    // spin; wait a little, connections close meanwhile.
    Log(LogLevel::kWarning, "http accept failed", {{"error", ec.message()}});
    accept_retry_.expires_after(std::chrono::milliseconds(50));
    accept_retry_.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && acceptor_.is_open()) Accept();
    });
  }

  std::shared_ptr<Shared> shared_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;  // used only by the accept loop
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  int port_ = 0;
  bool loopback_ = true;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    HttpServerOptions options, HttpHandler& handler) {
  auto server = std::make_unique<HttpServerImpl>(std::move(options), handler);
  if (auto s = server->Listen(); !s.ok()) return s;
  return server;
}

absl::StatusOr<bool> HttpServer::IsLoopbackAddress(const std::string& address) {
  auto endpoint = ParseEndpoint(address);
  if (!endpoint.ok()) return endpoint.status();
  return endpoint->address().is_loopback();
}

}  // namespace callpush::gateway
