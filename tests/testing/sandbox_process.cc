#include "tests/testing/sandbox_process.h"

#include <signal.h>
#include <stdlib.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace callpush::testing {

absl::StatusOr<std::unique_ptr<SandboxProcess>> SandboxProcess::Start() {
  std::unique_ptr<SandboxProcess> s(new SandboxProcess());
  char tmpl[] = "/tmp/callpush-sandbox-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  s->dir_ = tmpl;
  auto process = Subprocess::Start(
      {std::string(CALLPUSH_BINARY_DIR) + "/tests/sandbox/callpush-sandbox",
       "--make_certs", s->dir_, "--h2_address=127.0.0.1:0",
       "--admin_address=127.0.0.1:0"});
  if (!process.ok()) return process.status();
  s->process_ = *std::move(process);
  auto line = s->process_->WaitForLine("callpush-sandbox listening ",
                                       absl::Seconds(30));
  if (!line.ok()) return line.status();
  for (absl::string_view part : absl::StrSplit(*line, ' ')) {
    if (absl::ConsumePrefix(&part, "h2=")) s->h2_ = std::string(part);
    if (absl::ConsumePrefix(&part, "admin=")) s->admin_ = std::string(part);
  }
  if (s->h2_.empty() || s->admin_.empty()) {
    return absl::InternalError(absl::StrCat("bad sandbox line: ", *line));
  }
  return s;
}

SandboxProcess::~SandboxProcess() {
  if (process_ != nullptr) {
    process_->Signal(SIGTERM);
    process_->Wait(absl::Seconds(10)).IgnoreError();
  }
  if (!dir_.empty()) {
    RunProgram({"/bin/rm", "-rf", dir_}, absl::Seconds(10)).IgnoreError();
  }
}

nlohmann::json SandboxProcess::PushConfig(const std::string& app,
                                          const std::string& bundle_id) const {
  return {{"apps",
           {{{"name", app},
             {"apns",
              {{"bundleId", bundle_id},
               {"teamId", "SANDBOXTM1"},
               {"keyId", "SANDBOXKY1"},
               {"keyFile", dir_ + "/apns-key.p8"},
               {"defaultEnvironment", "production"},
               {"productionEndpoint", h2_},
               {"sandboxEndpoint", h2_},
               {"caFile", dir_ + "/ca.pem"}}},
             {"fcm",
              {{"projectId", "callpush-sandbox"},
               {"serviceAccountFile", dir_ + "/fcm-service-account.json"},
               {"endpoint", h2_},
               {"caFile", dir_ + "/ca.pem"}}}}}}};
}

nlohmann::json SandboxProcess::Deliveries() const {
  auto run = RunProgram({"/usr/bin/curl", "-s", "--max-time", "10",
                         absl::StrCat("http://", admin_, "/deliveries")},
                        absl::Seconds(15));
  if (!run.ok() || run->exit_code != 0) return nlohmann::json::array();
  return nlohmann::json::parse(run->output, nullptr, false);
}

absl::Status SandboxProcess::PutRules(const std::string& json) const {
  return Put("/rules", json);
}

absl::Status SandboxProcess::PutSettings(const std::string& json) const {
  return Put("/settings", json);
}

absl::Status SandboxProcess::Put(const std::string& path,
                                 const std::string& json) const {
  auto run =
      RunProgram({"/usr/bin/curl", "-s", "--fail", "--max-time", "10", "-X",
                  "PUT", "--data", json, absl::StrCat("http://", admin_, path)},
                 absl::Seconds(15));
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(absl::StrCat("PUT ", path, ": ", run->output));
  }
  return absl::OkStatus();
}

}  // namespace callpush::testing
