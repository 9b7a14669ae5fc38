// TestPki: a throwaway certificate authority made at test time, with a
// server certificate (localhost, 127.0.0.1, ::1) and a client certificate
// (clientAuth) it signed, as PEM files in a fresh directory under the test's
// temp dir, removed with the object. For TLS and mutual TLS tests; two
// TestPki are two unrelated CAs. The keys come from the push sandbox's cert
// maker (tests/sandbox/cert_maker.h), so the sandbox and these tests trust
// the same kind of chain.
#ifndef CALLPUSH_TESTS_TESTING_TEST_CERTS_H_
#define CALLPUSH_TESTS_TESTING_TEST_CERTS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace callpush::testing {

class TestPki {
 public:
  // Generates the CA, its certificates and keys (EC P-256).
  static absl::StatusOr<std::unique_ptr<TestPki>> Make();
  ~TestPki();

  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& ca_cert() const { return ca_cert_; }
  // The server's certificate, then the CA's.
  const std::string& server_cert() const { return server_cert_; }
  const std::string& server_key() const { return server_key_; }
  const std::string& client_cert() const { return client_cert_; }
  const std::string& client_key() const { return client_key_; }

  // Writes `contents` to `name` in dir(); its full path.
  absl::StatusOr<std::string> WriteFile(const std::string& name,
                                        const std::string& contents) const;

 private:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  std::string ca_cert_, server_cert_, server_key_, client_cert_, client_key_;
};

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_TEST_CERTS_H_
