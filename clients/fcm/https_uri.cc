#include "clients/fcm/https_uri.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace callpush {

absl::StatusOr<HttpsUri> ParseHttpsUri(absl::string_view uri) {
  constexpr absl::string_view kScheme = "https://";
  if (!absl::StartsWithIgnoreCase(uri, kScheme)) {
    return absl::InvalidArgumentError("not an https URI");
  }
  uri.remove_prefix(kScheme.size());
  if (absl::StrContains(uri, '#')) {
    return absl::InvalidArgumentError("URI has a fragment");
  }
  size_t slash = uri.find_first_of("/?");
  absl::string_view authority = uri.substr(0, slash);
  HttpsUri out;
  if (slash == absl::string_view::npos) {
    out.path = "/";
  } else {
    out.path = std::string(uri.substr(slash));
    if (out.path[0] == '?') out.path.insert(0, "/");
  }
  if (authority.empty() || absl::StrContains(authority, '@') ||
      absl::StrContains(authority, '[')) {
    return absl::InvalidArgumentError("URI has no usable host");
  }
  size_t colon = authority.find(':');
  absl::string_view host = authority.substr(0, colon);
  if (colon != absl::string_view::npos) {
    int port = 0;
    if (!absl::SimpleAtoi(authority.substr(colon + 1), &port) || port <= 0 ||
        port > 65535) {
      return absl::InvalidArgumentError("URI has a bad port");
    }
    out.port = port;
  }
  if (host.empty()) return absl::InvalidArgumentError("URI has no host");
  for (char c : host) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.') {
      return absl::InvalidArgumentError("URI has a bad host");
    }
  }
  out.host = absl::AsciiStrToLower(host);
  for (char c : out.path) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return absl::InvalidArgumentError("URI path has a control character");
    }
  }
  return out;
}

}  // namespace callpush
