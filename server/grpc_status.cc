#include "server/grpc_status.h"

#include <string>

namespace callpush {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::Time RpcDeadline(std::chrono::system_clock::time_point client_deadline,
                       absl::Time now, absl::Duration fallback) {
  // gRPC reports "no deadline" as a far-future time point.
  if (client_deadline >= std::chrono::system_clock::time_point::max() -
                             std::chrono::hours(24 * 365)) {
    return now + fallback;
  }
  return absl::FromChrono(client_deadline);
}

}  // namespace callpush
