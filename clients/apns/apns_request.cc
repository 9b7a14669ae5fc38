#include "clients/apns/apns_request.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "clients/apns/call_payload.h"
#include "clients/apns/call_uuid.h"
#include "nlohmann/json.hpp"

namespace callpush {
namespace {

// Device tokens are 32 bytes today (64 hex digits); Apple says they may
// grow, so allow up to 100 bytes. Hex only also keeps the path clean.
constexpr size_t kMaxTokenHexDigits = 200;
constexpr size_t kMaxCollapseIdBytes = 64;

bool IsSet(absl::Time t) {
  return t != absl::InfinitePast() && t != absl::InfiniteFuture();
}

absl::Status CheckToken(absl::string_view token) {
  if (token.empty()) return absl::InvalidArgumentError("empty device token");
  if (token.size() > kMaxTokenHexDigits) {
    return absl::InvalidArgumentError("device token too long");
  }
  for (char c : token) {
    if (!absl::ascii_isxdigit(c)) {
      return absl::InvalidArgumentError("device token is not hex");
    }
  }
  return absl::OkStatus();
}

// Unix seconds rounded up, so the push is never dropped before the end of
// the ring time.
int64_t CeilUnixSeconds(absl::Time t) {
  int64_t s = absl::ToUnixSeconds(t);
  if (absl::FromUnixSeconds(s) < t) ++s;
  return s;
}

int64_t ExpirationFor(ApnsPushType type, const PushRequest& request,
                      const ApnsAppConfig& config, absl::Time now) {
  if (type == ApnsPushType::kAlert) {
    return CeilUnixSeconds(now + config.missed_call_ttl);
  }
  if (IsSet(request.expires_at) && request.expires_at > now) {
    return CeilUnixSeconds(request.expires_at);
  }
  return 0;
}

std::string BuildPayload(ApnsPushType type, const PushRequest& request,
                         const ApnsAppConfig& config, absl::Time now) {
  nlohmann::ordered_json body = nlohmann::ordered_json::object();
  for (auto& [key, value] :
       CallPayloadFields(request, now, config.hide_caller_name)) {
    body[key] = std::move(value);
  }
  if (type == ApnsPushType::kBackground) {
    body["aps"] = {{"content-available", 1}};
  } else if (type == ApnsPushType::kAlert) {
    nlohmann::ordered_json alert = {{"title", config.missed_call_title}};
    if (!config.hide_caller_name && !request.caller_name.empty()) {
      alert["body"] = request.caller_name;
    }
    body["aps"] = {{"alert", std::move(alert)}};
  }
  // Invalid UTF-8 in a caller name becomes U+FFFD rather than an exception.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

absl::StatusOr<http2::Request> BuildApnsRequest(const PushRequest& request,
                                                const ApnsAppConfig& config,
                                                absl::string_view bearer,
                                                absl::Time now) {
  if (absl::Status s = CheckToken(request.token); !s.ok()) return s;
  if (config.bundle_id.empty()) {
    return absl::InvalidArgumentError("empty APNs bundle id");
  }
  if (config.uses_token_auth() == bearer.empty()) {
    return absl::InvalidArgumentError(
        config.uses_token_auth()
            ? "APNs token auth needs a bearer token"
            : "APNs certificate auth takes no bearer token");
  }
  const ApnsPushType type = ApnsPushTypeFor(request, config);
  if (request.token_kind != ApnsTokenKindFor(type)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a ", ApnsPushTypeName(type), " push cannot go to a ",
        request.token_kind == TokenKind::kVoip ? "VoIP" : "regular", " token"));
  }
  if (request.kind == PushKind::kCall &&
      (!IsSet(request.expires_at) || request.expires_at <= now)) {
    return absl::FailedPreconditionError(
        "call push has no ring time left (expires_at)");
  }

  http2::Request out;
  out.method = "POST";
  out.path = absl::StrCat("/3/device/", request.token);
  const bool voip = type == ApnsPushType::kVoip;
  out.headers.push_back({"apns-push-type", ApnsPushTypeName(type)});
  out.headers.push_back(
      {"apns-topic",
       voip ? absl::StrCat(config.bundle_id, ".voip") : config.bundle_id});
  out.headers.push_back(
      {"apns-priority", type == ApnsPushType::kBackground ? "5" : "10"});
  out.headers.push_back({"apns-expiration", absl::StrCat(ExpirationFor(
                                                type, request, config, now))});
  if (type == ApnsPushType::kAlert) {
    out.headers.push_back(
        {"apns-collapse-id", request.call_id.size() <= kMaxCollapseIdBytes &&
                                     !request.call_id.empty()
                                 ? request.call_id
                                 : CallUuid(request.call_id)});
  }
  if (!bearer.empty()) {
    out.headers.push_back({"authorization", absl::StrCat("bearer ", bearer),
                           /*sensitive=*/true});
  }
  out.body = BuildPayload(type, request, config, now);
  const size_t limit = voip ? kApnsVoipPayloadLimit : kApnsPayloadLimit;
  if (out.body.size() > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("APNs payload of ", out.body.size(), " bytes exceeds the ",
                     limit, "-byte limit"));
  }
  if (IsSet(request.deadline)) out.deadline = request.deadline;
  return out;
}

}  // namespace callpush
