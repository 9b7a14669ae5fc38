// FcmEndpoint: POST /v1/projects/{project}/messages:send as FCM HTTP v1
// answers it. The bearer token must be one the sandbox's /token endpoint
// issued. Errors are google.rpc.Status JSON with an FcmError detail.
#ifndef CALLPUSH_TESTS_SANDBOX_FCM_ENDPOINT_H_
#define CALLPUSH_TESTS_SANDBOX_FCM_ENDPOINT_H_

#include <string>

#include "clients/base/clock.h"
#include "tests/sandbox/access_token_store.h"
#include "tests/sandbox/push_endpoint.h"

namespace callpush::sandbox {

constexpr size_t kFcmMaxPayload = 4096;

class FcmEndpoint final : public PushEndpoint {
 public:
  // `project_id` empty: any project is accepted.
  FcmEndpoint(std::string project_id, const AccessTokenStore& tokens,
              const Clock& clock);

  const char* provider() const override { return "fcm"; }
  bool Matches(absl::string_view path) const override;
  PushCheck Check(const HttpRequest& request) const override;
  HttpResponse Accept(const HttpRequest& request,
                      const PushCheck& check) const override;
  // `reason` is the FcmError errorCode (UNREGISTERED, QUOTA_EXCEEDED, ...).
  HttpResponse Reject(const HttpRequest& request, int status,
                      absl::string_view reason,
                      absl::optional<int> retry_after) const override;

 private:
  absl::optional<HttpResponse> CheckRequest(const HttpRequest& request,
                                            const nlohmann::json& body) const;

  const std::string project_id_;
  const AccessTokenStore& tokens_;
  const Clock& clock_;
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_FCM_ENDPOINT_H_
