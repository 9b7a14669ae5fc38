// callpushctl: the operator CLI over callpush's DeviceService (gRPC). Thin:
// parse (command_line.h), build the request (request_builder.h), check the
// TLS files (grpc_credentials.h), send it (request_runner.h), report. Exit 0
// on success, 1 when the RPC fails (a failed TLS handshake included), 2 on a
// usage error or unusable TLS files.
#include <grpc/support/log.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "clients/base/grpc_credentials.h"
#include "clients/callpushctl/command_line.h"
#include "clients/callpushctl/commands.h"
#include "clients/callpushctl/output_format.h"
#include "clients/callpushctl/request_builder.h"
#include "clients/callpushctl/request_runner.h"

namespace callpush::ctl {
namespace {

constexpr int kOk = 0;
constexpr int kRpcFailed = 1;
constexpr int kUsageError = 2;

int UsageError(const absl::Status& status, const std::string& topic) {
  std::cerr << "callpushctl: " << status.message() << "\n"
            << UsageLine(topic) << "\n";
  return kUsageError;
}

int Run(const std::vector<std::string>& args) {
  // gRPC logs a failed TLS handshake itself; the status printed below says
  // the same in one line. GRPC_VERBOSITY=... brings its logs back.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
  CommandLine line;
  absl::Status parsed = ParseCommandLine(args, ReadEnvironment(), &line);
  if (!parsed.ok()) return UsageError(parsed, line.topic);
  if (line.help) {
    std::cout << UsageText(line.topic);
    return kOk;
  }
  absl::StatusOr<Request> request = BuildRequest(line);
  if (!request.ok()) return UsageError(request.status(), line.topic);

  grpc::ChannelArguments channel_args;
  auto credentials =
      GrpcChannelCredentials(line.tls, &channel_args, line.tls_names);
  if (!credentials.ok()) return UsageError(credentials.status(), line.topic);
  auto channel =
      grpc::CreateCustomChannel(line.server, *credentials, channel_args);
  auto stub = v1::DeviceService::NewStub(channel);
  grpc::Status status = RunRequest(*request, *stub, absl::Now() + line.timeout,
                                   std::cout, std::cerr);
  if (!status.ok()) {
    // A server that answered leaves the channel READY; a refused or silent
    // address leaves it connecting or failed.
    bool reached = channel->GetState(false) == GRPC_CHANNEL_READY;
    std::cerr << FormatRpcError(status, line.server, reached) << "\n";
    return kRpcFailed;
  }
  return kOk;
}

}  // namespace
}  // namespace callpush::ctl

int main(int argc, char** argv) {
  return callpush::ctl::Run(std::vector<std::string>(argv + 1, argv + argc));
}
