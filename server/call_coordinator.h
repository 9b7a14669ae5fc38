// CallCoordinator: the four operations of the Calls API as plain business
// logic over a DeviceStore and a PushSender, free of gRPC so that unit tests
// reach it with fakes. CallServiceImpl is a thin adapter over it.
//
// Thread-safe. No method blocks; `done` runs exactly once, on a store or push
// thread (or inline), with one of the statuses documented in
// proto/callpush/v1/call_service.proto.
#ifndef CALLPUSH_SERVER_CALL_COORDINATOR_H_
#define CALLPUSH_SERVER_CALL_COORDINATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "server/device_store.h"
#include "server/push_observer.h"
#include "server/push_sender.h"

namespace callpush {

inline constexpr char kRejectedInboundCall[] = "device rejected inbound call";

struct CallCoordinatorOptions {
  // How long a call rings: the VoIP push expires then, and a repeated Call
  // for the same (callId, deviceId) within it sends no second push.
  absl::Duration ring_window = absl::Seconds(60);
  // Told of every push sent and answered and every dead token cleared
  // (metrics); null: nobody. Must outlive the coordinator.
  PushObserver* observer = nullptr;
};

struct CallArgs {
  std::string device_id;  // canonical UUID
  std::string call_id;
  std::string caller_name;
};

struct CancelArgs {
  std::string device_id;
  std::string call_id;
  std::string reason;
};

class CallCoordinator {
 public:
  using Done = absl::AnyInvocable<void(absl::Status)>;

  // All three must outlive the coordinator and every operation in flight.
  CallCoordinator(DeviceStore& store, PushSender& pusher, const Clock& clock,
                  CallCoordinatorOptions options);

  // Number must be validated E.164.
  void ListCallableDevices(
      const std::string& mobile_number, absl::Time deadline,
      absl::AnyInvocable<void(absl::StatusOr<std::vector<std::string>>)> done);

  // OK: the provider accepted a VoIP push (or accepted one for this call and
  // device within the ring window). PERMISSION_DENIED: the user refuses
  // inbound calls. NOT_FOUND: no valid device, including a token the
  // provider just called dead. ABORTED: the same push is in flight.
  // UNAVAILABLE / DEADLINE_EXCEEDED: a dependency did not answer.
  void Call(CallArgs args, absl::Time deadline, Done done);
  void UpdateCall(CallArgs args, absl::Time deadline, Done done);
  void CancelCall(CancelArgs args, absl::Time deadline, Done done);

 private:
  struct Push;  // one operation in flight

  std::shared_ptr<Push> NewPush(PushKind kind, std::string device_id,
                                std::string call_id, absl::Time deadline,
                                Done done);
  void Start(std::shared_ptr<Push> op);
  void OnDevice(std::shared_ptr<Push> op, absl::StatusOr<DeviceRecord> device);
  void SendPush(std::shared_ptr<Push> op);
  void OnPushResult(std::shared_ptr<Push> op, PushResult result);
  void Record(std::shared_ptr<Push> op, absl::Status answer);
  absl::Time AfterPushDeadline(const Push& op) const;

  DeviceStore& store_;
  PushSender& pusher_;
  const Clock& clock_;
  const CallCoordinatorOptions options_;
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_CALL_COORDINATOR_H_
