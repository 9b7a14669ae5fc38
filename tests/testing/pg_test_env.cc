#include "tests/testing/pg_test_env.h"

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/pg/migrations.h"
#include "server/pg/migrator.h"

namespace callpush::testing {
namespace {

std::string Script() {
  return absl::StrCat(CALLPUSH_SOURCE_DIR, "/tests/pg/pg_instance.sh");
}

}  // namespace

absl::StatusOr<std::string> RunCommand(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen failed");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  int rc = pclose(pipe);
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("`", command, "` exited ", WEXITSTATUS(rc), ": ", out));
  }
  return out;
}

absl::StatusOr<std::string> SharedPgUrl() {
  if (const char* url = std::getenv("CALLPUSH_TEST_DATABASE_URL");
      url && *url) {
    return std::string(url);
  }
  const char* env_file = std::getenv("CALLPUSH_TEST_PG_ENV");
  if (env_file != nullptr && *env_file) {
    std::ifstream in(env_file);
    std::string line;
    while (std::getline(in, line)) {
      absl::string_view v = line;
      if (absl::ConsumePrefix(&v, "URL=")) return std::string(v);
    }
  }
  return absl::FailedPreconditionError(
      "no test Postgres: run through ctest (the pg fixture starts one) or set "
      "CALLPUSH_TEST_DATABASE_URL");
}

std::string WithDatabase(const std::string& url, const std::string& dbname) {
  // postgresql://user@host:port/db[?params]
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?');
  std::string base = url.substr(0, slash);
  std::string params = query == std::string::npos ? "" : url.substr(query);
  return absl::StrCat(base, "/", dbname, params);
}

absl::StatusOr<std::unique_ptr<ScratchDatabase>> ScratchDatabase::Create(
    const std::string& admin_url) {
  static std::atomic<int> counter{0};
  std::string name = absl::StrCat("callpush_test_", getpid(), "_", counter++);
  try {
    pqxx::connection admin(admin_url);
    pqxx::nontransaction tx(admin);
    tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", name));
    tx.exec(absl::StrCat("CREATE DATABASE ", name));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("create database: ", e.what()));
  }
  std::string url = WithDatabase(admin_url, name);
  auto report = Migrate(url, EmbeddedMigrations());
  if (!report.ok()) return report.status();
  return std::unique_ptr<ScratchDatabase>(
      new ScratchDatabase(admin_url, name, url));
}

ScratchDatabase::~ScratchDatabase() {
  try {
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction tx(admin);
    tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
  } catch (const std::exception&) {
    // The server may be gone (outage tests); its directory goes with it.
  }
}

absl::StatusOr<std::unique_ptr<PgInstance>> PgInstance::Start() {
  char tmpl[] = "/tmp/callpush-pg-instance.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  std::string dir = tmpl;
  auto out = RunCommand(absl::StrCat(Script(), " start ", dir));
  if (!out.ok()) return out.status();
  std::string url(absl::StripAsciiWhitespace(*out));
  return std::unique_ptr<PgInstance>(new PgInstance(dir, url));
}

PgInstance::~PgInstance() {
  (void)RunCommand(absl::StrCat(Script(), " destroy ", dir_));
}

absl::Status PgInstance::Stop() {
  return RunCommand(absl::StrCat(Script(), " stop ", dir_)).status();
}

absl::Status PgInstance::Restart() {
  return RunCommand(absl::StrCat(Script(), " start ", dir_)).status();
}

}  // namespace callpush::testing
