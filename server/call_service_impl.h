// CallServiceImpl: the gRPC callback-API adapter of CallCoordinator. Each
// handler validates the request, returns its reactor at once and finishes it
// from the coordinator's completion; nothing here blocks.
#ifndef CALLPUSH_SERVER_CALL_SERVICE_IMPL_H_
#define CALLPUSH_SERVER_CALL_SERVICE_IMPL_H_

#include "callpush/v1/call_service.grpc.pb.h"
#include "clients/base/clock.h"
#include "server/call_coordinator.h"

namespace callpush {

class CallServiceImpl final : public v1::CallService::CallbackService {
 public:
  // `coordinator` and `clock` must outlive the service. `default_deadline`
  // bounds RPCs whose client set no deadline.
  CallServiceImpl(CallCoordinator& coordinator, const Clock& clock,
                  absl::Duration default_deadline);

  grpc::ServerUnaryReactor* ListCallableDevices(
      grpc::CallbackServerContext* ctx,
      const v1::ListCallableDevicesRequest* request,
      v1::ListCallableDevicesResponse* response) override;
  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* ctx,
                                 const v1::CallRequest* request,
                                 v1::CallResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCall(
      grpc::CallbackServerContext* ctx, const v1::UpdateCallRequest* request,
      v1::UpdateCallResponse* response) override;
  grpc::ServerUnaryReactor* CancelCall(
      grpc::CallbackServerContext* ctx, const v1::CancelCallRequest* request,
      v1::CancelCallResponse* response) override;

 private:
  absl::Time Deadline(const grpc::CallbackServerContext* ctx) const;
  // Call and UpdateCall take the same fields and differ only in operation.
  template <typename Request>
  grpc::ServerUnaryReactor* StartCallLike(
      grpc::CallbackServerContext* ctx, const Request& request,
      void (CallCoordinator::*operation)(CallArgs, absl::Time,
                                         CallCoordinator::Done));

  CallCoordinator& coordinator_;
  const Clock& clock_;
  const absl::Duration default_deadline_;
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_CALL_SERVICE_IMPL_H_
