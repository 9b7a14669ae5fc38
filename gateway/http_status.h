// The one place where a gRPC status code becomes an HTTP status (the table
// google.rpc.Code documents, as grpc-gateway uses it).
#ifndef CALLPUSH_GATEWAY_HTTP_STATUS_H_
#define CALLPUSH_GATEWAY_HTTP_STATUS_H_

#include <grpcpp/support/status.h>

namespace callpush::gateway {

int HttpStatusFromGrpc(grpc::StatusCode code);

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_HTTP_STATUS_H_
