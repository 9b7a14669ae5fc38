// callpush-server: the CallService and DeviceService gRPC server.
//
//   callpush-server [flags]            serve
//   callpush-server migrate [flags]    apply schema migrations and exit
//
// Wiring only: every collaborator is built here and handed down.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "clients/base/env.h"
#include "clients/base/log.h"
#include "gateway/gateway_flags.h"
#include "gateway/gateway_server.h"
#include "server/call_coordinator.h"
#include "server/call_service_impl.h"
#include "server/device_service_impl.h"
#include "server/pg/migrations.h"
#include "server/pg/migrator.h"
#include "server/pg/pg_device_store.h"
#include "server/pg/pg_pool.h"
#include "server/pg/sql.h"
#include "server/provider_push_sender.h"
#include "server/push_config.h"
#include "server/readiness_probe.h"
#include "server/unconfigured_push_sender.h"

using callpush::EnvOr;

namespace {

// Renewing an APNs certificate takes a person and Apple's portal: warn well
// ahead.
constexpr absl::Duration kCertificateExpiryWarning = absl::Hours(24 * 30);

}  // namespace

ABSL_FLAG(std::string, grpc_address,
          EnvOr("CALLPUSH_GRPC_ADDRESS", "127.0.0.1:50051"),
          "gRPC listen address (port 0 picks a free port) "
          "[env CALLPUSH_GRPC_ADDRESS]");
ABSL_FLAG(std::string, database_url,
          EnvOr("CALLPUSH_DATABASE_URL",
                "postgresql://callpush@127.0.0.1:5432/callpush"),
          "libpq connection string or URL [env CALLPUSH_DATABASE_URL]");
ABSL_FLAG(int, db_workers, 8,
          "database worker threads (= Postgres connections per replica)");
ABSL_FLAG(absl::Duration, db_statement_timeout, absl::Seconds(2),
          "server-side cap on one SQL statement");
ABSL_FLAG(absl::Duration, request_deadline, absl::Seconds(2),
          "deadline for RPCs whose client sets none");
ABSL_FLAG(absl::Duration, ring_window, absl::Seconds(60),
          "how long a call rings: VoIP push expiry and the window in which a "
          "repeated Call sends no second push");
ABSL_FLAG(absl::Duration, push_retention, absl::Hours(24 * 30),
          "push attempts older than this are pruned");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "how long SIGTERM waits for RPCs in flight");
ABSL_FLAG(bool, migrate_on_start, false,
          "apply schema migrations before serving");
ABSL_FLAG(std::string, push_config, EnvOr("CALLPUSH_PUSH_CONFIG", ""),
          "push provider configuration (JSON, proto/callpush/v1/"
          "push_config.proto); empty: no provider, pushes fail "
          "[env CALLPUSH_PUSH_CONFIG]");
ABSL_FLAG(std::string, http_address, EnvOr("CALLPUSH_HTTP_ADDRESS", ""),
          "serve the JSON gateway in-process on this address (e.g. "
          "127.0.0.1:8080; port 0 picks a free port); empty: no gateway "
          "[env CALLPUSH_HTTP_ADDRESS]");
ABSL_FLAG(std::string, log_level, EnvOr("CALLPUSH_LOG_LEVEL", "info"),
          "debug, info, warning or error [env CALLPUSH_LOG_LEVEL]");

namespace callpush {
namespace {

int RunMigrate() {
  auto report =
      Migrate(absl::GetFlag(FLAGS_database_url), EmbeddedMigrations());
  if (!report.ok()) {
    Log(LogLevel::kError, "migrate failed",
        {{"error", report.status().ToString()}});
    return 1;
  }
  Log(LogLevel::kInfo, "schema up to date",
      {{"version", std::to_string(report->current_version)},
       {"applied", std::to_string(report->applied.size())}});
  return 0;
}

int RunServer() {
  if (absl::GetFlag(FLAGS_migrate_on_start) && RunMigrate() != 0) return 1;

  // Signals go to the thread in sigwait() below, never to a worker.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const Clock& clock = SystemClock::Get();
  std::unique_ptr<PushSender> pusher;
  ProviderPushSender* provider_sender = nullptr;
  const std::string push_config_path = absl::GetFlag(FLAGS_push_config);
  if (push_config_path.empty()) {
    pusher = std::make_unique<UnconfiguredPushSender>();
    Log(LogLevel::kWarning,
        "no push provider configured: Call, UpdateCall and CancelCall answer "
        "UNAVAILABLE");
  } else {
    auto push_config = LoadPushConfig(push_config_path);
    absl::StatusOr<std::unique_ptr<ProviderPushSender>> sender =
        push_config.ok() ? ProviderPushSender::Create(*push_config, clock)
                         : push_config.status();
    if (!sender.ok()) {
      std::cerr << "--push_config: " << sender.status().message() << "\n";
      Log(LogLevel::kError, "invalid push configuration",
          {{"path", push_config_path}, {"error", sender.status().ToString()}});
      return 1;
    }
    provider_sender = sender->get();
    pusher = *std::move(sender);
    Log(LogLevel::kInfo, "push providers configured",
        {{"path", push_config_path},
         {"apps", std::to_string(push_config->apps_size())}});
    for (const auto& [app, not_after] :
         provider_sender->CertificateExpiries()) {
      const absl::Duration left = not_after - clock.Now();
      Log(left <= absl::ZeroDuration()       ? LogLevel::kError
          : left < kCertificateExpiryWarning ? LogLevel::kWarning
                                             : LogLevel::kInfo,
          "APNs client certificate expiry",
          {{"app", app},
           {"not_after", absl::FormatTime(absl::RFC3339_sec, not_after,
                                          absl::UTCTimeZone())},
           {"days_left", std::to_string(absl::ToInt64Hours(left) / 24)}});
    }
  }

  PgPoolOptions pool_options;
  pool_options.conninfo = absl::GetFlag(FLAGS_database_url);
  pool_options.workers = absl::GetFlag(FLAGS_db_workers);
  pool_options.statement_timeout = absl::GetFlag(FLAGS_db_statement_timeout);
  pool_options.statements = sql::AllStatements();
  PgPool pool(pool_options, clock);
  pool.Start();
  PgDeviceStore store(pool, clock);

  CallCoordinatorOptions coordinator_options;
  coordinator_options.ring_window = absl::GetFlag(FLAGS_ring_window);
  CallCoordinator coordinator(store, *pusher, clock, coordinator_options);
  const absl::Duration deadline = absl::GetFlag(FLAGS_request_deadline);
  CallServiceImpl call_service(coordinator, clock, deadline);
  DeviceServiceImpl device_service(store, clock, deadline);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_grpc_address),
                           grpc::InsecureServerCredentials(), &port);
  // Requests are a few hundred bytes; refuse anything absurd before parsing.
  builder.SetMaxReceiveMessageSize(64 * 1024);
  builder.RegisterService(&call_service);
  builder.RegisterService(&device_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Log(LogLevel::kError, "cannot listen",
        {{"address", absl::GetFlag(FLAGS_grpc_address)}});
    return 1;
  }
  std::string host = absl::GetFlag(FLAGS_grpc_address);
  host = host.substr(0, host.rfind(':'));
  // Tests read this line to find a port-0 server.
  std::cout << "callpush-server listening grpc=" << host << ":" << port
            << std::endl;
  Log(LogLevel::kInfo, "listening", {{"grpc", absl::StrCat(host, ":", port)}});

  ReadinessProbe readiness(store, *server->GetHealthCheckService(), clock,
                           absl::GetFlag(FLAGS_push_retention),
                           /*pushes_configured=*/provider_sender != nullptr);
  readiness.Start();

  std::unique_ptr<gateway::GatewayServer> http_gateway;
  if (const std::string http = absl::GetFlag(FLAGS_http_address);
      !http.empty()) {
    auto started = gateway::GatewayServer::Start(
        server->InProcessChannel(grpc::ChannelArguments()),
        gateway::GatewayOptionsFromFlags(http));
    if (!started.ok()) {
      std::cerr << "--http_address: " << started.status().message() << "\n";
      Log(LogLevel::kError, "cannot start the gateway",
          {{"error", started.status().ToString()}});
      readiness.Stop();
      server->Shutdown();
      pool.Stop();
      return 1;
    }
    http_gateway = *std::move(started);
    const std::string http_host = http.substr(0, http.rfind(':'));
    std::cout << "callpush-gateway listening http=" << http_host << ":"
              << http_gateway->port() << std::endl;
    Log(LogLevel::kInfo, "gateway listening",
        {{"http", absl::StrCat(http_host, ":", http_gateway->port())},
         {"auth", http_gateway->auth_enabled() ? "bearer" : "none"}});
  }

  int sig = 0;
  sigwait(&signals, &sig);
  Log(LogLevel::kInfo, "shutting down", {{"signal", std::to_string(sig)}});
  readiness.Stop();  // reports NOT_SERVING from here on
  if (http_gateway != nullptr) {
    http_gateway->Stop(absl::GetFlag(FLAGS_shutdown_grace));
    http_gateway.reset();
  }
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoSeconds(absl::GetFlag(FLAGS_shutdown_grace)));
  Log(LogLevel::kInfo, "rpcs drained");
  if (provider_sender != nullptr) {
    provider_sender->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
    Log(LogLevel::kInfo, "push providers closed");
  }
  pool.Stop();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace
}  // namespace callpush

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex for lock-order cycles; on the hot
  // path that cost ~5% CPU (tests/bench). Tests keep the checks on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "callpush-server [migrate] [flags]: serve CallService/DeviceService, or "
      "apply schema migrations");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  callpush::LogLevel level;
  if (!callpush::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::cerr << "--log_level: must be debug, info, warning or error\n";
    return 2;
  }
  callpush::SetLogLevel(level);
  if (args.size() > 2 ||
      (args.size() == 2 && std::string(args[1]) != "migrate" &&
       std::string(args[1]) != "serve")) {
    std::cerr << "usage: callpush-server [serve|migrate] [flags]\n";
    return 2;
  }
  if (args.size() == 2 && std::string(args[1]) == "migrate") {
    return callpush::RunMigrate();
  }
  return callpush::RunServer();
}
