#include "server/phone_number.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace callpush {

using ::i18n::phonenumbers::PhoneNumber;
using ::i18n::phonenumbers::PhoneNumberUtil;

bool IsCanonicalE164(absl::string_view number) {
  // GetInstance() is thread-safe and its methods are const.
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber parsed;
  if (util->Parse(std::string(number), "ZZ", &parsed) !=
      PhoneNumberUtil::NO_PARSING_ERROR) {
    return false;
  }
  std::string formatted;
  util->Format(parsed, PhoneNumberUtil::E164, &formatted);
  return formatted == number;
}

absl::StatusOr<std::string> NormalizeMobileNumber(
    absl::string_view field, absl::string_view number,
    absl::string_view default_region) {
  if (number.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": is required"));
  }
  if (number.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": is not a phone number"));
  }
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  std::string region =
      default_region.empty() ? "ZZ" : absl::AsciiStrToUpper(default_region);
  PhoneNumber parsed;
  if (util->Parse(std::string(number), region, &parsed) !=
      PhoneNumberUtil::NO_PARSING_ERROR) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": is not a phone number (use E.164, or give defaultRegion)"));
  }
  if (parsed.has_extension()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must not have an extension"));
  }
  if (!util->IsValidNumber(parsed)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": is not a valid phone number"));
  }
  PhoneNumberUtil::PhoneNumberType type = util->GetNumberType(parsed);
  if (type != PhoneNumberUtil::MOBILE &&
      type != PhoneNumberUtil::FIXED_LINE_OR_MOBILE) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": is not a mobile number"));
  }
  std::string e164;
  util->Format(parsed, PhoneNumberUtil::E164, &e164);
  return e164;
}

}  // namespace callpush
