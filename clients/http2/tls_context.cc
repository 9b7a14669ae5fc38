#include "clients/http2/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "absl/strings/str_cat.h"

namespace callpush::http2 {
namespace {

// ALPN wire format: length-prefixed protocol names.
constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};

bool IsIpLiteral(const std::string& name) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  return !ec;
}

}  // namespace

std::string LastOpenSslError() {
  unsigned long err = ERR_get_error();  // NOLINT(runtime/int): OpenSSL type
  if (err == 0) return "";
  char buf[256];
  ERR_error_string_n(err, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> NewTlsContext(
    const TlsOptions& options) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1,
                   ec);
  if (ec)
    return absl::InternalError(absl::StrCat("TLS options: ", ec.message()));
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("TLS verify: ", ec.message()));
  if (options.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load the system CAs: ", ec.message()));
    }
  } else {
    ctx->load_verify_file(options.ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot load ca_file ", options.ca_file, ": ", ec.message()));
    }
  }
  if (options.client_cert_file.empty() != options.client_key_file.empty()) {
    return absl::InvalidArgumentError(
        "client_cert_file and client_key_file go together");
  }
  if (!options.client_cert_file.empty()) {
    ctx->use_certificate_chain_file(options.client_cert_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load client_cert_file ",
                       options.client_cert_file, ": ", ec.message()));
    }
    ctx->use_private_key_file(options.client_key_file, ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load client_key_file ", options.client_key_file,
                       ": ", ec.message()));
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "client key does not match the certificate: ", LastOpenSslError()));
    }
  }
  // Unlike most OpenSSL calls, 0 means success here.
  if (SSL_CTX_set_alpn_protos(ctx->native_handle(), kAlpnH2, sizeof(kAlpnH2)) !=
      0) {
    return absl::InternalError("cannot set ALPN");
  }
  return ctx;
}

absl::Status ConfigureTlsStream(TlsStream& stream, absl::string_view name) {
  SSL* ssl = stream.native_handle();
  std::string host(name);
  if (IsIpLiteral(host)) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
      return absl::InternalError("cannot set the IP address to verify");
    }
    return absl::OkStatus();
  }
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot set SNI: ", LastOpenSslError()));
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, host.c_str()) != 1) {
    return absl::InternalError(absl::StrCat(
        "cannot set the host name to verify: ", LastOpenSslError()));
  }
  return absl::OkStatus();
}

absl::Status CheckAlpnH2(TlsStream& stream) {
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(stream.native_handle(), &proto, &len);
  if (len == 2 && proto[0] == 'h' && proto[1] == '2') return absl::OkStatus();
  return absl::UnavailableError("server did not negotiate ALPN h2");
}

}  // namespace callpush::http2
