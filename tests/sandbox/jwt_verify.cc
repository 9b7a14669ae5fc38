#include "tests/sandbox/jwt_verify.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/sandbox/base64url.h"
#include "tests/sandbox/openssl_keys.h"

namespace callpush::sandbox {
namespace {

constexpr absl::Duration kClockSkew = absl::Minutes(1);
constexpr absl::Duration kMaxTokenAge = absl::Hours(1);

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

absl::StatusOr<nlohmann::json> DecodeJsonPart(absl::string_view part) {
  absl::optional<std::string> raw = Base64UrlDecode(part);
  if (!raw) return absl::InvalidArgumentError("JWT part is not base64url");
  nlohmann::json json = nlohmann::json::parse(*raw, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError("JWT part is not a JSON object");
  }
  return json;
}

// Raw r||s (JWS) to the DER ECDSA-Sig-Value that OpenSSL verifies.
absl::StatusOr<std::string> RawEcdsaToDer(absl::string_view raw) {
  if (raw.size() != 64) {
    return absl::PermissionDeniedError("ES256 signature is not 64 bytes");
  }
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32,
                        nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + 32),
                        32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return absl::InternalError("ECDSA_SIG allocation failed");
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return absl::InternalError("i2d_ECDSA_SIG failed");
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig.get(), &out);
  return der;
}

absl::StatusOr<int64_t> IntClaim(const nlohmann::json& claims,
                                 const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number_integer()) {
    return absl::PermissionDeniedError(
        absl::StrCat("claim '", name, "' missing or not an integer"));
  }
  return it->get<int64_t>();
}

std::string StringField(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

absl::StatusOr<Jwt> ParseJwt(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      parts[2].empty()) {
    return absl::InvalidArgumentError("JWT must have three non-empty parts");
  }
  Jwt jwt;
  auto header = DecodeJsonPart(parts[0]);
  if (!header.ok()) return header.status();
  auto claims = DecodeJsonPart(parts[1]);
  if (!claims.ok()) return claims.status();
  absl::optional<std::string> signature = Base64UrlDecode(parts[2]);
  if (!signature) return absl::InvalidArgumentError("JWT signature encoding");
  jwt.header = *std::move(header);
  jwt.claims = *std::move(claims);
  jwt.signing_input = absl::StrCat(parts[0], ".", parts[1]);
  jwt.signature = *std::move(signature);
  return jwt;
}

absl::Status VerifyJwtSignature(const Jwt& jwt, absl::string_view alg,
                                EVP_PKEY* key) {
  if (StringField(jwt.header, "alg") != alg) {
    return absl::PermissionDeniedError(absl::StrCat("JWT alg is not ", alg));
  }
  if (key == nullptr) return absl::PermissionDeniedError("no key configured");
  std::string signature = jwt.signature;
  if (alg == "ES256") {
    if (EVP_PKEY_base_id(key) != EVP_PKEY_EC) {
      return absl::PermissionDeniedError("ES256 needs an EC key");
    }
    auto der = RawEcdsaToDer(jwt.signature);
    if (!der.ok()) return der.status();
    signature = *std::move(der);
  } else if (alg == "RS256") {
    if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
      return absl::PermissionDeniedError("RS256 needs an RSA key");
    }
  } else {
    return absl::PermissionDeniedError(absl::StrCat("unsupported alg ", alg));
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                                   key) != 1) {
    return absl::InternalError(OpenSslErrorText());
  }
  int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
      signature.size(),
      reinterpret_cast<const unsigned char*>(jwt.signing_input.data()),
      jwt.signing_input.size());
  if (ok != 1) {
    OpenSslErrorText();  // drop the queued error
    return absl::PermissionDeniedError("JWT signature does not verify");
  }
  return absl::OkStatus();
}

absl::Status VerifyApnsProviderToken(absl::string_view token,
                                     const ApnsTokenKey& key, absl::Time now) {
  auto jwt = ParseJwt(token);
  if (!jwt.ok()) return jwt.status();
  if (StringField(jwt->header, "kid") != key.key_id) {
    return absl::PermissionDeniedError("JWT kid does not match the key id");
  }
  absl::Status signature = VerifyJwtSignature(*jwt, "ES256", key.public_key);
  if (!signature.ok()) return signature;
  if (StringField(jwt->claims, "iss") != key.team_id) {
    return absl::PermissionDeniedError("JWT iss is not the team id");
  }
  auto iat = IntClaim(jwt->claims, "iat");
  if (!iat.ok()) return iat.status();
  absl::Time issued = absl::FromUnixSeconds(*iat);
  if (issued > now + kClockSkew) {
    return absl::UnauthenticatedError("JWT iat is in the future");
  }
  if (now - issued > kMaxTokenAge) {
    return absl::UnauthenticatedError("JWT is older than one hour");
  }
  return absl::OkStatus();
}

absl::StatusOr<Jwt> VerifyServiceAccountAssertion(absl::string_view token,
                                                  const ServiceAccountKey& key,
                                                  absl::Time now) {
  auto jwt = ParseJwt(token);
  if (!jwt.ok()) return jwt.status();
  absl::Status signature = VerifyJwtSignature(*jwt, "RS256", key.public_key);
  if (!signature.ok()) return signature;
  if (!key.expected_issuer.empty() &&
      StringField(jwt->claims, "iss") != key.expected_issuer) {
    return absl::PermissionDeniedError("assertion iss is not client_email");
  }
  if (!key.expected_audience.empty() &&
      StringField(jwt->claims, "aud") != key.expected_audience) {
    return absl::PermissionDeniedError("assertion aud is not token_uri");
  }
  auto iat = IntClaim(jwt->claims, "iat");
  if (!iat.ok()) return iat.status();
  auto exp = IntClaim(jwt->claims, "exp");
  if (!exp.ok()) return exp.status();
  absl::Time issued = absl::FromUnixSeconds(*iat);
  absl::Time expires = absl::FromUnixSeconds(*exp);
  if (expires - issued > kMaxTokenAge || expires <= issued) {
    return absl::PermissionDeniedError("assertion lifetime is not (0, 1h]");
  }
  if (issued > now + kClockSkew) {
    return absl::UnauthenticatedError("assertion iat is in the future");
  }
  if (expires <= now) return absl::UnauthenticatedError("assertion expired");
  return jwt;
}

}  // namespace callpush::sandbox
