#include "tests/sandbox/apns_endpoint.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "tests/sandbox/access_token_store.h"

namespace callpush::sandbox {
namespace {

constexpr absl::string_view kPathPrefix = "/3/device/";

bool IsValidPushType(absl::string_view type) {
  for (absl::string_view valid :
       {"alert", "background", "voip", "location", "complication",
        "fileprovider", "mdm", "liveactivity", "pushtotalk"}) {
    if (type == valid) return true;
  }
  return false;
}

bool IsHexToken(absl::string_view token) {
  if (token.empty() || token.size() > 200 || token.size() % 2 != 0) {
    return false;
  }
  for (char c : token) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsUuid(absl::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (id[i] == '-')) return false;
    if (!dash && !absl::ascii_isxdigit(static_cast<unsigned char>(id[i]))) {
      return false;
    }
  }
  return true;
}

absl::string_view TokenFromPath(absl::string_view path) {
  if (!absl::StartsWith(path, kPathPrefix)) return "";
  path.remove_prefix(kPathPrefix.size());
  size_t query = path.find('?');
  return path.substr(0, query);
}

}  // namespace

const char* DefaultApnsReason(int status) {
  switch (status) {
    case 400:
      return "BadDeviceToken";
    case 403:
      return "InvalidProviderToken";
    case 404:
      return "BadPath";
    case 405:
      return "MethodNotAllowed";
    case 410:
      return "Unregistered";
    case 413:
      return "PayloadTooLarge";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalServerError";
    case 503:
      return "ServiceUnavailable";
    default:
      return "InternalServerError";
  }
}

ApnsEndpoint::ApnsEndpoint(std::string team_id, std::string key_id,
                           PKeyPtr public_key, const Clock& clock)
    : team_id_(std::move(team_id)),
      key_id_(std::move(key_id)),
      public_key_(std::move(public_key)),
      clock_(clock) {}

bool ApnsEndpoint::Matches(absl::string_view path) const {
  return absl::StartsWith(path, kPathPrefix);
}

absl::optional<HttpResponse> ApnsEndpoint::CheckHeaders(
    const HttpRequest& request) const {
  auto reject = [&](int status, absl::string_view reason) {
    return Reject(request, status, reason, absl::nullopt);
  };
  if (request.method != "POST") return reject(405, "MethodNotAllowed");
  if (!IsHexToken(TokenFromPath(request.path))) {
    return reject(400, "BadDeviceToken");
  }
  // Apple checks credentials before the notification's headers.
  if (!request.client_certificate) {
    absl::optional<std::string> auth = request.Header("authorization");
    if (!auth) return reject(403, "MissingProviderToken");
    if (!absl::StartsWithIgnoreCase(*auth, "bearer ")) {
      return reject(403, "InvalidProviderToken");
    }
    absl::string_view jwt = absl::StripAsciiWhitespace(
        absl::string_view(*auth).substr(sizeof("bearer ") - 1));
    absl::Status verified = VerifyCached(jwt);
    if (absl::IsUnauthenticated(verified)) {
      return reject(403, "ExpiredProviderToken");
    }
    if (!verified.ok()) return reject(403, "InvalidProviderToken");
  }
  absl::optional<std::string> topic = request.Header("apns-topic");
  if (!request.client_certificate && (!topic || topic->empty())) {
    return reject(400, "MissingTopic");
  }
  absl::optional<std::string> push_type = request.Header("apns-push-type");
  if (!push_type || !IsValidPushType(*push_type)) {
    return reject(400, "InvalidPushType");
  }
  if (*push_type == "voip" && topic && !absl::EndsWith(*topic, ".voip")) {
    return reject(400, "BadTopic");
  }
  if (auto priority = request.Header("apns-priority")) {
    if (*priority != "5" && *priority != "10" && *priority != "1") {
      return reject(400, "BadPriority");
    }
  }
  if (auto id = request.Header("apns-id")) {
    if (!IsUuid(*id)) return reject(400, "BadMessageId");
  }
  if (auto expiration = request.Header("apns-expiration")) {
    int64_t seconds;
    if (!absl::SimpleAtoi(*expiration, &seconds) || seconds < 0) {
      return reject(400, "BadExpirationDate");
    }
  }
  if (auto collapse = request.Header("apns-collapse-id")) {
    if (collapse->size() > 64) return reject(400, "BadCollapseId");
  }
  size_t limit = *push_type == "voip" ? kApnsMaxVoipPayload : kApnsMaxPayload;
  if (request.body.empty()) return reject(400, "PayloadEmpty");
  if (request.body.size() > limit) return reject(413, "PayloadTooLarge");
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return reject(400, "BadPayload");
  }
  return absl::nullopt;
}

PushCheck ApnsEndpoint::Check(const HttpRequest& request) const {
  PushCheck check;
  check.token = std::string(TokenFromPath(request.path));
  check.payload = ParseBodyForRecord(request.body);
  check.error = CheckHeaders(request);
  return check;
}

HttpResponse ApnsEndpoint::Accept(const HttpRequest& request,
                                  const PushCheck& check) const {
  HttpResponse response;
  response.status = 200;
  absl::optional<std::string> id = request.Header("apns-id");
  response.headers.emplace_back("apns-id", id ? *id : RandomUuid());
  return response;
}

HttpResponse ApnsEndpoint::Reject(const HttpRequest& request, int status,
                                  absl::string_view reason,
                                  absl::optional<int> retry_after) const {
  HttpResponse response;
  response.status = status;
  absl::optional<std::string> id = request.Header("apns-id");
  response.headers.emplace_back("apns-id", id ? *id : RandomUuid());
  response.headers.emplace_back("content-type",
                                "application/json; charset=utf-8");
  if (retry_after) {
    response.headers.emplace_back("retry-after", std::to_string(*retry_after));
  }
  nlohmann::json body = {{"reason", reason.empty() ? DefaultApnsReason(status)
                                                   : std::string(reason)}};
  if (status == 410) {
    body["timestamp"] = absl::ToUnixMillis(clock_.Now());
  }
  response.body = body.dump();
  return response;
}

absl::Status ApnsEndpoint::VerifyCached(absl::string_view jwt) const {
  absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mu_);
    if (jwt == verified_token_ && now < verified_until_) {
      return absl::OkStatus();
    }
  }
  absl::Status verified = VerifyApnsProviderToken(
      jwt, ApnsTokenKey{team_id_, key_id_, public_key_.get()}, now);
  if (verified.ok()) {
    absl::MutexLock lock(&mu_);
    verified_token_ = std::string(jwt);
    verified_until_ = now + kVerifiedTokenReuse;
  }
  return verified;
}

}  // namespace callpush::sandbox
