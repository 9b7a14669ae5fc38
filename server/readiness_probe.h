// ReadinessProbe: keeps the gRPC health status true to the database. Every
// second it pings the store and sets SERVING / NOT_SERVING for "" and each
// callpush service; it also prunes old push attempts hourly. Stop() leaves
// everything NOT_SERVING (used at SIGTERM so load balancers drain first).
// CallService stays NOT_SERVING when no push provider is configured: its
// operations could only fail.
#ifndef CALLPUSH_SERVER_READINESS_PROBE_H_
#define CALLPUSH_SERVER_READINESS_PROBE_H_

#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "server/device_store.h"

namespace callpush {

class ReadinessProbe {
 public:
  ReadinessProbe(DeviceStore& store, grpc::HealthCheckServiceInterface& health,
                 const Clock& clock, absl::Duration push_retention,
                 bool pushes_configured);
  ~ReadinessProbe();

  void Start();
  void Stop();

  // Whether callpush.v1.CallService is reported SERVING now (metrics).
  // Thread-safe.
  bool CallServiceServing() const {
    return call_service_serving_.load(std::memory_order_relaxed);
  }

 private:
  void Loop();
  void SetServing(bool serving);

  DeviceStore& store_;
  grpc::HealthCheckServiceInterface& health_;
  const Clock& clock_;
  const absl::Duration push_retention_;
  const bool pushes_configured_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> call_service_serving_{false};
  std::thread thread_;
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_READINESS_PROBE_H_
