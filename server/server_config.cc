#include "server/server_config.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "clients/base/config_duration.h"
#include "clients/base/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "server/push_config.h"

namespace callpush {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::StatusOr<std::string> ReadFile(absl::string_view field,
                                     const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) return Invalid(field, absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// "host:port" (IPv6 as [::1]:port), port 0..65535 (0: pick one).
absl::Status ValidAddress(absl::string_view field, const std::string& value) {
  const size_t colon = value.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(value).substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return Invalid(field, "must be host:port, e.g. 127.0.0.1:8080");
  }
  return absl::OkStatus();
}

absl::Status PositiveDuration(absl::string_view field, const std::string& text,
                              absl::Duration* out) {
  ASSIGN_OR_RETURN(*out, ParseConfigDuration(field, text));
  if (*out <= absl::ZeroDuration()) return Invalid(field, "must be positive");
  return absl::OkStatus();
}

}  // namespace

v1::ServerConfig DefaultServerConfig() {
  v1::ServerConfig c;
  c.set_grpc_address("127.0.0.1:50051");
  c.set_log_level("info");
  v1::DatabaseConfig& db = *c.mutable_database();
  db.set_url("postgresql://callpush@127.0.0.1:5432/callpush");
  db.set_workers(8);
  db.set_statement_timeout("2s");
  v1::CallsConfig& calls = *c.mutable_calls();
  calls.set_request_deadline("2s");
  calls.set_ring_window("60s");
  calls.set_push_retention("720h");
  v1::ShutdownConfig& shutdown = *c.mutable_shutdown();
  shutdown.set_drain_delay("0s");
  shutdown.set_grace("10s");
  v1::HttpConfig& http = *c.mutable_http();
  http.set_deadline("2s");
  http.set_threads(2);
  http.set_max_body_bytes(64 * 1024);
  http.set_max_header_bytes(8 * 1024);
  http.set_header_timeout("10s");
  http.set_read_timeout("10s");
  http.set_idle_timeout("60s");
  http.set_max_connections(1024);
  c.set_grpc_target("127.0.0.1:50051");
  return c;
}

absl::Status MergeServerConfigJson(const std::string& json,
                                   v1::ServerConfig* config) {
  v1::ServerConfig file;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed =
      google::protobuf::util::JsonStringToMessage(json, &file, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(parsed.message().as_string());
  }
  config->MergeFrom(file);
  return absl::OkStatus();
}

absl::Status MergeServerConfigFile(const std::string& path,
                                   v1::ServerConfig* config) {
  ASSIGN_OR_RETURN(std::string json, ReadFile("--config", path));
  if (absl::Status s = MergeServerConfigJson(json, config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status ApplyServerConfigEnvironment(
    absl::FunctionRef<const char*(const char*)> getenv,
    v1::ServerConfig* config) {
  auto text = [&](const char* name, std::string* field) {
    const char* v = getenv(name);
    if (v != nullptr && *v != '\0') *field = v;
  };
  text("CALLPUSH_GRPC_ADDRESS", config->mutable_grpc_address());
  text("CALLPUSH_HTTP_ADDRESS", config->mutable_http_address());
  text("CALLPUSH_METRICS_ADDRESS", config->mutable_metrics_address());
  text("CALLPUSH_LOG_LEVEL", config->mutable_log_level());
  text("CALLPUSH_DATABASE_URL", config->mutable_database()->mutable_url());
  text("CALLPUSH_DATABASE_URL_FILE",
       config->mutable_database()->mutable_url_file());
  text("CALLPUSH_PUSH_CONFIG", config->mutable_push_config_file());
  text("CALLPUSH_HTTP_AUTH_TOKENS_FILE",
       config->mutable_http()->mutable_auth_tokens_file());
  text("CALLPUSH_GRPC_TARGET", config->mutable_grpc_target());
  if (const char* v = getenv("CALLPUSH_DB_WORKERS"); v != nullptr && *v) {
    int workers = 0;
    if (!absl::SimpleAtoi(v, &workers)) {
      return Invalid("CALLPUSH_DB_WORKERS", "must be a number");
    }
    config->mutable_database()->set_workers(workers);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ServerConfig> LoadServerConfig(
    const std::string& path,
    absl::FunctionRef<const char*(const char*)> getenv) {
  v1::ServerConfig config = DefaultServerConfig();
  if (!path.empty()) RETURN_IF_ERROR(MergeServerConfigFile(path, &config));
  RETURN_IF_ERROR(ApplyServerConfigEnvironment(getenv, &config));
  return config;
}

absl::StatusOr<ServerSettings> ResolveGatewayConfig(const v1::ServerConfig& c) {
  ServerSettings s;
  if (c.http_address().empty()) return Invalid("httpAddress", "is required");
  RETURN_IF_ERROR(ValidAddress("httpAddress", c.http_address()));
  s.http_address = c.http_address();
  if (!ParseLogLevel(c.log_level(), &s.log_level)) {
    return Invalid("logLevel", "must be debug, info, warning or error");
  }
  ASSIGN_OR_RETURN(s.shutdown_grace,
                   ParseConfigDuration("shutdown.grace", c.shutdown().grace()));
  s.http = c.http();
  RETURN_IF_ERROR(ValidAddress("grpcTarget", c.grpc_target()));
  s.grpc_target = c.grpc_target();
  s.grpc_client_tls = c.grpc_client_tls();  // checked as grpcTls is
  return s;
}

absl::StatusOr<ServerSettings> ResolveServerConfig(const v1::ServerConfig& c) {
  ServerSettings s;
  RETURN_IF_ERROR(ValidAddress("grpcAddress", c.grpc_address()));
  s.grpc_address = c.grpc_address();
  if (!c.http_address().empty()) {
    RETURN_IF_ERROR(ValidAddress("httpAddress", c.http_address()));
  }
  s.http_address = c.http_address();
  if (!c.metrics_address().empty()) {
    RETURN_IF_ERROR(ValidAddress("metricsAddress", c.metrics_address()));
  }
  s.metrics_address = c.metrics_address();
  if (!ParseLogLevel(c.log_level(), &s.log_level)) {
    return Invalid("logLevel", "must be debug, info, warning or error");
  }

  const v1::DatabaseConfig& db = c.database();
  if (!db.url_file().empty()) {
    ASSIGN_OR_RETURN(std::string url,
                     ReadFile("database.urlFile", db.url_file()));
    s.database_url = std::string(absl::StripAsciiWhitespace(url));
    if (s.database_url.empty()) return Invalid("database.urlFile", "is empty");
  } else {
    s.database_url = db.url();
    if (s.database_url.empty()) return Invalid("database.url", "is required");
  }
  if (db.workers() < 1 || db.workers() > 256) {
    return Invalid("database.workers", "must be 1 to 256");
  }
  s.db_workers = db.workers();
  RETURN_IF_ERROR(PositiveDuration("database.statementTimeout",
                                   db.statement_timeout(),
                                   &s.db_statement_timeout));
  s.migrate_on_start = db.migrate_on_start();

  RETURN_IF_ERROR(PositiveDuration("calls.requestDeadline",
                                   c.calls().request_deadline(),
                                   &s.request_deadline));
  RETURN_IF_ERROR(PositiveDuration("calls.ringWindow", c.calls().ring_window(),
                                   &s.ring_window));
  RETURN_IF_ERROR(PositiveDuration(
      "calls.pushRetention", c.calls().push_retention(), &s.push_retention));
  ASSIGN_OR_RETURN(
      s.drain_delay,
      ParseConfigDuration("shutdown.drainDelay", c.shutdown().drain_delay()));
  ASSIGN_OR_RETURN(s.shutdown_grace,
                   ParseConfigDuration("shutdown.grace", c.shutdown().grace()));

  if (!c.push_config_file().empty() && c.push().apps_size() > 0) {
    return Invalid("pushConfigFile",
                   "give the push configuration as a file or inline (push), "
                   "not both");
  }
  if (!c.push_config_file().empty()) {
    auto push = LoadPushConfig(c.push_config_file());
    if (!push.ok()) return Invalid("pushConfigFile", push.status().message());
    s.push = *std::move(push);
    s.push_source = c.push_config_file();
  } else if (c.push().apps_size() > 0) {
    if (absl::Status v = ValidatePushConfig(c.push()); !v.ok()) {
      return Invalid("push", v.message());
    }
    s.push = c.push();
    s.push_source = "inline";
  }

  s.http = c.http();

  // The TLS files are checked (readable, PEM, key matches certificate)
  // where the credentials are built: clients/base/grpc_credentials.h.
  s.grpc_tls = c.grpc_tls();
  return s;
}

}  // namespace callpush
