#include "clients/base/clock.h"

#include "absl/time/clock.h"

namespace callpush {

absl::Time SystemClock::Now() const { return absl::Now(); }

SystemClock& SystemClock::Get() {
  static SystemClock* clock = new SystemClock();
  return *clock;
}

}  // namespace callpush
