#include "server/readiness_probe.h"

#include <memory>

#include "absl/synchronization/notification.h"
#include "clients/base/log.h"

namespace callpush {
namespace {

constexpr absl::Duration kProbeInterval = absl::Seconds(1);
constexpr absl::Duration kPruneInterval = absl::Hours(1);
const char* const kCallService = "callpush.v1.CallService";
const char* const kServices[] = {"", kCallService, "callpush.v1.DeviceService"};

}  // namespace

ReadinessProbe::ReadinessProbe(DeviceStore& store,
                               grpc::HealthCheckServiceInterface& health,
                               const Clock& clock,
                               absl::Duration push_retention,
                               bool pushes_configured)
    : store_(store),
      health_(health),
      clock_(clock),
      push_retention_(push_retention),
      pushes_configured_(pushes_configured) {}

ReadinessProbe::~ReadinessProbe() { Stop(); }

void ReadinessProbe::Start() {
  SetServing(false);
  thread_ = std::thread([this] { Loop(); });
}

void ReadinessProbe::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  SetServing(false);
}

void ReadinessProbe::SetServing(bool serving) {
  for (const char* service : kServices) {
    // Without push credentials CallService can only answer UNAVAILABLE.
    const bool can_serve =
        serving && (pushes_configured_ || service != kCallService);
    health_.SetServingStatus(service, can_serve);
    if (service == kCallService) {
      call_service_serving_.store(can_serve, std::memory_order_relaxed);
    }
  }
}

void ReadinessProbe::Loop() {
  bool last = false;
  absl::Time next_prune = clock_.Now();
  for (;;) {
    // This thread exists to wait: blocking here keeps it off every handler.
    auto pinged = std::make_shared<absl::Notification>();
    auto ok = std::make_shared<bool>(false);
    store_.Ping(clock_.Now() + kProbeInterval, [pinged, ok](absl::Status s) {
      *ok = s.ok();
      pinged->Notify();
    });
    pinged->WaitForNotificationWithTimeout(kProbeInterval + absl::Seconds(1));
    bool serving = pinged->HasBeenNotified() && *ok;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      if (serving != last) {
        Log(serving ? LogLevel::kInfo : LogLevel::kWarning,
            serving ? "ready: database reachable"
                    : "not ready: database unreachable");
        SetServing(serving);
        last = serving;
      }
    }
    if (serving && clock_.Now() >= next_prune) {
      next_prune = clock_.Now() + kPruneInterval;
      store_.PrunePushes(clock_.Now() - push_retention_,
                         clock_.Now() + absl::Seconds(30),
                         [](absl::StatusOr<int64_t> n) {
                           if (n.ok() && *n > 0) {
                             Log(LogLevel::kInfo, "pruned push attempts",
                                 {{"rows", std::to_string(*n)}});
                           }
                         });
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), kProbeInterval);
    if (stopping_) return;
  }
}

}  // namespace callpush
