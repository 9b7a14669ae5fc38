// Base64url (RFC 4648 section 5) without padding, as JWTs use it.
#ifndef CALLPUSH_TESTS_SANDBOX_BASE64URL_H_
#define CALLPUSH_TESTS_SANDBOX_BASE64URL_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace callpush::sandbox {

std::string Base64UrlEncode(absl::string_view data);

// Accepts input with or without '=' padding; nullopt on any other character
// outside the base64url alphabet or an impossible length.
absl::optional<std::string> Base64UrlDecode(absl::string_view text);

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_BASE64URL_H_
