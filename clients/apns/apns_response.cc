#include "clients/apns/apns_response.h"

#include <cstdint>
#include <optional>
#include <string>

#include "clients/apns/retry_after.h"
#include "clients/apns/transport_failure.h"
#include "nlohmann/json.hpp"

namespace callpush {
namespace {

constexpr char kProvider[] = "apns";
// Apple's reasons are short CamelCase words; cap what we store and log.
constexpr size_t kMaxReasonBytes = 64;

struct ApnsError {
  std::string reason;
  std::optional<int64_t> timestamp_ms;
};

std::optional<ApnsError> ParseError(const std::string& body) {
  if (body.size() > kMaxApnsErrorBodyBytes) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(body, nullptr,
                                           /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;  // also the "discarded" value
  auto reason = j.find("reason");
  if (reason == j.end() || !reason->is_string()) return std::nullopt;
  ApnsError e;
  e.reason = reason->get<std::string>();
  if (e.reason.empty() || e.reason.size() > kMaxReasonBytes) {
    return std::nullopt;
  }
  auto ts = j.find("timestamp");
  if (ts != j.end() && ts->is_number_integer() && ts->get<int64_t>() > 0) {
    e.timestamp_ms = ts->get<int64_t>();
  }
  return e;
}

}  // namespace

PushResult ClassifyApnsResponse(
    const absl::StatusOr<http2::Response>& response) {
  if (!response.ok()) return TransportFailure(response.status(), kProvider);
  PushResult r;
  r.provider = kProvider;
  r.http_status = response->status;
  const int status = response->status;

  if (status == 200) {
    r.outcome = PushResult::Outcome::kAccepted;
    r.provider_id = response->Header("apns-id");
    return r;
  }

  std::optional<ApnsError> error = ParseError(response->body);
  if (!error.has_value()) {
    r.outcome = PushResult::Outcome::kFailed;
    r.reason = "malformed_response";
    if (IsRetryableStatus(status)) MarkRetryable(*response, r);
    return r;
  }
  r.reason = error->reason;
  const std::string& reason = error->reason;

  if (status == 410 && (reason == "Unregistered" || reason == "ExpiredToken")) {
    r.outcome = PushResult::Outcome::kRejected;
    r.dead_token = true;
    if (error->timestamp_ms.has_value()) {
      r.token_invalidated_at = absl::FromUnixMillis(*error->timestamp_ms);
    }
    return r;
  }
  if (status == 400 &&
      (reason == "BadDeviceToken" || reason == "DeviceTokenNotForTopic")) {
    r.outcome = PushResult::Outcome::kRejected;
    r.dead_token = true;
    return r;
  }
  if (status == 403 &&
      (reason == "ExpiredProviderToken" || reason == "InvalidProviderToken")) {
    r.outcome = PushResult::Outcome::kFailed;
    return r;
  }
  if (status == 429 && reason == "TooManyProviderTokenUpdates") {
    // Resending with the same token changes nothing; DESIGN: token errors
    // are never retried.
    r.outcome = PushResult::Outcome::kFailed;
    return r;
  }
  if (IsRetryableStatus(status)) {
    r.outcome = PushResult::Outcome::kFailed;
    MarkRetryable(*response, r);
    return r;
  }
  if (status >= 400 && status < 500) {
    r.outcome = PushResult::Outcome::kRejected;
    return r;
  }
  r.outcome = PushResult::Outcome::kFailed;
  r.reason = "unexpected_status";
  return r;
}

bool IsApnsProviderTokenError(const PushResult& result) {
  return result.provider == kProvider && result.http_status == 403 &&
         result.outcome == PushResult::Outcome::kFailed &&
         (result.reason == "ExpiredProviderToken" ||
          result.reason == "InvalidProviderToken");
}

}  // namespace callpush
