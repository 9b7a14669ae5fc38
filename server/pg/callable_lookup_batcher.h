// CallableLookupBatcher: answers ListCallableDevices lookups, coalescing the
// ones that are queued at the same moment into one statement
// (mobile_number = ANY($1)). Under load, Postgres and the pool then pay one
// round trip and one statement per batch instead of per lookup; at low load a
// batch holds one lookup. A lookup never waits for company: it only rides
// along with those already queued when a worker picks them up.
//
// Thread-safe; Lookup() never blocks. `done` runs exactly once, on a pool
// worker (or inline when the pool refuses work), with the callable device
// ids of that number in creation order, [] when none, or an error
// (DEADLINE_EXCEEDED when the lookup's deadline passed while queued,
// UNAVAILABLE when the database cannot answer).
#ifndef CALLPUSH_SERVER_PG_CALLABLE_LOOKUP_BATCHER_H_
#define CALLPUSH_SERVER_PG_CALLABLE_LOOKUP_BATCHER_H_

#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/device_store.h"
#include "server/pg/pg_pool.h"

namespace callpush {

class CallableLookupBatcher {
 public:
  // `pool` (built with sql::AllStatements()) and `clock` must outlive this.
  CallableLookupBatcher(PgPool& pool, const Clock& clock,
                        size_t max_batch = 64);

  void Lookup(const std::string& mobile_number, absl::Time deadline,
              StoreCallback<std::vector<std::string>> done);

 private:
  struct Pending {
    std::string number;
    absl::Time deadline;
    StoreCallback<std::vector<std::string>> done;
  };

  // Up to max_batch_ queued lookups whose deadline has not passed; those
  // whose deadline passed are answered DEADLINE_EXCEEDED here.
  std::vector<Pending> Take();

  PgPool& pool_;
  const Clock& clock_;
  const size_t max_batch_;
  absl::Mutex mu_;
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
};

// A Postgres text[] literal of `values`, each quoted and escaped.
std::string PgTextArray(const std::vector<std::string>& values);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PG_CALLABLE_LOOKUP_BATCHER_H_
