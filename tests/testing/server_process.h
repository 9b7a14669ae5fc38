// ServerProcess: the real callpush-server as a child process, gRPC on a
// loopback port the kernel picks, over `database_url`, with the address it
// printed and a channel to it. Tests that need the binary (flags, signals,
// the CLI) build on it instead of repeating the start-up.
#ifndef CALLPUSH_TESTS_TESTING_SERVER_PROCESS_H_
#define CALLPUSH_TESTS_TESTING_SERVER_PROCESS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/subprocess.h"

namespace callpush::testing {

class ServerProcess {
 public:
  // Starts `callpush-server --grpc_address=127.0.0.1:0 --database_url=...
  // --db_workers=2 --shutdown_grace=1s <extra_flags>` and waits for its
  // listening line.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& database_url,
      const std::vector<std::string>& extra_flags = {});

  const std::string& address() const { return address_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  Subprocess& process() { return *process_; }

  // Waits until gRPC health ("") says SERVING: the first database ping has
  // answered.
  absl::Status AwaitServing(absl::Duration timeout = absl::Seconds(15)) const;

 private:
  ServerProcess() = default;
  std::unique_ptr<Subprocess> process_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_SERVER_PROCESS_H_
