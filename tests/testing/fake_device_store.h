// FakeDeviceStore: DeviceStore in memory, with the same semantics as
// PgDeviceStore (tests/integration checks the real one against the same
// expectations). Answers inline, on the caller's thread. FailWith() makes
// every operation answer a given status (a database outage).
#ifndef CALLPUSH_TESTS_TESTING_FAKE_DEVICE_STORE_H_
#define CALLPUSH_TESTS_TESTING_FAKE_DEVICE_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "clients/base/clock.h"
#include "server/device_store.h"

namespace callpush::testing {

class FakeDeviceStore final : public DeviceStore {
 public:
  explicit FakeDeviceStore(const Clock& clock) : clock_(clock) {}

  // Every later operation answers `status` (OK restores normal service).
  void FailWith(absl::Status status);
  // Direct access for test set-up and checks.
  DeviceRecord AddDevice(const std::string& mobile_number, Platform platform,
                         std::optional<std::string> voip_token,
                         std::optional<std::string> push_token,
                         bool inbound_calls_allowed = true);
  void SetActive(const std::string& mobile_number, bool active);
  std::optional<DeviceRecord> Device(const std::string& id) const;
  std::vector<PushAttempt> Attempts() const;

  void ListCallableDevices(
      const std::string& mobile_number, absl::Time deadline,
      StoreCallback<std::vector<std::string>> done) override;
  void GetDevice(const std::string& device_id, absl::Time deadline,
                 StoreCallback<DeviceRecord> done) override;
  void ClaimCall(const std::string& call_id, const std::string& device_id,
                 const std::string& provider, absl::Duration ring_window,
                 absl::Time deadline, StoreCallback<CallClaim> done) override;
  void RecordPush(const PushAttempt& attempt, absl::Time deadline,
                  StatusCallback done) override;
  void InvalidateToken(const std::string& device_id, const std::string& token,
                       std::optional<absl::Time> invalidated_at,
                       absl::Time deadline, StoreCallback<bool> done) override;
  void RegisterDevice(const DeviceRegistration& registration,
                      absl::Time deadline,
                      StoreCallback<DeviceRecord> done) override;
  void SetInboundCallsAllowed(const std::string& device_id, bool allowed,
                              absl::Time deadline,
                              StoreCallback<DeviceRecord> done) override;
  void SetPatientActive(const std::string& mobile_number, bool active,
                        absl::Time deadline,
                        StoreCallback<PatientRecord> done) override;
  void RemoveDevice(const std::string& device_id, absl::Time deadline,
                    StatusCallback done) override;
  void ListDevices(const std::string& mobile_number, absl::Time deadline,
                   StoreCallback<std::vector<DeviceRecord>> done) override;
  void ListCallPushes(const std::string& call_id, absl::Time deadline,
                      StoreCallback<std::vector<PushAttempt>> done) override;
  void Ping(absl::Time deadline, StatusCallback done) override;
  void PrunePushes(absl::Time before, absl::Time deadline,
                   StoreCallback<int64_t> done) override;

 private:
  struct Attempt {
    PushAttempt attempt;
    bool claim_open = false;
  };
  // Device with the patient's current fields filled in.
  DeviceRecord Joined(const DeviceRecord& d) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string PatientFor(const std::string& mobile_number)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewId() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Check(absl::Time deadline) const;

  const Clock& clock_;
  mutable absl::Mutex mu_;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  int next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, PatientRecord> patients_ ABSL_GUARDED_BY(mu_);  // by id
  std::map<std::string, DeviceRecord> devices_ ABSL_GUARDED_BY(mu_);    // by id
  std::vector<Attempt> attempts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_FAKE_DEVICE_STORE_H_
