#include "tests/testing/server_process.h"

#include "absl/strings/str_cat.h"
#include "tests/testing/grpc_probe.h"

namespace callpush::testing {
namespace {

constexpr int kServing = 1;  // grpc.health.v1 ServingStatus

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& database_url,
    const std::vector<std::string>& extra_flags) {
  std::vector<std::string> argv = {
      absl::StrCat(CALLPUSH_BINARY_DIR, "/server/callpush-server"),
      "--grpc_address=127.0.0.1:0",
      absl::StrCat("--database_url=", database_url), "--db_workers=2",
      "--shutdown_grace=1s"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  auto child = Subprocess::Start(argv);
  if (!child.ok()) return child.status();
  auto server = std::unique_ptr<ServerProcess>(new ServerProcess());
  server->process_ = *std::move(child);
  auto addr = server->process_->WaitForLine("callpush-server listening grpc=",
                                            absl::Seconds(20));
  if (!addr.ok()) return addr.status();
  server->address_ = *addr;
  server->channel_ =
      grpc::CreateChannel(*addr, grpc::InsecureChannelCredentials());
  return server;
}

absl::Status ServerProcess::AwaitServing(absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<int> health = absl::DeadlineExceededError("not asked yet");
  while (absl::Now() < deadline) {
    health = HealthCheck(channel_, "");
    if (health.ok() && *health == kServing) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));  // polling a remote state
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "server never became SERVING: ",
      health.ok() ? absl::StrCat(*health) : health.status().ToString()));
}

}  // namespace callpush::testing
