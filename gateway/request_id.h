// Request ids: the client's `x-request-id` when it is a sane token (1-128
// characters of [A-Za-z0-9._:-]), else a new random one, so a log line and a
// response header never carry attacker-shaped text.
#ifndef CALLPUSH_GATEWAY_REQUEST_ID_H_
#define CALLPUSH_GATEWAY_REQUEST_ID_H_

#include <string>

#include "absl/strings/string_view.h"

namespace callpush::gateway {

std::string RequestIdFor(absl::string_view from_client);

// A traceparent value passed on only when it has the W3C shape
// (`00-<32 hex>-<16 hex>-<2 hex>`); otherwise empty.
std::string SaneTraceparent(absl::string_view value);

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_REQUEST_ID_H_
