// ToAsioDuration: absl::Duration to the duration asio's steady_timer takes,
// clamped so that InfiniteDuration() (a valid Shutdown grace or deadline)
// cannot overflow steady_clock::now() + d into a timer that fires at once.
#ifndef CALLPUSH_CLIENTS_HTTP2_ASIO_DURATION_H_
#define CALLPUSH_CLIENTS_HTTP2_ASIO_DURATION_H_

#include <chrono>

#include "absl/time/time.h"

namespace callpush::http2 {

inline std::chrono::steady_clock::duration ToAsioDuration(absl::Duration d) {
  constexpr absl::Duration kLongest = absl::Hours(24 * 365);
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  if (d > kLongest) d = kLongest;
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(d));
}

}  // namespace callpush::http2

#endif  // CALLPUSH_CLIENTS_HTTP2_ASIO_DURATION_H_
