// RouteGrpcLogsToLog: gRPC core's own messages (a failed TLS handshake, a
// bad peer) become structured lines of clients/base/log.h, so that stderr
// stays one JSON object per line. gRPC errors map to warning (they are about
// one peer or one connection, which the service survives), info to debug.
#ifndef CALLPUSH_CLIENTS_BASE_GRPC_LOG_BRIDGE_H_
#define CALLPUSH_CLIENTS_BASE_GRPC_LOG_BRIDGE_H_

namespace callpush {

// Process-wide; call once in main before gRPC starts.
void RouteGrpcLogsToLog();

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_BASE_GRPC_LOG_BRIDGE_H_
