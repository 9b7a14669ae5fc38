#include "clients/fcm/fcm_request.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "clients/apns/call_payload.h"
#include "nlohmann/json.hpp"

namespace callpush {
namespace {

// Registration tokens are ~160 characters; anything near this is garbage.
constexpr size_t kMaxTokenBytes = 4096;

bool IsSet(absl::Time t) {
  return t != absl::InfinitePast() && t != absl::InfiniteFuture();
}

absl::Status CheckProjectId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("empty FCM project id");
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.' && c != '_' &&
        c != ':') {
      return absl::InvalidArgumentError("bad FCM project id");
    }
  }
  return absl::OkStatus();
}

// Whole seconds, rounded up so the message outlives the ring time.
int64_t CeilSeconds(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(d);
  if (absl::Seconds(s) < d) ++s;
  return s;
}

int64_t TtlSeconds(const PushRequest& request, const FcmAppConfig& config,
                   absl::Time now) {
  if (request.kind == PushKind::kCancel && request.reason == "cancelled") {
    return CeilSeconds(config.missed_call_ttl);
  }
  if (IsSet(request.expires_at) && request.expires_at > now) {
    return CeilSeconds(request.expires_at - now);
  }
  return 0;
}

}  // namespace

absl::StatusOr<http2::Request> BuildFcmRequest(const PushRequest& request,
                                               const FcmAppConfig& config,
                                               absl::string_view access_token,
                                               absl::Time now) {
  if (absl::Status s = CheckProjectId(config.project_id); !s.ok()) return s;
  if (request.token.empty() || request.token.size() > kMaxTokenBytes) {
    return absl::InvalidArgumentError("bad FCM registration token");
  }
  if (access_token.empty()) {
    return absl::InvalidArgumentError("FCM needs an access token");
  }
  if (request.kind == PushKind::kCall &&
      (!IsSet(request.expires_at) || request.expires_at <= now)) {
    return absl::FailedPreconditionError(
        "call push has no ring time left (expires_at)");
  }

  nlohmann::ordered_json data = nlohmann::ordered_json::object();
  for (auto& [key, value] :
       CallPayloadFields(request, now, config.hide_caller_name)) {
    data[key] = std::move(value);
  }
  const auto dump = [](const nlohmann::ordered_json& j) {
    // Invalid UTF-8 in a caller name becomes U+FFFD, never an exception.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  const size_t data_bytes = dump(data).size();
  if (data_bytes > kFcmDataLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("FCM data of ", data_bytes, " bytes exceeds the ",
                     kFcmDataLimit, "-byte limit"));
  }
  nlohmann::ordered_json message = {
      {"token", request.token},
      {"data", std::move(data)},
      {"android",
       {{"priority", "HIGH"},
        {"ttl", absl::StrCat(TtlSeconds(request, config, now), "s")}}}};
  nlohmann::ordered_json body = {{"message", std::move(message)}};

  http2::Request out;
  out.method = "POST";
  out.path = absl::StrCat("/v1/projects/", config.project_id, "/messages:send");
  out.headers.push_back({"authorization", absl::StrCat("Bearer ", access_token),
                         /*sensitive=*/true});
  out.headers.push_back({"content-type", "application/json"});
  out.body = dump(body);
  if (IsSet(request.deadline)) out.deadline = request.deadline;
  return out;
}

}  // namespace callpush
