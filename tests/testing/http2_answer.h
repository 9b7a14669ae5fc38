// Http2Answer: collects the one answer an http2::Callback must get, counts
// any extra calls, and lets a test wait for it.
#ifndef CALLPUSH_TESTS_TESTING_HTTP2_ANSWER_H_
#define CALLPUSH_TESTS_TESTING_HTTP2_ANSWER_H_

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/http2/http2_types.h"

namespace callpush::testing {

class Http2Answer {
 public:
  http2::Callback Done() {
    return [this](absl::StatusOr<http2::Response> r) {
      absl::MutexLock lock(&mu_);
      if (++calls_ == 1) {
        result_ = std::move(r);
        at_ = absl::Now();
      }
    };
  }
  absl::StatusOr<http2::Response> Wait(
      absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto answered = [this]()
                        ABSL_SHARED_LOCKS_REQUIRED(mu_) { return calls_ > 0; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&answered), timeout)) {
      return absl::UnknownError("test: no answer in time");
    }
    return result_;
  }
  bool answered() const {
    absl::MutexLock lock(&mu_);
    return calls_ > 0;
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  absl::Time at() const {
    absl::MutexLock lock(&mu_);
    return at_;
  }

 private:
  mutable absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  absl::StatusOr<http2::Response> result_ ABSL_GUARDED_BY(mu_) =
      absl::UnknownError("unset");
  absl::Time at_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_HTTP2_ANSWER_H_
