// Command-line flags of the gateway, shared by callpush-gateway and the
// in-process gateway of callpush-server (each binary defines its own
// --http_address, whose default differs).
#ifndef CALLPUSH_GATEWAY_GATEWAY_FLAGS_H_
#define CALLPUSH_GATEWAY_GATEWAY_FLAGS_H_

#include <string>

#include "gateway/gateway_server.h"

namespace callpush::gateway {

// Options from the flags, listening on `address`.
GatewayOptions GatewayOptionsFromFlags(const std::string& address);

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_GATEWAY_FLAGS_H_
