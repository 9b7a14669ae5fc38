// TlsServer: the HTTP/2-over-TLS listener. Accepts connections, offers only
// ALPN "h2", optionally asks for a client certificate (verified against a
// CA; a connection that presents one is in APNs certificate-auth mode) and
// runs an H2ServerSession per connection. Loop thread only, except
// construction and Bind/ConfigureTls before the loop runs.
#ifndef CALLPUSH_TESTS_SANDBOX_TLS_SERVER_H_
#define CALLPUSH_TESTS_SANDBOX_TLS_SERVER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "tests/sandbox/h2_server_session.h"
#include "tests/sandbox/http_types.h"

namespace callpush::sandbox {

struct TlsFiles {
  std::string certificate_chain;  // PEM, server certificate first
  std::string private_key;        // PEM
  std::string client_ca;          // PEM; "" : no client certificates
};

class TlsServer {
 public:
  TlsServer(boost::asio::io_context& io, RequestHandler& handler,
            uint32_t max_concurrent_streams);

  absl::Status Bind(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  absl::Status ConfigureTls(const TlsFiles& files);

  // Accepts until Stop(). Bind and ConfigureTls first.
  void Start();
  // Stops accepting and closes every connection.
  void Stop();
  // Applies to new connections and sends SETTINGS on the open ones.
  void SetMaxConcurrentStreams(uint32_t max_concurrent_streams);

 private:
  void Accept();

  boost::asio::io_context& io_;
  RequestHandler& handler_;
  uint32_t max_concurrent_streams_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::optional<boost::asio::ssl::context> tls_;
  std::list<std::weak_ptr<H2ServerSession>> sessions_;
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_TLS_SERVER_H_
