// Keys made at test time (no key material in the repository) and the
// independent JWT checks the provider tests need: decode a part, verify a
// signature with OpenSSL directly.
#ifndef CALLPUSH_TESTS_UNIT_CLIENTS_PUSH_TEST_KEYS_H_
#define CALLPUSH_TESTS_UNIT_CLIENTS_PUSH_TEST_KEYS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace callpush::testing {

// PKCS#8 PEM ("BEGIN PRIVATE KEY"), as Apple's .p8 and Google's JSON hold.
// The common ones are generated once per process (RSA takes a while).
const std::string& EcP256Pem();
const std::string& Rsa2048Pem();
std::string GenerateEcPem(const char* curve);  // e.g. "P-384"
std::string GenerateRsaPem(unsigned int bits);
// An EC P-256 key encrypted with a passphrase.
std::string EncryptedEcP256Pem();

// Part 0 (header) or 1 (claims) of a compact JWT, parsed; null JSON if the
// JWT is malformed.
nlohmann::json JwtPart(absl::string_view jwt, int part);

// Whether `jwt`'s signature verifies with the public half of the PEM
// private key, for "ES256" (raw r||s converted back to DER here) or "RS256".
bool VerifyJwt(absl::string_view jwt, const std::string& private_pem,
               absl::string_view alg);

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_UNIT_CLIENTS_PUSH_TEST_KEYS_H_
