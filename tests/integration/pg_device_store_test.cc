// PgDeviceStore against a real Postgres 15 (DESIGN sections 4 and 7): every
// test gets its own freshly migrated database and a PgPool on it, and drives
// the asynchronous store through a small helper that waits for each callback.
#include "server/pg/pg_device_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "server/device_store.h"
#include "server/model.h"
#include "server/pg/callable_lookup_batcher.h"
#include "server/pg/pg_pool.h"
#include "server/pg/sql.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

// Local stand-in for the upstream macro of the same name.
#define CALLPUSH_CONCAT_INNER(a, b) a##b
#define CALLPUSH_CONCAT(a, b) CALLPUSH_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr)               \
  auto CALLPUSH_CONCAT(statusor_, __LINE__) = (rexpr); \
  ASSERT_THAT(CALLPUSH_CONCAT(statusor_, __LINE__),    \
              ::callpush::testing::IsOk());            \
  lhs = std::move(*CALLPUSH_CONCAT(statusor_, __LINE__))

namespace callpush {

// Readable failure messages. At namespace scope (internal linkage) so that
// gtest finds them by argument-dependent lookup.
static void PrintTo(Platform p, std::ostream* os) { *os << PlatformName(p); }
static void PrintTo(PushKind k, std::ostream* os) { *os << PushKindName(k); }
static void PrintTo(PushOutcome o, std::ostream* os) {
  *os << PushOutcomeName(o);
}
static void PrintTo(const PushAttempt& a, std::ostream* os) {
  *os << "{id=" << a.id << " call_id=" << a.call_id
      << " device_id=" << a.device_id << " kind=" << PushKindName(a.kind)
      << " reason=" << a.reason << " provider=" << a.provider
      << " outcome=" << PushOutcomeName(a.outcome)
      << " provider_status=" << a.provider_status
      << " provider_reason=" << a.provider_reason
      << " provider_id=" << a.provider_id << " latency=" << a.latency
      << " token_invalidated=" << a.token_invalidated
      << " created_at=" << a.created_at << "}";
}

namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::ScratchDatabase;
using ::callpush::testing::SharedPgUrl;
using ::callpush::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::Matcher;
using ::testing::MatchesRegex;
using ::testing::Optional;
using ::testing::SizeIs;

// StatusOr<T> that is OK and whose value matches `matcher` (the upstream
// name; not in Abseil 20220623).
MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  *result_listener << "holds " << ::testing::PrintToString(*arg) << " ";
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

constexpr char kNumber[] = "+447700900001";
constexpr char kOtherNumber[] = "+447700900002";
constexpr char kUnknownNumber[] = "+447700900999";
constexpr char kUnknownDevice[] = "00000000-0000-4000-8000-000000000000";
constexpr char kApp[] = "com.example.care";
constexpr char kCallId[] = "call-1";
// Time the database clock may differ from ours (same host in practice).
constexpr absl::Duration kClockSlack = absl::Seconds(1);
// How long a test waits for a callback before calling it lost.
constexpr absl::Duration kAnswerTimeout = absl::Seconds(30);
constexpr absl::Duration kRingWindow = absl::Seconds(30);

absl::Time DefaultDeadline() {
  return SystemClock::Get().Now() + absl::Seconds(10);
}

// Where a callback leaves its answer. Shared with the callback, so a callback
// that comes after the test gave up writes into live memory.
template <typename T>
struct Answer {
  absl::Notification done;
  std::atomic<int> calls{0};
  absl::StatusOr<T> result = absl::UnknownError("no answer");

  StoreCallback<T> Callback(std::shared_ptr<Answer> self) {
    return [self = std::move(self)](absl::StatusOr<T> r) {
      if (self->calls.fetch_add(1) > 0) {
        ADD_FAILURE() << "store callback called more than once";
        return;
      }
      self->result = std::move(r);
      self->done.Notify();
    };
  }

  absl::StatusOr<T> Wait() {
    if (!done.WaitForNotificationWithTimeout(kAnswerTimeout)) {
      return absl::InternalError("the store never called back");
    }
    return result;
  }
};

// Starts an asynchronous store call with a callback and blocks until the
// callback has run: `start(callback)`.
template <typename T, typename Start>
absl::StatusOr<T> Await(Start start) {
  auto answer = std::make_shared<Answer<T>>();
  start(answer->Callback(answer));
  return answer->Wait();
}

// As Await, for methods that answer with a bare status.
template <typename Start>
absl::Status AwaitStatus(Start start) {
  return Await<bool>([&](StoreCallback<bool> done) {
           start([done = std::move(done)](absl::Status s) mutable {
             if (s.ok()) {
               done(true);
             } else {
               done(std::move(s));
             }
           });
         })
      .status();
}

// A DeviceStore driven synchronously from the test thread.
class SyncStore {
 public:
  explicit SyncStore(DeviceStore& store) : store_(store) {}

  absl::StatusOr<std::vector<std::string>> ListCallableDevices(
      const std::string& number, absl::Time deadline = DefaultDeadline()) {
    return Await<std::vector<std::string>>([&](auto done) {
      store_.ListCallableDevices(number, deadline, std::move(done));
    });
  }
  absl::StatusOr<DeviceRecord> GetDevice(
      const std::string& id, absl::Time deadline = DefaultDeadline()) {
    return Await<DeviceRecord>(
        [&](auto done) { store_.GetDevice(id, deadline, std::move(done)); });
  }
  absl::StatusOr<CallClaim> ClaimCall(const std::string& call_id,
                                      const std::string& device_id,
                                      absl::Duration ring_window = kRingWindow,
                                      absl::Time deadline = DefaultDeadline()) {
    return Await<CallClaim>([&](auto done) {
      store_.ClaimCall(call_id, device_id, "apns", ring_window, deadline,
                       std::move(done));
    });
  }
  absl::Status RecordPush(const PushAttempt& attempt,
                          absl::Time deadline = DefaultDeadline()) {
    return AwaitStatus([&](auto done) {
      store_.RecordPush(attempt, deadline, std::move(done));
    });
  }
  absl::StatusOr<bool> InvalidateToken(
      const std::string& device_id, const std::string& token,
      std::optional<absl::Time> invalidated_at = std::nullopt,
      absl::Time deadline = DefaultDeadline()) {
    return Await<bool>([&](auto done) {
      store_.InvalidateToken(device_id, token, invalidated_at, deadline,
                             std::move(done));
    });
  }
  absl::StatusOr<DeviceRecord> RegisterDevice(
      const DeviceRegistration& reg, absl::Time deadline = DefaultDeadline()) {
    return Await<DeviceRecord>([&](auto done) {
      store_.RegisterDevice(reg, deadline, std::move(done));
    });
  }
  absl::StatusOr<DeviceRecord> SetInboundCallsAllowed(
      const std::string& device_id, bool allowed,
      absl::Time deadline = DefaultDeadline()) {
    return Await<DeviceRecord>([&](auto done) {
      store_.SetInboundCallsAllowed(device_id, allowed, deadline,
                                    std::move(done));
    });
  }
  absl::StatusOr<PatientRecord> SetPatientActive(
      const std::string& number, bool active,
      absl::Time deadline = DefaultDeadline()) {
    return Await<PatientRecord>([&](auto done) {
      store_.SetPatientActive(number, active, deadline, std::move(done));
    });
  }
  absl::Status RemoveDevice(const std::string& device_id,
                            absl::Time deadline = DefaultDeadline()) {
    return AwaitStatus([&](auto done) {
      store_.RemoveDevice(device_id, deadline, std::move(done));
    });
  }
  absl::StatusOr<std::vector<DeviceRecord>> ListDevices(
      const std::string& number, absl::Time deadline = DefaultDeadline()) {
    return Await<std::vector<DeviceRecord>>([&](auto done) {
      store_.ListDevices(number, deadline, std::move(done));
    });
  }
  absl::StatusOr<std::vector<PushAttempt>> ListCallPushes(
      const std::string& call_id, absl::Time deadline = DefaultDeadline()) {
    return Await<std::vector<PushAttempt>>([&](auto done) {
      store_.ListCallPushes(call_id, deadline, std::move(done));
    });
  }
  absl::Status Ping(absl::Time deadline = DefaultDeadline()) {
    return AwaitStatus(
        [&](auto done) { store_.Ping(deadline, std::move(done)); });
  }
  absl::StatusOr<int64_t> PrunePushes(absl::Time before,
                                      absl::Time deadline = DefaultDeadline()) {
    return Await<int64_t>([&](auto done) {
      store_.PrunePushes(before, deadline, std::move(done));
    });
  }

 private:
  DeviceStore& store_;
};

PgPoolOptions PoolOptions(const std::string& conninfo) {
  PgPoolOptions options;
  options.conninfo = conninfo;
  options.workers = 8;
  options.statements = sql::AllStatements();
  return options;
}

DeviceRegistration Registration(const std::string& number,
                                std::optional<std::string> voip_token,
                                std::optional<std::string> push_token,
                                Platform platform = Platform::kIos) {
  DeviceRegistration reg;
  reg.mobile_number = number;
  reg.platform = platform;
  reg.app = kApp;
  reg.voip_token = std::move(voip_token);
  reg.push_token = std::move(push_token);
  return reg;
}

// Every stored field of a push attempt but its id and creation time.
Matcher<PushAttempt> AttemptIs(const PushAttempt& want) {
  return AllOf(
      Field("call_id", &PushAttempt::call_id, want.call_id),
      Field("device_id", &PushAttempt::device_id, want.device_id),
      Field("kind", &PushAttempt::kind, want.kind),
      Field("reason", &PushAttempt::reason, want.reason),
      Field("provider", &PushAttempt::provider, want.provider),
      Field("outcome", &PushAttempt::outcome, want.outcome),
      Field("provider_status", &PushAttempt::provider_status,
            want.provider_status),
      Field("provider_reason", &PushAttempt::provider_reason,
            want.provider_reason),
      Field("provider_id", &PushAttempt::provider_id, want.provider_id),
      Field("latency", &PushAttempt::latency, want.latency),
      Field("token_invalidated", &PushAttempt::token_invalidated,
            want.token_invalidated));
}

PushAttempt NewAttempt(const std::string& call_id, const std::string& device_id,
                       PushKind kind, PushOutcome outcome) {
  PushAttempt a;
  a.call_id = call_id;
  a.device_id = device_id;
  a.kind = kind;
  a.provider = "apns";
  a.outcome = outcome;
  return a;
}

class PgDeviceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> url = SharedPgUrl();
    ASSERT_THAT(url, IsOk());
    absl::StatusOr<std::unique_ptr<ScratchDatabase>> db =
        ScratchDatabase::Create(*url);
    ASSERT_THAT(db, IsOk());
    db_ = *std::move(db);
    pool_ =
        std::make_unique<PgPool>(PoolOptions(db_->url()), SystemClock::Get());
    pool_->Start();
    pg_store_ = std::make_unique<PgDeviceStore>(*pool_, SystemClock::Get());
    store_ = std::make_unique<SyncStore>(*pg_store_);
  }

  // One query on a connection of the test's own, beside the store.
  pqxx::result Query(const std::string& query) {
    pqxx::connection c(db_->url());
    pqxx::nontransaction tx(c);
    return tx.exec(query);
  }

  // Destroyed in reverse: the pool stops before the database is dropped.
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgDeviceStore> pg_store_;
  std::unique_ptr<SyncStore> store_;
};

// --- RegisterDevice ---------------------------------------------------------

TEST_F(PgDeviceStoreTest, RegisterCreatesPatientAndDevice) {
  absl::Time before = absl::Now();
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  absl::Time after = absl::Now();

  EXPECT_THAT(d.id, MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                 "[0-9a-f]{4}-[0-9a-f]{12}"));
  EXPECT_THAT(d.patient_id, MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                         "[0-9a-f]{4}-[0-9a-f]{12}"));
  EXPECT_EQ(d.mobile_number, kNumber);
  EXPECT_TRUE(d.patient_active);
  EXPECT_EQ(d.platform, Platform::kIos);
  EXPECT_EQ(d.app, kApp);
  EXPECT_EQ(d.environment, "");
  EXPECT_THAT(d.voip_token, Optional(std::string("voip-1")));
  EXPECT_THAT(d.push_token, Optional(std::string("push-1")));
  EXPECT_TRUE(d.inbound_calls_allowed);
  EXPECT_GE(d.created_at, before - kClockSlack);
  EXPECT_LE(d.created_at, after + kClockSlack);
  // One transaction: every timestamp is its now().
  EXPECT_EQ(d.token_updated_at, d.created_at);
  EXPECT_EQ(d.updated_at, d.created_at);

  // What GetDevice reads back is what RegisterDevice answered.
  ASSERT_OK_AND_ASSIGN(DeviceRecord got, store_->GetDevice(d.id));
  EXPECT_EQ(got.id, d.id);
  EXPECT_EQ(got.patient_id, d.patient_id);
  EXPECT_EQ(got.mobile_number, kNumber);
  EXPECT_EQ(got.voip_token, d.voip_token);
  EXPECT_EQ(got.push_token, d.push_token);
  EXPECT_EQ(got.environment, "");
  EXPECT_EQ(got.created_at, d.created_at);

  // The patient row exists once, with the number as given.
  pqxx::result patients =
      Query("SELECT id::text, mobile_number, active FROM patients");
  ASSERT_EQ(patients.size(), 1u);
  EXPECT_EQ(patients[0][0].as<std::string>(), d.patient_id);
  EXPECT_EQ(patients[0][1].as<std::string>(), kNumber);
  EXPECT_TRUE(patients[0][2].as<bool>());
  // An unset environment is stored as NULL (the app's default).
  pqxx::result env = Query("SELECT environment IS NULL FROM devices");
  ASSERT_EQ(env.size(), 1u);
  EXPECT_TRUE(env[0][0].as<bool>());
}

TEST_F(PgDeviceStoreTest, RegisterSecondDeviceReusesThePatient) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord first, store_->RegisterDevice(Registration(
                                               kNumber, "voip-1", "push-1")));
  ASSERT_OK_AND_ASSIGN(DeviceRecord second,
                       store_->RegisterDevice(Registration(
                           kNumber, "fcm-2", "fcm-2", Platform::kAndroid)));
  EXPECT_NE(second.id, first.id);
  EXPECT_EQ(second.patient_id, first.patient_id);
  EXPECT_EQ(second.platform, Platform::kAndroid);
  EXPECT_EQ(Query("SELECT count(*) FROM patients")[0][0].as<int>(), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM devices")[0][0].as<int>(), 2);
}

TEST_F(PgDeviceStoreTest, RegisterWithUnusedIdCreatesThatDevice) {
  DeviceRegistration reg = Registration(kNumber, "voip-1", std::nullopt);
  reg.device_id = "6f1c1b1e-3c5e-4a8e-9d7f-0b2a4c6e8f10";
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(reg));
  EXPECT_EQ(d.id, reg.device_id);
  EXPECT_THAT(d.voip_token, Optional(std::string("voip-1")));
  EXPECT_EQ(d.push_token, std::nullopt);
  EXPECT_TRUE(d.inbound_calls_allowed);
}

TEST_F(PgDeviceStoreTest, RegisterAgainUpdatesFieldsAndKeepsAbsentToken) {
  ASSERT_OK_AND_ASSIGN(
      DeviceRecord created,
      store_->RegisterDevice(Registration(kNumber, "voip-1", "push-1")));

  DeviceRegistration update = Registration(kNumber, std::nullopt, "push-2");
  update.device_id = created.id;
  update.app = "com.example.other";
  update.environment = "sandbox";
  update.inbound_calls_allowed = false;
  ASSERT_OK_AND_ASSIGN(DeviceRecord updated, store_->RegisterDevice(update));

  EXPECT_EQ(updated.id, created.id);
  EXPECT_EQ(updated.patient_id, created.patient_id);
  EXPECT_EQ(updated.app, "com.example.other");
  EXPECT_EQ(updated.environment, "sandbox");
  EXPECT_THAT(updated.voip_token, Optional(std::string("voip-1")));  // kept
  EXPECT_THAT(updated.push_token, Optional(std::string("push-2")));
  EXPECT_FALSE(updated.inbound_calls_allowed);
  EXPECT_EQ(updated.created_at, created.created_at);
  EXPECT_GT(updated.updated_at, created.updated_at);

  // Inbound not given: kept (false), not reset to the default.
  DeviceRegistration again = Registration(kNumber, std::nullopt, std::nullopt);
  again.device_id = created.id;
  again.environment = "production";
  ASSERT_OK_AND_ASSIGN(DeviceRecord kept, store_->RegisterDevice(again));
  EXPECT_FALSE(kept.inbound_calls_allowed);
  EXPECT_EQ(kept.environment, "production");
  EXPECT_EQ(kept.app, kApp);
  EXPECT_THAT(kept.voip_token, Optional(std::string("voip-1")));
  EXPECT_THAT(kept.push_token, Optional(std::string("push-2")));

  // An unset environment goes back to the app default.
  DeviceRegistration reset = Registration(kNumber, std::nullopt, std::nullopt);
  reset.device_id = created.id;
  reset.inbound_calls_allowed = true;
  ASSERT_OK_AND_ASSIGN(DeviceRecord defaults, store_->RegisterDevice(reset));
  EXPECT_EQ(defaults.environment, "");
  EXPECT_TRUE(defaults.inbound_calls_allowed);

  EXPECT_EQ(Query("SELECT count(*) FROM devices")[0][0].as<int>(), 1);
}

TEST_F(PgDeviceStoreTest, RegisterWithEmptyTokenClearsIt) {
  ASSERT_OK_AND_ASSIGN(
      DeviceRecord created,
      store_->RegisterDevice(Registration(kNumber, "voip-1", "push-1")));
  DeviceRegistration clear = Registration(kNumber, "", std::nullopt);
  clear.device_id = created.id;
  ASSERT_OK_AND_ASSIGN(DeviceRecord cleared, store_->RegisterDevice(clear));
  EXPECT_EQ(cleared.voip_token, std::nullopt);
  EXPECT_THAT(cleared.push_token, Optional(std::string("push-1")));

  clear = Registration(kNumber, std::nullopt, "");
  clear.device_id = created.id;
  ASSERT_OK_AND_ASSIGN(cleared, store_->RegisterDevice(clear));
  EXPECT_EQ(cleared.voip_token, std::nullopt);
  EXPECT_EQ(cleared.push_token, std::nullopt);

  // A new device registered with empty tokens has none.
  ASSERT_OK_AND_ASSIGN(DeviceRecord bare,
                       store_->RegisterDevice(Registration(kNumber, "", "")));
  EXPECT_EQ(bare.voip_token, std::nullopt);
  EXPECT_EQ(bare.push_token, std::nullopt);
}

TEST_F(PgDeviceStoreTest, TokenUpdatedAtChangesOnlyWhenATokenChanges) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  const absl::Time t0 = d.token_updated_at;
  auto reregister = [&](std::optional<std::string> voip,
                        std::optional<std::string> push) {
    DeviceRegistration reg = Registration(kNumber, voip, push);
    reg.device_id = d.id;
    reg.app = "com.example.renamed";
    return store_->RegisterDevice(reg);
  };

  // The same tokens again, or none given: unchanged.
  ASSERT_OK_AND_ASSIGN(d, reregister("voip-1", "push-1"));
  EXPECT_EQ(d.token_updated_at, t0);
  EXPECT_GT(d.updated_at, t0);
  ASSERT_OK_AND_ASSIGN(d, reregister(std::nullopt, std::nullopt));
  EXPECT_EQ(d.token_updated_at, t0);

  // A new VoIP token.
  ASSERT_OK_AND_ASSIGN(d, reregister("voip-2", std::nullopt));
  const absl::Time t1 = d.token_updated_at;
  EXPECT_GT(t1, t0);
  EXPECT_EQ(t1, d.updated_at);

  // A new push token.
  ASSERT_OK_AND_ASSIGN(d, reregister(std::nullopt, "push-2"));
  const absl::Time t2 = d.token_updated_at;
  EXPECT_GT(t2, t1);

  // Clearing a token is a change; clearing it again is not.
  ASSERT_OK_AND_ASSIGN(d, reregister(std::nullopt, ""));
  const absl::Time t3 = d.token_updated_at;
  EXPECT_GT(t3, t2);
  EXPECT_EQ(d.push_token, std::nullopt);
  ASSERT_OK_AND_ASSIGN(d, reregister(std::nullopt, ""));
  EXPECT_EQ(d.token_updated_at, t3);
  ASSERT_OK_AND_ASSIGN(d, reregister("voip-2", std::nullopt));
  EXPECT_EQ(d.token_updated_at, t3);
}

TEST_F(PgDeviceStoreTest, RegisterWithAnotherNumberMovesTheDevice) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  DeviceRegistration move =
      Registration(kOtherNumber, std::nullopt, std::nullopt);
  move.device_id = d.id;
  ASSERT_OK_AND_ASSIGN(DeviceRecord moved, store_->RegisterDevice(move));
  EXPECT_EQ(moved.id, d.id);
  EXPECT_NE(moved.patient_id, d.patient_id);
  EXPECT_EQ(moved.mobile_number, kOtherNumber);
  EXPECT_THAT(store_->ListCallableDevices(kNumber), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->ListCallableDevices(kOtherNumber),
              IsOkAndHolds(ElementsAre(d.id)));
}

TEST_F(PgDeviceStoreTest, SchemaRejectsANumberThatIsNotE164) {
  // Validation rejects this before the store; the schema does too.
  EXPECT_THAT(store_->RegisterDevice(Registration("+44'; DROP TABLE devices;--",
                                                  "voip-1", std::nullopt)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Query("SELECT count(*) FROM patients")[0][0].as<int>(), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM devices")[0][0].as<int>(), 0);
}

// --- Reads ------------------------------------------------------------------

TEST_F(PgDeviceStoreTest, ListCallableDevicesReturnsOnlyCallableByCreation) {
  ASSERT_OK_AND_ASSIGN(
      DeviceRecord callable1,
      store_->RegisterDevice(Registration(kNumber, "voip-1", "push-1")));
  ASSERT_OK_AND_ASSIGN(
      DeviceRecord no_voip,
      store_->RegisterDevice(Registration(kNumber, std::nullopt, "push-2")));
  DeviceRegistration refusing_reg = Registration(kNumber, "voip-3", "push-3");
  refusing_reg.inbound_calls_allowed = false;
  ASSERT_OK_AND_ASSIGN(DeviceRecord refusing,
                       store_->RegisterDevice(refusing_reg));
  ASSERT_OK_AND_ASSIGN(DeviceRecord callable2,
                       store_->RegisterDevice(Registration(
                           kNumber, "fcm-4", "fcm-4", Platform::kAndroid)));
  // Another patient's callable device is not listed for this number.
  ASSERT_OK_AND_ASSIGN(
      DeviceRecord other,
      store_->RegisterDevice(Registration(kOtherNumber, "voip-5", "push-5")));

  EXPECT_THAT(store_->ListCallableDevices(kNumber),
              IsOkAndHolds(ElementsAre(callable1.id, callable2.id)));
  EXPECT_THAT(store_->ListCallableDevices(kOtherNumber),
              IsOkAndHolds(ElementsAre(other.id)));

  // Allowing inbound calls puts the device back in its creation place.
  ASSERT_THAT(store_->SetInboundCallsAllowed(refusing.id, true), IsOk());
  EXPECT_THAT(
      store_->ListCallableDevices(kNumber),
      IsOkAndHolds(ElementsAre(callable1.id, refusing.id, callable2.id)));

  // An inactive patient has no callable devices; reactivated, all are back.
  ASSERT_THAT(store_->SetPatientActive(kNumber, false), IsOk());
  EXPECT_THAT(store_->ListCallableDevices(kNumber), IsOkAndHolds(IsEmpty()));
  ASSERT_THAT(store_->SetPatientActive(kNumber, true), IsOk());
  EXPECT_THAT(
      store_->ListCallableDevices(kNumber),
      IsOkAndHolds(ElementsAre(callable1.id, refusing.id, callable2.id)));

  // ListDevices lists them all, callable or not, by creation.
  ASSERT_OK_AND_ASSIGN(std::vector<DeviceRecord> all,
                       store_->ListDevices(kNumber));
  ASSERT_THAT(all, SizeIs(4));
  EXPECT_EQ(all[0].id, callable1.id);
  EXPECT_EQ(all[1].id, no_voip.id);
  EXPECT_EQ(all[2].id, refusing.id);
  EXPECT_EQ(all[3].id, callable2.id);
  EXPECT_EQ(all[1].voip_token, std::nullopt);
  EXPECT_THAT(all[1].push_token, Optional(std::string("push-2")));
}

TEST_F(PgDeviceStoreTest, UnknownNumberHasNoDevices) {
  ASSERT_THAT(store_->RegisterDevice(Registration(kNumber, "voip-1", "p-1")),
              IsOk());
  EXPECT_THAT(store_->ListCallableDevices(kUnknownNumber),
              IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->ListDevices(kUnknownNumber), IsOkAndHolds(IsEmpty()));
}

TEST_F(PgDeviceStoreTest, GetDeviceUnknownIsNotFound) {
  EXPECT_THAT(store_->GetDevice(kUnknownDevice),
              StatusIs(absl::StatusCode::kNotFound));
}

// --- Settings and removal ---------------------------------------------------

TEST_F(PgDeviceStoreTest, SetInboundCallsAllowed) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  ASSERT_OK_AND_ASSIGN(DeviceRecord off,
                       store_->SetInboundCallsAllowed(d.id, false));
  EXPECT_EQ(off.id, d.id);
  EXPECT_FALSE(off.inbound_calls_allowed);
  EXPECT_EQ(off.mobile_number, kNumber);
  EXPECT_THAT(off.voip_token, Optional(std::string("voip-1")));
  EXPECT_EQ(off.token_updated_at, d.token_updated_at);
  EXPECT_GT(off.updated_at, d.updated_at);
  ASSERT_OK_AND_ASSIGN(DeviceRecord got, store_->GetDevice(d.id));
  EXPECT_FALSE(got.inbound_calls_allowed);

  ASSERT_OK_AND_ASSIGN(DeviceRecord on,
                       store_->SetInboundCallsAllowed(d.id, true));
  EXPECT_TRUE(on.inbound_calls_allowed);

  EXPECT_THAT(store_->SetInboundCallsAllowed(kUnknownDevice, true),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PgDeviceStoreTest, SetPatientActive) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  ASSERT_OK_AND_ASSIGN(PatientRecord p,
                       store_->SetPatientActive(kNumber, false));
  EXPECT_EQ(p.id, d.patient_id);
  EXPECT_EQ(p.mobile_number, kNumber);
  EXPECT_FALSE(p.active);
  EXPECT_EQ(p.created_at, d.created_at);
  EXPECT_GT(p.updated_at, p.created_at);
  ASSERT_OK_AND_ASSIGN(DeviceRecord got, store_->GetDevice(d.id));
  EXPECT_FALSE(got.patient_active);

  ASSERT_OK_AND_ASSIGN(p, store_->SetPatientActive(kNumber, true));
  EXPECT_TRUE(p.active);
  ASSERT_OK_AND_ASSIGN(got, store_->GetDevice(d.id));
  EXPECT_TRUE(got.patient_active);

  EXPECT_THAT(store_->SetPatientActive(kUnknownNumber, false),
              StatusIs(absl::StatusCode::kNotFound));
  // Nothing was created for the unknown number.
  EXPECT_EQ(Query("SELECT count(*) FROM patients")[0][0].as<int>(), 1);
}

TEST_F(PgDeviceStoreTest, RemoveDevice) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  ASSERT_OK_AND_ASSIGN(DeviceRecord kept, store_->RegisterDevice(Registration(
                                              kNumber, "voip-2", "push-2")));
  EXPECT_THAT(store_->RemoveDevice(d.id), IsOk());
  EXPECT_THAT(store_->GetDevice(d.id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->ListCallableDevices(kNumber),
              IsOkAndHolds(ElementsAre(kept.id)));
  EXPECT_THAT(store_->RemoveDevice(d.id),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->RemoveDevice(kUnknownDevice),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetDevice(kept.id), IsOk());
}

// --- ClaimCall --------------------------------------------------------------

TEST_F(PgDeviceStoreTest, FirstClaimWinsAndSecondSeesPending) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  ASSERT_OK_AND_ASSIGN(CallClaim first, store_->ClaimCall(kCallId, d.id));
  EXPECT_TRUE(first.claimed);
  EXPECT_GT(first.attempt_id, 0);

  ASSERT_OK_AND_ASSIGN(CallClaim second, store_->ClaimCall(kCallId, d.id));
  EXPECT_FALSE(second.claimed);
  EXPECT_EQ(second.attempt_id, 0);
  EXPECT_EQ(second.existing, PushOutcome::kPending);

  // The claim is a pending call row carrying the provider.
  ASSERT_OK_AND_ASSIGN(std::vector<PushAttempt> pushes,
                       store_->ListCallPushes(kCallId));
  ASSERT_THAT(pushes, SizeIs(1));
  EXPECT_EQ(pushes[0].id, first.attempt_id);
  EXPECT_THAT(pushes[0], AttemptIs(NewAttempt(kCallId, d.id, PushKind::kCall,
                                              PushOutcome::kPending)));
}

TEST_F(PgDeviceStoreTest, ClaimsArePerCallAndDevice) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d1, store_->RegisterDevice(Registration(
                                            kNumber, "voip-1", "push-1")));
  ASSERT_OK_AND_ASSIGN(DeviceRecord d2, store_->RegisterDevice(Registration(
                                            kNumber, "voip-2", "push-2")));
  ASSERT_OK_AND_ASSIGN(CallClaim a, store_->ClaimCall(kCallId, d1.id));
  ASSERT_OK_AND_ASSIGN(CallClaim b, store_->ClaimCall(kCallId, d2.id));
  ASSERT_OK_AND_ASSIGN(CallClaim c, store_->ClaimCall("call-2", d1.id));
  EXPECT_TRUE(a.claimed);
  EXPECT_TRUE(b.claimed);
  EXPECT_TRUE(c.claimed);
  EXPECT_NE(a.attempt_id, b.attempt_id);
  EXPECT_NE(a.attempt_id, c.attempt_id);
  EXPECT_NE(b.attempt_id, c.attempt_id);
}

TEST_F(PgDeviceStoreTest, AcceptedClaimStaysOpen) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  ASSERT_OK_AND_ASSIGN(CallClaim claim, store_->ClaimCall(kCallId, d.id));
  ASSERT_TRUE(claim.claimed);

  PushAttempt done =
      NewAttempt(kCallId, d.id, PushKind::kCall, PushOutcome::kAccepted);
  done.id = claim.attempt_id;
  done.provider_status = 200;
  done.provider_id = "apns-id-1";
  ASSERT_THAT(store_->RecordPush(done), IsOk());

  ASSERT_OK_AND_ASSIGN(CallClaim again, store_->ClaimCall(kCallId, d.id));
  EXPECT_FALSE(again.claimed);
  EXPECT_EQ(again.existing, PushOutcome::kAccepted);
  EXPECT_THAT(store_->ListCallPushes(kCallId), IsOkAndHolds(SizeIs(1)));
}

TEST_F(PgDeviceStoreTest, FailedOrRejectedClaimIsClosed) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  ASSERT_OK_AND_ASSIGN(CallClaim claim, store_->ClaimCall(kCallId, d.id));
  ASSERT_TRUE(claim.claimed);
  PushAttempt failed =
      NewAttempt(kCallId, d.id, PushKind::kCall, PushOutcome::kFailed);
  failed.id = claim.attempt_id;
  failed.provider_reason = "timeout";
  ASSERT_THAT(store_->RecordPush(failed), IsOk());

  ASSERT_OK_AND_ASSIGN(CallClaim retry, store_->ClaimCall(kCallId, d.id));
  EXPECT_TRUE(retry.claimed);
  EXPECT_GT(retry.attempt_id, claim.attempt_id);

  PushAttempt rejected =
      NewAttempt(kCallId, d.id, PushKind::kCall, PushOutcome::kRejected);
  rejected.id = retry.attempt_id;
  rejected.provider_status = 400;
  rejected.provider_reason = "BadDeviceToken";
  ASSERT_THAT(store_->RecordPush(rejected), IsOk());

  ASSERT_OK_AND_ASSIGN(CallClaim third, store_->ClaimCall(kCallId, d.id));
  EXPECT_TRUE(third.claimed);
  EXPECT_GT(third.attempt_id, retry.attempt_id);

  ASSERT_OK_AND_ASSIGN(std::vector<PushAttempt> pushes,
                       store_->ListCallPushes(kCallId));
  ASSERT_THAT(pushes, SizeIs(3));
  EXPECT_EQ(pushes[0].outcome, PushOutcome::kFailed);
  EXPECT_EQ(pushes[1].outcome, PushOutcome::kRejected);
  EXPECT_EQ(pushes[2].outcome, PushOutcome::kPending);
}

TEST_F(PgDeviceStoreTest, AcceptedClaimExpiresAfterTheRingWindow) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  ASSERT_OK_AND_ASSIGN(CallClaim claim, store_->ClaimCall(kCallId, d.id));
  ASSERT_TRUE(claim.claimed);
  PushAttempt accepted =
      NewAttempt(kCallId, d.id, PushKind::kCall, PushOutcome::kAccepted);
  accepted.id = claim.attempt_id;
  ASSERT_THAT(store_->RecordPush(accepted), IsOk());

  // Within the window the claim holds.
  ASSERT_OK_AND_ASSIGN(CallClaim held, store_->ClaimCall(kCallId, d.id));
  EXPECT_FALSE(held.claimed);
  EXPECT_EQ(held.existing, PushOutcome::kAccepted);

  // A zero window: the claim, made earlier on Postgres' clock, is already
  // older than it, so it is closed and a new one is made. No sleeping.
  ASSERT_OK_AND_ASSIGN(CallClaim renewed,
                       store_->ClaimCall(kCallId, d.id, absl::ZeroDuration()));
  EXPECT_TRUE(renewed.claimed);
  EXPECT_GT(renewed.attempt_id, claim.attempt_id);

  // The new claim is open again for the usual window.
  ASSERT_OK_AND_ASSIGN(CallClaim after, store_->ClaimCall(kCallId, d.id));
  EXPECT_FALSE(after.claimed);
  EXPECT_EQ(after.existing, PushOutcome::kPending);

  // The old row keeps its history.
  ASSERT_OK_AND_ASSIGN(std::vector<PushAttempt> pushes,
                       store_->ListCallPushes(kCallId));
  ASSERT_THAT(pushes, SizeIs(2));
  EXPECT_EQ(pushes[0].id, claim.attempt_id);
  EXPECT_EQ(pushes[0].outcome, PushOutcome::kAccepted);
  EXPECT_EQ(pushes[1].id, renewed.attempt_id);
  EXPECT_EQ(pushes[1].outcome, PushOutcome::kPending);
}

TEST_F(PgDeviceStoreTest, ConcurrentClaimsClaimExactlyOnce) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  // Connect the workers first, so that the claims below overlap in Postgres
  // instead of queueing behind connects.
  std::vector<std::shared_ptr<Answer<bool>>> pings;
  for (int i = 0; i < 16; ++i) {
    auto answer = std::make_shared<Answer<bool>>();
    StoreCallback<bool> cb = answer->Callback(answer);
    pg_store_->Ping(DefaultDeadline(),
                    [cb = std::move(cb)](absl::Status s) mutable {
                      if (s.ok()) {
                        cb(true);
                      } else {
                        cb(std::move(s));
                      }
                    });
    pings.push_back(std::move(answer));
  }
  for (auto& ping : pings) ASSERT_THAT(ping->Wait(), IsOk());

  constexpr int kClaims = 20;
  std::vector<std::shared_ptr<Answer<CallClaim>>> answers;
  for (int i = 0; i < kClaims; ++i) {
    auto answer = std::make_shared<Answer<CallClaim>>();
    pg_store_->ClaimCall(kCallId, d.id, "apns", kRingWindow, DefaultDeadline(),
                         answer->Callback(answer));
    answers.push_back(std::move(answer));
  }
  int claimed = 0;
  int64_t attempt_id = 0;
  for (auto& answer : answers) {
    absl::StatusOr<CallClaim> claim = answer->Wait();
    ASSERT_THAT(claim, IsOk());
    if (claim->claimed) {
      ++claimed;
      attempt_id = claim->attempt_id;
    } else {
      EXPECT_EQ(claim->existing, PushOutcome::kPending);
    }
  }
  EXPECT_EQ(claimed, 1);
  ASSERT_OK_AND_ASSIGN(std::vector<PushAttempt> pushes,
                       store_->ListCallPushes(kCallId));
  ASSERT_THAT(pushes, SizeIs(1));
  EXPECT_EQ(pushes[0].id, attempt_id);
}

// --- RecordPush and ListCallPushes -------------------------------------------

TEST_F(PgDeviceStoreTest, ListCallPushesRoundTripsEveryFieldOldestFirst) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  absl::Time before = absl::Now();

  ASSERT_OK_AND_ASSIGN(CallClaim claim, store_->ClaimCall(kCallId, d.id));
  ASSERT_TRUE(claim.claimed);
  PushAttempt call =
      NewAttempt(kCallId, d.id, PushKind::kCall, PushOutcome::kAccepted);
  call.id = claim.attempt_id;
  call.provider_status = 200;
  call.provider_id = "0a1b2c3d-apns-id";
  call.latency = absl::Microseconds(1234);
  ASSERT_THAT(store_->RecordPush(call), IsOk());

  PushAttempt update =
      NewAttempt(kCallId, d.id, PushKind::kUpdate, PushOutcome::kAccepted);
  update.provider = "fcm";
  update.provider_status = 200;
  update.provider_id = "projects/demo/messages/0:1234";
  update.latency = absl::Milliseconds(5);
  ASSERT_THAT(store_->RecordPush(update), IsOk());

  PushAttempt failed =
      NewAttempt(kCallId, d.id, PushKind::kUpdate, PushOutcome::kFailed);
  failed.provider_reason = "deadline exceeded";
  failed.latency = absl::Seconds(2);
  ASSERT_THAT(store_->RecordPush(failed), IsOk());

  PushAttempt cancel =
      NewAttempt(kCallId, d.id, PushKind::kCancel, PushOutcome::kRejected);
  cancel.reason = "answered_elsewhere";
  cancel.provider_status = 410;
  cancel.provider_reason = "Unregistered";
  cancel.provider_id = "apns-id-2";
  cancel.latency = absl::Microseconds(777);
  cancel.token_invalidated = true;
  ASSERT_THAT(store_->RecordPush(cancel), IsOk());

  // Another call's rows stay out.
  ASSERT_THAT(store_->RecordPush(NewAttempt("call-2", d.id, PushKind::kCancel,
                                            PushOutcome::kAccepted)),
              IsOk());
  absl::Time after = absl::Now();

  ASSERT_OK_AND_ASSIGN(std::vector<PushAttempt> pushes,
                       store_->ListCallPushes(kCallId));
  EXPECT_THAT(pushes, ElementsAre(AttemptIs(call), AttemptIs(update),
                                  AttemptIs(failed), AttemptIs(cancel)));
  ASSERT_THAT(pushes, SizeIs(4));
  EXPECT_EQ(pushes[0].id, claim.attempt_id);
  for (size_t i = 0; i < pushes.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_GE(pushes[i].created_at, before - kClockSlack);
    EXPECT_LE(pushes[i].created_at, after + kClockSlack);
    if (i > 0) {
      EXPECT_GT(pushes[i].id, pushes[i - 1].id);
      EXPECT_GE(pushes[i].created_at, pushes[i - 1].created_at);
    }
  }
  // Update and cancel rows never hold a claim.
  EXPECT_EQ(Query("SELECT count(*) FROM call_pushes WHERE claim_open AND "
                  "kind <> 'call'")[0][0]
                .as<int>(),
            0);

  EXPECT_THAT(store_->ListCallPushes("call-unknown"), IsOkAndHolds(IsEmpty()));
}

TEST_F(PgDeviceStoreTest, PrunePushesDeletesRowsCreatedBefore) {
  const std::string device = kUnknownDevice;  // history needs no device row
  for (const char* call_id : {"call-a", "call-b", "call-c"}) {
    ASSERT_THAT(
        store_->RecordPush(NewAttempt(call_id, device, PushKind::kCancel,
                                      PushOutcome::kAccepted)),
        IsOk());
  }
  auto created_at = [&](const std::string& call_id) {
    absl::StatusOr<std::vector<PushAttempt>> rows =
        store_->ListCallPushes(call_id);
    EXPECT_THAT(rows, IsOkAndHolds(SizeIs(1)));
    return rows.ok() && rows->size() == 1 ? (*rows)[0].created_at
                                          : absl::InfinitePast();
  };
  const absl::Time a = created_at("call-a");
  const absl::Time b = created_at("call-b");
  const absl::Time c = created_at("call-c");
  ASSERT_LT(a, b);
  ASSERT_LT(b, c);

  EXPECT_THAT(store_->PrunePushes(a - absl::Hours(1)), IsOkAndHolds(0));
  EXPECT_THAT(store_->PrunePushes(a), IsOkAndHolds(0));  // strictly before
  EXPECT_THAT(store_->PrunePushes(b), IsOkAndHolds(1));
  EXPECT_THAT(store_->ListCallPushes("call-a"), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->ListCallPushes("call-b"), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(store_->PrunePushes(c + absl::Microseconds(1)), IsOkAndHolds(2));
  EXPECT_EQ(Query("SELECT count(*) FROM call_pushes")[0][0].as<int>(), 0);
  EXPECT_THAT(store_->PrunePushes(absl::Now()), IsOkAndHolds(0));
}

// --- InvalidateToken
// ----------------------------------------------------------

TEST_F(PgDeviceStoreTest, InvalidateTokenClearsTheMatchingVoipToken) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  EXPECT_THAT(store_->InvalidateToken(d.id, "voip-1"), IsOkAndHolds(true));
  ASSERT_OK_AND_ASSIGN(DeviceRecord got, store_->GetDevice(d.id));
  EXPECT_EQ(got.voip_token, std::nullopt);
  EXPECT_THAT(got.push_token, Optional(std::string("push-1")));
  EXPECT_GT(got.token_updated_at, d.token_updated_at);
  EXPECT_THAT(store_->ListCallableDevices(kNumber), IsOkAndHolds(IsEmpty()));

  // The push token, on its own.
  EXPECT_THAT(store_->InvalidateToken(d.id, "push-1"), IsOkAndHolds(true));
  ASSERT_OK_AND_ASSIGN(got, store_->GetDevice(d.id));
  EXPECT_EQ(got.push_token, std::nullopt);

  // Nothing left to clear.
  EXPECT_THAT(store_->InvalidateToken(d.id, "voip-1"), IsOkAndHolds(false));
}

TEST_F(PgDeviceStoreTest, InvalidateTokenClearsBothWhenTheyAreTheSame) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d,
                       store_->RegisterDevice(Registration(
                           kNumber, "fcm-1", "fcm-1", Platform::kAndroid)));
  EXPECT_THAT(store_->InvalidateToken(d.id, "fcm-1"), IsOkAndHolds(true));
  ASSERT_OK_AND_ASSIGN(DeviceRecord got, store_->GetDevice(d.id));
  EXPECT_EQ(got.voip_token, std::nullopt);
  EXPECT_EQ(got.push_token, std::nullopt);
}

TEST_F(PgDeviceStoreTest, InvalidateTokenLeavesAnotherTokenAlone) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-2", "push-2")));
  EXPECT_THAT(store_->InvalidateToken(d.id, "voip-1"), IsOkAndHolds(false));
  ASSERT_OK_AND_ASSIGN(DeviceRecord got, store_->GetDevice(d.id));
  EXPECT_THAT(got.voip_token, Optional(std::string("voip-2")));
  EXPECT_THAT(got.push_token, Optional(std::string("push-2")));
  EXPECT_EQ(got.token_updated_at, d.token_updated_at);
  EXPECT_EQ(got.updated_at, d.updated_at);

  // Another device's token is not this device's.
  ASSERT_OK_AND_ASSIGN(DeviceRecord other, store_->RegisterDevice(Registration(
                                               kNumber, "voip-3", "push-3")));
  EXPECT_THAT(store_->InvalidateToken(d.id, "voip-3"), IsOkAndHolds(false));
  ASSERT_OK_AND_ASSIGN(got, store_->GetDevice(other.id));
  EXPECT_THAT(got.voip_token, Optional(std::string("voip-3")));

  EXPECT_THAT(store_->InvalidateToken(kUnknownDevice, "voip-2"),
              IsOkAndHolds(false));
}

TEST_F(PgDeviceStoreTest, InvalidateTokenOlderThanTheTokenDoesNothing) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  EXPECT_THAT(store_->InvalidateToken(d.id, "voip-1",
                                      d.token_updated_at - absl::Seconds(1)),
              IsOkAndHolds(false));
  EXPECT_THAT(store_->InvalidateToken(
                  d.id, "voip-1", d.token_updated_at - absl::Microseconds(1)),
              IsOkAndHolds(false));
  ASSERT_OK_AND_ASSIGN(DeviceRecord got, store_->GetDevice(d.id));
  EXPECT_THAT(got.voip_token, Optional(std::string("voip-1")));
  EXPECT_EQ(got.token_updated_at, d.token_updated_at);
}

TEST_F(PgDeviceStoreTest, InvalidateTokenNewerThanTheTokenClearsIt) {
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                           kNumber, "voip-1", "push-1")));
  EXPECT_THAT(store_->InvalidateToken(d.id, "voip-1",
                                      d.token_updated_at + absl::Seconds(1)),
              IsOkAndHolds(true));
  ASSERT_OK_AND_ASSIGN(DeviceRecord got, store_->GetDevice(d.id));
  EXPECT_EQ(got.voip_token, std::nullopt);
  EXPECT_THAT(got.push_token, Optional(std::string("push-1")));

  // Invalidated at the very instant of the update: not updated after it.
  EXPECT_THAT(store_->InvalidateToken(d.id, "push-1", got.token_updated_at),
              IsOkAndHolds(true));
  ASSERT_OK_AND_ASSIGN(got, store_->GetDevice(d.id));
  EXPECT_EQ(got.push_token, std::nullopt);
}

// --- Health, hostile input, deadlines, outages -------------------------------

TEST_F(PgDeviceStoreTest, PingIsOk) { EXPECT_THAT(store_->Ping(), IsOk()); }

TEST_F(PgDeviceStoreTest, SqlLookingInputIsStoredVerbatim) {
  const std::string call_id = "x'); DROP TABLE call_pushes;--";
  const std::string app = "app\"; DROP TABLE devices; --";
  const std::string voip = "tok' OR '1'='1";
  const std::string push = "\\x00'$1 -- \xF0\x9F\x93\x9E";

  DeviceRegistration reg = Registration(kNumber, voip, push);
  reg.app = app;
  ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(reg));
  ASSERT_OK_AND_ASSIGN(DeviceRecord got, store_->GetDevice(d.id));
  EXPECT_EQ(got.app, app);
  EXPECT_THAT(got.voip_token, Optional(voip));
  EXPECT_THAT(got.push_token, Optional(push));

  ASSERT_OK_AND_ASSIGN(CallClaim claim, store_->ClaimCall(call_id, d.id));
  ASSERT_TRUE(claim.claimed);
  PushAttempt call =
      NewAttempt(call_id, d.id, PushKind::kCall, PushOutcome::kAccepted);
  call.id = claim.attempt_id;
  call.provider_reason = "'; DELETE FROM patients; --";
  call.provider_id = "id'||pg_sleep(5)||'";
  ASSERT_THAT(store_->RecordPush(call), IsOk());
  PushAttempt cancel =
      NewAttempt(call_id, d.id, PushKind::kCancel, PushOutcome::kAccepted);
  cancel.reason = "cancelled'); DROP TABLE patients;--";
  ASSERT_THAT(store_->RecordPush(cancel), IsOk());

  ASSERT_OK_AND_ASSIGN(std::vector<PushAttempt> pushes,
                       store_->ListCallPushes(call_id));
  EXPECT_THAT(pushes, ElementsAre(AttemptIs(call), AttemptIs(cancel)));
  ASSERT_OK_AND_ASSIGN(CallClaim again, store_->ClaimCall(call_id, d.id));
  EXPECT_FALSE(again.claimed);
  EXPECT_EQ(again.existing, PushOutcome::kAccepted);

  // A pattern is not a token, nor a number.
  EXPECT_THAT(store_->InvalidateToken(d.id, "' OR '1'='1"),
              IsOkAndHolds(false));
  EXPECT_THAT(store_->InvalidateToken(d.id, "%"), IsOkAndHolds(false));
  EXPECT_THAT(store_->ListCallableDevices("+44' OR '1'='1"),
              IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->ListCallableDevices("%"), IsOkAndHolds(IsEmpty()));
  ASSERT_OK_AND_ASSIGN(got, store_->GetDevice(d.id));
  EXPECT_THAT(got.voip_token, Optional(voip));

  // Every table is still there, with its rows.
  for (const char* table :
       {"patients", "devices", "call_pushes", "schema_migrations"}) {
    SCOPED_TRACE(table);
    pqxx::result r = Query(std::string("SELECT to_regclass('public.") + table +
                           "') IS NOT NULL");
    EXPECT_TRUE(r[0][0].as<bool>());
  }
  EXPECT_EQ(Query("SELECT count(*) FROM patients")[0][0].as<int>(), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM devices")[0][0].as<int>(), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM call_pushes")[0][0].as<int>(), 2);
}

TEST_F(PgDeviceStoreTest, PastDeadlineIsDeadlineExceededWithoutRunning) {
  const absl::Time past = SystemClock::Get().Now() - absl::Seconds(1);
  EXPECT_THAT(
      store_->RegisterDevice(Registration(kNumber, "voip-1", "push-1"), past),
      StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(
      store_->RecordPush(NewAttempt(kCallId, kUnknownDevice, PushKind::kCancel,
                                    PushOutcome::kAccepted),
                         past),
      StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(store_->ClaimCall(kCallId, kUnknownDevice, kRingWindow, past),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(store_->Ping(past),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(store_->ListCallableDevices(kNumber, absl::InfinitePast()),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(store_->GetDevice(kUnknownDevice, past),
              StatusIs(absl::StatusCode::kDeadlineExceeded));

  // None of them ran.
  EXPECT_EQ(Query("SELECT count(*) FROM patients")[0][0].as<int>(), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM devices")[0][0].as<int>(), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM call_pushes")[0][0].as<int>(), 0);
}

TEST(PgDeviceStoreUnreachableTest, ClosedPortIsUnavailableFast) {
  PgPool pool(PoolOptions("postgresql://postgres@127.0.0.1:1/postgres"),
              SystemClock::Get());
  pool.Start();
  PgDeviceStore pg_store(pool, SystemClock::Get());
  SyncStore store(pg_store);
  constexpr auto kUnavailable = absl::StatusCode::kUnavailable;

  const absl::Time start = absl::Now();
  // Twice: first the connect attempts, then the answers between attempts.
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    EXPECT_THAT(store.Ping(), StatusIs(kUnavailable));
    EXPECT_THAT(store.ListCallableDevices(kNumber), StatusIs(kUnavailable));
    EXPECT_THAT(store.GetDevice(kUnknownDevice), StatusIs(kUnavailable));
    EXPECT_THAT(store.ListDevices(kNumber), StatusIs(kUnavailable));
    EXPECT_THAT(store.ClaimCall(kCallId, kUnknownDevice),
                StatusIs(kUnavailable));
    EXPECT_THAT(
        store.RecordPush(NewAttempt(kCallId, kUnknownDevice, PushKind::kCancel,
                                    PushOutcome::kAccepted)),
        StatusIs(kUnavailable));
    EXPECT_THAT(store.InvalidateToken(kUnknownDevice, "voip-1"),
                StatusIs(kUnavailable));
    EXPECT_THAT(store.RegisterDevice(Registration(kNumber, "voip-1", "push-1")),
                StatusIs(kUnavailable));
    EXPECT_THAT(store.SetInboundCallsAllowed(kUnknownDevice, true),
                StatusIs(kUnavailable));
    EXPECT_THAT(store.SetPatientActive(kNumber, false), StatusIs(kUnavailable));
    EXPECT_THAT(store.RemoveDevice(kUnknownDevice), StatusIs(kUnavailable));
    EXPECT_THAT(store.ListCallPushes(kCallId), StatusIs(kUnavailable));
    EXPECT_THAT(store.PrunePushes(absl::Now()), StatusIs(kUnavailable));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

}  // namespace
}  // namespace callpush

namespace callpush {
namespace {

// Lookups queued together are answered by one statement (one pool worker
// here, so they must queue); each still gets exactly its own number's
// devices, duplicates included, and one whose deadline passed in the queue
// gets DEADLINE_EXCEEDED without disturbing the others.
TEST_F(PgDeviceStoreTest, ConcurrentLookupsAreBatchedAndAnsweredEachTheirOwn) {
  constexpr int kNumbers = 40;
  std::vector<std::string> numbers;
  std::map<std::string, std::vector<std::string>> want;
  for (int i = 0; i < kNumbers; ++i) {
    numbers.push_back(
        absl::StrCat("+4477009002", absl::Dec(i, absl::kZeroPad2)));
    want[numbers.back()];
    for (int k = 0; k < i % 3; ++k) {  // 0, 1 or 2 devices
      ASSERT_OK_AND_ASSIGN(DeviceRecord d, store_->RegisterDevice(Registration(
                                               numbers.back(), "v", "p")));
      want[numbers.back()].push_back(d.id);
    }
  }
  PgPoolOptions options = PoolOptions(db_->url());
  options.workers = 1;
  PgPool one_worker(options, SystemClock::Get());
  one_worker.Start();
  PgDeviceStore store(one_worker, SystemClock::Get());

  absl::Mutex mu;
  std::map<int, absl::StatusOr<std::vector<std::string>>> got;
  absl::BlockingCounter left(2 * kNumbers + 1);
  for (int round = 0; round < 2; ++round) {  // every number twice
    for (int i = 0; i < kNumbers; ++i) {
      store.ListCallableDevices(
          numbers[i], absl::Now() + absl::Seconds(10),
          [&, key = round * kNumbers +
                    i](absl::StatusOr<std::vector<std::string>> r) {
            absl::MutexLock lock(&mu);
            got.emplace(key, std::move(r));
            left.DecrementCount();
          });
    }
  }
  absl::StatusOr<std::vector<std::string>> expired;
  store.ListCallableDevices(numbers[1], absl::Now() - absl::Seconds(1),
                            [&](absl::StatusOr<std::vector<std::string>> r) {
                              expired = std::move(r);
                              left.DecrementCount();
                            });
  left.Wait();
  EXPECT_THAT(expired, StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_EQ(got.size(), 2u * kNumbers);
  for (const auto& [key, result] : got) {
    const std::string& number = numbers[key % kNumbers];
    EXPECT_THAT(result, IsOkAndHolds(ElementsAreArray(want[number]))) << number;
  }
  one_worker.Stop();
}

TEST(PgTextArrayTest, QuotesAndEscapes) {
  EXPECT_EQ(PgTextArray({}), "{}");
  EXPECT_EQ(PgTextArray({"+44", "a\"b", "c\\d", "x,y"}),
            "{\"+44\",\"a\\\"b\",\"c\\\\d\",\"x,y\"}");
}

}  // namespace
}  // namespace callpush
