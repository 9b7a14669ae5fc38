// The configuration of callpush-server and callpush-gateway
// (proto/callpush/v1/server_config.proto): built-in defaults, then the JSON
// file, then environment variables, then command-line flags (applied by
// main), then validated into settings with errors that name the field,
// e.g. "database.workers: must be 1 to 256".
#ifndef CALLPUSH_SERVER_SERVER_CONFIG_H_
#define CALLPUSH_SERVER_SERVER_CONFIG_H_

#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "callpush/v1/server_config.pb.h"
#include "clients/base/log.h"

namespace callpush {

// The configuration after validation, in the types the code uses.
struct ServerSettings {
  std::string grpc_address;
  std::string http_address;     // empty: no in-process gateway
  std::string metrics_address;  // empty: no metrics listener
  LogLevel log_level = LogLevel::kInfo;
  std::string database_url;  // from database.url or database.urlFile
  int db_workers = 0;
  absl::Duration db_statement_timeout;
  bool migrate_on_start = false;
  absl::Duration request_deadline;
  absl::Duration ring_window;
  absl::Duration push_retention;
  absl::Duration drain_delay;
  absl::Duration shutdown_grace;
  // Validated, credentials readable; nullopt: no provider configured.
  std::optional<v1::PushConfig> push;
  std::string push_source;  // the file it came from, or "inline"
  v1::HttpConfig http;      // validated by the gateway (gateway_config.h)
  v1::ServerTlsConfig grpc_tls;
  std::string grpc_target;
  v1::ClientTlsConfig grpc_client_tls;
};

// Every default filled in: what runs with no file, no environment, no flag.
v1::ServerConfig DefaultServerConfig();

// Merges a JSON document over `config`: fields it sets replace, others are
// kept. Unknown fields are errors. A field given its zero value ("", 0,
// false) keeps the default.
absl::Status MergeServerConfigJson(const std::string& json,
                                   v1::ServerConfig* config);
absl::Status MergeServerConfigFile(const std::string& path,
                                   v1::ServerConfig* config);

// The CALLPUSH_* variables that override the file (see the proto); unset
// or empty variables change nothing. `getenv` is std::getenv in main.
absl::Status ApplyServerConfigEnvironment(
    absl::FunctionRef<const char*(const char*)> getenv,
    v1::ServerConfig* config);

// Defaults, then the file at `path` (none when empty), then the environment.
absl::StatusOr<v1::ServerConfig> LoadServerConfig(
    const std::string& path,
    absl::FunctionRef<const char*(const char*)> getenv);

// Validates everything the server uses (addresses, durations, limits, the
// database URL, the push configuration and its credential files). The TLS
// files are checked where the credentials are built (grpc_credentials.h).
absl::StatusOr<ServerSettings> ResolveServerConfig(
    const v1::ServerConfig& config);

// What callpush-gateway uses only (httpAddress, logLevel, grpcTarget,
// grpcClientTls; `http` is the gateway's to validate): a configuration
// shared with the server must not fail on secrets the gateway has no
// business reading.
absl::StatusOr<ServerSettings> ResolveGatewayConfig(
    const v1::ServerConfig& config);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_SERVER_CONFIG_H_
