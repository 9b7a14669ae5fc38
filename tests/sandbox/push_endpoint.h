// PushEndpoint: one push provider's API as the sandbox imitates it (APNs,
// FCM HTTP v1). The sandbox handler asks it to check a request (headers,
// credentials, body), then to build the provider's success or error answer.
// Implementations are immutable after construction except for what they
// read through injected thread-safe collaborators; all methods are
// thread-safe and never block.
#ifndef CALLPUSH_TESTS_SANDBOX_PUSH_ENDPOINT_H_
#define CALLPUSH_TESTS_SANDBOX_PUSH_ENDPOINT_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "tests/sandbox/http_types.h"

namespace callpush::sandbox {

struct PushCheck {
  std::string token;       // the device token ("" if none could be found)
  nlohmann::json payload;  // the parsed body (a JSON string if not JSON)
  // Set when the provider would refuse the request; the answer to send.
  absl::optional<HttpResponse> error;
};

class PushEndpoint {
 public:
  virtual ~PushEndpoint() = default;
  virtual const char* provider() const = 0;  // "apns" | "fcm"
  virtual bool Matches(absl::string_view path) const = 0;
  virtual PushCheck Check(const HttpRequest& request) const = 0;
  virtual HttpResponse Accept(const HttpRequest& request,
                              const PushCheck& check) const = 0;
  // The provider's error answer for `status`; `reason` empty means the
  // provider's usual reason for that status.
  virtual HttpResponse Reject(const HttpRequest& request, int status,
                              absl::string_view reason,
                              absl::optional<int> retry_after) const = 0;
};

// The body as JSON, or as a JSON string when it does not parse.
nlohmann::json ParseBodyForRecord(absl::string_view body);

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_PUSH_ENDPOINT_H_
