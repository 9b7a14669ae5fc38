// Durations in configuration files and environment variables: "2s",
// "500ms", "720h", "1h30m" (absl::ParseDuration), finite and not negative.
#ifndef CALLPUSH_CLIENTS_BASE_CONFIG_DURATION_H_
#define CALLPUSH_CLIENTS_BASE_CONFIG_DURATION_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace callpush {

// INVALID_ARGUMENT "<field>: ..." for anything else.
absl::StatusOr<absl::Duration> ParseConfigDuration(absl::string_view field,
                                                   absl::string_view text);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_BASE_CONFIG_DURATION_H_
