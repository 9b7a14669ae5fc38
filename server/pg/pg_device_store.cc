#include "server/pg/pg_device_store.h"

#include <pqxx/pqxx>
#include <utility>

#include "server/pg/sql.h"

namespace callpush {
namespace {

absl::Time FromMicros(const pqxx::field& f) {
  return f.is_null() ? absl::InfinitePast()
                     : absl::FromUnixMicros(f.as<int64_t>());
}

std::optional<std::string> OptionalText(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

// Reads CALLPUSH_DEVICE_COLUMNS (sql.h), in order.
DeviceRecord DeviceFromRow(const pqxx::row& r) {
  DeviceRecord d;
  d.id = r[0].as<std::string>();
  d.patient_id = r[1].as<std::string>();
  d.mobile_number = r[2].as<std::string>();
  d.patient_active = r[3].as<bool>();
  ParsePlatform(r[4].as<std::string>(), &d.platform);
  d.app = r[5].as<std::string>();
  d.environment = r[6].as<std::string>();
  d.voip_token = OptionalText(r[7]);
  d.push_token = OptionalText(r[8]);
  d.inbound_calls_allowed = r[9].as<bool>();
  d.token_updated_at = FromMicros(r[10]);
  d.created_at = FromMicros(r[11]);
  d.updated_at = FromMicros(r[12]);
  return d;
}

absl::StatusOr<DeviceRecord> OneDevice(const pqxx::result& r) {
  if (r.empty()) return absl::NotFoundError("device not found");
  return DeviceFromRow(r[0]);
}

}  // namespace

PgDeviceStore::PgDeviceStore(PgPool& pool, const Clock& clock)
    : pool_(pool), callable_(pool, clock) {}

void PgDeviceStore::ListCallableDevices(
    const std::string& mobile_number, absl::Time deadline,
    StoreCallback<std::vector<std::string>> done) {
  callable_.Lookup(mobile_number, deadline, std::move(done));
}

void PgDeviceStore::GetDevice(const std::string& device_id, absl::Time deadline,
                              StoreCallback<DeviceRecord> done) {
  pool_.Run<DeviceRecord>(
      deadline,
      [device_id](pqxx::connection& c) -> absl::StatusOr<DeviceRecord> {
        pqxx::nontransaction tx(c);
        return OneDevice(tx.exec_prepared(sql::kGetDevice, device_id));
      },
      std::move(done));
}

void PgDeviceStore::ClaimCall(const std::string& call_id,
                              const std::string& device_id,
                              const std::string& provider,
                              absl::Duration ring_window, absl::Time deadline,
                              StoreCallback<CallClaim> done) {
  int64_t window_ms = absl::ToInt64Milliseconds(ring_window);
  pool_.Run<CallClaim>(
      deadline,
      [call_id, device_id, provider,
       window_ms](pqxx::connection& c) -> absl::StatusOr<CallClaim> {
        pqxx::nontransaction tx(c);  // the function is one statement
        pqxx::result r = tx.exec_prepared(sql::kClaimCall, call_id, device_id,
                                          provider, window_ms);
        CallClaim claim;
        claim.claimed = r[0][0].as<bool>();
        if (claim.claimed) {
          claim.attempt_id = r[0][1].as<int64_t>();
        } else if (!ParsePushOutcome(r[0][2].as<std::string>("pending"),
                                     &claim.existing)) {
          claim.existing = PushOutcome::kPending;
        }
        return claim;
      },
      std::move(done));
}

void PgDeviceStore::RecordPush(const PushAttempt& a, absl::Time deadline,
                               StatusCallback done) {
  pool_.Run<bool>(
      deadline,
      [a](pqxx::connection& c) -> absl::StatusOr<bool> {
        pqxx::nontransaction tx(c);
        int64_t latency_us = absl::ToInt64Microseconds(a.latency);
        if (a.id != 0) {
          tx.exec_prepared(sql::kCompletePush, a.id, PushOutcomeName(a.outcome),
                           a.provider, a.provider_status, a.provider_reason,
                           a.provider_id, latency_us, a.token_invalidated);
        } else {
          tx.exec_prepared(sql::kInsertPush, a.call_id, a.device_id,
                           PushKindName(a.kind), a.reason,
                           PushOutcomeName(a.outcome), a.provider,
                           a.provider_status, a.provider_reason, a.provider_id,
                           latency_us, a.token_invalidated);
        }
        return true;
      },
      [done = std::move(done)](absl::StatusOr<bool> r) mutable {
        done(r.status());
      });
}

void PgDeviceStore::InvalidateToken(const std::string& device_id,
                                    const std::string& token,
                                    std::optional<absl::Time> invalidated_at,
                                    absl::Time deadline,
                                    StoreCallback<bool> done) {
  int64_t at_us = invalidated_at ? absl::ToUnixMicros(*invalidated_at) : -1;
  pool_.Run<bool>(
      deadline,
      [device_id, token, at_us](pqxx::connection& c) -> absl::StatusOr<bool> {
        pqxx::nontransaction tx(c);
        pqxx::result r =
            tx.exec_prepared(sql::kInvalidateToken, device_id, token, at_us);
        return r.affected_rows() > 0;
      },
      std::move(done));
}

void PgDeviceStore::RegisterDevice(const DeviceRegistration& reg,
                                   absl::Time deadline,
                                   StoreCallback<DeviceRecord> done) {
  pool_.Run<DeviceRecord>(
      deadline,
      [reg](pqxx::connection& c) -> absl::StatusOr<DeviceRecord> {
        pqxx::work tx(c);
        std::string patient_id =
            tx.exec_prepared(sql::kUpsertPatient, reg.mobile_number)[0][0]
                .as<std::string>();
        std::string inbound =
            reg.inbound_calls_allowed
                ? (*reg.inbound_calls_allowed ? "true" : "false")
                : "";
        std::string id =
            tx.exec_prepared(sql::kUpsertDevice, reg.device_id, patient_id,
                             PlatformName(reg.platform), reg.app,
                             reg.environment, reg.voip_token.has_value(),
                             reg.voip_token.value_or(""),
                             reg.push_token.has_value(),
                             reg.push_token.value_or(""), inbound)[0][0]
                .as<std::string>();
        absl::StatusOr<DeviceRecord> device =
            OneDevice(tx.exec_prepared(sql::kGetDevice, id));
        tx.commit();
        return device;
      },
      std::move(done));
}

void PgDeviceStore::SetInboundCallsAllowed(const std::string& device_id,
                                           bool allowed, absl::Time deadline,
                                           StoreCallback<DeviceRecord> done) {
  pool_.Run<DeviceRecord>(
      deadline,
      [device_id,
       allowed](pqxx::connection& c) -> absl::StatusOr<DeviceRecord> {
        pqxx::nontransaction tx(c);
        return OneDevice(
            tx.exec_prepared(sql::kSetInboundCalls, device_id, allowed));
      },
      std::move(done));
}

void PgDeviceStore::SetPatientActive(const std::string& mobile_number,
                                     bool active, absl::Time deadline,
                                     StoreCallback<PatientRecord> done) {
  pool_.Run<PatientRecord>(
      deadline,
      [mobile_number,
       active](pqxx::connection& c) -> absl::StatusOr<PatientRecord> {
        pqxx::nontransaction tx(c);
        pqxx::result r =
            tx.exec_prepared(sql::kSetPatientActive, mobile_number, active);
        if (r.empty()) return absl::NotFoundError("patient not found");
        PatientRecord p;
        p.id = r[0][0].as<std::string>();
        p.mobile_number = r[0][1].as<std::string>();
        p.active = r[0][2].as<bool>();
        p.created_at = FromMicros(r[0][3]);
        p.updated_at = FromMicros(r[0][4]);
        return p;
      },
      std::move(done));
}

void PgDeviceStore::RemoveDevice(const std::string& device_id,
                                 absl::Time deadline, StatusCallback done) {
  pool_.Run<bool>(
      deadline,
      [device_id](pqxx::connection& c) -> absl::StatusOr<bool> {
        pqxx::nontransaction tx(c);
        pqxx::result r = tx.exec_prepared(sql::kRemoveDevice, device_id);
        if (r.affected_rows() == 0)
          return absl::NotFoundError("device not found");
        return true;
      },
      [done = std::move(done)](absl::StatusOr<bool> r) mutable {
        done(r.status());
      });
}

void PgDeviceStore::ListDevices(const std::string& mobile_number,
                                absl::Time deadline,
                                StoreCallback<std::vector<DeviceRecord>> done) {
  pool_.Run<std::vector<DeviceRecord>>(
      deadline,
      [mobile_number](
          pqxx::connection& c) -> absl::StatusOr<std::vector<DeviceRecord>> {
        pqxx::nontransaction tx(c);
        pqxx::result r = tx.exec_prepared(sql::kListDevices, mobile_number);
        std::vector<DeviceRecord> devices;
        for (const auto& row : r) devices.push_back(DeviceFromRow(row));
        return devices;
      },
      std::move(done));
}

void PgDeviceStore::ListCallPushes(
    const std::string& call_id, absl::Time deadline,
    StoreCallback<std::vector<PushAttempt>> done) {
  pool_.Run<std::vector<PushAttempt>>(
      deadline,
      [call_id](
          pqxx::connection& c) -> absl::StatusOr<std::vector<PushAttempt>> {
        pqxx::nontransaction tx(c);
        pqxx::result r = tx.exec_prepared(sql::kListCallPushes, call_id);
        std::vector<PushAttempt> out;
        for (const auto& row : r) {
          PushAttempt a;
          a.id = row[0].as<int64_t>();
          a.call_id = row[1].as<std::string>();
          a.device_id = row[2].as<std::string>();
          ParsePushKind(row[3].as<std::string>(), &a.kind);
          a.reason = row[4].as<std::string>();
          a.provider = row[5].as<std::string>();
          ParsePushOutcome(row[6].as<std::string>(), &a.outcome);
          a.provider_status = row[7].as<int>();
          a.provider_reason = row[8].as<std::string>();
          a.provider_id = row[9].as<std::string>();
          a.latency = absl::Microseconds(row[10].as<int64_t>());
          a.token_invalidated = row[11].as<bool>();
          a.created_at = FromMicros(row[12]);
          out.push_back(std::move(a));
        }
        return out;
      },
      std::move(done));
}

void PgDeviceStore::Ping(absl::Time deadline, StatusCallback done) {
  pool_.Run<bool>(
      deadline,
      [](pqxx::connection& c) -> absl::StatusOr<bool> {
        pqxx::nontransaction tx(c);
        tx.exec_prepared(sql::kPing);
        return true;
      },
      [done = std::move(done)](absl::StatusOr<bool> r) mutable {
        done(r.status());
      });
}

void PgDeviceStore::PrunePushes(absl::Time before, absl::Time deadline,
                                StoreCallback<int64_t> done) {
  int64_t before_us = absl::ToUnixMicros(before);
  pool_.Run<int64_t>(
      deadline,
      [before_us](pqxx::connection& c) -> absl::StatusOr<int64_t> {
        pqxx::nontransaction tx(c);
        return static_cast<int64_t>(
            tx.exec_prepared(sql::kPrunePushes, before_us).affected_rows());
      },
      std::move(done));
}

}  // namespace callpush
