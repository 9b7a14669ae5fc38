#include "server/pg/migrator.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <set>

#include "absl/strings/str_cat.h"
#include "clients/base/log.h"
#include "server/pg/pg_errors.h"
#include "server/pg/pg_pool.h"

namespace callpush {
namespace {

// pg_advisory_lock key: "callpush" folded into a bigint; any constant that
// no other application on the database uses will do.
constexpr int64_t kMigrationLockKey = 0x63616c6c70757368;

}  // namespace

absl::StatusOr<MigrationReport> Migrate(
    const std::string& conninfo, const std::vector<Migration>& migrations) {
  MigrationReport report;
  try {
    pqxx::connection conn(WithConnectionDefaults(conninfo));
    {
      pqxx::nontransaction tx(conn);
      // Session lock: held across the per-migration transactions below.
      tx.exec(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLockKey, ")"));
      tx.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          "version integer PRIMARY KEY, name text NOT NULL, "
          "applied_at timestamptz NOT NULL DEFAULT now())");
    }
    std::set<int> done;
    {
      pqxx::nontransaction tx(conn);
      for (const auto& row : tx.exec("SELECT version FROM schema_migrations")) {
        done.insert(row[0].as<int>());
      }
    }
    for (const Migration& m : migrations) {
      if (done.count(m.version) != 0) continue;
      try {
        pqxx::work tx(conn);
        tx.exec(m.sql);
        tx.exec_params(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            m.version, m.name);
        tx.commit();
      } catch (const pqxx::sql_error& e) {
        // Migrations are our own SQL: their error text holds no user data.
        return absl::InternalError(absl::StrCat(
            "migration ", m.version, " (", m.name, ") failed: ", e.what()));
      }
      Log(LogLevel::kInfo, "migration applied",
          {{"version", std::to_string(m.version)}, {"name", m.name}});
      report.applied.push_back(m.version);
      done.insert(m.version);
    }
    report.current_version = done.empty() ? 0 : *done.rbegin();
    int known = migrations.empty() ? 0 : migrations.back().version;
    if (report.current_version > known) {
      Log(LogLevel::kWarning, "database schema is newer than this binary",
          {{"database_version", std::to_string(report.current_version)},
           {"binary_version", std::to_string(known)}});
    }
    pqxx::nontransaction tx(conn);
    tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockKey, ")"));
  } catch (const std::exception& e) {
    PgError error = PgErrorFromException(e);
    if (error.connection_lost) {
      return absl::UnavailableError(absl::StrCat(
          "migrate: cannot reach the database: ", error.status.message()));
    }
    return error.status;
  }
  return report;
}

}  // namespace callpush
