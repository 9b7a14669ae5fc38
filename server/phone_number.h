// Phone numbers through libphonenumber: canonical E.164 checks for lookups and
// normalisation of numbers at registration.
#ifndef CALLPUSH_SERVER_PHONE_NUMBER_H_
#define CALLPUSH_SERVER_PHONE_NUMBER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace callpush {

// True when `number` parses and formats back to exactly itself in E.164
// ("+4407777123456" is not canonical: the national 0 is dropped in E.164).
bool IsCanonicalE164(absl::string_view number);

// Parses a number given at registration (E.164, or national with
// `default_region`), requires a valid mobile or fixed-or-mobile number, and
// answers its E.164 form. INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<std::string> NormalizeMobileNumber(
    absl::string_view field, absl::string_view number,
    absl::string_view default_region);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PHONE_NUMBER_H_
