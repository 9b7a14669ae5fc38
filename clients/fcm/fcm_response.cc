#include "clients/fcm/fcm_response.h"

#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "clients/apns/retry_after.h"
#include "clients/apns/transport_failure.h"
#include "nlohmann/json.hpp"

namespace callpush {
namespace {

constexpr char kProvider[] = "fcm";
constexpr char kFcmErrorType[] =
    "type.googleapis.com/google.firebase.fcm.v1.FcmError";
constexpr size_t kMaxCodeBytes = 64;

struct FcmError {
  std::string code;
  std::string message;
};

std::optional<FcmError> ParseError(const std::string& body) {
  if (body.size() > kMaxFcmBodyBytes) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(body, nullptr,
                                           /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto error = j.find("error");
  if (error == j.end() || !error->is_object()) return std::nullopt;
  FcmError e;
  auto details = error->find("details");
  if (details != error->end() && details->is_array()) {
    for (const auto& d : *details) {
      if (!d.is_object()) continue;
      auto type = d.find("@type");
      auto code = d.find("errorCode");
      if (type != d.end() && type->is_string() && *type == kFcmErrorType &&
          code != d.end() && code->is_string()) {
        e.code = code->get<std::string>();
        break;
      }
    }
  }
  if (e.code.empty()) {
    auto status = error->find("status");
    if (status != error->end() && status->is_string()) {
      e.code = status->get<std::string>();
    }
  }
  if (e.code.empty() || e.code.size() > kMaxCodeBytes) return std::nullopt;
  auto message = error->find("message");
  if (message != error->end() && message->is_string()) {
    e.message = message->get<std::string>();
  }
  return e;
}

}  // namespace

PushResult ClassifyFcmResponse(
    const absl::StatusOr<http2::Response>& response) {
  if (!response.ok()) return TransportFailure(response.status(), kProvider);
  PushResult r;
  r.provider = kProvider;
  r.http_status = response->status;
  const int status = response->status;

  if (status == 200) {
    r.outcome = PushResult::Outcome::kAccepted;
    if (response->body.size() <= kMaxFcmBodyBytes) {
      nlohmann::json j = nlohmann::json::parse(response->body, nullptr,
                                               /*allow_exceptions=*/false);
      if (j.is_object()) {
        auto name = j.find("name");
        if (name != j.end() && name->is_string()) {
          r.provider_id = name->get<std::string>();
        }
      }
    }
    return r;
  }

  std::optional<FcmError> error = ParseError(response->body);
  if (!error.has_value()) {
    r.outcome = PushResult::Outcome::kFailed;
    r.reason = "malformed_response";
    if (IsRetryableStatus(status)) MarkRetryable(*response, r);
    return r;
  }
  r.reason = error->code;
  const std::string& code = error->code;

  if (code == "UNREGISTERED") {
    r.outcome = PushResult::Outcome::kRejected;
    r.dead_token = true;
    return r;
  }
  if (code == "SENDER_ID_MISMATCH") {
    // Not a dead token: a wrong projectId or service account in our config
    // earns it for every device of the app, and clearing them all would
    // lose every registration to a typo.
    r.outcome = PushResult::Outcome::kRejected;
    return r;
  }
  if (code == "INVALID_ARGUMENT") {
    r.outcome = PushResult::Outcome::kRejected;
    // FCM's wording for a malformed or foreign token; any other invalid
    // argument (our payload, ttl) says nothing about the token.
    r.dead_token = absl::StrContains(absl::AsciiStrToLower(error->message),
                                     "not a valid fcm registration token");
    return r;
  }
  if (code == "QUOTA_EXCEEDED" || code == "UNAVAILABLE" || code == "INTERNAL" ||
      IsRetryableStatus(status)) {
    r.outcome = PushResult::Outcome::kFailed;
    MarkRetryable(*response, r);
    return r;
  }
  if (code == "THIRD_PARTY_AUTH_ERROR") {
    r.outcome = PushResult::Outcome::kRejected;
    return r;
  }
  if (status == 401) {
    r.outcome = PushResult::Outcome::kFailed;
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

bool IsFcmAuthError(const PushResult& result) {
  return result.provider == kProvider && result.http_status == 401 &&
         result.outcome == PushResult::Outcome::kFailed;
}

}  // namespace callpush
