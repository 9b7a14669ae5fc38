#include "server/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/phone_number.h"

namespace callpush {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

constexpr char kNotE164[] =
    "must be a phone number in E.164 format, for example +447777123456";

bool HasControlChars(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

absl::Status ValidateE164Shape(absl::string_view field,
                               absl::string_view number) {
  if (number.empty()) return Invalid(field, "is required");
  bool shape = number.size() >= 3 && number.size() <= 16 && number[0] == '+' &&
               number[1] != '0';
  for (size_t i = 1; shape && i < number.size(); ++i) {
    shape = absl::ascii_isdigit(static_cast<unsigned char>(number[i]));
  }
  if (!shape) return Invalid(field, kNotE164);
  return absl::OkStatus();
}

absl::Status ValidateE164(absl::string_view field, absl::string_view number) {
  absl::Status shape = ValidateE164Shape(field, number);
  if (!shape.ok()) return shape;
  if (!IsCanonicalE164(number)) return Invalid(field, kNotE164);
  return absl::OkStatus();
}

absl::StatusOr<std::string> CanonicalUuid(absl::string_view field,
                                          absl::string_view value) {
  if (value.empty()) return Invalid(field, "is required");
  bool ok = value.size() == 36;
  for (size_t i = 0; ok && i < value.size(); ++i) {
    bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
    ok = dash_here ? value[i] == '-'
                   : absl::ascii_isxdigit(static_cast<unsigned char>(value[i]));
  }
  if (!ok) {
    return Invalid(field,
                   "must be a UUID such as "
                   "cbc16ed8-0422-456f-9e15-f269b8a25811");
  }
  return absl::AsciiStrToLower(value);
}

absl::Status ValidateCallId(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(field, "is required");
  if (value.size() > kMaxCallIdBytes) {
    return Invalid(field,
                   absl::StrCat("must be at most ", kMaxCallIdBytes, " bytes"));
  }
  if (!IsValidUtf8(value)) return Invalid(field, "must be UTF-8");
  if (HasControlChars(value)) {
    return Invalid(field, "must not contain control characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateCallerName(absl::string_view field, bool has_value,
                                absl::string_view value) {
  if (!has_value) {
    return Invalid(field,
                   "is required (it may be empty for an anonymous caller)");
  }
  if (value.size() > kMaxCallerNameBytes) {
    return Invalid(
        field, absl::StrCat("must be at most ", kMaxCallerNameBytes, " bytes"));
  }
  if (!IsValidUtf8(value)) return Invalid(field, "must be UTF-8");
  if (HasControlChars(value)) {
    return Invalid(field, "must not contain control characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateCancelReason(absl::string_view field,
                                  absl::string_view value) {
  if (value.empty()) return Invalid(field, "is required");
  if (value != "cancelled" && value != "answered_elsewhere") {
    return Invalid(field, "must be \"cancelled\" or \"answered_elsewhere\"");
  }
  return absl::OkStatus();
}

absl::Status ValidateAppName(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(field, "is required");
  bool ok = value.size() <= kMaxAppBytes;
  for (size_t i = 0; ok && i < value.size(); ++i) {
    unsigned char c = value[i];
    ok = absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
  }
  if (!ok) return Invalid(field, "must be 1 to 64 of A-Z a-z 0-9 . _ -");
  return absl::OkStatus();
}

absl::Status ValidateToken(absl::string_view field, bool ios,
                           absl::string_view value) {
  if (value.size() > kMaxTokenBytes) {
    return Invalid(field,
                   absl::StrCat("must be at most ", kMaxTokenBytes, " bytes"));
  }
  for (unsigned char c : value) {
    bool ok = ios ? absl::ascii_isxdigit(c)
                  : (absl::ascii_isalnum(c) || c == '_' || c == ':' ||
                     c == '.' || c == '-');
    if (!ok) {
      return Invalid(field, ios ? "must be a hex APNs device token"
                                : "must be an FCM registration token");
    }
  }
  if (ios && value.size() % 2 != 0) {
    return Invalid(field, "must be a hex APNs device token");
  }
  return absl::OkStatus();
}

}  // namespace callpush
