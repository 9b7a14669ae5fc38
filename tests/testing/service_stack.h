// ServiceStack: callpush's gRPC services wired as in server/main.cc, over a
// real Postgres database and a scripted push sender, served on an in-process
// channel. Integration tests build on it instead of repeating the wiring.
#ifndef CALLPUSH_TESTS_TESTING_SERVICE_STACK_H_
#define CALLPUSH_TESTS_TESTING_SERVICE_STACK_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "callpush/v1/call_service.grpc.pb.h"
#include "callpush/v1/device_service.grpc.pb.h"
#include "server/call_coordinator.h"
#include "server/call_service_impl.h"
#include "server/device_service_impl.h"
#include "server/pg/pg_device_store.h"
#include "server/pg/pg_pool.h"
#include "server/readiness_probe.h"
#include "tests/testing/fake_push_sender.h"

namespace callpush::testing {

class ServiceStack {
 public:
  struct Options {
    std::string database_url;
    int db_workers = 4;
    absl::Duration ring_window = absl::Seconds(60);
    // gRPC health service kept true to the database by a ReadinessProbe.
    bool health = false;
  };

  explicit ServiceStack(Options options);
  // Stops serving, then the probe, then the pool.
  ~ServiceStack();

  FakePushSender& pusher() { return pusher_; }
  PgDeviceStore& store() { return *store_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  v1::CallService::Stub& calls() { return *call_stub_; }
  v1::DeviceService::Stub& devices() { return *device_stub_; }

 private:
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgDeviceStore> store_;
  FakePushSender pusher_;
  std::unique_ptr<CallCoordinator> coordinator_;
  std::unique_ptr<CallServiceImpl> call_service_;
  std::unique_ptr<DeviceServiceImpl> device_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ReadinessProbe> readiness_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::CallService::Stub> call_stub_;
  std::unique_ptr<v1::DeviceService::Stub> device_stub_;
};

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_SERVICE_STACK_H_
