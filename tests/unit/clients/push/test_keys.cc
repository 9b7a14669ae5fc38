#include "tests/unit/clients/push/test_keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"

namespace callpush::testing {
namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

std::string ToPem(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr,
                  const char* pass = nullptr) {
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  // PEM_write_bio_PrivateKey writes PKCS#8 in OpenSSL 3.
  if (PEM_write_bio_PrivateKey(
          bio.get(), key, cipher, reinterpret_cast<const unsigned char*>(pass),
          pass == nullptr ? 0 : static_cast<int>(std::strlen(pass)), nullptr,
          nullptr) != 1) {
    std::abort();
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  return std::string(data, static_cast<size_t>(len));
}

PkeyPtr FromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
             BIO_free);
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
                 EVP_PKEY_free);
}

}  // namespace

std::string GenerateEcPem(const char* curve) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve), EVP_PKEY_free);
  if (key == nullptr) std::abort();
  return ToPem(key.get());
}

std::string GenerateRsaPem(unsigned int bits) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{bits}),
              EVP_PKEY_free);
  if (key == nullptr) std::abort();
  return ToPem(key.get());
}

const std::string& EcP256Pem() {
  static const std::string* pem = new std::string(GenerateEcPem("P-256"));
  return *pem;
}

const std::string& Rsa2048Pem() {
  static const std::string* pem = new std::string(GenerateRsaPem(2048));
  return *pem;
}

std::string EncryptedEcP256Pem() {
  PkeyPtr key = FromPem(EcP256Pem());
  return ToPem(key.get(), EVP_aes_128_cbc(), "secret");
}

nlohmann::json JwtPart(absl::string_view jwt, int part) {
  std::vector<absl::string_view> parts = absl::StrSplit(jwt, '.');
  if (parts.size() != 3) return nullptr;
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(parts[part], &decoded)) return nullptr;
  return nlohmann::json::parse(decoded, nullptr, /*allow_exceptions=*/false);
}

bool VerifyJwt(absl::string_view jwt, const std::string& private_pem,
               absl::string_view alg) {
  size_t last_dot = jwt.rfind('.');
  if (last_dot == absl::string_view::npos) return false;
  absl::string_view signing_input = jwt.substr(0, last_dot);
  std::string sig;
  if (!absl::WebSafeBase64Unescape(jwt.substr(last_dot + 1), &sig)) {
    return false;
  }
  if (alg == "ES256") {
    // JWS r||s back to the DER that OpenSSL verifies.
    if (sig.size() != 64) return false;
    const auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(raw, 32, nullptr),
                   BN_bin2bn(raw + 32, 32, nullptr));
    unsigned char* der = nullptr;
    int der_len = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    if (der_len <= 0) return false;
    sig.assign(reinterpret_cast<char*>(der), static_cast<size_t>(der_len));
    OPENSSL_free(der);
  } else if (alg != "RS256") {
    return false;
  }
  PkeyPtr key = FromPem(private_pem);
  if (key == nullptr) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                           key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(
             ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
             sig.size(),
             reinterpret_cast<const unsigned char*>(signing_input.data()),
             signing_input.size()) == 1;
}

}  // namespace callpush::testing
