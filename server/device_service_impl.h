// DeviceServiceImpl: the registry API for internal services, a thin callback
// adapter over DeviceStore with validation and number normalisation.
#ifndef CALLPUSH_SERVER_DEVICE_SERVICE_IMPL_H_
#define CALLPUSH_SERVER_DEVICE_SERVICE_IMPL_H_

#include "callpush/v1/device_service.grpc.pb.h"
#include "clients/base/clock.h"
#include "server/device_store.h"

namespace callpush {

class DeviceServiceImpl final : public v1::DeviceService::CallbackService {
 public:
  DeviceServiceImpl(DeviceStore& store, const Clock& clock,
                    absl::Duration default_deadline);

  grpc::ServerUnaryReactor* RegisterDevice(
      grpc::CallbackServerContext* ctx,
      const v1::RegisterDeviceRequest* request, v1::Device* response) override;
  grpc::ServerUnaryReactor* SetInboundCallsAllowed(
      grpc::CallbackServerContext* ctx,
      const v1::SetInboundCallsAllowedRequest* request,
      v1::Device* response) override;
  grpc::ServerUnaryReactor* SetPatientActive(
      grpc::CallbackServerContext* ctx,
      const v1::SetPatientActiveRequest* request,
      v1::Patient* response) override;
  grpc::ServerUnaryReactor* RemoveDevice(
      grpc::CallbackServerContext* ctx, const v1::RemoveDeviceRequest* request,
      v1::RemoveDeviceResponse* response) override;
  grpc::ServerUnaryReactor* GetDevice(grpc::CallbackServerContext* ctx,
                                      const v1::GetDeviceRequest* request,
                                      v1::Device* response) override;
  grpc::ServerUnaryReactor* ListDevices(
      grpc::CallbackServerContext* ctx, const v1::ListDevicesRequest* request,
      v1::ListDevicesResponse* response) override;
  grpc::ServerUnaryReactor* ListCallPushes(
      grpc::CallbackServerContext* ctx,
      const v1::ListCallPushesRequest* request,
      v1::ListCallPushesResponse* response) override;

 private:
  absl::Time Deadline(const grpc::CallbackServerContext* ctx) const;

  DeviceStore& store_;
  const Clock& clock_;
  const absl::Duration default_deadline_;
};

// Validates and normalises a RegisterDevice request (pure; tested alone).
absl::StatusOr<DeviceRegistration> RegistrationFrom(
    const v1::RegisterDeviceRequest& request);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_DEVICE_SERVICE_IMPL_H_
