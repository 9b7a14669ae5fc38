// TlsContext: the client-side TLS configuration every connection of a pool
// shares: TLS 1.2+, ALPN "h2" offered, the server certificate verified
// against a CA file (or the system CAs), an optional client certificate.
// Per-connection settings (SNI, the name to verify) are applied by
// ConfigureTlsStream().
#ifndef CALLPUSH_CLIENTS_HTTP2_TLS_CONTEXT_H_
#define CALLPUSH_CLIENTS_HTTP2_TLS_CONTEXT_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace callpush::http2 {

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

struct TlsOptions {
  std::string ca_file;  // PEM; empty: the system default paths
  std::string client_cert_file;
  std::string client_key_file;
};

// INVALID_ARGUMENT when a file cannot be read or the key does not match the
// certificate. The context is immutable afterwards and may be shared by
// streams on one io_context.
absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> NewTlsContext(
    const TlsOptions& options);

// Sets SNI (skipped for an IP literal, as RFC 6066 asks) and the name the
// server certificate must match (DNS name or IP address). INTERNAL on an
// OpenSSL failure.
absl::Status ConfigureTlsStream(TlsStream& stream, absl::string_view name);

// After the handshake: OK only if the server selected ALPN "h2".
absl::Status CheckAlpnH2(TlsStream& stream);

// The reason for the last OpenSSL failure on this thread, or "".
std::string LastOpenSslError();

}  // namespace callpush::http2

#endif  // CALLPUSH_CLIENTS_HTTP2_TLS_CONTEXT_H_
