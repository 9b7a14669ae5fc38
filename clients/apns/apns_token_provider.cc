#include "clients/apns/apns_token_provider.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clients/apns/credential_file.h"
#include "nlohmann/json.hpp"

namespace callpush {

absl::StatusOr<std::unique_ptr<ApnsTokenProvider>>
ApnsTokenProvider::FromKeyFile(std::string team_id, std::string key_id,
                               const std::string& path, const Clock& clock,
                               ApnsTokenOptions options) {
  absl::StatusOr<std::string> pem = ReadCredentialFile(path);
  if (!pem.ok()) return pem.status();
  auto provider =
      FromPem(std::move(team_id), std::move(key_id), *pem, clock, options);
  if (!provider.ok()) {
    return absl::Status(provider.status().code(),
                        absl::StrCat(path, ": ", provider.status().message()));
  }
  return provider;
}

absl::StatusOr<std::unique_ptr<ApnsTokenProvider>> ApnsTokenProvider::FromPem(
    std::string team_id, std::string key_id, absl::string_view pem,
    const Clock& clock, ApnsTokenOptions options) {
  if (team_id.empty()) return absl::InvalidArgumentError("empty APNs team id");
  if (key_id.empty()) return absl::InvalidArgumentError("empty APNs key id");
  absl::StatusOr<JwtSigner> signer =
      JwtSigner::FromPem(JwtSigner::Algorithm::kEs256, pem);
  if (!signer.ok()) return signer.status();
  return std::unique_ptr<ApnsTokenProvider>(
      new ApnsTokenProvider(std::move(team_id), std::move(key_id),
                            *std::move(signer), clock, options));
}

ApnsTokenProvider::ApnsTokenProvider(std::string team_id, std::string key_id,
                                     JwtSigner signer, const Clock& clock,
                                     ApnsTokenOptions options)
    : team_id_(std::move(team_id)),
      key_id_(std::move(key_id)),
      signer_(std::move(signer)),
      clock_(clock),
      options_(options) {}

absl::StatusOr<std::string> ApnsTokenProvider::Token() {
  const absl::Time now = clock_.Now();
  absl::StatusOr<std::string> result;
  absl::Time at = now;
  {
    absl::MutexLock lock(&mu_);
    if (!token_.empty() && now - issued_at_ < options_.renew_after) {
      return token_;
    }
    // APNs wants iat in whole seconds; issued_at_ keeps the same rounding so
    // ages are measured from what Apple sees.
    const int64_t iat = absl::ToUnixSeconds(now);
    nlohmann::json header = {{"alg", "ES256"}, {"kid", key_id_}};
    nlohmann::json claims = {{"iss", team_id_}, {"iat", iat}};
    absl::StatusOr<std::string> jwt =
        signer_.Sign(header.dump(), claims.dump());
    if (jwt.ok()) {
      token_ = *std::move(jwt);
      issued_at_ = absl::FromUnixSeconds(iat);
      at = issued_at_;
      result = token_;
    } else {
      result = jwt.status();
    }
  }
  if (options_.on_refresh) options_.on_refresh(result.status(), at);
  return result;
}

bool ApnsTokenProvider::OnTokenRejected(absl::string_view rejected) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  // A rejection of an older token arrives after we already renewed it.
  if (token_.empty() || rejected != token_) return false;
  if (now - issued_at_ < options_.min_renew_interval) return false;
  token_.clear();
  return true;
}

absl::Time ApnsTokenProvider::issued_at() const {
  absl::MutexLock lock(&mu_);
  return issued_at_;
}

}  // namespace callpush
