// OpenSSL key handles and PEM loading, wrapped once: EVP_PKEY as a
// unique_ptr, OpenSSL errors turned into absl::Status here.
#ifndef CALLPUSH_TESTS_SANDBOX_OPENSSL_KEYS_H_
#define CALLPUSH_TESTS_SANDBOX_OPENSSL_KEYS_H_

#include <openssl/evp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace callpush::sandbox {

struct PKeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, PKeyDeleter>;

// The text of the oldest queued OpenSSL error (and clears the queue).
std::string OpenSslErrorText();

absl::StatusOr<std::string> ReadFileToString(const std::string& path);
absl::Status WriteStringToFile(const std::string& path,
                               absl::string_view contents, bool secret);

// "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo).
absl::StatusOr<PKeyPtr> PublicKeyFromPem(absl::string_view pem);
// "-----BEGIN PRIVATE KEY-----" (PKCS#8, e.g. an APNs .p8 file).
absl::StatusOr<PKeyPtr> PrivateKeyFromPem(absl::string_view pem);

absl::StatusOr<std::string> PublicKeyToPem(EVP_PKEY* key);
absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key);

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_OPENSSL_KEYS_H_
