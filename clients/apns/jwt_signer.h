// JwtSigner: signs compact JWS tokens (RFC 7515) with one private key, for
// the two JWTs the push providers need: the APNs provider token (ES256) and
// the Google OAuth assertion of FCM (RS256). Callers build the header and
// claims JSON; this file only knows keys, signatures and encoding.
#ifndef CALLPUSH_CLIENTS_APNS_JWT_SIGNER_H_
#define CALLPUSH_CLIENTS_APNS_JWT_SIGNER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace callpush {

// Base64url without padding (RFC 7515 section 2), as every JWT part is.
std::string Base64UrlEncode(absl::string_view data);

// Immutable after FromPem, so one signer may be shared by any number of
// threads (each Sign uses its own OpenSSL context). Copies share the key.
class JwtSigner {
 public:
  enum class Algorithm {
    kEs256,  // ECDSA P-256 + SHA-256; JWS signature is raw r||s (64 bytes)
    kRs256,  // RSASSA-PKCS1-v1_5 + SHA-256; key of at least 2048 bits
  };

  // Loads a PEM private key (PKCS#8 "BEGIN PRIVATE KEY", as Apple's .p8 and
  // Google's service-account JSON carry it, or a traditional EC/RSA key).
  // INVALID_ARGUMENT if it does not parse, is encrypted, or does not suit
  // `algorithm`. Messages never quote the key.
  static absl::StatusOr<JwtSigner> FromPem(Algorithm algorithm,
                                           absl::string_view pem);

  Algorithm algorithm() const { return algorithm_; }

  // "<b64url(header)>.<b64url(claims)>.<b64url(signature)>". The JSON texts
  // are taken as given; their "alg" must match algorithm(). INTERNAL only if
  // OpenSSL fails to sign with a key it accepted.
  absl::StatusOr<std::string> Sign(absl::string_view header_json,
                                   absl::string_view claims_json) const;

  // The JWS signature of `signing_input` (raw bytes, not encoded).
  absl::StatusOr<std::string> SignatureOf(
      absl::string_view signing_input) const;

 private:
  JwtSigner(Algorithm algorithm, std::shared_ptr<EVP_PKEY> key)
      : algorithm_(algorithm), key_(std::move(key)) {}

  Algorithm algorithm_;            // Constant after construction
  std::shared_ptr<EVP_PKEY> key_;  // Constant after construction
};

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_APNS_JWT_SIGNER_H_
