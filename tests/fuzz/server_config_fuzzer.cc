// Fuzz target: the server's configuration file (server/server_config.h):
// the JSON merged over the defaults (MergeServerConfigJson), then validated
// as callpush-server (ResolveServerConfig, which loads an inline or file
// push configuration), as callpush-gateway (ResolveGatewayConfig) and as
// the gateway's `http` section (gateway/gateway_config.h). The input is the
// file's text. Files it names are confined to fixtures (fixture_files.h).
// Beyond not crashing: what validates is within the documented ranges.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "callpush/v1/server_config.pb.h"
#include "gateway/gateway_config.h"
#include "server/server_config.h"
#include "tests/fuzz/fixture_files.h"
#include "tests/fuzz/fuzz_support.h"

namespace callpush {
namespace {

void CheckServer(const v1::ServerConfig& config) {
  const absl::StatusOr<ServerSettings> s = ResolveServerConfig(config);
  if (!s.ok()) {
    FUZZ_CHECK(s.status().code() == absl::StatusCode::kInvalidArgument);
    // Errors name the field: "database.workers: must be 1 to 256".
    FUZZ_CHECK(absl::StrContains(s.status().message(), ": "));
    return;
  }
  FUZZ_CHECK(!s->grpc_address.empty() && !s->database_url.empty());
  FUZZ_CHECK(s->db_workers >= 1 && s->db_workers <= 256);
  for (absl::Duration d : {s->db_statement_timeout, s->request_deadline,
                           s->ring_window, s->push_retention}) {
    FUZZ_CHECK(d > absl::ZeroDuration() && d < absl::InfiniteDuration());
  }
  for (absl::Duration d : {s->drain_delay, s->shutdown_grace}) {
    FUZZ_CHECK(d >= absl::ZeroDuration() && d < absl::InfiniteDuration());
  }
  FUZZ_CHECK(s->push.has_value() == !s->push_source.empty());
  if (s->push.has_value()) FUZZ_CHECK(s->push->apps_size() > 0);
}

void CheckGateway(const v1::ServerConfig& config) {
  const absl::StatusOr<ServerSettings> s = ResolveGatewayConfig(config);
  if (s.ok()) FUZZ_CHECK(!s->http_address.empty() && !s->grpc_target.empty());
  const absl::StatusOr<gateway::GatewayOptions> o =
      gateway::GatewayOptionsFromConfig(config.http(), "127.0.0.1:0");
  if (!o.ok()) {
    FUZZ_CHECK(absl::StartsWith(o.status().message(), "http."));
    return;
  }
  FUZZ_CHECK(o->http.threads >= 1 && o->http.threads <= 64);
  FUZZ_CHECK(o->http.max_body_bytes >= 1 &&
             o->http.max_body_bytes <= (64u << 20));
  FUZZ_CHECK(o->http.max_header_bytes >= 256 &&
             o->http.max_header_bytes <= (1u << 20));
  FUZZ_CHECK(o->http.max_connections >= 1);
  for (absl::Duration d : {o->http.header_timeout, o->http.read_timeout,
                           o->http.idle_timeout, o->handler.deadline}) {
    FUZZ_CHECK(d > absl::ZeroDuration() && d < absl::InfiniteDuration());
  }
}

}  // namespace
}  // namespace callpush

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  callpush::fuzz::QuietLogs();
  callpush::fuzz::FixtureFiles::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using callpush::fuzz::FixtureFiles;
  const std::string json(reinterpret_cast<const char*>(data), size);
  callpush::v1::ServerConfig config = callpush::DefaultServerConfig();
  const absl::Status merged = callpush::MergeServerConfigJson(json, &config);
  if (!merged.ok()) {
    FUZZ_CHECK(merged.code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  FixtureFiles::Get().Confine(&config);
  callpush::CheckServer(config);
  callpush::CheckGateway(config);
  return 0;
}
