#include "server/call_service_impl.h"

#include <utility>

#include "server/grpc_status.h"
#include "server/validation.h"

namespace callpush {
namespace {

// Finishes the reactor with `status`; the reactor deletes itself after.
void Finish(grpc::ServerUnaryReactor* reactor, const absl::Status& status) {
  reactor->Finish(ToGrpcStatus(status));
}

// Validates the fields that Call and UpdateCall share.
absl::StatusOr<CallArgs> CallArgsFrom(const std::string& device_id,
                                      const std::string& call_id,
                                      bool has_caller_name,
                                      const std::string& caller_name) {
  auto id = CanonicalUuid("deviceId", device_id);
  if (!id.ok()) return id.status();
  absl::Status s = ValidateCallId("callId", call_id);
  if (!s.ok()) return s;
  s = ValidateCallerName("callerName", has_caller_name, caller_name);
  if (!s.ok()) return s;
  return CallArgs{*std::move(id), call_id, caller_name};
}

}  // namespace

CallServiceImpl::CallServiceImpl(CallCoordinator& coordinator,
                                 const Clock& clock,
                                 absl::Duration default_deadline)
    : coordinator_(coordinator),
      clock_(clock),
      default_deadline_(default_deadline) {}

absl::Time CallServiceImpl::Deadline(
    const grpc::CallbackServerContext* ctx) const {
  return RpcDeadline(ctx->deadline(), clock_.Now(), default_deadline_);
}

grpc::ServerUnaryReactor* CallServiceImpl::ListCallableDevices(
    grpc::CallbackServerContext* ctx,
    const v1::ListCallableDevicesRequest* request,
    v1::ListCallableDevicesResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status valid =
      ValidateE164Shape("mobileNumber", request->mobile_number());
  if (!valid.ok()) {
    Finish(reactor, valid);
    return reactor;
  }
  coordinator_.ListCallableDevices(
      request->mobile_number(), Deadline(ctx),
      [reactor, request,
       response](absl::StatusOr<std::vector<std::string>> ids) {
        if (!ids.ok()) {
          Finish(reactor, ids.status());
          return;
        }
        if (ids->empty()) {
          // Only here can a non-canonical number change the answer (to 400
          // instead of []); see ValidateE164Shape.
          Finish(reactor,
                 ValidateE164("mobileNumber", request->mobile_number()));
          return;
        }
        for (std::string& id : *ids) {
          response->add_devices()->set_id(std::move(id));
        }
        Finish(reactor, absl::OkStatus());
      });
  return reactor;
}

template <typename Request>
grpc::ServerUnaryReactor* CallServiceImpl::StartCallLike(
    grpc::CallbackServerContext* ctx, const Request& request,
    void (CallCoordinator::*operation)(CallArgs, absl::Time,
                                       CallCoordinator::Done)) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto args = CallArgsFrom(request.device_id(), request.call_id(),
                           request.has_caller_name(), request.caller_name());
  if (!args.ok()) {
    Finish(reactor, args.status());
    return reactor;
  }
  (coordinator_.*operation)(*std::move(args), Deadline(ctx),
                            [reactor](absl::Status s) { Finish(reactor, s); });
  return reactor;
}

grpc::ServerUnaryReactor* CallServiceImpl::Call(
    grpc::CallbackServerContext* ctx, const v1::CallRequest* request,
    v1::CallResponse* response) {
  return StartCallLike(ctx, *request, &CallCoordinator::Call);
}

grpc::ServerUnaryReactor* CallServiceImpl::UpdateCall(
    grpc::CallbackServerContext* ctx, const v1::UpdateCallRequest* request,
    v1::UpdateCallResponse* response) {
  return StartCallLike(ctx, *request, &CallCoordinator::UpdateCall);
}

grpc::ServerUnaryReactor* CallServiceImpl::CancelCall(
    grpc::CallbackServerContext* ctx, const v1::CancelCallRequest* request,
    v1::CancelCallResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto id = CanonicalUuid("deviceId", request->device_id());
  absl::Status valid = id.status();
  if (valid.ok()) valid = ValidateCallId("callId", request->call_id());
  if (valid.ok()) valid = ValidateCancelReason("reason", request->reason());
  if (!valid.ok()) {
    Finish(reactor, valid);
    return reactor;
  }
  coordinator_.CancelCall(
      CancelArgs{*std::move(id), request->call_id(), request->reason()},
      Deadline(ctx), [reactor](absl::Status s) { Finish(reactor, s); });
  return reactor;
}

}  // namespace callpush
