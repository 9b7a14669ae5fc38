// ApnsEndpoint: POST /3/device/{token} as api.push.apple.com answers it.
// Token auth (ES256 provider JWT) or, on a connection that presented a
// verified client certificate, certificate auth. Errors are
// {"reason":"..."} with the status Apple documents; 410 adds "timestamp".
#ifndef CALLPUSH_TESTS_SANDBOX_APNS_ENDPOINT_H_
#define CALLPUSH_TESTS_SANDBOX_APNS_ENDPOINT_H_

#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "tests/sandbox/jwt_verify.h"
#include "tests/sandbox/openssl_keys.h"
#include "tests/sandbox/push_endpoint.h"

namespace callpush::sandbox {

constexpr size_t kApnsMaxPayload = 4096;
constexpr size_t kApnsMaxVoipPayload = 5120;

// Apple's usual reason for an error status ("BadDeviceToken" for 400, ...).
const char* DefaultApnsReason(int status);

class ApnsEndpoint final : public PushEndpoint {
 public:
  // `public_key` may be null: then only certificate auth is accepted.
  ApnsEndpoint(std::string team_id, std::string key_id, PKeyPtr public_key,
               const Clock& clock);

  const char* provider() const override { return "apns"; }
  bool Matches(absl::string_view path) const override;
  PushCheck Check(const HttpRequest& request) const override;
  HttpResponse Accept(const HttpRequest& request,
                      const PushCheck& check) const override;
  HttpResponse Reject(const HttpRequest& request, int status,
                      absl::string_view reason,
                      absl::optional<int> retry_after) const override;

 private:
  absl::optional<HttpResponse> CheckHeaders(const HttpRequest& request) const;
  // As APNs does, a provider token whose signature was checked is trusted
  // for a while without checking it again: the ES256 verification was most
  // of the sandbox's CPU per push, which made it the bottleneck of the push
  // benchmark. Its age is checked again after kVerifiedTokenReuse.
  absl::Status VerifyCached(absl::string_view jwt) const;
  static constexpr absl::Duration kVerifiedTokenReuse = absl::Seconds(10);

  const std::string team_id_;
  const std::string key_id_;
  const PKeyPtr public_key_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  mutable std::string verified_token_ ABSL_GUARDED_BY(mu_);
  mutable absl::Time verified_until_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_APNS_ENDPOINT_H_
