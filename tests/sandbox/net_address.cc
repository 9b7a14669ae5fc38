#include "tests/sandbox/net_address.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace callpush::sandbox {

absl::StatusOr<boost::asio::ip::tcp::endpoint> ParseEndpoint(
    absl::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", text, "' is not host:port"));
  }
  absl::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint32_t port;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", text, "' has a bad port"));
  }
  boost::system::error_code error;
  auto ip = boost::asio::ip::make_address(std::string(host), error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", text, "' needs an IP literal host"));
  }
  return boost::asio::ip::tcp::endpoint(ip, static_cast<uint16_t>(port));
}

std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint) {
  if (endpoint.address().is_v6()) {
    return absl::StrCat("[", endpoint.address().to_string(),
                        "]:", endpoint.port());
  }
  return absl::StrCat(endpoint.address().to_string(), ":", endpoint.port());
}

}  // namespace callpush::sandbox
