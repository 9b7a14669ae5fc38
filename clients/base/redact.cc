#include "clients/base/redact.h"

#include "absl/strings/str_cat.h"

namespace callpush {

std::string RedactPhoneNumber(absl::string_view number) {
  constexpr size_t kKeepHead = 3;  // "+44": the country stays readable.
  constexpr size_t kKeepTail = 3;
  if (number.size() <= kKeepHead + kKeepTail) {
    return std::string(number.size(), '*');
  }
  return absl::StrCat(number.substr(0, kKeepHead),
                      std::string(number.size() - kKeepHead - kKeepTail, '*'),
                      number.substr(number.size() - kKeepTail));
}

std::string RedactToken(absl::string_view token) {
  constexpr size_t kKeepTail = 4;
  if (token.size() <= 2 * kKeepTail)
    return absl::StrCat("…(", token.size(), ")");
  return absl::StrCat("…(", token.size(), ")",
                      token.substr(token.size() - kKeepTail));
}

std::string RedactName(absl::string_view name) {
  return absl::StrCat("<name:", name.size(), "B>");
}

}  // namespace callpush
