// Migrator: applies the embedded schema migrations in order, each in its own
// transaction, under a Postgres advisory lock so that many replicas starting
// at once apply each migration exactly once. Blocking: run it from main or
// `callpush-server migrate`, never from a handler.
#ifndef CALLPUSH_SERVER_PG_MIGRATOR_H_
#define CALLPUSH_SERVER_PG_MIGRATOR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/pg/migrations.h"

namespace callpush {

struct MigrationReport {
  std::vector<int> applied;  // versions applied by this run
  int current_version = 0;   // schema version afterwards
};

// UNAVAILABLE when the database cannot be reached; INTERNAL when a migration
// fails (nothing of that migration is kept). A database newer than
// `migrations` is left alone (a rolling upgrade) and reported.
absl::StatusOr<MigrationReport> Migrate(
    const std::string& conninfo, const std::vector<Migration>& migrations);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PG_MIGRATOR_H_
