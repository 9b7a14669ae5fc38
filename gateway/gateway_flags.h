// Command-line flags of the gateway, shared by callpush-gateway and the
// in-process gateway of callpush-server. A flag given on the command line
// wins over the configuration file and the environment; one not given
// changes nothing.
#ifndef CALLPUSH_GATEWAY_GATEWAY_FLAGS_H_
#define CALLPUSH_GATEWAY_GATEWAY_FLAGS_H_

#include "callpush/v1/server_config.pb.h"

namespace callpush::gateway {

void ApplyGatewayFlags(v1::HttpConfig* http);

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_GATEWAY_FLAGS_H_
