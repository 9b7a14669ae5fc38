// DeviceStore: everything callpush keeps (patients, devices, push attempts)
// behind one asynchronous interface. PgDeviceStore is the real one;
// tests/testing/fake_device_store.h is the in-memory fake.
//
// Contract for every method:
//  - Never blocks the caller: work runs elsewhere (a database worker) and
//    `done` is called exactly once, on a thread of the store's choosing
//    (possibly the caller's, before the method returns). `done` must not
//    block.
//  - `deadline` bounds the wait; past it the answer is DEADLINE_EXCEEDED.
//  - A database that cannot answer gives UNAVAILABLE, never NOT_FOUND or an
//    empty list. NOT_FOUND means the row is really absent.
//  - Inputs are already validated (UUIDs are canonical lower case, numbers
//    E.164); they reach SQL only as bound parameters.
#ifndef CALLPUSH_SERVER_DEVICE_STORE_H_
#define CALLPUSH_SERVER_DEVICE_STORE_H_

#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/model.h"

namespace callpush {

template <typename T>
using StoreCallback = absl::AnyInvocable<void(absl::StatusOr<T>)>;
using StatusCallback = absl::AnyInvocable<void(absl::Status)>;

// Claiming the right to send a call's VoIP push (idempotency of Call).
struct CallClaim {
  bool claimed = false;    // true: this caller sends the push
  int64_t attempt_id = 0;  // the pending call_pushes row, when claimed
  // When not claimed: the outcome of the open claim that won, kAccepted
  // (already pushed) or kPending (still in flight).
  PushOutcome existing = PushOutcome::kPending;
};

class DeviceStore {
 public:
  virtual ~DeviceStore() = default;

  // Ids of devices that may ring now: active patient, VoIP token present,
  // inbound calls allowed. Ordered by creation.
  virtual void ListCallableDevices(
      const std::string& mobile_number, absl::Time deadline,
      StoreCallback<std::vector<std::string>> done) = 0;

  // NOT_FOUND when no such device.
  virtual void GetDevice(const std::string& device_id, absl::Time deadline,
                         StoreCallback<DeviceRecord> done) = 0;

  // Atomically claims (call_id, device_id) for a VoIP push. A claim stays
  // open while its attempt is pending or accepted and younger than
  // `ring_window`; an older one is closed first. The pending row is written
  // with `provider` so a crash leaves a trace.
  virtual void ClaimCall(const std::string& call_id,
                         const std::string& device_id,
                         const std::string& provider,
                         absl::Duration ring_window, absl::Time deadline,
                         StoreCallback<CallClaim> done) = 0;

  // Writes the outcome of a push attempt. attempt.id != 0 completes a claimed
  // row (an accepted call keeps its claim open; anything else closes it);
  // attempt.id == 0 inserts a new row (update and cancel).
  virtual void RecordPush(const PushAttempt& attempt, absl::Time deadline,
                          StatusCallback done) = 0;

  // Clears `token` on the device (as its VoIP token, its push token, or
  // both: on Android they are often the same FCM token) after the provider
  // called it dead, unless the device holds another token now or its tokens
  // were updated after `invalidated_at` (APNs 410 timestamp; nullopt: none
  // given). Answers whether anything was cleared.
  virtual void InvalidateToken(const std::string& device_id,
                               const std::string& token,
                               std::optional<absl::Time> invalidated_at,
                               absl::Time deadline,
                               StoreCallback<bool> done) = 0;

  // Creates a device (empty device_id: a new id) or creates-or-replaces the
  // device with that id; creates the patient on first use of the number.
  virtual void RegisterDevice(const DeviceRegistration& registration,
                              absl::Time deadline,
                              StoreCallback<DeviceRecord> done) = 0;

  virtual void SetInboundCallsAllowed(const std::string& device_id,
                                      bool allowed, absl::Time deadline,
                                      StoreCallback<DeviceRecord> done) = 0;

  // NOT_FOUND when no patient has that number.
  virtual void SetPatientActive(const std::string& mobile_number, bool active,
                                absl::Time deadline,
                                StoreCallback<PatientRecord> done) = 0;

  // NOT_FOUND when no such device.
  virtual void RemoveDevice(const std::string& device_id, absl::Time deadline,
                            StatusCallback done) = 0;

  // All devices of a number (callable or not); empty when none.
  virtual void ListDevices(const std::string& mobile_number,
                           absl::Time deadline,
                           StoreCallback<std::vector<DeviceRecord>> done) = 0;

  // Push attempts for a call, oldest first.
  virtual void ListCallPushes(const std::string& call_id, absl::Time deadline,
                              StoreCallback<std::vector<PushAttempt>> done) = 0;

  // OK when the database answers (readiness).
  virtual void Ping(absl::Time deadline, StatusCallback done) = 0;

  // Deletes push attempts created before `before`; answers how many.
  virtual void PrunePushes(absl::Time before, absl::Time deadline,
                           StoreCallback<int64_t> done) = 0;
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_DEVICE_STORE_H_
