// Masking for personal data and secrets in logs: mobile numbers, push tokens
// and caller names never appear in clear.
#ifndef CALLPUSH_CLIENTS_BASE_REDACT_H_
#define CALLPUSH_CLIENTS_BASE_REDACT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace callpush {

// "+447777123456" -> "+44*******456": enough to tell numbers apart in an
// incident, not enough to call anyone.
std::string RedactPhoneNumber(absl::string_view number);

// A push token keeps its length and last 4 characters: "…(64)3f9a".
std::string RedactToken(absl::string_view token);

// Caller names are replaced by their length only.
std::string RedactName(absl::string_view name);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_BASE_REDACT_H_
