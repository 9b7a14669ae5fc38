#include "clients/callpushctl/request_builder.h"

#include "absl/strings/str_cat.h"

namespace callpush::ctl {
namespace {

absl::Status NotOneOf(absl::string_view what, absl::string_view choices,
                      absl::string_view value) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": must be ", choices, ", not '", value, "'"));
}

absl::StatusOr<Request> RegisterDevice(const CommandLine& line) {
  v1::RegisterDeviceRequest r;
  const auto& values = line.values;
  r.set_mobile_number(values.at("mobile"));
  if (auto it = values.find("region"); it != values.end()) {
    r.set_default_region(it->second);
  }
  const std::string& platform = values.at("platform");
  if (platform == "ios") {
    r.set_platform(v1::PLATFORM_IOS);
  } else if (platform == "android") {
    r.set_platform(v1::PLATFORM_ANDROID);
  } else {
    return NotOneOf("--platform", "ios or android", platform);
  }
  r.set_app(values.at("app"));
  if (auto it = values.find("environment"); it != values.end()) {
    if (it->second == "sandbox") {
      r.set_environment(v1::PUSH_ENVIRONMENT_SANDBOX);
    } else if (it->second == "production") {
      r.set_environment(v1::PUSH_ENVIRONMENT_PRODUCTION);
    } else {
      return NotOneOf("--environment", "sandbox or production", it->second);
    }
  }
  // Absent tokens keep what a replaced device had; "" clears one.
  if (auto it = values.find("voip-token"); it != values.end()) {
    r.set_voip_token(it->second);
  }
  if (auto it = values.find("push-token"); it != values.end()) {
    r.set_push_token(it->second);
  }
  if (line.flags.count("refuse-calls") != 0) {
    r.set_inbound_calls_allowed(false);
  }
  if (auto it = values.find("id"); it != values.end()) {
    r.set_device_id(it->second);
  }
  return r;
}

}  // namespace

absl::StatusOr<Request> BuildRequest(const CommandLine& line) {
  const std::vector<std::string>& args = line.args;
  switch (line.command->id) {
    case CommandId::kRegisterDevice:
      return RegisterDevice(line);
    case CommandId::kSetInboundCalls: {
      v1::SetInboundCallsAllowedRequest r;
      r.set_device_id(args[0]);
      if (args[1] == "on") {
        r.set_allowed(true);
      } else if (args[1] != "off") {
        return NotOneOf("on|off", "on or off", args[1]);
      }
      return r;
    }
    case CommandId::kRemoveDevice: {
      v1::RemoveDeviceRequest r;
      r.set_device_id(args[0]);
      return r;
    }
    case CommandId::kListDevices: {
      v1::ListDevicesRequest r;
      r.set_mobile_number(args[0]);
      return r;
    }
    case CommandId::kActivatePatient:
    case CommandId::kDeactivatePatient: {
      v1::SetPatientActiveRequest r;
      r.set_mobile_number(args[0]);
      r.set_active(line.command->id == CommandId::kActivatePatient);
      return r;
    }
    case CommandId::kCallLog: {
      v1::ListCallPushesRequest r;
      r.set_call_id(args[0]);
      return r;
    }
  }
  return absl::InternalError("unhandled command");
}

}  // namespace callpush::ctl
