// BuildRequest: a parsed command line (command_line.h) turned into the one
// DeviceService request it sends. Values the CLI can check itself (on|off,
// ios|android, sandbox|production) are checked here as usage errors; mobile
// numbers, ids and tokens are the server's to judge.
#ifndef CALLPUSH_CLIENTS_CALLPUSHCTL_REQUEST_BUILDER_H_
#define CALLPUSH_CLIENTS_CALLPUSHCTL_REQUEST_BUILDER_H_

#include <variant>

#include "absl/status/statusor.h"
#include "callpush/v1/device_service.pb.h"
#include "clients/callpushctl/command_line.h"

namespace callpush::ctl {

// patient activate|deactivate and device set-inbound-calls share a request
// type with other meanings, so each request is the proto it sends.
using Request =
    std::variant<v1::RegisterDeviceRequest, v1::SetInboundCallsAllowedRequest,
                 v1::RemoveDeviceRequest, v1::ListDevicesRequest,
                 v1::SetPatientActiveRequest, v1::ListCallPushesRequest>;

// `line` must name a command (line.command != nullptr) and not be help.
// INVALID_ARGUMENT (a usage error) names the option or argument.
absl::StatusOr<Request> BuildRequest(const CommandLine& line);

}  // namespace callpush::ctl

#endif  // CALLPUSH_CLIENTS_CALLPUSHCTL_REQUEST_BUILDER_H_
