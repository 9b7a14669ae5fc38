// The schema migrations compiled into the binary from server/migrations/
// (NNNN_name.sql; see CMakeLists.txt), so a container needs no SQL files.
#ifndef CALLPUSH_SERVER_PG_MIGRATIONS_H_
#define CALLPUSH_SERVER_PG_MIGRATIONS_H_

#include <vector>

namespace callpush {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Ordered by version, without gaps.
const std::vector<Migration>& EmbeddedMigrations();

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PG_MIGRATIONS_H_
