#include "tests/sandbox/jwt_test_signer.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/sandbox/base64url.h"

namespace callpush::sandbox {

std::string SignJwtForTest(const nlohmann::json& header,
                           const nlohmann::json& claims, EVP_PKEY* key) {
  std::string input = absl::StrCat(Base64UrlEncode(header.dump()), ".",
                                   Base64UrlEncode(claims.dump()));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx, nullptr, &len,
                     reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    std::abort();
  }
  std::vector<unsigned char> sig(len);
  if (EVP_DigestSign(ctx, sig.data(), &len,
                     reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    std::abort();
  }
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  std::string signature(sig.begin(), sig.end());
  if (EVP_PKEY_base_id(key) == EVP_PKEY_EC) {
    const unsigned char* p = sig.data();
    ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    if (ecdsa == nullptr) std::abort();
    unsigned char raw[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), raw + 32, 32);
    ECDSA_SIG_free(ecdsa);
    signature.assign(reinterpret_cast<char*>(raw), 64);
  }
  return absl::StrCat(input, ".", Base64UrlEncode(signature));
}

}  // namespace callpush::sandbox
