// Test-only JWT signing (ES256 with raw r||s, RS256), the counterpart of
// jwt_verify.h, so tests can mint provider tokens and assertions.
#ifndef CALLPUSH_TESTS_SANDBOX_JWT_TEST_SIGNER_H_
#define CALLPUSH_TESTS_SANDBOX_JWT_TEST_SIGNER_H_

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <string>

namespace callpush::sandbox {

// "ES256" or "RS256"; `header` must carry the alg. Aborts the test binary
// on OpenSSL failure (test-only code).
std::string SignJwtForTest(const nlohmann::json& header,
                           const nlohmann::json& claims, EVP_PKEY* key);

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_JWT_TEST_SIGNER_H_
