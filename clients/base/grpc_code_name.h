// GrpcCodeName: "OK", "NOT_FOUND", ... as gRPC names a status code (metric
// labels, log lines, load-generator reports).
#ifndef CALLPUSH_CLIENTS_BASE_GRPC_CODE_NAME_H_
#define CALLPUSH_CLIENTS_BASE_GRPC_CODE_NAME_H_

#include <grpcpp/support/status.h>

#include "absl/strings/string_view.h"

namespace callpush {

// "UNKNOWN" for a number outside the enum.
absl::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_BASE_GRPC_CODE_NAME_H_
