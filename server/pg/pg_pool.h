// PgPool: a fixed set of worker threads, each owning one libpqxx connection
// with every statement prepared, that run blocking database work off the gRPC
// and push threads. libpqxx 6 is blocking; this is where the blocking lives.
//
// Thread-safe. Run() never blocks: it queues the job. A job whose deadline
// passes while queued is answered DEADLINE_EXCEEDED without running. A worker
// without a connection reconnects (at most once per reconnect_interval; in
// between it answers UNAVAILABLE at once, so a dead database fails requests
// fast instead of hanging them). Exceptions become statuses here.
#ifndef CALLPUSH_SERVER_PG_PG_POOL_H_
#define CALLPUSH_SERVER_PG_PG_POOL_H_

#include <deque>
#include <functional>
#include <memory>
#include <pqxx/connection>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"

namespace callpush {

struct PgPoolOptions {
  std::string conninfo;  // libpq URL or key=value string
  int workers = 8;
  // Server-side cap on one statement, so a stuck query frees its worker.
  absl::Duration statement_timeout = absl::Seconds(2);
  absl::Duration reconnect_interval = absl::Milliseconds(200);
  // Jobs queued beyond this are refused with UNAVAILABLE (overload).
  size_t max_queue = 10000;
  // Statements prepared on every new connection: name -> SQL.
  std::vector<std::pair<std::string, std::string>> statements;
};

struct PgPoolStats {
  int workers = 0;
  int connected = 0;
  int busy = 0;
  size_t queued = 0;
  int64_t errors = 0;
};

class PgPool {
 public:
  // Work done on a worker's connection; may throw pqxx exceptions.
  using Work = absl::AnyInvocable<void(pqxx::connection&)>;
  // Called instead of Work when the job cannot run, or with the converted
  // exception when Work threw.
  using Fail = absl::AnyInvocable<void(absl::Status)>;

  PgPool(PgPoolOptions options, const Clock& clock);
  // Stops after running every queued job.
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Starts the workers; they connect on first use.
  void Start();

  // Queues a job. Exactly one of `work` or `fail` runs, on a worker thread
  // (or `fail` inline when the pool is stopped or full).
  void Submit(absl::Time deadline, Work work, Fail fail);

  // Runs fn(connection) -> T on a worker and hands the result (or the
  // error) to `done`, on the worker thread.
  template <typename T, typename Fn>
  void Run(absl::Time deadline, Fn fn,
           absl::AnyInvocable<void(absl::StatusOr<T>)> done) {
    struct State {
      absl::AnyInvocable<void(absl::StatusOr<T>)> done;
      bool answered = false;  // `done` runs once even if it throws
    };
    auto state = std::make_shared<State>();
    state->done = std::move(done);
    Submit(
        deadline,
        [fn = std::move(fn), state](pqxx::connection& c) mutable {
          absl::StatusOr<T> result = fn(c);
          state->answered = true;
          state->done(std::move(result));
        },
        [state](absl::Status s) {
          if (state->answered) return;
          state->answered = true;
          state->done(std::move(s));
        });
  }

  // Waits for queued jobs to run, then joins the workers. Idempotent.
  void Stop();

  PgPoolStats Stats() const;

 private:
  struct Job {
    absl::Time deadline;
    Work work;
    Fail fail;
  };
  struct Worker;

  void WorkerLoop(Worker* w);
  void RunJob(Worker* w, Job& job);
  // Connects `w` if needed; UNAVAILABLE when it cannot now.
  absl::Status EnsureConnected(Worker* w);

  const PgPoolOptions options_;
  const std::string conninfo_;  // options_.conninfo plus our defaults
  const Clock& clock_;

  mutable absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  int busy_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::unique_ptr<Worker>> workers_;  // constant after Start()
};

// Adds callpush's connection defaults (connect_timeout, keepalives,
// application_name) to a conninfo unless it sets them itself.
std::string WithConnectionDefaults(const std::string& conninfo);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PG_PG_POOL_H_
