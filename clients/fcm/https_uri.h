// HttpsUri: the parts of an https URI the HTTP/2 client needs (authority to
// connect to, path to request), e.g. of a service account's token_uri.
#ifndef CALLPUSH_CLIENTS_FCM_HTTPS_URI_H_
#define CALLPUSH_CLIENTS_FCM_HTTPS_URI_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace callpush {

struct HttpsUri {
  std::string host;
  int port = 443;
  std::string path;  // starts with '/', query included; "/" if none
};

// "https://host[:port][/path[?query]]"; no user info, no fragment, no IPv6
// literals. INVALID_ARGUMENT otherwise: the token endpoint must be TLS.
absl::StatusOr<HttpsUri> ParseHttpsUri(absl::string_view uri);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_FCM_HTTPS_URI_H_
