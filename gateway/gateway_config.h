// GatewayOptions from the `http` section of the configuration file
// (proto/callpush/v1/server_config.proto), validated with errors that name
// the field, e.g. "http.threads: must be 1 to 64".
#ifndef CALLPUSH_GATEWAY_GATEWAY_CONFIG_H_
#define CALLPUSH_GATEWAY_GATEWAY_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "callpush/v1/server_config.pb.h"
#include "gateway/gateway_server.h"

namespace callpush::gateway {

// Options listening on `address`. Zero values are errors: defaults come
// from DefaultServerConfig (server/server_config.h).
absl::StatusOr<GatewayOptions> GatewayOptionsFromConfig(
    const v1::HttpConfig& http, const std::string& address);

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_GATEWAY_CONFIG_H_
