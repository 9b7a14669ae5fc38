// Clock: the one source of "now" for code that must be testable without
// sleeping. Production code takes a Clock& and main wires SystemClock.
#ifndef CALLPUSH_CLIENTS_BASE_CLOCK_H_
#define CALLPUSH_CLIENTS_BASE_CLOCK_H_

#include "absl/time/time.h"

namespace callpush {

// Thread-safe; never blocks.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override;
  // A process-wide instance; stateless, so sharing it is safe.
  static SystemClock& Get();
};

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_BASE_CLOCK_H_
