// What callpushctl prints: aligned tables of devices and push attempts (a
// header, then one line per row, columns separated by at least two spaces,
// "-" for an empty cell, the free-text column last), and RPC errors as
// "callpushctl: <GRPC_CODE_NAME>: <message>". Tokens are never printed: the
// API does not return them, and the device table says only whether one is set.
#ifndef CALLPUSH_CLIENTS_CALLPUSHCTL_OUTPUT_FORMAT_H_
#define CALLPUSH_CLIENTS_CALLPUSHCTL_OUTPUT_FORMAT_H_

#include <grpcpp/support/status.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "callpush/v1/device_service.pb.h"

namespace callpush::ctl {

// Rows of cells as aligned lines, each ending in "\n". Control characters in
// cells become spaces; empty cells print as "-".
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// ID PLATFORM APP ENVIRONMENT INBOUND VOIP-TOKEN PUSH-TOKEN PATIENT; "" for
// no devices.
std::string FormatDevices(const v1::ListDevicesResponse& response);

// TIME DEVICE KIND OUTCOME PROVIDER STATUS LATENCY TOKEN PROVIDER-ID REASON;
// "" for no attempts. TIME is UTC with milliseconds.
std::string FormatCallPushes(const v1::ListCallPushesResponse& response);

// "NOT_FOUND" and so on (gRPC and Abseil share the code numbers).
std::string GrpcCodeName(grpc::StatusCode code);

// The error line (without "\n"). `reached_server` is false when the channel
// never got connected: UNAVAILABLE and DEADLINE_EXCEEDED then say "cannot
// reach <server>" before gRPC's own explanation.
std::string FormatRpcError(const grpc::Status& status, absl::string_view server,
                           bool reached_server);

}  // namespace callpush::ctl

#endif  // CALLPUSH_CLIENTS_CALLPUSHCTL_OUTPUT_FORMAT_H_
