#include "server/device_service_impl.h"

#include <utility>

#include "clients/base/status_macros.h"
#include "server/grpc_status.h"
#include "server/phone_number.h"
#include "server/proto_convert.h"
#include "server/validation.h"

namespace callpush {
namespace {

void Finish(grpc::ServerUnaryReactor* reactor, const absl::Status& status) {
  reactor->Finish(ToGrpcStatus(status));
}

// Finishes `reactor` with a device record (or the store's error).
auto FinishWithDevice(grpc::ServerUnaryReactor* reactor, v1::Device* out) {
  return [reactor, out](absl::StatusOr<DeviceRecord> device) {
    if (device.ok()) ToProto(*device, out);
    Finish(reactor, device.status());
  };
}

}  // namespace

absl::StatusOr<DeviceRegistration> RegistrationFrom(
    const v1::RegisterDeviceRequest& request) {
  DeviceRegistration r;
  if (!request.device_id().empty()) {
    ASSIGN_OR_RETURN(r.device_id,
                     CanonicalUuid("deviceId", request.device_id()));
  }
  ASSIGN_OR_RETURN(r.mobile_number, NormalizeMobileNumber(
                                        "mobileNumber", request.mobile_number(),
                                        request.default_region()));
  switch (request.platform()) {
    case v1::PLATFORM_IOS:
      r.platform = Platform::kIos;
      break;
    case v1::PLATFORM_ANDROID:
      r.platform = Platform::kAndroid;
      break;
    default:
      return absl::InvalidArgumentError(
          "platform: must be PLATFORM_IOS or PLATFORM_ANDROID");
  }
  RETURN_IF_ERROR(ValidateAppName("app", request.app()));
  r.app = request.app();
  switch (request.environment()) {
    case v1::PUSH_ENVIRONMENT_UNSPECIFIED:
      r.environment = "";
      break;
    case v1::PUSH_ENVIRONMENT_SANDBOX:
      r.environment = "sandbox";
      break;
    case v1::PUSH_ENVIRONMENT_PRODUCTION:
      r.environment = "production";
      break;
    default:
      return absl::InvalidArgumentError("environment: unknown value");
  }
  bool ios = r.platform == Platform::kIos;
  if (request.has_voip_token()) {
    RETURN_IF_ERROR(ValidateToken("voipToken", ios, request.voip_token()));
    r.voip_token = request.voip_token();
  }
  if (request.has_push_token()) {
    RETURN_IF_ERROR(ValidateToken("pushToken", ios, request.push_token()));
    r.push_token = request.push_token();
  }
  if (request.has_inbound_calls_allowed()) {
    r.inbound_calls_allowed = request.inbound_calls_allowed();
  }
  return r;
}

DeviceServiceImpl::DeviceServiceImpl(DeviceStore& store, const Clock& clock,
                                     absl::Duration default_deadline)
    : store_(store), clock_(clock), default_deadline_(default_deadline) {}

absl::Time DeviceServiceImpl::Deadline(
    const grpc::CallbackServerContext* ctx) const {
  return RpcDeadline(ctx->deadline(), clock_.Now(), default_deadline_);
}

grpc::ServerUnaryReactor* DeviceServiceImpl::RegisterDevice(
    grpc::CallbackServerContext* ctx, const v1::RegisterDeviceRequest* request,
    v1::Device* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto registration = RegistrationFrom(*request);
  if (!registration.ok()) {
    Finish(reactor, registration.status());
    return reactor;
  }
  store_.RegisterDevice(*registration, Deadline(ctx),
                        FinishWithDevice(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* DeviceServiceImpl::SetInboundCallsAllowed(
    grpc::CallbackServerContext* ctx,
    const v1::SetInboundCallsAllowedRequest* request, v1::Device* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto id = CanonicalUuid("deviceId", request->device_id());
  if (!id.ok()) {
    Finish(reactor, id.status());
    return reactor;
  }
  store_.SetInboundCallsAllowed(*id, request->allowed(), Deadline(ctx),
                                FinishWithDevice(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* DeviceServiceImpl::SetPatientActive(
    grpc::CallbackServerContext* ctx,
    const v1::SetPatientActiveRequest* request, v1::Patient* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status valid = ValidateE164("mobileNumber", request->mobile_number());
  if (!valid.ok()) {
    Finish(reactor, valid);
    return reactor;
  }
  store_.SetPatientActive(
      request->mobile_number(), request->active(), Deadline(ctx),
      [reactor, response](absl::StatusOr<PatientRecord> patient) {
        if (patient.ok()) ToProto(*patient, response);
        Finish(reactor, patient.status());
      });
  return reactor;
}

grpc::ServerUnaryReactor* DeviceServiceImpl::RemoveDevice(
    grpc::CallbackServerContext* ctx, const v1::RemoveDeviceRequest* request,
    v1::RemoveDeviceResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto id = CanonicalUuid("deviceId", request->device_id());
  if (!id.ok()) {
    Finish(reactor, id.status());
    return reactor;
  }
  store_.RemoveDevice(*id, Deadline(ctx),
                      [reactor](absl::Status s) { Finish(reactor, s); });
  return reactor;
}

grpc::ServerUnaryReactor* DeviceServiceImpl::GetDevice(
    grpc::CallbackServerContext* ctx, const v1::GetDeviceRequest* request,
    v1::Device* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto id = CanonicalUuid("deviceId", request->device_id());
  if (!id.ok()) {
    Finish(reactor, id.status());
    return reactor;
  }
  store_.GetDevice(*id, Deadline(ctx), FinishWithDevice(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* DeviceServiceImpl::ListDevices(
    grpc::CallbackServerContext* ctx, const v1::ListDevicesRequest* request,
    v1::ListDevicesResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status valid = ValidateE164("mobileNumber", request->mobile_number());
  if (!valid.ok()) {
    Finish(reactor, valid);
    return reactor;
  }
  store_.ListDevices(
      request->mobile_number(), Deadline(ctx),
      [reactor, response](absl::StatusOr<std::vector<DeviceRecord>> devices) {
        if (devices.ok()) {
          for (const DeviceRecord& d : *devices)
            ToProto(d, response->add_devices());
        }
        Finish(reactor, devices.status());
      });
  return reactor;
}

grpc::ServerUnaryReactor* DeviceServiceImpl::ListCallPushes(
    grpc::CallbackServerContext* ctx, const v1::ListCallPushesRequest* request,
    v1::ListCallPushesResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status valid = ValidateCallId("callId", request->call_id());
  if (!valid.ok()) {
    Finish(reactor, valid);
    return reactor;
  }
  store_.ListCallPushes(
      request->call_id(), Deadline(ctx),
      [reactor, response](absl::StatusOr<std::vector<PushAttempt>> pushes) {
        if (pushes.ok()) {
          for (const PushAttempt& p : *pushes)
            ToProto(p, response->add_pushes());
        }
        Finish(reactor, pushes.status());
      });
  return reactor;
}

}  // namespace callpush
