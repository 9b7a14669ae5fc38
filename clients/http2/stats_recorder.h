// StatsRecorder: the pool's counters (PoolStats), written on the loop
// thread and read from any thread. Metrics only: nothing decides on them.
#ifndef CALLPUSH_CLIENTS_HTTP2_STATS_RECORDER_H_
#define CALLPUSH_CLIENTS_HTTP2_STATS_RECORDER_H_

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "clients/http2/http2_pool.h"

namespace callpush::http2 {

// Thread-safe; never blocks for long.
class StatsRecorder {
 public:
  void Update(absl::FunctionRef<void(PoolStats&)> change) {
    absl::MutexLock lock(&mu_);
    change(stats_);
  }
  PoolStats Get() const {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

 private:
  mutable absl::Mutex mu_;
  PoolStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callpush::http2

#endif  // CALLPUSH_CLIENTS_HTTP2_STATS_RECORDER_H_
