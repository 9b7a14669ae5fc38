// RunRequest: sends one request (request_builder.h) on a DeviceService stub
// and prints what the command prints on success. Blocking (a CLI makes one
// call); fail-fast, so an unreachable server answers UNAVAILABLE at once
// rather than waiting for the deadline.
#ifndef CALLPUSH_CLIENTS_CALLPUSHCTL_REQUEST_RUNNER_H_
#define CALLPUSH_CLIENTS_CALLPUSHCTL_REQUEST_RUNNER_H_

#include <grpcpp/support/status.h>

#include <ostream>

#include "absl/time/time.h"
#include "callpush/v1/device_service.grpc.pb.h"
#include "clients/callpushctl/request_builder.h"

namespace callpush::ctl {

// On OK the command's output is on `out` (register: the id alone; list and
// call-log: a table, or nothing with "no devices" / "no push attempts" on
// `err`; the others one confirmation line). On error nothing is printed: the
// caller reports the status.
grpc::Status RunRequest(const Request& request,
                        v1::DeviceService::StubInterface& stub,
                        absl::Time deadline, std::ostream& out,
                        std::ostream& err);

}  // namespace callpush::ctl

#endif  // CALLPUSH_CLIENTS_CALLPUSHCTL_REQUEST_RUNNER_H_
