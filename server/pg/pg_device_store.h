// PgDeviceStore: DeviceStore on Postgres. Each operation is one job on the
// PgPool (one prepared statement, or a short transaction), so handler
// threads never block on the database.
#ifndef CALLPUSH_SERVER_PG_PG_DEVICE_STORE_H_
#define CALLPUSH_SERVER_PG_PG_DEVICE_STORE_H_

#include "server/device_store.h"
#include "server/pg/callable_lookup_batcher.h"
#include "server/pg/pg_pool.h"

namespace callpush {

class PgDeviceStore final : public DeviceStore {
 public:
  // `pool` must have been built with sql::AllStatements() and outlive this.
  PgDeviceStore(PgPool& pool, const Clock& clock);

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
  PgPool& pool_;
  CallableLookupBatcher callable_;
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PG_PG_DEVICE_STORE_H_
