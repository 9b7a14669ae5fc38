// Access to real Postgres from integration tests.
//
// The shared test server is started by the CTest fixture
// (tests/pg/fixture.sh), which writes its URL to the file named by
// CALLPUSH_TEST_PG_ENV; CALLPUSH_TEST_DATABASE_URL overrides it. Without
// either, a test fails (it never skips: CI must exercise Postgres).
#ifndef CALLPUSH_TESTS_TESTING_PG_TEST_ENV_H_
#define CALLPUSH_TESTS_TESTING_PG_TEST_ENV_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace callpush::testing {

// The admin URL of the shared test server, or an error saying how to get one.
absl::StatusOr<std::string> SharedPgUrl();

// `url` with its database name replaced (URL form only).
std::string WithDatabase(const std::string& url, const std::string& dbname);

// A new, migrated database on a server, dropped when this goes away: every
// test gets its own schema and data.
class ScratchDatabase {
 public:
  static absl::StatusOr<std::unique_ptr<ScratchDatabase>> Create(
      const std::string& admin_url);
  ~ScratchDatabase();
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  ScratchDatabase(std::string admin_url, std::string name, std::string url)
      : admin_url_(std::move(admin_url)),
        name_(std::move(name)),
        url_(std::move(url)) {}
  std::string admin_url_, name_, url_;
};

// A private Postgres server (tests/pg/pg_instance.sh) that a test may stop and
// start, for outage tests. Destroyed with the object.
class PgInstance {
 public:
  static absl::StatusOr<std::unique_ptr<PgInstance>> Start();
  ~PgInstance();
  absl::Status Stop();     // fast shutdown; data and port are kept
  absl::Status Restart();  // start again after Stop()
  const std::string& url() const { return url_; }

 private:
  PgInstance(std::string dir, std::string url)
      : dir_(std::move(dir)), url_(std::move(url)) {}
  std::string dir_, url_;
};

// Runs a shell command; its stdout, or an error with its exit status.
absl::StatusOr<std::string> RunCommand(const std::string& command);

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_PG_TEST_ENV_H_
