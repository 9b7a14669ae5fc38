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
#include <optional>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "clients/base/env.h"
#include "clients/base/flag_override.h"
#include "clients/base/grpc_credentials.h"
#include "clients/base/grpc_log_bridge.h"
#include "clients/base/log.h"
#include "gateway/gateway_config.h"
#include "gateway/gateway_flags.h"
#include "gateway/gateway_server.h"
#include "gateway/http_server.h"
#include "server/call_coordinator.h"
#include "server/call_service_impl.h"
#include "server/device_service_impl.h"
#include "server/metrics_http_handler.h"
#include "server/pg/migrations.h"
#include "server/pg/migrator.h"
#include "server/pg/pg_device_store.h"
#include "server/pg/pg_pool.h"
#include "server/pg/sql.h"
#include "server/provider_push_sender.h"
#include "server/push_config.h"
#include "server/readiness_probe.h"
#include "server/rpc_interceptor.h"
#include "server/server_config.h"
#include "server/server_metrics.h"
#include "server/unconfigured_push_sender.h"

using callpush::EnvOr;

namespace {

// Renewing an APNs certificate takes a person and Apple's portal: warn well
// ahead.
constexpr absl::Duration kCertificateExpiryWarning = absl::Hours(24 * 30);

}  // namespace

// Flags win over the configuration file and the environment; a flag not
// given (nullopt) changes nothing. Defaults: server/server_config.cc.
ABSL_FLAG(std::string, config, EnvOr("CALLPUSH_CONFIG", ""),
          "configuration file (JSON, proto/callpush/v1/server_config.proto); "
          "empty: built-in defaults [env CALLPUSH_CONFIG]");
ABSL_FLAG(std::optional<std::string>, grpc_address, std::nullopt,
          "gRPC listen address, port 0 picks a free port (default "
          "127.0.0.1:50051) [config grpcAddress, env CALLPUSH_GRPC_ADDRESS]");
ABSL_FLAG(std::optional<std::string>, database_url, std::nullopt,
          "libpq connection string or URL [config database.url, env "
          "CALLPUSH_DATABASE_URL]");
ABSL_FLAG(std::optional<int>, db_workers, std::nullopt,
          "database worker threads = Postgres connections per replica "
          "(default 8) [config database.workers, env CALLPUSH_DB_WORKERS]");
ABSL_FLAG(std::optional<absl::Duration>, db_statement_timeout, std::nullopt,
          "server-side cap on one SQL statement (default 2s) [config "
          "database.statementTimeout]");
ABSL_FLAG(std::optional<absl::Duration>, request_deadline, std::nullopt,
          "deadline for RPCs whose client sets none (default 2s) [config "
          "calls.requestDeadline]");
ABSL_FLAG(std::optional<absl::Duration>, ring_window, std::nullopt,
          "how long a call rings: VoIP push expiry and the window in which a "
          "repeated Call sends no second push (default 60s) [config "
          "calls.ringWindow]");
ABSL_FLAG(std::optional<absl::Duration>, push_retention, std::nullopt,
          "push attempts older than this are pruned (default 720h) [config "
          "calls.pushRetention]");
ABSL_FLAG(std::optional<absl::Duration>, shutdown_drain_delay, std::nullopt,
          "after SIGTERM, how long readiness is false before serving stops "
          "(default 0s) [config shutdown.drainDelay]");
ABSL_FLAG(std::optional<absl::Duration>, shutdown_grace, std::nullopt,
          "how long SIGTERM waits for requests and pushes in flight (default "
          "10s) [config shutdown.grace]");
// A bool flag can only switch the setting on (a bare --flag must parse).
ABSL_FLAG(bool, migrate_on_start, false,
          "apply schema migrations before serving [config "
          "database.migrateOnStart]");
ABSL_FLAG(std::optional<std::string>, push_config, std::nullopt,
          "push provider configuration file (JSON, proto/callpush/v1/"
          "push_config.proto); none: pushes fail [config pushConfigFile, env "
          "CALLPUSH_PUSH_CONFIG]");
ABSL_FLAG(std::optional<std::string>, http_address, std::nullopt,
          "serve the JSON gateway in-process on this address (e.g. "
          "127.0.0.1:8080; port 0 picks a free port); empty: no gateway "
          "[config httpAddress, env CALLPUSH_HTTP_ADDRESS]");
ABSL_FLAG(std::optional<std::string>, metrics_address, std::nullopt,
          "serve Prometheus /metrics on this address; empty: none [config "
          "metricsAddress, env CALLPUSH_METRICS_ADDRESS]");
ABSL_FLAG(std::optional<std::string>, log_level, std::nullopt,
          "debug, info, warning or error (default info) [config logLevel, env "
          "CALLPUSH_LOG_LEVEL]");
ABSL_FLAG(std::optional<std::string>, grpc_tls_cert_file, std::nullopt,
          "PEM certificate chain: serve gRPC over TLS [config "
          "grpcTls.certFile]");
ABSL_FLAG(std::optional<std::string>, grpc_tls_key_file, std::nullopt,
          "PEM private key of --grpc_tls_cert_file [config grpcTls.keyFile]");
ABSL_FLAG(std::optional<std::string>, grpc_tls_client_ca_file, std::nullopt,
          "PEM CA bundle: require client certificates it signed (mutual TLS) "
          "[config grpcTls.clientCaFile]");

namespace callpush {
namespace {

// Defaults, then --config, then the environment, then the flags given.
absl::StatusOr<v1::ServerConfig> ConfigFromEverywhere() {
  auto loaded = LoadServerConfig(absl::GetFlag(FLAGS_config), std::getenv);
  if (!loaded.ok()) return loaded.status();
  v1::ServerConfig c = *std::move(loaded);
  auto duration = [](absl::Duration d) { return absl::FormatDuration(d); };
  IfGiven(FLAGS_grpc_address,
          [&](const std::string& v) { c.set_grpc_address(v); });
  IfGiven(FLAGS_database_url, [&](const std::string& v) {
    c.mutable_database()->set_url(v);
    c.mutable_database()->clear_url_file();
  });
  IfGiven(FLAGS_db_workers,
          [&](int v) { c.mutable_database()->set_workers(v); });
  IfGiven(FLAGS_db_statement_timeout, [&](absl::Duration v) {
    c.mutable_database()->set_statement_timeout(duration(v));
  });
  if (absl::GetFlag(FLAGS_migrate_on_start)) {
    c.mutable_database()->set_migrate_on_start(true);
  }
  IfGiven(FLAGS_request_deadline, [&](absl::Duration v) {
    c.mutable_calls()->set_request_deadline(duration(v));
  });
  IfGiven(FLAGS_ring_window, [&](absl::Duration v) {
    c.mutable_calls()->set_ring_window(duration(v));
  });
  IfGiven(FLAGS_push_retention, [&](absl::Duration v) {
    c.mutable_calls()->set_push_retention(duration(v));
  });
  IfGiven(FLAGS_shutdown_drain_delay, [&](absl::Duration v) {
    c.mutable_shutdown()->set_drain_delay(duration(v));
  });
  IfGiven(FLAGS_shutdown_grace, [&](absl::Duration v) {
    c.mutable_shutdown()->set_grace(duration(v));
  });
  IfGiven(FLAGS_push_config, [&](const std::string& v) {
    c.set_push_config_file(v);
    c.clear_push();
  });
  IfGiven(FLAGS_http_address,
          [&](const std::string& v) { c.set_http_address(v); });
  IfGiven(FLAGS_metrics_address,
          [&](const std::string& v) { c.set_metrics_address(v); });
  IfGiven(FLAGS_log_level, [&](const std::string& v) { c.set_log_level(v); });
  IfGiven(FLAGS_grpc_tls_cert_file, [&](const std::string& v) {
    c.mutable_grpc_tls()->set_cert_file(v);
  });
  IfGiven(FLAGS_grpc_tls_key_file,
          [&](const std::string& v) { c.mutable_grpc_tls()->set_key_file(v); });
  IfGiven(FLAGS_grpc_tls_client_ca_file, [&](const std::string& v) {
    c.mutable_grpc_tls()->set_client_ca_file(v);
  });
  gateway::ApplyGatewayFlags(c.mutable_http());
  return c;
}

int RunMigrate(const ServerSettings& settings) {
  auto report = Migrate(settings.database_url, EmbeddedMigrations());
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

// "host" of "host:port", for the listening lines.
std::string HostOf(const std::string& address) {
  return address.substr(0, address.rfind(':'));
}

int RunServer(const ServerSettings& settings) {
  // Signals go to the thread in sigwait() below, never to a worker:
  // blocked before any thread starts (gRPC starts its own when the
  // credentials are made), as threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Checked first: a wrong path or a key that is not the certificate's
  // stops the start (exit 2) before the database is touched.
  const v1::ServerTlsConfig& tls = settings.grpc_tls;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      GrpcServerCredentials(
          {tls.cert_file(), tls.key_file(), tls.client_ca_file()});
  if (!credentials.ok()) {
    std::cerr << "callpush-server: invalid configuration: "
              << credentials.status().message() << "\n";
    return 2;
  }
  if (settings.migrate_on_start && RunMigrate(settings) != 0) return 1;

  const Clock& clock = SystemClock::Get();
  // Before everything that reports to it, so that it outlives them all.
  const google::protobuf::DescriptorPool& protos =
      *google::protobuf::DescriptorPool::generated_pool();
  ServerMetrics metrics(
      {protos.FindServiceByName(v1::CallService::service_full_name()),
       protos.FindServiceByName(v1::DeviceService::service_full_name())});
  // The in-process gateway's families: the metrics listener shows them too,
  // so one port (metricsAddress) is the scrape target of the whole process.
  MetricsRegistry gateway_metrics;
  std::unique_ptr<PushSender> pusher;
  ProviderPushSender* provider_sender = nullptr;
  if (!settings.push.has_value()) {
    pusher = std::make_unique<UnconfiguredPushSender>();
    Log(LogLevel::kWarning,
        "no push provider configured: Call, UpdateCall and CancelCall answer "
        "UNAVAILABLE");
  } else {
    absl::StatusOr<std::unique_ptr<ProviderPushSender>> sender =
        ProviderPushSender::Create(*settings.push, clock, &metrics);
    if (!sender.ok()) {
      std::cerr << "pushConfigFile: " << sender.status().message() << "\n";
      Log(LogLevel::kError, "invalid push configuration",
          {{"source", settings.push_source},
           {"error", sender.status().ToString()}});
      return 1;
    }
    provider_sender = sender->get();
    pusher = *std::move(sender);
    metrics.SetCertificateExpiries(provider_sender->CertificateExpiries());
    metrics.CollectProviderPools(
        [provider_sender] { return provider_sender->PoolStats(); });
    Log(LogLevel::kInfo, "push providers configured",
        {{"source", settings.push_source},
         {"apps", std::to_string(settings.push->apps_size())}});
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

  std::optional<gateway::GatewayOptions> gateway_options;
  if (!settings.http_address.empty()) {
    auto options =
        gateway::GatewayOptionsFromConfig(settings.http, settings.http_address);
    if (!options.ok()) {
      std::cerr << options.status().message() << "\n";
      return 1;
    }
    gateway_options = *std::move(options);
    // One scrape of the gateway sees the server's families too.
    gateway_options->metrics = &gateway_metrics;
    gateway_options->handler.more_metrics = {&metrics.registry()};
  }

  PgPoolOptions pool_options;
  pool_options.conninfo = settings.database_url;
  pool_options.workers = settings.db_workers;
  pool_options.statement_timeout = settings.db_statement_timeout;
  pool_options.statements = sql::AllStatements();
  PgPool pool(pool_options, clock);
  pool.Start();
  PgDeviceStore store(pool, clock);

  CallCoordinatorOptions coordinator_options;
  coordinator_options.ring_window = settings.ring_window;
  coordinator_options.observer = &metrics;
  CallCoordinator coordinator(store, *pusher, clock, coordinator_options);
  CallServiceImpl call_service(coordinator, clock, settings.request_deadline);
  DeviceServiceImpl device_service(store, clock, settings.request_deadline);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(settings.grpc_address, *credentials, &port);
  // Requests are a few hundred bytes; refuse anything absurd before parsing.
  builder.SetMaxReceiveMessageSize(64 * 1024);
  // Every RPC: its log line and request metrics.
  {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(
        std::make_unique<RpcInterceptorFactory>(&metrics, clock));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  builder.RegisterService(&call_service);
  builder.RegisterService(&device_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Log(LogLevel::kError, "cannot listen",
        {{"address", settings.grpc_address}});
    return 1;
  }
  // NOT_SERVING (the default health service says SERVING for "") before
  // anyone learns the address: SERVING only once the database answered.
  ReadinessProbe readiness(store, *server->GetHealthCheckService(), clock,
                           settings.push_retention,
                           /*pushes_configured=*/provider_sender != nullptr);
  readiness.Start();
  const std::string host = HostOf(settings.grpc_address);
  // Tests read this line to find a port-0 server.
  std::cout << "callpush-server listening grpc=" << host << ":" << port
            << std::endl;
  Log(LogLevel::kInfo, "listening", {{"grpc", absl::StrCat(host, ":", port)}});

  metrics.CollectDbPool([&pool] { return pool.Stats(); });
  metrics.CollectReadiness(
      [&readiness] { return readiness.CallServiceServing(); });

  MetricsHttpHandler metrics_handler({&gateway_metrics, &metrics.registry()});
  std::unique_ptr<gateway::HttpServer> metrics_http;
  if (!settings.metrics_address.empty()) {
    gateway::HttpServerOptions metrics_options;
    metrics_options.address = settings.metrics_address;
    metrics_options.threads = 1;
    auto started = gateway::HttpServer::Start(metrics_options, metrics_handler);
    if (!started.ok()) {
      std::cerr << "metricsAddress: " << started.status().message() << "\n";
      Log(LogLevel::kError, "cannot serve metrics",
          {{"error", started.status().ToString()}});
      readiness.Stop();
      server->Shutdown();
      pool.Stop();
      return 1;
    }
    metrics_http = *std::move(started);
    const std::string metrics_host = HostOf(settings.metrics_address);
    std::cout << "callpush-server listening metrics=" << metrics_host << ":"
              << metrics_http->port() << std::endl;
    Log(LogLevel::kInfo, "metrics listening",
        {{"metrics", absl::StrCat(metrics_host, ":", metrics_http->port())}});
  }

  std::unique_ptr<gateway::GatewayServer> http_gateway;
  if (gateway_options.has_value()) {
    auto started = gateway::GatewayServer::Start(
        server->InProcessChannel(grpc::ChannelArguments()),
        *std::move(gateway_options));
    if (!started.ok()) {
      std::cerr << "httpAddress: " << started.status().message() << "\n";
      Log(LogLevel::kError, "cannot start the gateway",
          {{"error", started.status().ToString()}});
      readiness.Stop();
      server->Shutdown();
      pool.Stop();
      return 1;
    }
    http_gateway = *std::move(started);
    const std::string http_host = HostOf(settings.http_address);
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
  if (settings.drain_delay > absl::ZeroDuration()) {
    // Load balancers see NOT_SERVING and stop sending; meanwhile requests
    // that still arrive are served.
    absl::SleepFor(settings.drain_delay);
  }
  if (http_gateway != nullptr) {
    http_gateway->Stop(settings.shutdown_grace);
    http_gateway.reset();
  }
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoSeconds(settings.shutdown_grace));
  Log(LogLevel::kInfo, "rpcs drained");
  if (provider_sender != nullptr) {
    provider_sender->Shutdown(settings.shutdown_grace);
    Log(LogLevel::kInfo, "push providers closed");
  }
  pool.Stop();
  if (metrics_http != nullptr) {
    // Last: a scrape during the drain still sees it.
    metrics_http->Stop(absl::Seconds(1));
  }
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace
}  // namespace callpush

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex for lock-order cycles; on the hot
  // path that cost ~5% CPU (tests/bench). Tests keep the checks on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  callpush::RouteGrpcLogsToLog();  // stderr stays one JSON object per line
  absl::SetProgramUsageMessage(
      "callpush-server [migrate] [--config=FILE] [flags]: serve "
      "CallService/DeviceService, or apply schema migrations");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() > 2 ||
      (args.size() == 2 && std::string(args[1]) != "migrate" &&
       std::string(args[1]) != "serve")) {
    std::cerr << "usage: callpush-server [serve|migrate] [flags]\n";
    return 2;
  }
  const bool migrate = args.size() == 2 && std::string(args[1]) == "migrate";
  auto config = callpush::ConfigFromEverywhere();
  if (config.ok() && migrate) {
    // The migration Job needs the database only, not the push secrets.
    config->clear_push();
    config->clear_push_config_file();
    config->clear_grpc_tls();
  }
  absl::StatusOr<callpush::ServerSettings> settings =
      config.ok() ? callpush::ResolveServerConfig(*config) : config.status();
  if (!settings.ok()) {
    std::cerr << "callpush-server: invalid configuration: "
              << settings.status().message() << "\n";
    return 2;
  }
  callpush::SetLogLevel(settings->log_level);
  if (migrate) {
    return callpush::RunMigrate(*settings);
  }
  return callpush::RunServer(*settings);
}
