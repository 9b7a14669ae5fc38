#include "clients/base/config_duration.h"

#include "absl/strings/str_cat.h"

namespace callpush {

absl::StatusOr<absl::Duration> ParseConfigDuration(absl::string_view field,
                                                   absl::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d == absl::InfiniteDuration() ||
      d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": must be a duration such as \"2s\", \"500ms\" or \"1h\""));
  }
  return d;
}

}  // namespace callpush
