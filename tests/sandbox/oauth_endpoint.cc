#include "tests/sandbox/oauth_endpoint.h"

#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "clients/base/log.h"

namespace callpush::sandbox {
namespace {

constexpr absl::string_view kJwtBearer =
    "urn:ietf:params:oauth:grant-type:jwt-bearer";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::optional<std::string> UrlDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return absl::nullopt;
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return absl::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

HttpResponse JsonAnswer(int status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("content-type",
                                "application/json; charset=utf-8");
  response.headers.emplace_back("cache-control", "no-store");
  response.body = body.dump();
  return response;
}

HttpResponse OAuthError(int status, absl::string_view error,
                        absl::string_view description) {
  return JsonAnswer(status, {{"error", std::string(error)},
                             {"error_description", std::string(description)}});
}

}  // namespace

absl::optional<std::string> FormValue(absl::string_view body,
                                      absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(body, '&')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    absl::optional<std::string> key = UrlDecode(kv.first);
    if (key && *key == name) return UrlDecode(kv.second);
  }
  return absl::nullopt;
}

OAuthEndpoint::OAuthEndpoint(PKeyPtr public_key, std::string client_email,
                             std::string token_uri, AccessTokenStore& tokens,
                             const Clock& clock)
    : public_key_(std::move(public_key)),
      client_email_(std::move(client_email)),
      token_uri_(std::move(token_uri)),
      tokens_(tokens),
      clock_(clock) {}

HttpResponse OAuthEndpoint::Handle(const HttpRequest& request) {
  if (request.method != "POST") {
    return OAuthError(405, "invalid_request", "POST required");
  }
  absl::optional<std::string> grant = FormValue(request.body, "grant_type");
  if (!grant || *grant != kJwtBearer) {
    return OAuthError(400, "unsupported_grant_type", "Invalid grant_type.");
  }
  absl::optional<std::string> assertion = FormValue(request.body, "assertion");
  if (!assertion || assertion->empty()) {
    return OAuthError(400, "invalid_request", "Missing assertion.");
  }
  auto verified = VerifyServiceAccountAssertion(
      *assertion,
      ServiceAccountKey{client_email_, token_uri_, public_key_.get()},
      clock_.Now());
  if (!verified.ok()) {
    Log(LogLevel::kInfo, "token request refused",
        {{"reason", std::string(verified.status().message())}});
    return OAuthError(400, "invalid_grant",
                      absl::IsUnauthenticated(verified.status())
                          ? "Invalid JWT: Token must be a short-lived token "
                            "and in a reasonable timeframe."
                          : "Invalid JWT Signature.");
  }
  std::string token = tokens_.Issue(clock_.Now(), kAccessTokenLifetime);
  return JsonAnswer(200,
                    {{"access_token", token},
                     {"expires_in", absl::ToInt64Seconds(kAccessTokenLifetime)},
                     {"token_type", "Bearer"}});
}

}  // namespace callpush::sandbox
