#include "clients/apns/jwt_signer.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace callpush {
namespace {

constexpr int kEs256CoordinateBytes = 32;  // P-256: r and s are 256 bits
constexpr int kMinRsaBits = 2048;

// The oldest OpenSSL error, as text, and an empty queue: errors belong to
// the call that raised them, not to the next one on this thread.
std::string TakeOpenSslError() {
  unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL type
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

// Never prompt on a terminal for an encrypted key's passphrase (OpenSSL's
// default callback would): we do not support encrypted keys, so refuse.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

// DER ECDSA-Sig-Value (what OpenSSL produces) to JWS's fixed-width r||s.
absl::StatusOr<std::string> DerToRawEcdsa(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));  // NOLINT
  if (sig == nullptr) {
    return absl::InternalError(
        absl::StrCat("ES256: bad DER signature: ", TakeOpenSslError()));
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kEs256CoordinateBytes, '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kEs256CoordinateBytes) != kEs256CoordinateBytes ||
      BN_bn2binpad(s, out + kEs256CoordinateBytes, kEs256CoordinateBytes) !=
          kEs256CoordinateBytes) {
    return absl::InternalError("ES256: signature value out of range");
  }
  return raw;
}

absl::Status CheckKeySuits(JwtSigner::Algorithm algorithm, EVP_PKEY* key) {
  if (algorithm == JwtSigner::Algorithm::kEs256) {
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
      return absl::InvalidArgumentError("ES256 needs an EC key");
    }
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1 ||
        absl::string_view(group, len) != "prime256v1") {
      ERR_clear_error();
      return absl::InvalidArgumentError("ES256 needs a P-256 key");
    }
    return absl::OkStatus();
  }
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError("RS256 needs an RSA key");
  }
  if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RS256 needs an RSA key of at least ", kMinRsaBits, " bits"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Base64UrlEncode(absl::string_view data) {
  // Abseil's web-safe alphabet is base64url, and it leaves out the padding.
  return absl::WebSafeBase64Escape(data);
}

absl::StatusOr<JwtSigner> JwtSigner::FromPem(Algorithm algorithm,
                                             absl::string_view pem) {
  ERR_clear_error();
  std::unique_ptr<BIO, BioDeleter> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate a BIO");
  }
  EVP_PKEY* raw =
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  if (raw == nullptr) {
    // The OpenSSL reason ("no start line", "bad decrypt") helps the operator
    // and contains nothing of the key.
    return absl::InvalidArgumentError(
        absl::StrCat("not a usable PEM private key: ", TakeOpenSslError()));
  }
  std::shared_ptr<EVP_PKEY> key(raw, EVP_PKEY_free);
  if (absl::Status s = CheckKeySuits(algorithm, key.get()); !s.ok()) return s;
  return JwtSigner(algorithm, std::move(key));
}

absl::StatusOr<std::string> JwtSigner::SignatureOf(
    absl::string_view signing_input) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return absl::ResourceExhaustedError("no EVP_MD_CTX");
  // For RSA keys the default padding is PKCS#1 v1.5, which RS256 is.
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                         key_.get()) != 1) {
    return absl::InternalError(absl::StrCat("sign init: ", TakeOpenSslError()));
  }
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, signing_input.size()) != 1) {
    return absl::InternalError(absl::StrCat("sign: ", TakeOpenSslError()));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()),
                     &len, in, signing_input.size()) != 1) {
    return absl::InternalError(absl::StrCat("sign: ", TakeOpenSslError()));
  }
  sig.resize(len);
  if (algorithm_ == Algorithm::kEs256) return DerToRawEcdsa(sig);
  return sig;
}

absl::StatusOr<std::string> JwtSigner::Sign(
    absl::string_view header_json, absl::string_view claims_json) const {
  std::string signing_input = absl::StrCat(Base64UrlEncode(header_json), ".",
                                           Base64UrlEncode(claims_json));
  absl::StatusOr<std::string> sig = SignatureOf(signing_input);
  if (!sig.ok()) return sig.status();
  return absl::StrCat(signing_input, ".", Base64UrlEncode(*sig));
}

}  // namespace callpush
