// OAuthEndpoint: POST /token, Google's OAuth2 JWT-bearer grant. Verifies the
// RS256 assertion against the service account's public key and issues an
// access token into the AccessTokenStore. Thread-safe; never blocks.
#ifndef CALLPUSH_TESTS_SANDBOX_OAUTH_ENDPOINT_H_
#define CALLPUSH_TESTS_SANDBOX_OAUTH_ENDPOINT_H_

#include <string>

#include "clients/base/clock.h"
#include "tests/sandbox/access_token_store.h"
#include "tests/sandbox/http_types.h"
#include "tests/sandbox/jwt_verify.h"
#include "tests/sandbox/openssl_keys.h"

namespace callpush::sandbox {

constexpr absl::string_view kTokenPath = "/token";
constexpr absl::Duration kAccessTokenLifetime = absl::Hours(1);

// Decodes application/x-www-form-urlencoded `body` into `name`'s value.
absl::optional<std::string> FormValue(absl::string_view body,
                                      absl::string_view name);

class OAuthEndpoint {
 public:
  // `client_email` / `token_uri` empty: iss / aud are not checked.
  OAuthEndpoint(PKeyPtr public_key, std::string client_email,
                std::string token_uri, AccessTokenStore& tokens,
                const Clock& clock);

  HttpResponse Handle(const HttpRequest& request);

 private:
  const PKeyPtr public_key_;
  const std::string client_email_;
  const std::string token_uri_;
  AccessTokenStore& tokens_;
  const Clock& clock_;
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_OAUTH_ENDPOINT_H_
