#include "clients/callpushctl/request_runner.h"

#include <grpcpp/client_context.h>

#include <memory>

#include "clients/callpushctl/output_format.h"

namespace callpush::ctl {
namespace {

// One visitor per request type: the RPC, then the output.
class Runner {
 public:
  Runner(v1::DeviceService::StubInterface& stub, absl::Time deadline,
         std::ostream& out, std::ostream& err)
      : stub_(stub), deadline_(deadline), out_(out), err_(err) {}

  grpc::Status operator()(const v1::RegisterDeviceRequest& r) {
    v1::Device device;
    auto ctx = Context();
    grpc::Status s = stub_.RegisterDevice(ctx.get(), r, &device);
    if (s.ok()) out_ << device.id() << "\n";
    return s;
  }

  grpc::Status operator()(const v1::SetInboundCallsAllowedRequest& r) {
    v1::Device device;
    auto ctx = Context();
    grpc::Status s = stub_.SetInboundCallsAllowed(ctx.get(), r, &device);
    if (s.ok()) {
      out_ << device.id() << " inbound calls "
           << (device.inbound_calls_allowed() ? "on" : "off") << "\n";
    }
    return s;
  }

  grpc::Status operator()(const v1::RemoveDeviceRequest& r) {
    v1::RemoveDeviceResponse response;
    auto ctx = Context();
    grpc::Status s = stub_.RemoveDevice(ctx.get(), r, &response);
    if (s.ok()) out_ << "removed " << r.device_id() << "\n";
    return s;
  }

  grpc::Status operator()(const v1::ListDevicesRequest& r) {
    v1::ListDevicesResponse response;
    auto ctx = Context();
    grpc::Status s = stub_.ListDevices(ctx.get(), r, &response);
    if (!s.ok()) return s;
    if (response.devices().empty()) {
      err_ << "no devices\n";
    } else {
      out_ << FormatDevices(response);
    }
    return s;
  }

  grpc::Status operator()(const v1::SetPatientActiveRequest& r) {
    v1::Patient patient;
    auto ctx = Context();
    grpc::Status s = stub_.SetPatientActive(ctx.get(), r, &patient);
    if (s.ok()) {
      out_ << patient.mobile_number() << " "
           << (patient.active() ? "active" : "inactive") << "\n";
    }
    return s;
  }

  grpc::Status operator()(const v1::ListCallPushesRequest& r) {
    v1::ListCallPushesResponse response;
    auto ctx = Context();
    grpc::Status s = stub_.ListCallPushes(ctx.get(), r, &response);
    if (!s.ok()) return s;
    if (response.pushes().empty()) {
      err_ << "no push attempts\n";
    } else {
      out_ << FormatCallPushes(response);
    }
    return s;
  }

 private:
  std::unique_ptr<grpc::ClientContext> Context() const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(absl::ToChronoTime(deadline_));
    ctx->set_wait_for_ready(false);
    return ctx;
  }

  v1::DeviceService::StubInterface& stub_;
  const absl::Time deadline_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace

grpc::Status RunRequest(const Request& request,
                        v1::DeviceService::StubInterface& stub,
                        absl::Time deadline, std::ostream& out,
                        std::ostream& err) {
  return std::visit(Runner(stub, deadline, out, err), request);
}

}  // namespace callpush::ctl
