// The OAuth 2.0 JWT-bearer grant (RFC 7523) by which a service account
// obtains the access token FCM HTTP v1 wants: we sign an RS256 assertion,
// POST it to the account's token_uri, and read back the access token.
// Network-free: the caller sends the request on its HTTP/2 pool.
#ifndef CALLPUSH_CLIENTS_FCM_OAUTH_TOKEN_EXCHANGE_H_
#define CALLPUSH_CLIENTS_FCM_OAUTH_TOKEN_EXCHANGE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/fcm/service_account.h"
#include "clients/http2/http2_types.h"

namespace callpush {

inline constexpr absl::string_view kFcmScope =
    "https://www.googleapis.com/auth/firebase.messaging";
// Google accepts assertions valid for at most an hour.
inline constexpr absl::Duration kAssertionLifetime = absl::Hours(1);

// RS256 JWT, header {alg: RS256, typ: JWT, kid: private_key_id if any},
// claims {iss: client_email, scope, aud: token_uri, iat: now, exp: iat +
// 1 h}. INVALID_ARGUMENT if the account's key is unusable.
absl::StatusOr<std::string> BuildOAuthAssertion(const ServiceAccount& account,
                                                absl::string_view scope,
                                                absl::Time now);

// POST <token_uri's path>, content-type application/x-www-form-urlencoded,
// body "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer
// &assertion=<jwt>". Send it to HttpsUri of account.token_uri (host, port).
absl::StatusOr<http2::Request> BuildTokenRequest(
    const ServiceAccount& account, absl::Time now,
    absl::string_view scope = kFcmScope);

struct AccessToken {
  std::string token;  // secret: never log
  absl::Time expires_at = absl::InfinitePast();
};

// Reads the token endpoint's answer, `now` being when the request was sent
// (so expires_at errs early). A transport error comes back unchanged.
// 200 {"access_token", "expires_in" > 0, "token_type": "Bearer" if present}
// -> the token; a malformed 200 -> INTERNAL; 429 and 5xx -> UNAVAILABLE
// (try again later); other statuses -> FAILED_PRECONDITION quoting Google's
// "error" code and description, which hold no secrets but name the cause
// (invalid_grant: a deleted key, a skewed clock).
absl::StatusOr<AccessToken> ParseTokenResponse(
    const absl::StatusOr<http2::Response>& response, absl::Time now);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_FCM_OAUTH_TOKEN_EXCHANGE_H_
