#include "tests/testing/service_stack.h"

#include "clients/base/clock.h"
#include "server/pg/sql.h"

namespace callpush::testing {

ServiceStack::ServiceStack(Options options) {
  const Clock& clock = SystemClock::Get();
  PgPoolOptions pool_options;
  pool_options.conninfo = options.database_url;
  pool_options.workers = options.db_workers;
  pool_options.statements = sql::AllStatements();
  pool_ = std::make_unique<PgPool>(pool_options, clock);
  pool_->Start();
  store_ = std::make_unique<PgDeviceStore>(*pool_, clock);
  coordinator_ = std::make_unique<CallCoordinator>(
      *store_, pusher_, clock, CallCoordinatorOptions{options.ring_window});
  call_service_ =
      std::make_unique<CallServiceImpl>(*coordinator_, clock, absl::Seconds(2));
  device_service_ =
      std::make_unique<DeviceServiceImpl>(*store_, clock, absl::Seconds(2));
  if (options.health) grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.RegisterService(call_service_.get());
  builder.RegisterService(device_service_.get());
  server_ = builder.BuildAndStart();
  if (options.health) {
    readiness_ = std::make_unique<ReadinessProbe>(
        *store_, *server_->GetHealthCheckService(), clock, absl::Hours(24),
        /*pushes_configured=*/true);
    readiness_->Start();
  }
  channel_ = server_->InProcessChannel(grpc::ChannelArguments());
  call_stub_ = v1::CallService::NewStub(channel_);
  device_stub_ = v1::DeviceService::NewStub(channel_);
}

ServiceStack::~ServiceStack() {
  server_->Shutdown(std::chrono::system_clock::now());
  if (readiness_) readiness_->Stop();
  pool_->Stop();
}

}  // namespace callpush::testing
