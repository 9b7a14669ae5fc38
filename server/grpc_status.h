// The one place where absl::Status becomes grpc::Status (the codes are the
// same numbers; messages carry over).
#ifndef CALLPUSH_SERVER_GRPC_STATUS_H_
#define CALLPUSH_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace callpush {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The deadline an RPC's work must meet: the client's, or now + `fallback`
// when the client sent none.
absl::Time RpcDeadline(std::chrono::system_clock::time_point client_deadline,
                       absl::Time now, absl::Duration fallback);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_GRPC_STATUS_H_
