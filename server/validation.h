// Request validation as pure functions: each answers INVALID_ARGUMENT with a
// message that names the field by its JSON name (what the SIP proxy sends),
// or OK. Nothing unvalidated reaches the store.
#ifndef CALLPUSH_SERVER_VALIDATION_H_
#define CALLPUSH_SERVER_VALIDATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace callpush {

inline constexpr size_t kMaxCallIdBytes = 512;
inline constexpr size_t kMaxCallerNameBytes = 512;
inline constexpr size_t kMaxTokenBytes = 4096;
inline constexpr size_t kMaxAppBytes = 64;

// A lookup number must already be canonical E.164 ("+" then 2 to 15 digits,
// exactly as libphonenumber formats it). It is never reformatted.
absl::Status ValidateE164(absl::string_view field, absl::string_view number);

// Only the cheap part of ValidateE164: "+", then 2 to 15 digits, no leading
// 0. Stored numbers are canonical, so a lookup that passes this but is not
// canonical can only find nothing; ListCallableDevices runs the full
// (libphonenumber, ICU regex) check only when its answer is empty.
absl::Status ValidateE164Shape(absl::string_view field,
                               absl::string_view number);

// A canonical 8-4-4-4-12 hex UUID; answers it in lower case.
absl::StatusOr<std::string> CanonicalUuid(absl::string_view field,
                                          absl::string_view value);

// SIP Call-ID: 1..512 bytes, no control characters.
absl::Status ValidateCallId(absl::string_view field, absl::string_view value);

// Display name: present (has_value), may be empty, at most 512 bytes of
// UTF-8 without control characters.
absl::Status ValidateCallerName(absl::string_view field, bool has_value,
                                absl::string_view value);

// "cancelled" or "answered_elsewhere".
absl::Status ValidateCancelReason(absl::string_view field,
                                  absl::string_view value);

// App name: 1..64 of [A-Za-z0-9._-].
absl::Status ValidateAppName(absl::string_view field, absl::string_view value);

// A push token. iOS tokens are hex (APNs rejects anything else); FCM tokens
// are 1..4096 of [A-Za-z0-9_:.-]. Empty is allowed (it clears the token).
absl::Status ValidateToken(absl::string_view field, bool ios,
                           absl::string_view value);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_VALIDATION_H_
