// Decoding of URL query strings and application/x-www-form-urlencoded bodies
// (the same grammar: `k=v&k2=v2`, %XX escapes).
#ifndef CALLPUSH_GATEWAY_URL_ENCODING_H_
#define CALLPUSH_GATEWAY_URL_ENCODING_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace callpush::gateway {

// Percent-decodes `in`; with `plus_is_space`, '+' becomes ' '.
// InvalidArgument for a truncated or non-hex escape.
absl::StatusOr<std::string> PercentDecode(absl::string_view in,
                                          bool plus_is_space);

// Splits and decodes `a=1&b=2`. Empty pairs are skipped; `a` alone is
// ("a", ""). InvalidArgument names the bad parameter. Form bodies decode
// '+' as a space; query strings keep it (RFC 3986), because the API
// document's own URI is `?mobileNumber=+447777123456`.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
ParseUrlEncoded(absl::string_view text, bool plus_is_space);

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_URL_ENCODING_H_
