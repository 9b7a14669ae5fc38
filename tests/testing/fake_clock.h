// FakeClock: a Clock that moves only when a test says so.
#ifndef CALLPUSH_TESTS_TESTING_FAKE_CLOCK_H_
#define CALLPUSH_TESTS_TESTING_FAKE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "clients/base/clock.h"

namespace callpush::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'800'000'000))
      : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_FAKE_CLOCK_H_
