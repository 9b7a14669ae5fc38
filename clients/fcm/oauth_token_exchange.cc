#include "clients/fcm/oauth_token_exchange.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clients/apns/jwt_signer.h"
#include "clients/fcm/https_uri.h"
#include "nlohmann/json.hpp"

namespace callpush {
namespace {

constexpr size_t kMaxTokenResponseBytes = 64 * 1024;
constexpr size_t kMaxQuotedBytes = 200;

// application/x-www-form-urlencoded: everything but RFC 3986 unreserved
// characters percent-encoded.
std::string FormEncode(absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

// A string field of Google's error answer, shortened for a status message.
std::string Quoted(const nlohmann::json& j, const char* field) {
  if (!j.is_object()) return "";
  auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return "";
  std::string s = it->get<std::string>();
  if (s.size() > kMaxQuotedBytes) s.resize(kMaxQuotedBytes);
  return s;
}

}  // namespace

absl::StatusOr<std::string> BuildOAuthAssertion(const ServiceAccount& account,
                                                absl::string_view scope,
                                                absl::Time now) {
  absl::StatusOr<JwtSigner> signer =
      JwtSigner::FromPem(JwtSigner::Algorithm::kRs256, account.private_key);
  if (!signer.ok()) return signer.status();
  nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!account.private_key_id.empty()) header["kid"] = account.private_key_id;
  const int64_t iat = absl::ToUnixSeconds(now);
  nlohmann::json claims = {
      {"iss", account.client_email},
      {"scope", std::string(scope)},
      {"aud", account.token_uri},
      {"iat", iat},
      {"exp", iat + absl::ToInt64Seconds(kAssertionLifetime)}};
  return signer->Sign(header.dump(), claims.dump());
}

absl::StatusOr<http2::Request> BuildTokenRequest(const ServiceAccount& account,
                                                 absl::Time now,
                                                 absl::string_view scope) {
  absl::StatusOr<HttpsUri> uri = ParseHttpsUri(account.token_uri);
  if (!uri.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token_uri: ", uri.status().message()));
  }
  absl::StatusOr<std::string> assertion =
      BuildOAuthAssertion(account, scope, now);
  if (!assertion.ok()) return assertion.status();
  http2::Request out;
  out.method = "POST";
  out.path = uri->path;
  out.headers.push_back({"content-type", "application/x-www-form-urlencoded"});
  out.body = absl::StrCat(
      "grant_type=", FormEncode("urn:ietf:params:oauth:grant-type:jwt-bearer"),
      "&assertion=", FormEncode(*assertion));
  return out;
}

absl::StatusOr<AccessToken> ParseTokenResponse(
    const absl::StatusOr<http2::Response>& response, absl::Time now) {
  if (!response.ok()) return response.status();
  const int status = response->status;
  nlohmann::json j;
  if (response->body.size() <= kMaxTokenResponseBytes) {
    j = nlohmann::json::parse(response->body, nullptr,
                              /*allow_exceptions=*/false);
  }
  if (status != 200) {
    std::string detail = absl::StrCat("OAuth token endpoint answered ", status);
    std::string error = Quoted(j, "error");
    std::string description = Quoted(j, "error_description");
    if (!error.empty()) absl::StrAppend(&detail, " ", error);
    if (!description.empty()) absl::StrAppend(&detail, ": ", description);
    if (status == 429 || status >= 500) {
      return absl::UnavailableError(detail);
    }
    return absl::FailedPreconditionError(detail);
  }
  if (!j.is_object()) {
    return absl::InternalError("OAuth token answer is not a JSON object");
  }
  auto token = j.find("access_token");
  if (token == j.end() || !token->is_string() ||
      token->get<std::string>().empty()) {
    return absl::InternalError("OAuth token answer has no access_token");
  }
  // It goes into an HTTP header: no control characters or spaces.
  for (char c : token->get_ref<const std::string&>()) {
    if (c <= ' ' || c == 0x7f) {
      return absl::InternalError("OAuth access_token has bad characters");
    }
  }
  auto expires_in = j.find("expires_in");
  if (expires_in == j.end() || !expires_in->is_number_integer() ||
      expires_in->get<int64_t>() <= 0) {
    return absl::InternalError("OAuth token answer has no valid expires_in");
  }
  auto type = j.find("token_type");
  if (type != j.end() &&
      (!type->is_string() ||
       !absl::EqualsIgnoreCase(type->get<std::string>(), "Bearer"))) {
    return absl::InternalError("OAuth token answer is not a Bearer token");
  }
  AccessToken out;
  out.token = token->get<std::string>();
  // Clamp so a huge expires_in cannot overflow; we refresh hourly anyway.
  out.expires_at = now + absl::Seconds(std::min<int64_t>(
                             expires_in->get<int64_t>(), int64_t{24} * 3600));
  return out;
}

}  // namespace callpush
