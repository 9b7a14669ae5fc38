// callpush-gateway: the JSON gateway as its own process, in front of a
// callpush-server reached over gRPC (scaled separately, like grpc-gateway).
//
//   callpush-gateway --grpc_target=HOST:PORT --http_address=HOST:PORT [flags]
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "clients/base/env.h"
#include "clients/base/log.h"
#include "gateway/gateway_flags.h"
#include "gateway/gateway_server.h"

using callpush::EnvOr;

ABSL_FLAG(std::string, grpc_target,
          EnvOr("CALLPUSH_GRPC_TARGET", "127.0.0.1:50051"),
          "callpush-server gRPC address [env CALLPUSH_GRPC_TARGET]");
ABSL_FLAG(std::string, http_address,
          EnvOr("CALLPUSH_HTTP_ADDRESS", "127.0.0.1:8080"),
          "HTTP listen address (port 0 picks a free port) "
          "[env CALLPUSH_HTTP_ADDRESS]");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "how long SIGTERM waits for answers in progress");
ABSL_FLAG(std::string, log_level, EnvOr("CALLPUSH_LOG_LEVEL", "info"),
          "debug, info, warning or error [env CALLPUSH_LOG_LEVEL]");

int main(int argc, char** argv) {
  // As in callpush-server: Debian's Abseil checks every Mutex for
  // lock-order cycles, ~2-4% of the gateway's CPU (tests/bench). Tests keep
  // the checks on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "callpush-gateway --grpc_target=HOST:PORT --http_address=HOST:PORT: "
      "serve the documented JSON URIs by calling callpush-server");
  absl::ParseCommandLine(argc, argv);
  callpush::LogLevel level;
  if (!callpush::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::cerr << "--log_level: must be debug, info, warning or error\n";
    return 2;
  }
  callpush::SetLogLevel(level);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_grpc_target),
                                     grpc::InsecureChannelCredentials());
  auto options = callpush::gateway::GatewayOptionsFromFlags(
      absl::GetFlag(FLAGS_http_address));
  auto gateway =
      callpush::gateway::GatewayServer::Start(channel, std::move(options));
  if (!gateway.ok()) {
    std::cerr << "callpush-gateway: " << gateway.status().message() << "\n";
    callpush::Log(callpush::LogLevel::kError, "cannot start gateway",
                  {{"error", gateway.status().ToString()}});
    return 1;
  }
  std::string host = absl::GetFlag(FLAGS_http_address);
  host = host.substr(0, host.rfind(':'));
  // Tests read this line to find a port-0 gateway.
  std::cout << "callpush-gateway listening http=" << host << ":"
            << (*gateway)->port() << std::endl;
  callpush::Log(callpush::LogLevel::kInfo, "gateway listening",
                {{"http", absl::StrCat(host, ":", (*gateway)->port())},
                 {"grpc_target", absl::GetFlag(FLAGS_grpc_target)},
                 {"auth", (*gateway)->auth_enabled() ? "bearer" : "none"}});
  int sig = 0;
  sigwait(&signals, &sig);
  callpush::Log(callpush::LogLevel::kInfo, "shutting down",
                {{"signal", std::to_string(sig)}});
  (*gateway)->Stop(absl::GetFlag(FLAGS_shutdown_grace));
  gateway->reset();
  callpush::Log(callpush::LogLevel::kInfo, "stopped");
  return 0;
}
