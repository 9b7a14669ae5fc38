#include "clients/apns/retry_after.h"

#include <cstdint>

#include "absl/strings/ascii.h"

namespace callpush {

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  const int64_t max_seconds = absl::ToInt64Seconds(kMaxRetryAfter);
  for (char c : value) {
    if (!absl::ascii_isdigit(c)) return std::nullopt;
    // Saturate instead of overflowing on absurd lengths.
    if (seconds <= max_seconds) seconds = seconds * 10 + (c - '0');
  }
  if (seconds > max_seconds) return kMaxRetryAfter;
  return absl::Seconds(seconds);
}

void MarkRetryable(const http2::Response& response, PushResult& result) {
  result.retryable = true;
  result.retry_after = ParseRetryAfter(response.Header("retry-after"));
}

}  // namespace callpush
