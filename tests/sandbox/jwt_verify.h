// JWT parsing and signature verification (ES256 for APNs provider tokens,
// RS256 for Google OAuth2 JWT-bearer assertions) with OpenSSL EVP.
//
// Error codes, chosen by what an endpoint answers:
//   kInvalidArgument   the text is not a JWT (three base64url JSON parts).
//   kPermissionDenied  wrong alg, wrong kid, bad signature, wrong issuer or
//                      audience: the credential is invalid.
//   kUnauthenticated   well-formed and signed, but expired (or issued in
//                      the future).
// Pure functions of their inputs; thread-safe.
#ifndef CALLPUSH_TESTS_SANDBOX_JWT_VERIFY_H_
#define CALLPUSH_TESTS_SANDBOX_JWT_VERIFY_H_

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace callpush::sandbox {

struct Jwt {
  nlohmann::json header;
  nlohmann::json claims;
  std::string signing_input;  // "<b64 header>.<b64 claims>"
  std::string signature;      // decoded bytes
};

absl::StatusOr<Jwt> ParseJwt(absl::string_view token);

// Checks `jwt.signature` over `jwt.signing_input` with `key`. `alg` is
// "ES256" (key: EC P-256, signature raw r||s, 64 bytes) or "RS256" (RSA,
// PKCS#1 v1.5). The header's alg must equal `alg`.
absl::Status VerifyJwtSignature(const Jwt& jwt, absl::string_view alg,
                                EVP_PKEY* key);

// An APNs provider token: header {alg: ES256, kid: key_id}, claims
// {iss: team_id, iat}; iat no older than one hour (Apple rejects older
// tokens with ExpiredProviderToken) and not in the future beyond skew.
struct ApnsTokenKey {
  std::string team_id;
  std::string key_id;
  EVP_PKEY* public_key = nullptr;  // not owned
};
absl::Status VerifyApnsProviderToken(absl::string_view token,
                                     const ApnsTokenKey& key, absl::Time now);

// A service-account assertion: header alg RS256; claims iss (= client_email
// when expected_issuer is non-empty), aud (= expected_audience when
// non-empty), iat, exp with iat <= now + skew < exp and exp - iat <= 1h.
struct ServiceAccountKey {
  std::string expected_issuer;
  std::string expected_audience;
  EVP_PKEY* public_key = nullptr;  // not owned
};
absl::StatusOr<Jwt> VerifyServiceAccountAssertion(absl::string_view token,
                                                  const ServiceAccountKey& key,
                                                  absl::Time now);

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_JWT_VERIFY_H_
