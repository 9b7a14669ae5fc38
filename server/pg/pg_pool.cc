#include "server/pg/pg_pool.h"

#include <atomic>
#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clients/base/log.h"
#include "server/pg/pg_errors.h"

namespace callpush {

struct PgPool::Worker {
  std::thread thread;
  // Touched only by this worker's thread.
  std::unique_ptr<pqxx::connection> conn;
  absl::Time last_connect_attempt = absl::InfinitePast();
  absl::Status last_connect_error;
  std::atomic<bool> connected{false};
};

std::string WithConnectionDefaults(const std::string& conninfo) {
  // Both libpq forms: URL (postgresql://...?k=v) and "k=v k=v".
  const bool url = absl::StartsWith(conninfo, "postgresql://") ||
                   absl::StartsWith(conninfo, "postgres://");
  std::string out = conninfo;
  auto add = [&](const char* key, const char* value) {
    if (absl::StrContains(conninfo, absl::StrCat(key, "="))) return;
    if (url) {
      absl::StrAppend(&out, absl::StrContains(out, "?") ? "&" : "?", key, "=",
                      value);
    } else {
      absl::StrAppend(&out, out.empty() ? "" : " ", key, "=", value);
    }
  };
  add("connect_timeout", "2");
  add("keepalives", "1");
  add("keepalives_idle", "10");
  add("keepalives_interval", "5");
  add("keepalives_count", "3");
  add("application_name", "callpush");
  return out;
}

PgPool::PgPool(PgPoolOptions options, const Clock& clock)
    : options_(std::move(options)),
      conninfo_(WithConnectionDefaults(options_.conninfo)),
      clock_(clock) {}

PgPool::~PgPool() { Stop(); }

void PgPool::Start() {
  absl::MutexLock lock(&mu_);
  if (started_) return;
  started_ = true;
  for (int i = 0; i < options_.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>());
  }
  for (auto& w : workers_) {
    Worker* raw = w.get();
    w->thread = std::thread([this, raw] { WorkerLoop(raw); });
  }
}

void PgPool::Submit(absl::Time deadline, Work work, Fail fail) {
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
    if (!stopping && queue_.size() < options_.max_queue) {
      queue_.push_back(Job{deadline, std::move(work), std::move(fail)});
      return;
    }
    ++errors_;
  }
  fail(absl::UnavailableError(stopping ? "database pool is shutting down"
                                       : "database pool overloaded"));
}

void PgPool::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

PgPoolStats PgPool::Stats() const {
  PgPoolStats s;
  absl::MutexLock lock(&mu_);
  s.workers = static_cast<int>(workers_.size());
  for (const auto& w : workers_) s.connected += w->connected.load() ? 1 : 0;
  s.busy = busy_;
  s.queued = queue_.size();
  s.errors = errors_;
  return s;
}

void PgPool::WorkerLoop(Worker* w) {
  for (;;) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](PgPool* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->stopping_ || !p->queue_.empty();
          },
          this));
      if (queue_.empty()) break;  // stopping, and nothing left to run
      job = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    RunJob(w, job);
    absl::MutexLock lock(&mu_);
    --busy_;
  }
  w->conn.reset();
  w->connected = false;
}

void PgPool::RunJob(Worker* w, Job& job) {
  if (clock_.Now() >= job.deadline) {
    job.fail(absl::DeadlineExceededError(
        "request deadline passed while waiting for a database connection"));
    return;
  }
  absl::Status connected = EnsureConnected(w);
  if (!connected.ok()) {
    {
      absl::MutexLock lock(&mu_);
      ++errors_;
    }
    job.fail(connected);
    return;
  }
  PgError error;
  try {
    job.work(*w->conn);
    return;
  } catch (const std::exception& e) {
    error = PgErrorFromException(e);
  }
  if (error.connection_lost || !w->conn->is_open()) {
    Log(LogLevel::kWarning, "database connection lost",
        {{"error", error.status.ToString()}});
    w->conn.reset();
    w->connected = false;
    // Reconnect on the next job without waiting for the interval: a restart
    // of Postgres should cost one failed request per worker, not more.
    w->last_connect_attempt = absl::InfinitePast();
  }
  {
    absl::MutexLock lock(&mu_);
    ++errors_;
  }
  job.fail(error.status);
}

absl::Status PgPool::EnsureConnected(Worker* w) {
  if (w->conn != nullptr) return absl::OkStatus();
  absl::Time now = clock_.Now();
  if (now - w->last_connect_attempt < options_.reconnect_interval) {
    return w->last_connect_error;
  }
  w->last_connect_attempt = now;
  try {
    auto conn = std::make_unique<pqxx::connection>(conninfo_);
    {
      pqxx::nontransaction tx(*conn);
      tx.exec(
          absl::StrCat("SET statement_timeout = ",
                       absl::ToInt64Milliseconds(options_.statement_timeout)));
    }
    for (const auto& [name, sql] : options_.statements) {
      conn->prepare(name, sql);
    }
    w->conn = std::move(conn);
    w->connected = true;
    w->last_connect_error = absl::OkStatus();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    PgError error = PgErrorFromException(e);
    // A failed connect is always "unavailable", whatever libpq called it.
    w->last_connect_error = absl::UnavailableError(absl::StrCat(
        "database unavailable: cannot connect (", error.status.message(), ")"));
    // libpq's connect errors name host, port and user (never the
    // password), and say why: refused, timed out, authentication failed.
    Log(LogLevel::kWarning, "database connect failed",
        {{"error", std::string(error.status.message())},
         {"detail", std::string(absl::StripAsciiWhitespace(e.what()))}});
    return w->last_connect_error;
  }
}

}  // namespace callpush
