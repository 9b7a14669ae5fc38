// MakeSandboxCredentials: writes a throwaway test PKI and provider keys into
// a directory, so that the sandbox and its clients need no real secrets.
// Blocking file I/O; call it before the event loop runs.
#ifndef CALLPUSH_TESTS_SANDBOX_CERT_MAKER_H_
#define CALLPUSH_TESTS_SANDBOX_CERT_MAKER_H_

#include <openssl/evp.h>

#include <string>

#include "absl/status/statusor.h"
#include "tests/sandbox/openssl_keys.h"

namespace callpush::sandbox {

// The files written, as full paths.
struct SandboxCredentials {
  std::string ca_cert;              // ca.pem: trust this for the server
  std::string server_cert;          // server.pem: localhost, 127.0.0.1, ::1
  std::string server_key;           // server-key.pem
  std::string client_cert;          // client.pem: APNs certificate auth
  std::string client_key;           // client-key.pem
  std::string apns_private_key;     // apns-key.p8 (PKCS#8, EC P-256)
  std::string apns_public_key;      // apns-public.pem
  std::string fcm_service_account;  // fcm-service-account.json
  std::string fcm_public_key;       // fcm-public.pem
};

struct CredentialOptions {
  std::string token_uri;     // written into the service-account JSON
  std::string project_id;    // ditto
  std::string client_email;  // ditto
};

// Overwrites the files if present. Private keys are written mode 0600.
absl::StatusOr<SandboxCredentials> MakeSandboxCredentials(
    const std::string& dir, const CredentialOptions& options);

// Key generation, exposed for tests that need keys but no files.
absl::StatusOr<PKeyPtr> GenerateEcP256Key();
absl::StatusOr<PKeyPtr> GenerateRsaKey(int bits);

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_CERT_MAKER_H_
