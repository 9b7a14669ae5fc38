// Migrate against a real Postgres 15 (DESIGN section 4): each test makes a
// fresh, empty database of its own, and checks what Migrate reports against
// what schema_migrations holds.
#include "server/pg/migrator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/pg/migrations.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::SharedPgUrl;
using ::callpush::testing::StatusIs;
using ::callpush::testing::WithDatabase;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// An empty database that no migration has touched, dropped afterwards.
class FreshDatabase {
 public:
  static absl::StatusOr<std::unique_ptr<FreshDatabase>> Create(
      const std::string& admin_url) {
    static std::atomic<int> counter{0};
    std::string name =
        absl::StrCat("callpush_migrator_", getpid(), "_", counter++);
    try {
      pqxx::connection admin(admin_url);
      pqxx::nontransaction tx(admin);
      tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", name));
      tx.exec(absl::StrCat("CREATE DATABASE ", name));
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("create database: ", e.what()));
    }
    return std::unique_ptr<FreshDatabase>(
        new FreshDatabase(admin_url, name, WithDatabase(admin_url, name)));
  }

  ~FreshDatabase() {
    try {
      pqxx::connection admin(admin_url_);
      pqxx::nontransaction tx(admin);
      tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "drop database " << name_ << ": " << e.what();
    }
  }

  const std::string& url() const { return url_; }

 private:
  FreshDatabase(std::string admin_url, std::string name, std::string url)
      : admin_url_(std::move(admin_url)),
        name_(std::move(name)),
        url_(std::move(url)) {}

  std::string admin_url_, name_, url_;
};

std::vector<int> EmbeddedVersions() {
  std::vector<int> versions;
  for (const Migration& m : EmbeddedMigrations()) versions.push_back(m.version);
  return versions;
}

class MigratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> url = SharedPgUrl();
    ASSERT_THAT(url, IsOk());
    absl::StatusOr<std::unique_ptr<FreshDatabase>> db =
        FreshDatabase::Create(*url);
    ASSERT_THAT(db, IsOk());
    db_ = *std::move(db);
    ASSERT_FALSE(EmbeddedMigrations().empty());
    latest_ = EmbeddedMigrations().back().version;
  }

  pqxx::result Query(const std::string& query) {
    pqxx::connection c(db_->url());
    pqxx::nontransaction tx(c);
    return tx.exec(query);
  }

  // Versions in schema_migrations, in order, duplicates included.
  std::vector<int> RecordedVersions() {
    std::vector<int> versions;
    for (const auto& row :
         Query("SELECT version FROM schema_migrations ORDER BY version")) {
      versions.push_back(row[0].as<int>());
    }
    return versions;
  }

  bool TableExists(const std::string& table) {
    return Query(absl::StrCat("SELECT to_regclass('public.", table,
                              "') IS NOT NULL"))[0][0]
        .as<bool>();
  }

  std::unique_ptr<FreshDatabase> db_;
  int latest_ = 0;
};

TEST(MigratorEmbeddedTest, NumberedFromOneWithoutGaps) {
  const std::vector<Migration>& migrations = EmbeddedMigrations();
  ASSERT_FALSE(migrations.empty());
  for (size_t i = 0; i < migrations.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(migrations[i].version, static_cast<int>(i) + 1);
    EXPECT_STRNE(migrations[i].name, "");
    EXPECT_STRNE(migrations[i].sql, "");
  }
}

TEST_F(MigratorTest, FreshDatabaseGetsEveryMigration) {
  ASSERT_FALSE(TableExists("patients"));

  absl::StatusOr<MigrationReport> report =
      Migrate(db_->url(), EmbeddedMigrations());
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->applied, ElementsAreArray(EmbeddedVersions()));
  EXPECT_EQ(report->current_version, latest_);

  EXPECT_THAT(RecordedVersions(), ElementsAreArray(EmbeddedVersions()));
  pqxx::result names =
      Query("SELECT version, name FROM schema_migrations ORDER BY version");
  ASSERT_EQ(names.size(), EmbeddedMigrations().size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(names[i][1].as<std::string>(), EmbeddedMigrations()[i].name);
  }
  for (const char* table : {"patients", "devices", "call_pushes"}) {
    EXPECT_TRUE(TableExists(table)) << table;
  }
  EXPECT_EQ(Query("SELECT count(*) FROM pg_proc WHERE proname = "
                  "'claim_call_push'")[0][0]
                .as<int>(),
            1);
}

TEST_F(MigratorTest, SecondRunAppliesNothing) {
  absl::StatusOr<MigrationReport> first =
      Migrate(db_->url(), EmbeddedMigrations());
  ASSERT_THAT(first, IsOk());
  absl::StatusOr<MigrationReport> second =
      Migrate(db_->url(), EmbeddedMigrations());
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(second->applied, IsEmpty());
  EXPECT_EQ(second->current_version, first->current_version);
  EXPECT_EQ(second->current_version, latest_);
  EXPECT_THAT(RecordedVersions(), ElementsAreArray(EmbeddedVersions()));
}

TEST_F(MigratorTest, ConcurrentRunsApplyEachMigrationOnce) {
  constexpr int kRunners = 4;
  std::vector<absl::StatusOr<MigrationReport>> reports(
      kRunners, absl::UnknownError("not run"));
  std::vector<std::thread> runners;
  for (int i = 0; i < kRunners; ++i) {
    runners.emplace_back(
        [&, i] { reports[i] = Migrate(db_->url(), EmbeddedMigrations()); });
  }
  for (std::thread& t : runners) t.join();

  std::vector<int> applied;
  for (int i = 0; i < kRunners; ++i) {
    SCOPED_TRACE(i);
    ASSERT_THAT(reports[i], IsOk());
    EXPECT_EQ(reports[i]->current_version, latest_);
    applied.insert(applied.end(), reports[i]->applied.begin(),
                   reports[i]->applied.end());
  }
  // Between them, the runners applied every version exactly once.
  std::sort(applied.begin(), applied.end());
  EXPECT_THAT(applied, ElementsAreArray(EmbeddedVersions()));
  EXPECT_THAT(RecordedVersions(), ElementsAreArray(EmbeddedVersions()));
}

TEST_F(MigratorTest, BrokenMigrationFailsAndKeepsNothingOfIt) {
  std::vector<Migration> migrations = EmbeddedMigrations();
  const int broken = latest_ + 1;
  // Its first statement succeeds, its second does not.
  migrations.push_back(
      Migration{broken, "broken",
                "CREATE TABLE half_done (x integer); SELEC 1 FROM half_done;"});

  absl::StatusOr<MigrationReport> report = Migrate(db_->url(), migrations);
  EXPECT_THAT(report,
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr(absl::StrCat("migration ", broken, " "))));
  // The good ones before it are in; nothing of the broken one is.
  EXPECT_THAT(RecordedVersions(), ElementsAreArray(EmbeddedVersions()));
  EXPECT_EQ(Query("SELECT max(version) FROM schema_migrations")[0][0].as<int>(),
            latest_);
  EXPECT_FALSE(TableExists("half_done"));
  EXPECT_TRUE(TableExists("patients"));

  // Still broken on the next run; the embedded ones alone are complete.
  EXPECT_THAT(Migrate(db_->url(), migrations),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr(absl::StrCat("migration ", broken, " "))));
  absl::StatusOr<MigrationReport> good =
      Migrate(db_->url(), EmbeddedMigrations());
  ASSERT_THAT(good, IsOk());
  EXPECT_THAT(good->applied, IsEmpty());
  EXPECT_EQ(good->current_version, latest_);

  // The advisory lock was released by the failed runs: a fixed migration at
  // that version goes in.
  migrations.back().sql = "CREATE TABLE half_done (x integer)";
  absl::StatusOr<MigrationReport> fixed = Migrate(db_->url(), migrations);
  ASSERT_THAT(fixed, IsOk());
  EXPECT_THAT(fixed->applied, ::testing::ElementsAre(broken));
  EXPECT_EQ(fixed->current_version, broken);
  EXPECT_TRUE(TableExists("half_done"));
}

TEST_F(MigratorTest, DatabaseNewerThanTheBinaryIsLeftAlone) {
  ASSERT_THAT(Migrate(db_->url(), EmbeddedMigrations()), IsOk());
  // An older binary knows fewer migrations (here: none of them).
  absl::StatusOr<MigrationReport> report = Migrate(db_->url(), {});
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->applied, IsEmpty());
  EXPECT_EQ(report->current_version, latest_);
  EXPECT_THAT(RecordedVersions(), ElementsAreArray(EmbeddedVersions()));
}

TEST(MigratorUnreachableTest, ClosedPortIsUnavailable) {
  const absl::Time start = absl::Now();
  EXPECT_THAT(Migrate("postgresql://postgres@127.0.0.1:1/postgres",
                      EmbeddedMigrations()),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

}  // namespace
}  // namespace callpush
