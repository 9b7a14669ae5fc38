// Every SQL statement callpush runs, as a named constant. All are prepared on
// each connection (PgPool) and take input only as bound parameters.
// Timestamps travel as microseconds since the Unix epoch.
#ifndef CALLPUSH_SERVER_PG_SQL_H_
#define CALLPUSH_SERVER_PG_SQL_H_

#include <string>
#include <utility>
#include <vector>

namespace callpush::sql {

#define CALLPUSH_US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

// Columns of a device joined with its patient: d = devices, p = patients.
#define CALLPUSH_DEVICE_COLUMNS \
  "d.id::text, d.patient_id::text, p.mobile_number, p.active, d.platform, " \
  "d.app, coalesce(d.environment, ''), d.voip_token, d.push_token, "        \
  "d.inbound_calls_allowed, " CALLPUSH_US("d.token_updated_at") ", "       \
  CALLPUSH_US("d.created_at") ", " CALLPUSH_US("d.updated_at")

inline constexpr char kListCallableDevices[] = "list_callable_devices";
// $1 text[] of E.164 numbers -> (number, device id) rows, each number's
// devices in creation order (CallableLookupBatcher).
inline constexpr char kListCallableDevicesSql[] =
    "SELECT p.mobile_number, d.id::text FROM patients p "
    "JOIN devices d ON d.patient_id = p.id "
    "WHERE p.mobile_number = ANY($1::text[]) AND p.active "
    "AND d.inbound_calls_allowed AND d.voip_token IS NOT NULL "
    "ORDER BY d.created_at, d.id";

inline constexpr char kGetDevice[] = "get_device";
inline constexpr char kGetDeviceSql[] =
    "SELECT " CALLPUSH_DEVICE_COLUMNS
    " FROM devices d JOIN patients p ON p.id = d.patient_id "
    "WHERE d.id = $1::uuid";

inline constexpr char kListDevices[] = "list_devices";
inline constexpr char kListDevicesSql[] =
    "SELECT " CALLPUSH_DEVICE_COLUMNS
    " FROM patients p JOIN devices d ON d.patient_id = p.id "
    "WHERE p.mobile_number = $1 ORDER BY d.created_at, d.id";

// $1 call_id, $2 device_id, $3 provider, $4 ring window (ms).
inline constexpr char kClaimCall[] = "claim_call";
inline constexpr char kClaimCallSql[] =
    "SELECT claimed, attempt_id, existing_outcome "
    "FROM claim_call_push($1, $2::uuid, $3, $4)";

// $1 id, $2 outcome, $3 provider, $4 status, $5 reason, $6 provider id,
// $7 latency (us), $8 token invalidated.
inline constexpr char kCompletePush[] = "complete_push";
inline constexpr char kCompletePushSql[] =
    "UPDATE call_pushes SET outcome = $2, provider = $3, provider_status = $4, "
    "provider_reason = $5, provider_id = $6, latency_us = $7, "
    "token_invalidated = $8, claim_open = ($2 = 'accepted'), "
    "completed_at = clock_timestamp() WHERE id = $1";

// $1 call_id, $2 device_id, $3 kind, $4 reason, then as kCompletePush.
inline constexpr char kInsertPush[] = "insert_push";
inline constexpr char kInsertPushSql[] =
    "INSERT INTO call_pushes (call_id, device_id, kind, reason, outcome, "
    "provider, provider_status, provider_reason, provider_id, latency_us, "
    "token_invalidated, completed_at) "
    "VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
    "clock_timestamp())";

// $1 device_id, $2 token, $3 invalidated-at (us; < 0: none given).
inline constexpr char kInvalidateToken[] = "invalidate_token";
inline constexpr char kInvalidateTokenSql[] =
    "UPDATE devices SET "
    "voip_token = CASE WHEN voip_token = $2 THEN NULL ELSE voip_token END, "
    "push_token = CASE WHEN push_token = $2 THEN NULL ELSE push_token END, "
    "token_updated_at = now(), updated_at = now() "
    "WHERE id = $1::uuid AND (voip_token = $2 OR push_token = $2) "
    "AND ($3::bigint < 0 OR token_updated_at <= to_timestamp($3::bigint / "
    "1000000.0))";

// $1 mobile number -> patient id.
inline constexpr char kUpsertPatient[] = "upsert_patient";
inline constexpr char kUpsertPatientSql[] =
    "INSERT INTO patients (mobile_number) VALUES ($1) "
    "ON CONFLICT (mobile_number) DO UPDATE SET mobile_number = "
    "EXCLUDED.mobile_number RETURNING id::text";

// $1 device id ('' = new), $2 patient id, $3 platform, $4 app,
// $5 environment ('' = app default), $6 set voip?, $7 voip token,
// $8 set push?, $9 push token, $10 inbound allowed ('' = keep / true).
inline constexpr char kUpsertDevice[] = "upsert_device";
inline constexpr char kUpsertDeviceSql[] =
    "INSERT INTO devices AS d (id, patient_id, platform, app, environment, "
    "voip_token, push_token, inbound_calls_allowed) "
    "VALUES (coalesce(nullif($1, '')::uuid, gen_random_uuid()), $2::uuid, $3, "
    "$4, nullif($5, ''), nullif($7, ''), nullif($9, ''), "
    "coalesce(nullif($10, '')::boolean, true)) "
    "ON CONFLICT (id) DO UPDATE SET patient_id = EXCLUDED.patient_id, "
    "platform = EXCLUDED.platform, app = EXCLUDED.app, "
    "environment = EXCLUDED.environment, "
    "voip_token = CASE WHEN $6 THEN EXCLUDED.voip_token ELSE d.voip_token END, "
    "push_token = CASE WHEN $8 THEN EXCLUDED.push_token ELSE d.push_token END, "
    "inbound_calls_allowed = coalesce(nullif($10, '')::boolean, "
    "d.inbound_calls_allowed), "
    "token_updated_at = CASE WHEN ($6 AND EXCLUDED.voip_token IS DISTINCT FROM "
    "d.voip_token) OR ($8 AND EXCLUDED.push_token IS DISTINCT FROM "
    "d.push_token) THEN now() ELSE d.token_updated_at END, "
    "updated_at = now() RETURNING d.id::text";

// $1 device id, $2 allowed.
inline constexpr char kSetInboundCalls[] = "set_inbound_calls";
inline constexpr char kSetInboundCallsSql[] =
    "WITH d AS (UPDATE devices SET inbound_calls_allowed = $2, "
    "updated_at = now() WHERE id = $1::uuid RETURNING *) "
    "SELECT " CALLPUSH_DEVICE_COLUMNS
    " FROM d JOIN patients p ON p.id = d.patient_id";

// $1 mobile number, $2 active.
inline constexpr char kSetPatientActive[] = "set_patient_active";
inline constexpr char kSetPatientActiveSql[] =
    "UPDATE patients SET active = $2, updated_at = now() "
    "WHERE mobile_number = $1 RETURNING id::text, mobile_number, "
    "active, " CALLPUSH_US("created_at") ", " CALLPUSH_US("updated_at");

inline constexpr char kRemoveDevice[] = "remove_device";
inline constexpr char kRemoveDeviceSql[] =
    "DELETE FROM devices WHERE id = $1::uuid";

inline constexpr char kListCallPushes[] = "list_call_pushes";
inline constexpr char kListCallPushesSql[] =
    "SELECT id, call_id, device_id::text, kind, reason, provider, outcome, "
    "provider_status, provider_reason, provider_id, latency_us, "
    "token_invalidated, " CALLPUSH_US(
        "created_at") " FROM call_pushes WHERE call_id = $1 ORDER BY id";

// $1 before (us).
inline constexpr char kPrunePushes[] = "prune_pushes";
inline constexpr char kPrunePushesSql[] =
    "DELETE FROM call_pushes WHERE created_at < to_timestamp($1::bigint / "
    "1000000.0)";

inline constexpr char kPing[] = "ping";
inline constexpr char kPingSql[] = "SELECT 1";

#undef CALLPUSH_DEVICE_COLUMNS
#undef CALLPUSH_US

// name -> SQL, for PgPoolOptions::statements.
inline std::vector<std::pair<std::string, std::string>> AllStatements() {
  return {
      {kListCallableDevices, kListCallableDevicesSql},
      {kGetDevice, kGetDeviceSql},
      {kListDevices, kListDevicesSql},
      {kClaimCall, kClaimCallSql},
      {kCompletePush, kCompletePushSql},
      {kInsertPush, kInsertPushSql},
      {kInvalidateToken, kInvalidateTokenSql},
      {kUpsertPatient, kUpsertPatientSql},
      {kUpsertDevice, kUpsertDeviceSql},
      {kSetInboundCalls, kSetInboundCallsSql},
      {kSetPatientActive, kSetPatientActiveSql},
      {kRemoveDevice, kRemoveDeviceSql},
      {kListCallPushes, kListCallPushesSql},
      {kPrunePushes, kPrunePushesSql},
      {kPing, kPingSql},
  };
}

}  // namespace callpush::sql

#endif  // CALLPUSH_SERVER_PG_SQL_H_
