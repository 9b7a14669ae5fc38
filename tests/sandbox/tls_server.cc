#include "tests/sandbox/tls_server.h"

#include <openssl/ssl.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "clients/base/log.h"

namespace callpush::sandbox {
namespace {

namespace asio = boost::asio;

// ALPN: choose "h2" or refuse (APNs and FCM speak HTTP/2 only).
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen,
               const unsigned char* in, unsigned int inlen, void*) {
  for (unsigned int i = 0; i < inlen;) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == 2 && std::memcmp(in + i + 1, "h2", 2) == 0) {
      *out = in + i + 1;
      *outlen = 2;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

}  // namespace

TlsServer::TlsServer(asio::io_context& io, RequestHandler& handler,
                     uint32_t max_concurrent_streams)
    : io_(io),
      handler_(handler),
      max_concurrent_streams_(max_concurrent_streams),
      acceptor_(io) {}

absl::Status TlsServer::Bind(const asio::ip::tcp::endpoint& endpoint) {
  boost::system::error_code error;
  acceptor_.open(endpoint.protocol(), error);
  if (!error)
    acceptor_.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor_.bind(endpoint, error);
  if (!error)
    acceptor_.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("h2 listener: ", error.message()));
  }
  return absl::OkStatus();
}

asio::ip::tcp::endpoint TlsServer::local_endpoint() const {
  boost::system::error_code error;
  return acceptor_.local_endpoint(error);
}

absl::Status TlsServer::ConfigureTls(const TlsFiles& files) {
  tls_.emplace(asio::ssl::context::tls_server);
  boost::system::error_code error;
  tls_->set_options(
      asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
          asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
          asio::ssl::context::no_tlsv1_1,
      error);
  if (!error) tls_->use_certificate_chain_file(files.certificate_chain, error);
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate ", files.certificate_chain, ": ", error.message()));
  }
  tls_->use_private_key_file(files.private_key, asio::ssl::context::pem, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("private key ", files.private_key, ": ", error.message()));
  }
  if (!files.client_ca.empty()) {
    tls_->load_verify_file(files.client_ca, error);
    if (error) {
      return absl::InvalidArgumentError(
          absl::StrCat("client CA ", files.client_ca, ": ", error.message()));
    }
    // Ask for a certificate but do not require one: token-auth clients
    // connect without.
    tls_->set_verify_mode(asio::ssl::verify_peer, error);
  }
  SSL_CTX_set_alpn_select_cb(tls_->native_handle(), &SelectAlpn, nullptr);
  return absl::OkStatus();
}

void TlsServer::Start() { Accept(); }

void TlsServer::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& error,
                                asio::ip::tcp::socket socket) {
    if (error == asio::error::operation_aborted || !acceptor_.is_open()) {
      return;
    }
    if (!error) {
      socket.set_option(asio::ip::tcp::no_delay(true));
      auto session =
          std::make_shared<H2ServerSession>(TlsSocket(std::move(socket), *tls_),
                                            handler_, max_concurrent_streams_);
      sessions_.remove_if(
          [](const std::weak_ptr<H2ServerSession>& s) { return s.expired(); });
      sessions_.push_back(session);
      session->Start();
    } else {
      Log(LogLevel::kWarning, "accept failed", {{"error", error.message()}});
    }
    Accept();
  });
}

void TlsServer::Stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& weak : sessions_) {
    if (auto session = weak.lock()) session->Close();
  }
  sessions_.clear();
}

void TlsServer::SetMaxConcurrentStreams(uint32_t max_concurrent_streams) {
  max_concurrent_streams_ = max_concurrent_streams;
  for (auto& weak : sessions_) {
    if (auto session = weak.lock()) {
      session->UpdateMaxConcurrentStreams(max_concurrent_streams);
    }
  }
}

}  // namespace callpush::sandbox
