// callpush-gateway: the JSON gateway as its own process, in front of a
// callpush-server reached over gRPC (scaled separately, like grpc-gateway).
//
//   callpush-gateway --grpc_target=HOST:PORT --http_address=HOST:PORT [flags]
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <optional>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "clients/base/env.h"
#include "clients/base/flag_override.h"
#include "clients/base/grpc_credentials.h"
#include "clients/base/grpc_log_bridge.h"
#include "clients/base/log.h"
#include "gateway/gateway_config.h"
#include "gateway/gateway_flags.h"
#include "gateway/gateway_server.h"
#include "server/server_config.h"

using callpush::EnvOr;
using callpush::IfGiven;

// Flags win over the configuration file and the environment; a flag not
// given (nullopt) changes nothing.
ABSL_FLAG(std::string, config, EnvOr("CALLPUSH_CONFIG", ""),
          "configuration file (JSON, proto/callpush/v1/server_config.proto: "
          "httpAddress, http, grpcTarget, grpcClientTls, logLevel); empty: "
          "built-in defaults [env CALLPUSH_CONFIG]");
ABSL_FLAG(std::optional<std::string>, grpc_target, std::nullopt,
          "callpush-server gRPC address (default 127.0.0.1:50051) [config "
          "grpcTarget, env CALLPUSH_GRPC_TARGET]");
ABSL_FLAG(std::optional<std::string>, http_address, std::nullopt,
          "HTTP listen address, port 0 picks a free port (default "
          "127.0.0.1:8080) [config httpAddress, env CALLPUSH_HTTP_ADDRESS]");
ABSL_FLAG(std::optional<absl::Duration>, shutdown_grace, std::nullopt,
          "how long SIGTERM waits for answers in progress (default 10s) "
          "[config shutdown.grace]");
ABSL_FLAG(std::optional<std::string>, log_level, std::nullopt,
          "debug, info, warning or error (default info) [config logLevel, env "
          "CALLPUSH_LOG_LEVEL]");
ABSL_FLAG(std::optional<std::string>, grpc_target_ca_file, std::nullopt,
          "PEM CA bundle: call the server over TLS, verified with it [config "
          "grpcClientTls.caFile]");
ABSL_FLAG(std::optional<std::string>, grpc_target_cert_file, std::nullopt,
          "PEM client certificate for servers requiring mutual TLS [config "
          "grpcClientTls.certFile]");
ABSL_FLAG(std::optional<std::string>, grpc_target_key_file, std::nullopt,
          "PEM private key of --grpc_target_cert_file [config "
          "grpcClientTls.keyFile]");
ABSL_FLAG(std::optional<std::string>, grpc_target_server_name, std::nullopt,
          "name to verify in the server's certificate, when not the target's "
          "host [config grpcClientTls.serverName]");

namespace {

absl::StatusOr<callpush::ServerSettings> SettingsFromEverywhere() {
  // The gateway's own default address differs from the server's (none).
  callpush::v1::ServerConfig c = callpush::DefaultServerConfig();
  c.set_http_address("127.0.0.1:8080");
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    if (absl::Status s = callpush::MergeServerConfigFile(path, &c); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = callpush::ApplyServerConfigEnvironment(std::getenv, &c);
      !s.ok()) {
    return s;
  }
  IfGiven(FLAGS_grpc_target,
          [&](const std::string& v) { c.set_grpc_target(v); });
  IfGiven(FLAGS_http_address,
          [&](const std::string& v) { c.set_http_address(v); });
  IfGiven(FLAGS_shutdown_grace, [&](absl::Duration v) {
    c.mutable_shutdown()->set_grace(absl::FormatDuration(v));
  });
  IfGiven(FLAGS_log_level, [&](const std::string& v) { c.set_log_level(v); });
  IfGiven(FLAGS_grpc_target_ca_file, [&](const std::string& v) {
    c.mutable_grpc_client_tls()->set_ca_file(v);
  });
  IfGiven(FLAGS_grpc_target_cert_file, [&](const std::string& v) {
    c.mutable_grpc_client_tls()->set_cert_file(v);
  });
  IfGiven(FLAGS_grpc_target_key_file, [&](const std::string& v) {
    c.mutable_grpc_client_tls()->set_key_file(v);
  });
  IfGiven(FLAGS_grpc_target_server_name, [&](const std::string& v) {
    c.mutable_grpc_client_tls()->set_server_name(v);
  });
  callpush::gateway::ApplyGatewayFlags(c.mutable_http());
  return callpush::ResolveGatewayConfig(c);
}

}  // namespace

int main(int argc, char** argv) {
  // As in callpush-server: Debian's Abseil checks every Mutex for
  // lock-order cycles, ~2-4% of the gateway's CPU (tests/bench). Tests keep
  // the checks on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  callpush::RouteGrpcLogsToLog();  // stderr stays one JSON object per line
  absl::SetProgramUsageMessage(
      "callpush-gateway [--config=FILE] --grpc_target=HOST:PORT "
      "--http_address=HOST:PORT: serve the documented JSON URIs by calling "
      "callpush-server");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<callpush::ServerSettings> settings = SettingsFromEverywhere();
  absl::StatusOr<callpush::gateway::GatewayOptions> options =
      settings.ok() ? callpush::gateway::GatewayOptionsFromConfig(
                          settings->http, settings->http_address)
                    : settings.status();
  if (!options.ok()) {
    std::cerr << "callpush-gateway: invalid configuration: "
              << options.status().message() << "\n";
    return 2;
  }
  callpush::SetLogLevel(settings->log_level);
  // Blocked before any thread starts (gRPC starts its own when the
  // credentials are made): threads inherit the mask, so the signals reach
  // only sigwait() below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const callpush::v1::ClientTlsConfig& tls = settings->grpc_client_tls;
  grpc::ChannelArguments channel_args;
  auto credentials = callpush::GrpcChannelCredentials(
      {tls.ca_file(), tls.cert_file(), tls.key_file(), tls.server_name()},
      &channel_args);
  if (!credentials.ok()) {
    std::cerr << "callpush-gateway: invalid configuration: "
              << credentials.status().message() << "\n";
    return 2;
  }

  auto channel = grpc::CreateCustomChannel(settings->grpc_target, *credentials,
                                           channel_args);
  auto gateway =
      callpush::gateway::GatewayServer::Start(channel, *std::move(options));
  if (!gateway.ok()) {
    std::cerr << "callpush-gateway: " << gateway.status().message() << "\n";
    callpush::Log(callpush::LogLevel::kError, "cannot start gateway",
                  {{"error", gateway.status().ToString()}});
    return 1;
  }
  const std::string host =
      settings->http_address.substr(0, settings->http_address.rfind(':'));
  // Tests read this line to find a port-0 gateway.
  std::cout << "callpush-gateway listening http=" << host << ":"
            << (*gateway)->port() << std::endl;
  callpush::Log(callpush::LogLevel::kInfo, "gateway listening",
                {{"http", absl::StrCat(host, ":", (*gateway)->port())},
                 {"grpc_target", settings->grpc_target},
                 {"auth", (*gateway)->auth_enabled() ? "bearer" : "none"}});
  int sig = 0;
  sigwait(&signals, &sig);
  callpush::Log(callpush::LogLevel::kInfo, "shutting down",
                {{"signal", std::to_string(sig)}});
  (*gateway)->Stop(settings->shutdown_grace);
  gateway->reset();
  callpush::Log(callpush::LogLevel::kInfo, "stopped");
  return 0;
}
