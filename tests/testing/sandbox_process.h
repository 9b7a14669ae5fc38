// SandboxProcess: the real callpush-sandbox as a child process on loopback
// ports chosen by the kernel, with credentials it made itself, plus its admin
// API (deliveries, rules) and a push config JSON pointing an app at it.
#ifndef CALLPUSH_TESTS_TESTING_SANDBOX_PROCESS_H_
#define CALLPUSH_TESTS_TESTING_SANDBOX_PROCESS_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "tests/testing/subprocess.h"

namespace callpush::testing {

class SandboxProcess {
 public:
  static absl::StatusOr<std::unique_ptr<SandboxProcess>> Start();
  // SIGTERM, then removes the credentials directory.
  ~SandboxProcess();

  const std::string& dir() const { return dir_; }      // credentials
  const std::string& h2() const { return h2_; }        // host:port
  const std::string& admin() const { return admin_; }  // host:port

  // A push config with one app `app` (APNs bundle `bundle_id`, token auth,
  // and FCM) whose endpoints are this sandbox.
  nlohmann::json PushConfig(const std::string& app,
                            const std::string& bundle_id) const;

  // GET /deliveries (an empty array on error, with a test failure).
  nlohmann::json Deliveries() const;
  // PUT /rules with a JSON array.
  absl::Status PutRules(const std::string& json) const;
  // PUT /settings, e.g. {"max_concurrent_streams": 1}.
  absl::Status PutSettings(const std::string& json) const;

 private:
  SandboxProcess() = default;
  absl::Status Put(const std::string& path, const std::string& json) const;
  std::string dir_, h2_, admin_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_SANDBOX_PROCESS_H_
