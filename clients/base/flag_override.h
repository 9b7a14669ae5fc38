// IfGiven: applies an optional flag (std::nullopt default) only when the
// command line gave it, so that flags override the configuration file and
// the environment without resetting what they set.
#ifndef CALLPUSH_CLIENTS_BASE_FLAG_OVERRIDE_H_
#define CALLPUSH_CLIENTS_BASE_FLAG_OVERRIDE_H_

#include <optional>

#include "absl/flags/flag.h"

namespace callpush {

template <typename T, typename Set>
void IfGiven(const absl::Flag<std::optional<T>>& flag, Set set) {
  if (std::optional<T> v = absl::GetFlag(flag); v.has_value()) set(*v);
}

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_BASE_FLAG_OVERRIDE_H_
