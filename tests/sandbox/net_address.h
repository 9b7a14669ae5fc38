// "host:port" parsing for the sandbox's listen flags. Only IP literals:
// the sandbox listens on loopback in tests and demos.
#ifndef CALLPUSH_TESTS_SANDBOX_NET_ADDRESS_H_
#define CALLPUSH_TESTS_SANDBOX_NET_ADDRESS_H_

#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace callpush::sandbox {

// "127.0.0.1:0", "[::1]:8443".
absl::StatusOr<boost::asio::ip::tcp::endpoint> ParseEndpoint(
    absl::string_view text);
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_NET_ADDRESS_H_
